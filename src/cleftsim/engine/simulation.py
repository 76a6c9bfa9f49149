"""Simulation: one trial of a compiled model, its state advanced step by step by the Cython kernels."""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from cleftsim import units
from cleftsim._core.membrane import Membrane
from cleftsim._core.pairs import PairReactions
from cleftsim._core.random import seed_state, seed_streams
from cleftsim._core.scene import Scene
from cleftsim._core.state import Counters, Molecules, StepTables
from cleftsim._core.step import displace, run_steps
from cleftsim._core.volume import VolumeKinetics
from cleftsim.compiler import scene as world
from cleftsim.compiler.compiled import CHUNK_STEPS, CompiledModel
from cleftsim.compiler.compiled import compile as compile_model
from cleftsim.compiler.membrane import place_molecules
from cleftsim.compiler.sources import production_source, region_points, sample_positions
from cleftsim.engine.threads import check_threads
from cleftsim.errors import ModelError, ModelWarning, SimulationInterrupted
from cleftsim.model import release
from cleftsim.model.model import BYTES_PER_MOLECULE, GeometryObject, Model, Region, Release, Species, check_memory
from cleftsim.model.surface_molecules import SurfaceSpecies
from cleftsim.results.result import RELEASE_EVENT, Result
from cleftsim.version import version

#: Wall time (s) of one step with no molecules, measured (0.2-0.3 µs here): the floor of a run's cost.
STEP_FLOOR = 2e-7
#: A run whose floor cost is above this (s) is warned about.
LONG_RUN = 86400.0
#: A single run's progress bar appears once the run has lasted this long (s).
PROGRESS_DELAY = 3.0


def _progress_bar(duration: float):
    """A tqdm bar over ``duration`` (s) of simulated time, counted in ms, that stays hidden for
    runs shorter than PROGRESS_DELAY of wall time."""
    from tqdm.auto import tqdm

    return tqdm(total=duration * 1e3, unit="ms", desc="simulated", delay=PROGRESS_DELAY, leave=False,
                bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} ms [{elapsed}<{remaining}]")


class Simulation:
    """One trial of a compiled model, starting at t = 0: it owns the state (volume molecules,
    surface molecules, random streams, schedule position) and advances it with the kernels.

    ``model``: a :class:`~cleftsim.compiler.compiled.CompiledModel` (``cs.compile(model)``;
    an ensemble's trials share one) or a Model, compiled here. ``seed``: a non-negative integer
    or a SeedSequence (``cs.trial_seed(seed, k)`` for trial k of an ensemble); default the
    model's. ``threads``: the threads that move its molecules (default: every core this process
    may use); the results are the same bit for bit for any number. ``run(duration)`` advances it;
    ``positions(species)``, ``count(species)`` and ``observe()`` read its state without changing it.
    """

    def __init__(self, model: Model | CompiledModel, seed: int | np.random.SeedSequence | None = None,
                 threads: int | None = None):
        if not isinstance(model, (Model, CompiledModel)):
            raise ModelError(f"Simulation needs a cleftsim Model or CompiledModel, got {type(model).__name__} "
                             f"{model!r}")
        #: The Model this simulation was compiled from (None when given a CompiledModel); it refuses
        #: to go on once that model is changed. ``model`` is the compiled copy it runs.
        self.source = model if isinstance(model, Model) else None
        self._edits = model.edits if isinstance(model, Model) else None
        self.compiled = compiled = compile_model(model) if isinstance(model, Model) else model
        self.model = model = compiled.model
        self.scene = Scene(compiled.scene_arrays)   # its own view of the shared arrays: the tracer marks triangles in it
        if seed is None or units.is_whole(seed):
            seed = np.random.SeedSequence(model.seed if seed is None else int(seed))
        elif not isinstance(seed, np.random.SeedSequence):
            raise ModelError(f"seed must be a non-negative integer or a numpy SeedSequence "
                             f"(cs.trial_seed(seed, k) for trial k of an ensemble), got {seed!r}")
        self.seed = seed
        #: Threads of the step kernel (they change the speed, never the numbers).
        self.threads = check_threads(threads)
        kernel_seq, release_seq, key_seq = (
            np.random.SeedSequence(self.seed.entropy, spawn_key=tuple(self.seed.spawn_key) + (i,))
            for i in range(3))                       # the first children, however often it was spawned
        self._stream = seed_state(kernel_seq)        # the kernels' serial stream (random.pxd)
        self.rng = np.random.Generator(np.random.PCG64(release_seq))   # placements and releases
        self.step_index = 0
        #: Events of every reaction since t = 0.
        self.events = np.zeros(max(len(model.reactions), 1), dtype=np.int64)
        self.membrane = None
        self._surface_counts = None              # (step, counts per region and state), see _surface_table
        if compiled.membrane is not None:
            pos, tri, state, orient, tile = place_molecules(model, self.rng)
            self.membrane = Membrane(compiled.membrane, pos, tri, state, orient, tile,
                                     self.rng.exponential(size=len(state)), self.events, np.zeros(6, dtype=np.int64),
                                     max(1024, 4 * compiled.surface_molecules * compiled.most_products))
        n_release = sum(r.n for r in model.releases)
        self.volume = None if compiled.volume is None else VolumeKinetics(
            compiled.volume, self.events, np.zeros(1, dtype=np.int64),
            max(1024, n_release * max(compiled.most_products - 1, 0)))
        self.pairs = None if compiled.pairs is None else PairReactions(compiled.pairs, self.events,
                                                                       np.zeros(2, dtype=np.int64))
        self._no_births = None
        cap = max(1024, n_release) + self._pending_room()
        #: The volume molecules (cleftsim._core.state.Molecules: the first ``n`` slots of its arrays).
        self.volume_molecules = Molecules(cap, seed_state(key_seq))   # the key of the molecules' own streams
        self._tables = StepTables(model.dt, compiled.sigma, compiled.ddt, compiled.rcut)
        #: Molecules absorbed (regions, species), crossings (regions, species, in/out) and the
        #: engine's counters since t = 0.
        self.counters = Counters(compiled.rules.shape)
        self._pending = list(compiled.schedule)
        #: Molecules added by releases so far, per species.
        self.released = np.zeros(len(compiled.sigma), dtype=np.int64)
        self.release_events = self._vesicle_events()
        self._apply_due_releases()

    def _unchanged(self) -> None:
        """Refuse to go on with a model changed after this simulation was compiled from it."""
        if self.source is not None and self.source.edits != self._edits:
            raise ModelError("the model was changed after this simulation was compiled from it, so the change would "
                             "not take effect; compile it again with model.simulation() (or model.run())")

    def _vesicle_events(self) -> np.ndarray:
        """Draw this run's vesicle releases (:meth:`Model.release_vesicles`), schedule their
        molecules (each joins at the step boundary nearest its release time) and return the
        events: time (s), source (index of the release_vesicles call), ap, site, n, x, y, z (µm)."""
        if not self.model.vesicle_releases:
            return np.zeros(0, dtype=RELEASE_EVENT)
        dt, out = self.model.dt, []
        for k, vr in enumerate(self.model.vesicle_releases):
            ev = release.realise(vr.stimulus, self.rng)
            pos = vr.sites[ev["site"]] if vr.region is None else region_points(vr.region, len(ev), vr.depth, self.rng)
            times, which = release.molecule_times(ev, vr.pore, self.rng)
            steps = np.rint(times / dt).astype(np.int64)
            groups, counts = np.unique(np.stack([steps, which], axis=1), axis=0, return_counts=True)
            self._pending += [(int(st), Release(vr.species, int(c), st * dt, "point", (pos[e],)), 0.0)
                              for (st, e), c in zip(groups, counts)]
            rows = np.zeros(len(ev), dtype=RELEASE_EVENT)
            rows["time"], rows["source"], rows["ap"], rows["site"], rows["n"] = ev["time"], k, ev["ap"], ev["site"], ev["n"]
            rows["x"], rows["y"], rows["z"] = pos.T if len(ev) else (0.0, 0.0, 0.0)
            out.append(rows)
        self._pending.sort(key=lambda item: item[0])
        events = np.concatenate(out) if out else np.zeros(0, dtype=RELEASE_EVENT)
        return events[np.argsort(events["time"], kind="stable")]

    @property
    def absorbed(self) -> np.ndarray:
        """Molecules absorbed since t = 0, per (region, species)."""
        return self.counters.absorbed

    @property
    def crossed(self) -> np.ndarray:
        """Transparent crossings since t = 0, per (region, species, direction: 1 along the normals)."""
        return self.counters.crossed

    @property
    def n(self) -> int:
        """Number of volume molecules now."""
        return self.volume_molecules.n

    @property
    def time(self) -> float:
        """Current simulated time (s)."""
        return self.step_index * self.model.dt

    # ---- molecules ------------------------------------------------------------------------
    def _add(self, species: Species, positions: np.ndarray) -> None:
        mol, k = self.volume_molecules, len(positions)
        mol.reserve(mol.n + k)
        n = mol.n
        mol.pos[n:n + k] = positions
        mol.species[n:n + k] = species.index
        mol.uid[n:n + k] = np.arange(mol.next_uid, mol.next_uid + k)
        mol.wall[n:n + k] = -1.0
        mol.clock[n:n + k] = self.rng.exponential(size=k)
        seed_streams(mol.key, mol.uid[n:n + k], mol.rng[n:n + k])
        mol.next_uid += k
        mol.n += k

    def _apply_due_releases(self) -> None:
        while self._pending and self._pending[0][0] <= self.step_index:
            _, rel, rest = self._pending.pop(0)
            if rel.p < 1.0 and self.rng.random() >= rel.p:
                continue
            pos = sample_positions(self.scene, rel, self.rng)
            self._add(rel.species, self._diffuse_for(rel.species, pos, rest) if rest > 0 else pos)
            self.released[rel.species.index] += rel.n

    def _diffuse_for(self, species: Species, pos: np.ndarray, duration: float) -> np.ndarray:
        """Move molecules just released by a free diffusion of ``duration`` (s) through the
        geometry (its rules; no binding); returns the survivors, counting the absorbed."""
        s = species.index
        disp = self.rng.normal(scale=np.sqrt(2.0 * species.D * duration), size=pos.shape)
        pos = np.ascontiguousarray(pos, dtype=np.float64).copy()
        fate = displace(self.scene, pos, disp, s, species.D * duration,
                        self.compiled.rcut[s] * np.sqrt(duration / self.model.dt), self._stream, self.counters)
        np.add.at(self.absorbed[:, s], fate[fate >= 0], 1)
        return pos[fate < 0]

    # ---- stepping -------------------------------------------------------------------------
    def advance(self, n_steps: int) -> None:
        """Advance by ``n_steps`` time steps (releases applied at the start of the step they are due)."""
        self._advance(n_steps, None)

    def _advance(self, n_steps: int, tick) -> None:
        """advance(), calling ``tick(steps)`` after each call of the kernel if it is given."""
        if not units.is_whole(n_steps):
            raise ModelError(f"advance takes a whole number of steps >= 0, got {n_steps!r}; to run for a time use "
                             f"sim.run('5 us')")
        self._unchanged()
        target = self.step_index + int(n_steps)
        while self.step_index < target:
            stop = min(target, self._pending[0][0]) if self._pending else target
            m = min(stop - self.step_index, CHUNK_STEPS, self.compiled.production_steps)
            new = self._productions(m)
            mol = self.volume_molecules
            mol.reserve(mol.n + self._pending_room() + (int(np.diff(new[3]).max()) if len(new[1]) > 1 else 0))
            if self.pairs is not None:
                self.pairs.ensure(mol.capacity)
            done = run_steps(self.scene, self.membrane, self.volume, self.pairs, mol, self.counters, self._tables,
                             self._stream, m, self._clamp_table(m), *new, threads=self.threads)
            self.step_index += done
            self._apply_due_releases()
            if tick is not None:
                tick(done)
            if self.membrane is not None and self.membrane.overflow:
                self.membrane.grow_pending(max(2 * self.membrane.pend_cap, 2 * self.membrane.need))
            if self.volume is not None and self.volume.overflow:
                self.volume.grow_pending(2 * self.volume.pend_cap)

    def _productions(self, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Molecules made by zeroth-order productions in the next m steps: positions, reaction,
        time left in the step (s), and the (m + 1) start of each step's rows. The count per step
        is Poisson (mean k·V·N_A·dt), times and positions uniform (steps the kernel does not reach
        in this call are drawn afresh in the next: the process is memoryless)."""
        if not self.compiled.productions:                       # nothing made: the same empty tables each call
            if self._no_births is None or len(self._no_births[3]) != m + 1:
                self._no_births = (np.zeros((1, 3)), np.zeros(1, dtype=np.int32), np.zeros(1),
                                   np.zeros(m + 1, dtype=np.int64))
            return self._no_births
        dt = self.model.dt
        rows = []
        for rx, mean in self.compiled.productions:
            counts = self.rng.poisson(mean * dt, m)
            k = int(counts.sum())
            pos = sample_positions(self.scene, production_source(rx, k), self.rng)
            rows.append((np.repeat(np.arange(m), counts), pos, np.full(k, rx.index, dtype=np.int32),
                         dt * self.rng.random(k)))
        step = np.concatenate([r[0] for r in rows] or [np.zeros(0, dtype=np.int64)])
        order = np.argsort(step, kind="stable")
        pos = np.concatenate([r[1] for r in rows] + [np.zeros((1, 3))])
        rxs = np.concatenate([r[2] for r in rows] + [np.zeros(1, dtype=np.int32)])
        left = np.concatenate([r[3] for r in rows] + [np.zeros(1)])
        order = np.append(order, len(step))                 # a spare row: the kernel never reads it
        start = np.searchsorted(step[order[:-1]], np.arange(m + 1)).astype(np.int64)
        return (np.ascontiguousarray(pos[order]), np.ascontiguousarray(rxs[order]),
                np.ascontiguousarray(left[order]), start)

    def _pending_room(self) -> int:
        """Room the kernels need beyond the molecules present: their product buffers (the volume
        kernel's twice: first-order events, then pair products living out their step)."""
        return ((self.membrane.pend_cap if self.membrane is not None else 0)
                + (2 * self.volume.pend_cap if self.volume is not None else 0))

    def _clamp_table(self, m: int) -> np.ndarray:
        """(m, clamps) mean concentration (M) of each clamp over each of the next m steps."""
        clamps = self.model.clamps
        out = np.zeros((m, max(len(clamps), 1)))
        dt = self.model.dt
        for k, cl in enumerate(clamps):
            t0 = self.step_index * dt
            out[:, k] = [cl.waveform.mean(t0 + i * dt, t0 + (i + 1) * dt) for i in range(m)]
        return out

    def run(self, duration: Any) -> "Simulation":
        """Advance by ``duration`` (s or a time string; a whole number of steps)."""
        self.advance(self.model.steps(duration, "duration"))
        return self

    # ---- reading the state ----------------------------------------------------------------
    def positions(self, species: Species | str) -> np.ndarray:
        """Positions (n, 3) in µm of the molecules of ``species`` now (a copy)."""
        return self.molecules(self.model._species(species).index).copy()

    def count(self, species: Species | str) -> int:
        """Number of molecules of ``species`` in the world now."""
        s = self.model._species(species).index
        mol = self.volume_molecules
        return int(np.count_nonzero(mol.species[: mol.n] == s))

    def observe(self) -> dict[str, float]:
        """Current value of every observable of the model."""
        self._unchanged()
        out: dict[str, float] = {}
        for ob in self.model.observables:
            out[ob.name] = ob.evaluate(self, out)
        return out

    # ---- the state observables read (cleftsim.model.observables) --------------------------
    def molecules(self, species: int) -> np.ndarray:
        """Positions (n, 3) µm of the volume molecules of species index ``species`` (a view)."""
        mol = self.volume_molecules
        return mol.pos[: mol.n][mol.species[: mol.n] == species]

    def inside(self, obj: GeometryObject, points: np.ndarray) -> np.ndarray:
        """Which of the points lie inside the closed geometry object ``obj``."""
        return world.contains(self.scene, obj.index, obj.mesh, points)

    def surface_count(self, states: Sequence[SurfaceSpecies], regions: Sequence[Region] | None) -> int:
        """Surface molecules in any of ``states`` (SurfaceSpecies), on ``regions`` (None: all)."""
        if self.membrane is None:
            return 0
        table = self._surface_table()
        rows = table if regions is None else table[[r.index for r in regions]]
        return int(rows[:, [m.index for m in states]].sum())

    def _surface_table(self) -> np.ndarray:
        """(regions, states) counts of the surface molecules now: one pass over them per step
        observed, however many surface observables read it."""
        if self._surface_counts is None or self._surface_counts[0] != self.step_index:
            state, tri = self.membrane.arrays("state", "tri")
            live = state >= 0
            n_states = len(self.model.surface_species)
            n_regions = self.compiled.rules.shape[0]
            keys = self.compiled.tri_region[tri[live]].astype(np.int64) * n_states + state[live]
            table = np.bincount(keys, minlength=n_regions * n_states).reshape(n_regions, n_states)
            self._surface_counts = (self.step_index, table)
        return self._surface_counts[1]

    def surface_molecules(self, what: Any) -> dict[str, np.ndarray]:
        """Surface molecules of a surface species or state set now: positions (n, 3) µm, global
        triangle indices and orientations (+1 facing along the normals)."""
        _, members = self.model._state_set(what)
        if self.membrane is None:
            return {"positions": np.zeros((0, 3)), "triangles": np.zeros(0, int), "orient": np.zeros(0, int)}
        pos, state, tri, orient = self.membrane.arrays("pos", "state", "tri", "orient")
        mask = np.isin(state, [m.index for m in members])
        return {"positions": pos[mask].copy(), "triangles": tri[mask].copy(), "orient": orient[mask].copy()}

    def event_counts(self) -> dict[str, int]:
        """Events of every reaction since t = 0, by equation."""
        return {rx.equation: int(self.events[rx.index]) for rx in self.model.reactions}

    @property
    def diagnostics(self) -> dict[str, int]:
        """Engine counters since t = 0."""
        keys = ("truncated_steps", "bridge_absorptions", "reflections", "periodic_wraps", "slab_steps", "serial_steps")
        out = dict(zip(keys, (int(v) for v in self.counters.stats)))
        if self.membrane is not None:
            out.update(zip(("saturated_hits", "deferred_events", "surface_events", "lateral_truncated",
                            "lateral_edge_crossings", "lateral_reflections"),
                           (int(v) for v in self.membrane.arrays("stats")[0])))
        if self.pairs is not None:
            out["pairs_blocked_by_surfaces"] = self.pairs.blocked()
            out["pair_list_moves"] = self.pairs.relinked()
        return out

    def _marks(self, t_end: Any, every: Any) -> range:
        """Steps (from now) at which sample() records: 0, every, ..., t_end; a run that cannot fit
        in memory is refused, and one of days, or with releases after its end, is warned about."""
        n_total, k = self.model.sampling(t_end, every)
        marks = range(0, n_total + 1, k)
        check_memory(len(marks) * (len(self.model.observables) + 1) * 8.0,
                     f"sampling {len(self.model.observables)} observables {len(marks):.3g} times",
                     "sample less often (every=) or run for less time (t_end=)")
        check_memory(self._produced_at_once(n_total * self.model.dt) * BYTES_PER_MOLECULE,
                     "the molecules of the zeroth-order productions in this run", "lower the production rates")
        floor = n_total * STEP_FLOOR
        if floor > LONG_RUN:
            warnings.warn(f"this run is {n_total:.3g} time steps of {self.model.dt:g} s: at the cost of an empty step "
                          f"({STEP_FLOOR * 1e9:.0f} ns) it takes at least {floor / 86400:.3g} days; check t_end "
                          f"({n_total * self.model.dt:g} s) and dt", ModelWarning, stacklevel=4)
        self._warn_late_releases((self.step_index + n_total) * self.model.dt)
        return marks

    def _produced_at_once(self, duration: float) -> float:
        """About the most molecules of productions present at once in a run of ``duration`` (s): the
        rate times the duration, or times the lifetime of the product when first-order reactions
        consume it."""
        most = 0.0
        for rx, rate in self.compiled.productions:
            k = sum(r.k for r in self.model.reactions if r.kind == "volume" and r.reactants[0] is rx.products[0])
            most += rate * (min(duration, 1.0 / k) if k > 0 else duration)
        return most

    def _warn_late_releases(self, t_stop: float) -> None:
        """Warn about releases and action potentials after the end of the run (they never happen)."""
        late = [f"{r.n} {r.species.name} at t = {r.t:g} s" for r in self.model.releases if r.t > t_stop + 1e-12]
        if len(late) > 3:
            after = [r for r in self.model.releases if r.t > t_stop + 1e-12]
            late = late[:2] + [f"... ({len(after)} releases of {sum(r.n for r in after)} molecules in all, the last at "
                               f"t = {max(r.t for r in after):g} s)"]
        late += [f"the action potentials of release_vesicles({v.species.name!r}) at "
                 f"{[t for t in v.stimulus.ap_times if t > t_stop]} s"
                 for v in self.model.vesicle_releases if max(v.stimulus.ap_times) > t_stop + 1e-12]
        if late:
            warnings.warn(f"the run ends at t = {t_stop:g} s, before the release of {'; '.join(late)}: "
                          f"{'they' if len(late) > 1 else 'it'} will not happen in this run; run longer (t_end=) or "
                          f"release earlier", ModelWarning, stacklevel=4)

    def sample_times(self, t_end: Any = None, every: Any = None) -> np.ndarray:
        """The times (s) at which ``sample(t_end, every)`` would record, from now."""
        return (self.step_index + np.array(self._marks(t_end, every), dtype=np.int64)) * self.model.dt

    def sample(self, t_end: Any = None, every: Any = None, progress: bool = True) -> Result:
        """Run for ``t_end`` from now, recording every observable every ``every`` (defaults: the
        model's ``t_end`` and ``every``, else dt). ``progress``: a progress bar in simulated time,
        shown once the run has lasted a few seconds."""
        marks = self._marks(t_end, every)
        start = self.step_index
        data: dict[str, list] = {o.name: [] for o in self.model.observables}
        done = 0
        bar = _progress_bar(marks[-1] * self.model.dt) if progress else None
        tick = None if bar is None else (lambda steps: bar.update(steps * self.model.dt * 1e3))
        try:
            for m in marks:
                self._advance(start + m - self.step_index, tick)
                for name, v in self.observe().items():
                    data[name].append(v)
                done += 1
        except KeyboardInterrupt:
            raise SimulationInterrupted(self._result(start, marks[:done], data)) from None
        finally:
            if bar is not None:
                bar.close()
        return self._result(start, marks, data)

    def _result(self, start: int, marks: list[int], data: dict[str, list]) -> Result:
        meta = {"seed": self.model.seed, "entropy": self.seed.entropy, "spawn_key": tuple(self.seed.spawn_key),
                "dt": self.model.dt, "version": version(),
                "model": self.model.describe()}
        times = (start + np.array(marks, dtype=np.int64)) * self.model.dt
        n = len(marks)
        return Result(times, {k: np.array(v[:n]) for k, v in data.items()}, meta, self.diagnostics,
                      self.release_events)
