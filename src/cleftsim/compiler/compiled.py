"""compile(model) -> CompiledModel: everything about a model that does not depend on the trial.

A CompiledModel is a frozen, picklable value: a private copy of the model (editing the original
afterwards cannot change it), the scene (the ray-tracing grid of cleftsim._core.scene), the
kernels' membrane, volume and pair tables, the release schedule and the observables to record.
Every check of the model against its geometry and time step runs here, once; trials and the
workers of an ensemble share the result (cleftsim.engine.Simulation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cleftsim._core.membrane import MembraneTables
from cleftsim._core.pairs import PairTables
from cleftsim._core.scene import Scene
from cleftsim._core.volume import VolumeTables
from cleftsim.compiler import checks
from cleftsim.compiler import scene as world
from cleftsim.compiler.membrane import membrane_tables, reactive_rules
from cleftsim.compiler.sources import source_samples, start_points
from cleftsim.compiler.time_step import SAMPLES, check_time_step
from cleftsim.compiler.volume import check_radii_fit, pair_tables, radii, volume_tables
from cleftsim.errors import ModelError
from cleftsim.model.model import Model, Release
from cleftsim.model.rules import ABSORB, RULE_MASK
from cleftsim.units import PER_UM3_PER_MOLAR

#: Steps per call of the kernel (the clamp concentrations of a call are tabulated per step).
CHUNK_STEPS = 1024


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """A model compiled for the kernels (see the module docstring); build it with :func:`compile`.

    ``model``: the private copy; ``scene``: the compiled geometry; ``rules``: (regions, species)
    surface rules with the reactive flag; ``sigma``, ``ddt``, ``rcut``: per species, the step
    SD per axis √(2DΔt) (µm), DΔt (µm²) and the Brownian-bridge search radius (µm);
    ``tri_region``: the region of every triangle; ``membrane``, ``volume``, ``pairs``: the
    kernels' tables (None where the model has none); ``productions``: (reaction, molecules per
    second); ``schedule``: (step, release, time it diffuses before that step) of every release in
    time order; ``surface_molecules``: how many are placed at t = 0.
    """

    model: Model
    scene: Scene
    scene_arrays: dict
    rules: np.ndarray
    sigma: np.ndarray
    ddt: np.ndarray
    rcut: np.ndarray
    tri_region: np.ndarray
    membrane: MembraneTables | None
    volume: VolumeTables | None
    pairs: PairTables | None
    productions: tuple
    production_steps: int
    schedule: tuple
    surface_molecules: int
    most_products: int

    @property
    def dt(self) -> float:
        """The time step (s)."""
        return self.model.dt

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["scene"]                       # a Scene is rebuilt from its arrays
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, scene=Scene(state["scene_arrays"]))

    def __repr__(self) -> str:
        return f"CompiledModel({self.model!r}, {self.scene.n_tri} triangles)"


def compile(model: Model) -> CompiledModel:
    """Check ``model`` against its geometry and time step and compile it for the kernels.

    Errors (:class:`~cleftsim.errors.ModelError`) and warnings (AccuracyWarning, ModelWarning)
    about the model are raised here. The result is independent of the model afterwards.
    """
    if not isinstance(model, Model):
        raise ModelError(f"compile needs a cleftsim Model, got {type(model).__name__} {model!r}")
    if not model.species and not model.surface_species:
        raise ModelError("the model has no species; add one with model.add_species(name, D)")
    model = model.frozen_copy()
    D = np.array([s.D for s in model.species] or [0.0])
    sigma = np.sqrt(2.0 * D * model.dt)
    rules = reactive_rules(model, model.rule_table())
    absorbs = ((rules & RULE_MASK) == ABSORB).any(axis=0)[: len(D)]
    rcut = np.where(absorbs, model.bridge_radius * sigma, 0.0)
    arrays = world.scene_arrays([o.mesh for o in model.objects], [o.region_offset for o in model.objects], rules,
                                rcut, model.periodic, model.grid_cell)
    scene = Scene(arrays)
    tri_region = np.concatenate([o.region_offset + np.asarray(o.mesh.region_ids) for o in model.objects]
                                or [np.zeros(0, dtype=np.int64)])
    membrane = MembraneTables(**membrane_tables(model)) if model.surface_species else None
    bind, sep = radii(model)
    if bind and model.periodic is not None:
        raise ModelError("reactions of two volume molecules in a periodic box are not supported (pairs across "
                         "the periodic faces would not react); bound the space with a reflecting box instead")
    if bind:
        check_radii_fit(model, scene, bind, sep, np.concatenate(
            [pts for _, pts in source_samples(model, scene, 64)] or [np.zeros((0, 3))]))
    # zeroth-order productions: (reaction, molecules per second), chunks of ~10⁵ new molecules at most
    productions = tuple((rx, rx.k * PER_UM3_PER_MOLAR * abs(rx.inside.mesh.volume))
                        for rx in model.reactions if rx.kind == "production")
    per_step = sum(rate for _, rate in productions) * model.dt
    order = sorted(range(len(model.releases)), key=lambda i: (model.releases[i].t, i))
    checks.release_points(model, scene)
    checks.vesicle_depths(model, scene)
    checks.clamps(model, scene)
    checks.observed_rules(model, rules)
    check_time_step(model, scene, start_points(model, scene, SAMPLES))
    return CompiledModel(
        model=model, scene=scene, scene_arrays=arrays, rules=rules, sigma=sigma, ddt=D * model.dt, rcut=rcut,
        tri_region=tri_region,
        membrane=membrane,
        volume=_typed(VolumeTables, volume_tables(model, sep)), pairs=_typed(PairTables, pair_tables(model, bind)),
        productions=productions,
        production_steps=max(1, int(1e5 / per_step)) if per_step > 0 else CHUNK_STEPS,
        schedule=tuple(_scheduled(model.releases[i], model.dt) for i in order),
        surface_molecules=sum(p.n for p in model.placements),
        most_products=max([len(rx.volume_products) for rx in model.reactions] or [0]))


def _typed(tables, arrays: dict | None):
    """The kernel's tables class built from the named arrays (None stays None)."""
    return None if arrays is None else tables(**arrays)


def _scheduled(rel: Release, dt: float) -> tuple[int, Release, float]:
    """(step at whose start the release's molecules join, the release, time (s) they diffuse
    before that): a release inside a step joins at the step's end."""
    k = rel.t / dt
    if abs(k - round(k)) <= 1e-6 * max(1.0, k):
        return int(round(k)), rel, 0.0
    step = int(np.floor(k)) + 1
    return step, rel, step * dt - rel.t
