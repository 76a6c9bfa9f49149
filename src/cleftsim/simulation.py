"""Simulation: a compiled model with its molecules, advanced step by step by the Cython kernels."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from cleftsim import units, world
from cleftsim.accuracy import SAMPLES, check_time_step
from cleftsim._core.diffusion import advance, displace
from cleftsim._core.membrane import Membrane
from cleftsim._core.pairs import PairReactions
from cleftsim._core.volume import VolumeKinetics
from cleftsim._core.random import seed_state
from cleftsim.geometry.shapes import SHAPES
from cleftsim.model import BYTES_PER_MOLECULE, Model, ModelError, ModelWarning, Release, Species, check_memory
from cleftsim.result import RELEASE_EVENT, Result
from cleftsim.surface import uniform_on
from cleftsim.surface_tables import membrane_arrays, reactive_rules
from cleftsim.units import PER_UM3_PER_MOLAR
from cleftsim.volume_tables import check_radii_fit, pair_arrays, radii, volume_arrays

#: Search radius of the Brownian-bridge test, in units of the per-axis step sigma = sqrt(2 D dt).
#: A molecule ending farther than this from every absorbing triangle has a crossing probability
#: below Q(4) ≈ 3e-5 of the near-wall value (see docs/algorithms.md).
BRIDGE_RADIUS_SIGMAS = 4.0
#: Smallest distance (µm) between a point release and any surface.
SURFACE_CLEARANCE = 1e-6
#: Steps per call of the kernel (the clamp concentrations of a call are tabulated per step).
CHUNK_STEPS = 1024


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


class SimulationInterrupted(KeyboardInterrupt):
    """Ctrl-C during :meth:`Simulation.sample`; ``.result`` holds every sample taken before it."""

    def __init__(self, result: Result):
        super().__init__(f"interrupted at t = {result.times[-1] if len(result.times) else 0.0:g} s; "
                         f"the samples taken so far are in .result")
        self.result = result


class Simulation:
    """A running simulation of a :class:`~cleftsim.model.Model`, starting at t = 0.

    ``run(duration)`` advances it; ``positions(species)``, ``count(species)`` and
    ``observe()`` read its state. The model is validated and compiled when this is created.
    """

    def __init__(self, model: Model, seed: int | np.random.SeedSequence | None = None, scene=None):
        if not isinstance(model, Model):
            raise ModelError(f"Simulation needs a cleftsim Model, got {type(model).__name__} {model!r}")
        if not model.species and not model.surface_species:
            raise ModelError("the model has no species; add one with model.add_species(name, D)")
        self.model = model
        # the model's seed, a given one, or a SeedSequence (an ensemble's trial: cleftsim.ensemble)
        if seed is None or isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
            seed = np.random.SeedSequence(model.seed if seed is None else int(seed))
        elif not isinstance(seed, np.random.SeedSequence):
            raise ModelError(f"seed must be a non-negative integer or a numpy SeedSequence "
                             f"(cs.trial_seed(seed, k) for trial k of an ensemble), got {seed!r}")
        self.seed = seed
        kernel_seq, release_seq = (np.random.SeedSequence(self.seed.entropy, spawn_key=tuple(self.seed.spawn_key) + (i,))
                                   for i in range(2))     # the first two children, however often it was spawned
        self._stream = seed_state(kernel_seq)        # the kernels' xoshiro256++ state
        self.rng = np.random.Generator(np.random.PCG64(release_seq))   # release positions
        D = np.array([s.D for s in model.species] or [0.0])
        self._sigma = np.sqrt(2.0 * D * model.dt)
        self._ddt = D * model.dt
        rules = reactive_rules(model, model.rule_table())
        absorbs = ((rules & 3) == 1).any(axis=0)[: len(D)]
        self._rcut = np.where(absorbs, BRIDGE_RADIUS_SIGMAS * self._sigma, 0.0)
        # the compiled geometry is read-only during a run: trials of an ensemble share one (``scene``);
        # the model is checked where it is compiled
        compiling = scene is None
        self.scene = scene if scene is not None else world.build_scene(
            [o.mesh for o in model.objects], [o.region_offset for o in model.objects], rules, self._rcut,
            model.periodic, model.grid_cell)
        self.step_index = 0
        self._tri_region = np.concatenate([o.region_offset + np.asarray(o.mesh.region_ids) for o in model.objects]
                                          or [np.zeros(0, dtype=np.int64)])
        self._events = np.zeros(max(len(model.reactions), 1), dtype=np.int64)   # per reaction
        self.membrane = None
        n_surf = sum(p.n for p in model.placements)
        most = max([len(rx.volume_products) for rx in model.reactions] or [0])
        pend_cap = max(1024, 4 * n_surf * most)
        if model.surface_species:
            self.membrane = Membrane(membrane_arrays(model, self.rng, pend_cap, self._events))
        n_release = sum(r.n for r in model.releases)
        bind, sep = radii(model)
        if bind and model.periodic is not None:
            raise ModelError("reactions of two volume molecules in a periodic box are not supported (pairs across "
                             "the periodic faces would not react); bound the space with a reflecting box instead")
        if bind:
            check_radii_fit(model, self.scene, bind, sep, np.concatenate(
                [pts for _, pts in self._source_samples(64)] or [np.zeros((0, 3))]))
        # zeroth-order productions: (reaction, molecules per second), chunks of ~10⁵ new molecules at most
        self._production_rates = [(rx, rx.k * PER_UM3_PER_MOLAR * abs(rx.inside.mesh.volume))
                                  for rx in model.reactions if rx.kind == "production"]
        self._no_births = None
        per_step = sum(rate for _, rate in self._production_rates) * model.dt
        self._production_steps = max(1, int(1e5 / per_step)) if per_step > 0 else CHUNK_STEPS
        tables = volume_arrays(model, max(1024, n_release * max(most - 1, 0)), self._events, sep)
        self.volume = None if tables is None else VolumeKinetics(tables)
        tables = pair_arrays(model, self._events, bind)
        self.pairs = None if tables is None else PairReactions(tables)
        cap = max(1024, n_release) + self._pending_room()
        self._pos = np.zeros((cap, 3))
        self._species = np.zeros(cap, dtype=np.int32)
        self._uid = np.zeros(cap, dtype=np.int64)
        self._wall = np.full(cap, -1.0)     # the kernels' cache of distances to absorbing surfaces
        self._clock = np.zeros(cap)         # unit-exponential hazard left to each molecule's next event
        self.n = 0
        self._next_uid = 0
        self.absorbed = np.zeros(rules.shape, dtype=np.int64)
        self.crossed = np.zeros(rules.shape + (2,), dtype=np.int64)
        self._stats = np.zeros(5, dtype=np.int64)
        order = sorted(range(len(model.releases)), key=lambda i: (model.releases[i].t, i))
        self._pending = [self._scheduled(model.releases[i]) for i in order]
        self._released = np.zeros(len(D), dtype=np.int64)     # molecules added by releases, per species
        self.release_events = self._vesicle_events()
        if compiling:                      # a trial given the ensemble's scene was checked with it
            self._check_release_points()
            self._check_vesicle_depths()
            self._check_clamps()
            self._check_observed_rules(rules)
            check_time_step(model, self.scene, self._start_points(SAMPLES))
        self._edits = model.edits

    def _unchanged(self) -> None:
        """Refuse to go on with a model changed after this simulation was compiled from it."""
        if self.model.edits != self._edits:
            raise ModelError("the model was changed after this simulation was compiled from it, so the change would "
                             "not take effect; compile it again with model.simulation() (or model.run())")

    def _start_points(self, most: int) -> list[tuple[Species, np.ndarray, bool]]:
        """(species, up to ``most`` sample points where its molecules start, whether they start
        together at each point) for every release, production and vesicle release (drawn with
        their own generator: the run's streams are untouched)."""
        probe = np.random.default_rng(1)
        out = [(r.species, pts, r.kind == "point") for r, pts in self._source_samples(most)]
        out += [(v.species, v.sites[:most] if v.region is None else self._region_points(v.region, most, v.depth, probe),
                 True) for v in self.model.vesicle_releases]
        return out

    def _check_observed_rules(self, rules: np.ndarray) -> None:
        """count_absorbed and count_crossings need a region that absorbs or passes the species."""
        for ob in self.model.observables:
            if ob.kind not in ("absorbed", "crossed"):
                continue
            want, verb = (1, "absorbs") if ob.kind == "absorbed" else (2, "passes")
            if not any((rules[r.index, ob.species.index] & 3) == want for r in ob.target):
                rule = "absorb" if want == 1 else "transparent"
                where = ", ".join(r.label for r in ob.target)
                raise ModelError(f"observable {ob.name!r} counts {ob.species.name!r} at {where}, but no region there "
                                 f"{verb} it, so it would stay 0; make one {rule!r} with "
                                 f"model.set_surface({ob.species.name!r}, region, {rule!r})")

    def _check_clamps(self) -> None:
        """A clamped species is a bath inside its object: it cannot also be released or produced
        there, nor pass through the object's walls."""
        rules = self.model.rule_table()
        for cl in self.model.clamps:
            for reg, side in cl.contexts:
                if side == 0 and rules[reg, cl.species.index] == 2:
                    raise ModelError(f"{cl.species.name!r} is clamped {cl.label}, but a wall of it is transparent to "
                                     f"{cl.species.name!r}; make it reflect (set_surface) or clamp next to a region")
            clamped = [o for o in self.model.objects if any((r.index, 0) in cl.contexts for r in o.regions)]
            for rel, pts in self._source_samples(4096) if clamped else ():
                if rel.species.index != cl.species.index:
                    continue
                # sample positions of the source must all lie outside the clamped objects
                how = "released" if any(rel is r for r in self.model.releases) else "produced"
                if any(world.contains(self.scene, o.index, o.mesh, pts).any() for o in clamped):
                    raise ModelError(f"{cl.species.name!r} is clamped {cl.label} and cannot also be {how} there; "
                                     f"remove the {'release' if how == 'released' else 'production'} or the clamp")

    def _production_source(self, rx, n: int) -> Release:
        """n molecules of a production's product, uniform in its object (a Release to sample)."""
        return Release(rx.products[0], n, 0.0, "object", (rx.inside,))

    def _source_samples(self, most: int) -> list[tuple[Release, np.ndarray]]:
        """Every release and production with up to ``most`` sample positions of where its
        molecules start (drawn with their own generator: the run's random streams are untouched)."""
        probe = np.random.default_rng(0)
        sources = self.model.releases + [self._production_source(rx, most) for rx in self.model.reactions
                                         if rx.kind == "production"]
        return [(r, self._sample_positions(Release(r.species, min(r.n, most), r.t, r.kind, r.params), probe))
                for r in sources]

    def _check_release_points(self) -> None:
        """A point release must not lie on a surface: which side it is on would be undefined."""
        points = [(rel.species, rel.params[0]) for rel in self.model.releases if rel.kind == "point"]
        points += [(v.species, p) for v in self.model.vesicle_releases if v.sites is not None for p in v.sites]
        for sp, at in points:
            if self.scene.n_tri == 0:
                break
            dist, tri = self.scene.surface_distance(at)
            if dist < SURFACE_CLEARANCE:
                obj, region = self._triangle_owner(tri)
                raise ModelError(
                    f"release of {sp.name!r} at {tuple(float(x) for x in at)} µm lies on the surface of "
                    f"{obj!r} (region {region!r}); move the point off the surface, into the space "
                    f"where the molecules start (e.g. by 1 nm)")

    def _vesicle_events(self) -> np.ndarray:
        """Draw this run's vesicle releases (:meth:`Model.release_vesicles`), schedule their
        molecules (each joins at the step boundary nearest its release time) and return the
        events: time (s), source (index of the release_vesicles call), ap, site, n, x, y, z (µm)."""
        if not self.model.vesicle_releases:
            return np.zeros(0, dtype=RELEASE_EVENT)
        from cleftsim import release

        dt, out = self.model.dt, []
        for k, vr in enumerate(self.model.vesicle_releases):
            ev = release.realise(vr.stimulus, self.rng)
            pos = vr.sites[ev["site"]] if vr.region is None else self._region_points(vr.region, len(ev), vr.depth)
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

    @staticmethod
    def _region_samples(regions: list, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n points uniform over the regions (µm) and the unit normals there."""
        verts, tris, normals = [], [], []
        for reg in regions:
            mesh = reg.object.mesh
            verts.append(mesh.vertices)
            tris.append(mesh.triangles[reg.triangles] + sum(len(v) for v in verts[:-1]))
            normals.append(mesh.normals[reg.triangles])
        which, pts = uniform_on(np.concatenate(verts), np.concatenate(tris), n, rng)
        return pts, np.concatenate(normals)[which]

    def _region_points(self, regions: list, n: int, depth: float, rng: np.random.Generator | None = None) -> np.ndarray:
        """n points uniform over the regions, ``depth`` µm off them against their normals (drawn
        with ``rng``, default the run's release stream)."""
        pts, normals = self._region_samples(regions, n, self.rng if rng is None else rng)
        return pts - depth * normals

    def _check_vesicle_depths(self) -> None:
        """A vesicle released ``depth`` in front of an active zone must stay in the space it faces."""
        probe = np.random.default_rng(2)
        for v in self.model.vesicle_releases:
            if v.region is None or self.scene.n_tri == 0:
                continue
            pts, normals = self._region_samples(v.region, 64, probe)
            start = pts - SURFACE_CLEARANCE * normals
            room = [self.scene.trace(p, -(v.depth - SURFACE_CLEARANCE) * n) for p, n in zip(start, normals)]
            hits = [(SURFACE_CLEARANCE + t * (v.depth - SURFACE_CLEARANCE), p) for (tri, t), p in zip(room, pts)
                    if tri >= 0]
            if hits:
                deep, at = min(hits, key=lambda h: h[0])
                raise ModelError(
                    f"release_vesicles of {v.species.name!r}: depth {v.depth * 1e3:.3g} nm in front of "
                    f"{', '.join(r.label for r in v.region)} goes through another surface: near "
                    f"({', '.join(f'{x:.3g}' for x in at)}) um the space there is {deep * 1e3:.3g} nm deep; give a "
                    f"depth below that (the default is 2 nm)")

    def _triangle_owner(self, tri: int) -> tuple[str, str]:
        for obj in self.model.objects:
            if tri < obj.mesh.n_triangles:
                return obj.name, obj.mesh.region_names[obj.mesh.region_ids[tri]]
            tri -= obj.mesh.n_triangles
        raise IndexError(tri)

    @property
    def time(self) -> float:
        """Current simulated time (s)."""
        return self.step_index * self.model.dt

    # ---- molecules ------------------------------------------------------------------------
    def _sample_positions(self, rel: Release, rng: np.random.Generator | None = None) -> np.ndarray:
        n, rng = rel.n, self.rng if rng is None else rng
        if rel.kind == "point":
            return np.repeat(rel.params[0][None, :], n, axis=0)
        if rel.kind == "box":
            lo, hi = rel.params
            return lo + (hi - lo) * rng.random((n, 3))
        if rel.kind == "sphere":
            center, r = rel.params
            v = rng.standard_normal((n, 3))
            v /= np.linalg.norm(v, axis=1)[:, None]
            return center + v * (r * rng.random(n) ** (1 / 3))[:, None]
        obj = rel.params[0]
        lo, hi = obj.mesh.bounds
        out, have, tries = np.empty((n, 3)), 0, 0
        while have < n:
            cand = lo + (hi - lo) * rng.random((max(2 * (n - have), 64), 3))
            cand = cand[world.contains(self.scene, obj.index, obj.mesh, cand)][: n - have]
            out[have:have + len(cand)] = cand
            have += len(cand)
            tries += 1
            if tries > 1000:
                raise ModelError(f"could not place molecules inside {obj.name!r}: is it a closed object with volume?")
        return out

    def _add(self, species: Species, positions: np.ndarray) -> None:
        k = len(positions)
        self._reserve(self.n + k)
        self._pos[self.n:self.n + k] = positions
        self._species[self.n:self.n + k] = species.index
        self._uid[self.n:self.n + k] = np.arange(self._next_uid, self._next_uid + k)
        self._wall[self.n:self.n + k] = -1.0
        self._clock[self.n:self.n + k] = self.rng.exponential(size=k)
        self._next_uid += k
        self.n += k

    def _reserve(self, need: int) -> None:
        """Grow the volume arrays to hold at least ``need`` molecules."""
        if need <= len(self._pos):
            return
        cap = max(2 * len(self._pos), need)
        for attr in ("_pos", "_species", "_uid", "_wall", "_clock"):
            old = getattr(self, attr)
            new = np.zeros((cap,) + old.shape[1:], dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, attr, new)

    def _apply_due_releases(self) -> None:
        while self._pending and self._pending[0][0] <= self.step_index:
            _, rel, rest = self._pending.pop(0)
            if rel.p < 1.0 and self.rng.random() >= rel.p:
                continue
            pos = self._sample_positions(rel)
            self._add(rel.species, self._diffuse_for(rel.species, pos, rest) if rest > 0 else pos)
            self._released[rel.species.index] += rel.n

    def _scheduled(self, rel: Release) -> tuple[int, Release, float]:
        """(step at whose start the release's molecules join, the release, time (s) they diffuse
        before that): a release inside a step joins at the step's end."""
        k = rel.t / self.model.dt
        if abs(k - round(k)) <= 1e-6 * max(1.0, k):
            return int(round(k)), rel, 0.0
        step = int(np.floor(k)) + 1
        return step, rel, step * self.model.dt - rel.t

    def _diffuse_for(self, species: Species, pos: np.ndarray, duration: float) -> np.ndarray:
        """Move molecules just released by a free diffusion of ``duration`` (s) through the
        geometry (its rules; no binding); returns the survivors, counting the absorbed."""
        s = species.index
        disp = self.rng.normal(scale=np.sqrt(2.0 * species.D * duration), size=pos.shape)
        pos = np.ascontiguousarray(pos, dtype=np.float64).copy()
        fate = displace(self.scene, pos, disp, s, species.D * duration,
                        self._rcut[s] * np.sqrt(duration / self.model.dt), self._stream, self.crossed, self._stats)
        np.add.at(self.absorbed[:, s], fate[fate >= 0], 1)
        return pos[fate < 0]

    # ---- stepping -------------------------------------------------------------------------
    def advance(self, n_steps: int) -> None:
        """Advance by ``n_steps`` time steps (releases applied at the start of the step they are due)."""
        self._advance(n_steps, None)

    def _advance(self, n_steps: int, tick) -> None:
        """advance(), calling ``tick(steps)`` after each call of the kernel if it is given."""
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
            raise ModelError(f"advance takes a whole number of steps >= 0, got {n_steps!r}; to run for a time use "
                             f"sim.run('5 us')")
        self._unchanged()
        target = self.step_index + int(n_steps)
        while self.step_index < target:
            self._apply_due_releases()
            stop = min(target, self._pending[0][0]) if self._pending else target
            m = min(stop - self.step_index, CHUNK_STEPS, self._production_steps)
            new = self._productions(m)
            self._reserve(self.n + self._pending_room() + (int(np.diff(new[3]).max()) if len(new[1]) > 1 else 0))
            if self.pairs is not None:
                self.pairs.ensure(len(self._pos))
            self.n, done, self._next_uid = advance(
                self.scene, self.membrane, self.volume, self.pairs, self._pos, self._species, self._uid, self._wall,
                self._clock, self.n, m, self.model.dt, self._sigma, self._ddt, self._rcut, self._stream,
                self.absorbed, self.crossed, self._stats, self._next_uid, self._clamp_table(m), *new)
            self.step_index += done
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
        if not self._production_rates:                       # nothing made: the same empty tables each call
            if self._no_births is None or len(self._no_births[3]) != m + 1:
                self._no_births = (np.zeros((1, 3)), np.zeros(1, dtype=np.int32), np.zeros(1),
                                   np.zeros(m + 1, dtype=np.int64))
            return self._no_births
        dt = self.model.dt
        rows = []
        for rx, mean in self._production_rates:
            counts = self.rng.poisson(mean * dt, m)
            k = int(counts.sum())
            pos = self._sample_positions(self._production_source(rx, k))
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
        s = self.model._species(species).index
        self._apply_due_releases()
        return self._pos[: self.n][self._species[: self.n] == s].copy()

    def count(self, species: Species | str) -> int:
        """Number of molecules of ``species`` in the world now."""
        s = self.model._species(species).index
        self._apply_due_releases()
        return int(np.count_nonzero(self._species[: self.n] == s))

    def observe(self) -> dict[str, float]:
        """Current value of every observable of the model."""
        self._unchanged()
        self._apply_due_releases()
        out = {}
        for ob in self.model.observables:
            if ob.kind == "surface":
                out[ob.name] = self._surface_count(ob.species, ob.target)
                continue
            if ob.kind == "events":
                out[ob.name] = int(sum(self._events[rx.index] for rx in ob.target))
                continue
            if ob.kind == "current":
                out[ob.name] = float(sum(self._surface_count(states, None) * i for states, i in ob.target))
                continue
            if ob.kind == "sum":
                total = sum(c * out[k] for k, c in ob.target)
                out[ob.name] = int(total) if all(c.is_integer() for _, c in ob.target) else total
                continue
            s = ob.species.index
            if ob.kind == "count":
                if ob.target is None:
                    out[ob.name] = self.count(ob.species)
                else:
                    pts = self._pos[: self.n][self._species[: self.n] == s]
                    inside = (ob.target.contains(pts) if isinstance(ob.target, SHAPES)
                              else world.contains(self.scene, ob.target.index, ob.target.mesh, pts))
                    out[ob.name] = int(inside.sum())
            elif ob.kind == "released":
                out[ob.name] = int(self._released[s])
            elif ob.kind == "absorbed":
                out[ob.name] = int(sum(self.absorbed[r.index, s] for r in ob.target))
            else:
                c_out = int(sum(self.crossed[r.index, s, 1] for r in ob.target))
                c_in = int(sum(self.crossed[r.index, s, 0] for r in ob.target))
                out[ob.name] = {"out": c_out, "in": c_in, "net": c_out - c_in}[ob.direction]
        return out

    def _surface_count(self, members, regions) -> int:
        if self.membrane is None:
            return 0
        state, tri = self.membrane.arrays("state", "tri")
        live = state >= 0
        if regions is not None:
            live &= np.isin(self._tri_region[tri], [r.index for r in regions])
        per_state = np.bincount(state[live], minlength=len(self.model.surface_species))
        return int(per_state[[m.index for m in members]].sum())

    def surface_molecules(self, what) -> dict[str, np.ndarray]:
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
        return {rx.equation: int(self._events[rx.index]) for rx in self.model.reactions}

    @property
    def diagnostics(self) -> dict[str, int]:
        """Engine counters since t = 0."""
        keys = ("truncated_steps", "bridge_absorptions", "reflections", "periodic_wraps", "slab_steps")
        out = dict(zip(keys, (int(v) for v in self._stats)))
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
        for rx, rate in self._production_rates:
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
        from cleftsim import __version__

        meta = {"seed": self.model.seed, "entropy": self.seed.entropy, "spawn_key": tuple(self.seed.spawn_key),
                "dt": self.model.dt, "version": __version__,
                "model": self.model.describe()}
        times = (start + np.array(marks, dtype=np.int64)) * self.model.dt
        n = len(marks)
        return Result(times, {k: np.array(v[:n]) for k, v in data.items()}, meta, self.diagnostics,
                      self.release_events)
