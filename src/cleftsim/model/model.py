"""Model: the declarative, validated description of a simulation.

A model holds species, geometry objects, surface rules, releases and observables. Every input is
checked when it is added (or, for whatever depends on several items, when the model is compiled
by :meth:`Model.simulation`), so a kernel never sees something it cannot handle.

Per-step order (the same in every run): (1) releases due at the current time add molecules;
(2) observables due at the current time are recorded; (3) every volume molecule takes a Gaussian
step, traced through the geometry (at each surface: binding to a surface molecule facing it with
the per-hit probability of :mod:`cleftsim.physics.binding`, else reflect / absorb / transparent; then the
Brownian-bridge test near absorbing surfaces); (4) surface molecules' first-order events of the
step fire at their exact times (including bindings driven by a concentration clamp); (5) volume
products of the step's reactions join the volume.
"""
from __future__ import annotations

import copy
import functools
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from cleftsim import units
from cleftsim.errors import MeshError, ModelError, ModelWarning, ReleaseError
from cleftsim.geometry import Mesh, checks
from cleftsim.geometry.shapes import SHAPES, Periodic
from cleftsim.geometry.tiles import tile_divisions
from cleftsim.model import reactions
from cleftsim.model import release as rel
from cleftsim.model.currents import Channel
from cleftsim.model.observables import (
    Absorbed,
    Combination,
    Count,
    Crossings,
    Current,
    Events,
    Observable,
    Released,
    SurfaceCount,
)
from cleftsim.model.release import _probability
from cleftsim.model.rules import RULES
from cleftsim.model.schemes import Scheme
from cleftsim.model.surface_molecules import FACING, Clamp, Placement, SchemeHandle, StateSet, SurfaceSpecies
from cleftsim.physics import bimolecular, binding, waveforms
from cleftsim.physics.bimolecular import pair_radius

if TYPE_CHECKING:                # the engine and results sit above the model (Model.run imports them when called)
    from cleftsim.engine.simulation import Simulation
    from cleftsim.results.result import Result




#: Shortest time step (s): Brownian motion describes molecules in water on time scales well above
#: the ~0.1 ps over which their velocity relaxes.
MIN_DT = 1e-12
#: Memory (bytes) one volume molecule takes in a run: position, species, id, wall cache and
#: event clock (52 bytes), the positions drawn when it is released (24) and room to grow.
BYTES_PER_MOLECULE = 100


def physical_memory() -> int:
    """This machine's physical memory (bytes)."""
    import os

    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):       # not a POSIX system: assume a large workstation
        return 64 * 2**30


def check_memory(need: float, what: str, fix: str) -> None:
    """Refuse, before anything is allocated, what needs more than the machine's memory."""
    have = physical_memory()
    if need > have:
        raise ModelError(f"{what} would need about {need / 2**30:.3g} GiB of memory, but this machine has "
                         f"{have / 2**30:.3g} GiB; {fix}")


@dataclass(frozen=True)
class Species:
    """A volume species: name, diffusion coefficient D (µm²/s), index in the model."""

    name: str
    D: float
    index: int

    def __repr__(self) -> str:
        return f"Species({self.name!r}, D={self.D:g} um^2/s)"


@dataclass(frozen=True)
class Region:
    """A named set of triangles of one geometry object; ``index`` is the model-wide region id."""

    object: "GeometryObject"
    name: str
    index: int

    @property
    def label(self) -> str:
        return f"{self.object.name}.{self.name}"

    @property
    def triangles(self) -> np.ndarray:
        """Indices of the region's triangles within its object's mesh."""
        mesh = self.object.mesh
        return np.flatnonzero(np.asarray(mesh.region_ids) == mesh.region_names.index(self.name))

    @property
    def area(self) -> float:
        """Area of the region (µm²)."""
        return float(self.object.mesh.areas[self.triangles].sum())

    def __repr__(self) -> str:
        return f"Region({self.label!r})"


@dataclass(frozen=True, eq=False)
class GeometryObject:
    """A mesh placed in the model under a name; its regions are ``obj.region(name)``."""

    name: str
    mesh: Mesh
    index: int
    region_offset: int

    def region(self, name: str) -> Region:
        """The region called ``name`` of this object."""
        names = self.mesh.region_names
        if name not in names:
            raise ModelError(f"object {self.name!r} has no region {name!r}; its regions are {list(names)}")
        return Region(self, name, self.region_offset + names.index(name))

    @property
    def regions(self) -> list[Region]:
        return [self.region(n) for n in self.mesh.region_names]

    def __repr__(self) -> str:
        return f"GeometryObject({self.name!r}, regions={list(self.mesh.region_names)})"


@dataclass(frozen=True)
class Release:
    """N molecules of a species added at time t (s), at a point or uniformly in a shape, with
    probability p (all N or none)."""

    species: Species
    n: int
    t: float
    kind: str                      # "point", "box", "sphere", "object"
    params: tuple = field(default=())
    p: float = 1.0


@dataclass(frozen=True, eq=False)
class VesicleRelease:
    """Vesicles of a species released by a stimulus (:mod:`cleftsim.release`): each site's
    vesicle at a point of ``sites`` ((n_sites, 3) µm), or uniform over ``region`` (a list of
    Region) ``depth`` µm into the space, its molecules leaving through ``pore``."""

    species: Species
    stimulus: Any
    sites: np.ndarray | None
    region: list | None
    depth: float
    pore: Any


@dataclass(frozen=True)
class Reaction:
    """One reaction with rate constant k (s⁻¹ first order, M⁻¹s⁻¹ second order).

    kind: ``"binding"`` (a volume molecule meets a surface molecule on a hit), ``"surface"``
    (a first-order transition of a surface molecule, possibly releasing volume molecules),
    ``"volume"`` (a first-order reaction of a volume molecule: decay, conversion, dissociation) or
    ``"pair"`` (two volume molecules: A + B, or A + A with k defined by d[products]/dt = k[A]²,
    so d[A]/dt = −2k[A]² for A + A -> C) or ``"production"`` (zeroth order, ``"0 -> A"``: new
    molecules appear uniformly ``inside`` a closed object at k (M/s) times its volume).

    ``side`` (bindings) and ``product_sides`` (reactions of a surface molecule with volume
    products, one per volume product in the order written) relate them to the side the surface
    molecule faces: +1 that side, -1 the other, 0 either (for products: each on a random side).
    """

    equation: str
    reactants: tuple
    products: tuple
    k: float
    kind: str
    index: int
    inside: Any = None             # GeometryObject of a production
    radius: float | None = None    # given reaction radius (µm) of a pair reaction
    side: int = 1                  # binding: +1 from the side the surface molecule faces, -1 the other, 0 both
    product_sides: tuple = ()      # per volume product of a surface reactant: +1 facing, -1 back, 0 random

    @property
    def surface_reactant(self) -> SurfaceSpecies | None:
        return next((r for r in self.reactants if isinstance(r, SurfaceSpecies)), None)

    @property
    def surface_product(self) -> SurfaceSpecies | None:
        return next((r for r in self.products if isinstance(r, SurfaceSpecies)), None)

    @property
    def volume_products(self) -> tuple[Species, ...]:
        return tuple(r for r in self.products if isinstance(r, Species))

    def __repr__(self) -> str:
        return f"Reaction({self.equation!r}, k={self.k:g})"


def _pair(value: Any) -> bool:
    """Whether value is a sequence of two items."""
    return isinstance(value, (tuple, list)) and len(value) == 2


def _edit(method):
    """Mark a Model method that changes the model (a Simulation compiled before refuses to go on;
    the frozen copy of a CompiledModel refuses every change)."""
    @functools.wraps(method)
    def edit(self, *args, **kwargs):
        if self.frozen:
            raise ModelError(f"this model is the frozen copy held by a compiled model and cannot be changed "
                             f"({method.__name__}); change the original model and compile it again")
        out = method(self, *args, **kwargs)
        self.edits += 1
        return out

    return edit


class Model:
    """A particle simulation of volume molecules diffusing through triangle-mesh geometry.

    Parameters
    ----------
    dt : time step (s, or a string such as ``"1 us"``).
    seed : seed of the random stream (``numpy.random.SeedSequence``); same seed, same results.
    periodic_box : optional box size (x, y, z) (µm), centred on ``box_center``: molecules
        leaving one face re-enter at the opposite one (on ``periodic_axes``). Geometry must lie
        inside it. Without it the world is unbounded.
    grid_cell : edge of the ray-tracing grid cells (µm); chosen from the mesh when omitted.
    tile_density : tiles per µm² (default 1e4, MCell's SURFACE_GRID_DENSITY): every triangle of a
        region holding surface molecules is cut into equal tiles of at most 1/tile_density, one
        molecule per tile, and a volume molecule's hit binds the molecule on the tile under it
        (:mod:`cleftsim.physics.binding`). A region holds at most its number of tiles; the binding rate
        does not depend on the tile size, the largest usable dt does.
    t_end, every : the default duration of a run and sampling interval (s or time strings, whole
        numbers of steps), used by :meth:`run`, :func:`~cleftsim.run.ensemble.run_ensemble` and
        :func:`~cleftsim.run.sweep.sweep` when they are not given; ``every`` defaults to dt.
    bridge_radius : search radius of the Brownian-bridge test near absorbing surfaces, in step
        SDs σ = √(2DΔt) per axis (default 4: a molecule ending farther than that from every
        absorbing triangle crossed one with a probability below ~3e-5 of the near-wall value;
        docs/algorithms.md). 0 checks only the end point of each step, which lets molecules
        cross absorbing walls unseen: for comparisons only.
    """

    def __init__(self, dt: Any, seed: int | None = None, periodic_box: Sequence | None = None,
                 box_center: Sequence = (0.0, 0.0, 0.0), periodic_axes: str = "xyz",
                 grid_cell: Any = None, tile_density: Any = None, *, t_end: Any = None, every: Any = None,
                 bridge_radius: float = 4.0):
        self.dt = units.time(dt, "dt")
        if not units.is_number(bridge_radius) or not 0 <= bridge_radius <= 10:
            raise ModelError(f"bridge_radius is in step SDs sigma = sqrt(2 D dt) and must lie in [0, 10], got "
                             f"{bridge_radius!r}; leave it at 4 (the exact test) unless comparing")
        self.bridge_radius = float(bridge_radius)
        if not self.dt > 0:
            raise ModelError(f"dt must be positive, got {dt!r}; give e.g. dt='1 us'")
        if self.dt < MIN_DT:
            raise ModelError(f"dt must be at least {MIN_DT:g} s, got {dt!r}: below about a picosecond molecules do not "
                             f"move by Brownian diffusion (their velocity has not relaxed); give e.g. dt='1 us'")
        self.t_end = None if t_end is None else self.steps(t_end, "t_end", positive=True) * self.dt
        self.every = None if every is None else self.steps(every, "every", positive=True) * self.dt
        if self.t_end is not None and self.every is not None:
            self.sampling(t_end, every)
        if seed is not None and not units.is_whole(seed):
            raise ModelError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.seed = seed
        self.grid_cell = None if grid_cell is None else units.length(grid_cell, "grid_cell")
        if self.grid_cell is not None and not self.grid_cell >= 1e-3:
            raise ModelError(f"grid_cell must be at least 1 nm (smaller ray-tracing cells only cost memory), got "
                             f"{grid_cell!r}; leave it out to have it chosen from the mesh")
        self.periodic = None
        if periodic_box is None and (tuple(box_center) != (0.0, 0.0, 0.0) or periodic_axes != "xyz"):
            raise ModelError("box_center and periodic_axes describe a periodic box; give periodic_box=(x, y, z) "
                             "too, or leave them out")
        if periodic_box is not None:
            size = units.point(periodic_box, "periodic_box")
            if np.any(size <= 0):
                raise ModelError(f"periodic_box sizes must be positive, got {periodic_box!r}")
            if not set(periodic_axes) <= set("xyz") or not periodic_axes:
                raise ModelError(f"periodic_axes must be letters from 'xyz', got {periodic_axes!r}")
            center = units.point(box_center, "box_center")
            self.periodic = Periodic(center - size / 2, center + size / 2,
                                     tuple(a in periodic_axes for a in "xyz"))
        try:
            self.tile_density = (binding.DEFAULT_TILE_DENSITY if tile_density is None else units.bounded(
                tile_density, "density", "tile_density", low="1 /um^2", high="1e6 /um^2",
                why="a tile holds one surface molecule, a few nm across; MCell's default is 1e4 /um^2",
                example="1e4 /um^2"))
        except units.UnitError as exc:
            raise ModelError(str(exc)) from None
        #: Number of changes made to the model (a Simulation checks it has not changed since it was compiled).
        self.edits = 0
        #: Whether this is the frozen copy of a CompiledModel (every change is refused).
        self.frozen = False
        self.species: list[Species] = []
        self.surface_species: list[SurfaceSpecies] = []
        self.reactions: list[Reaction] = []
        self.placements: list[Placement] = []
        self.clamps: list[Clamp] = []
        self.objects: list[GeometryObject] = []
        self._rules: dict[tuple[int, int], int] = {}
        self.releases: list[Release] = []
        self.vesicle_releases: list[VesicleRelease] = []
        self.schemes: dict[str, SchemeHandle] = {}
        #: Free-form notes on the model (presets: "preset", "parameters", "synapse"); the preset
        #: name and parameters are stored with results.
        self.metadata: dict[str, Any] = {}
        self.observables: list[Observable] = []

    # ---- durations ------------------------------------------------------------------------
    def steps(self, duration: Any, name: str, positive: bool = False) -> int:
        """Number of time steps in ``duration`` (s or a time string), which must be a whole
        multiple of dt (and more than zero if ``positive``)."""
        t = units.time(duration, name)
        if t < 0 or (positive and t == 0):
            raise ModelError(f"{name} must be {'positive' if positive else '>= 0'}, got {duration!r}")
        k = t / self.dt
        n = int(round(k))
        if abs(k - n) > 1e-6 * max(1.0, k):
            raise ModelError(f"{name} = {duration!r} is not a whole number of time steps dt = {self.dt:g} s; "
                             f"use {max(n, 1) * self.dt:g} s or change dt")
        return n

    def sampling(self, t_end: Any = None, every: Any = None) -> tuple[int, int]:
        """(steps to run, steps between samples) for a run to ``t_end`` sampled every ``every``;
        each defaults to the model's (``Model(t_end=, every=)``; ``every`` then to dt)."""
        if t_end is None:
            if self.t_end is None:
                raise ModelError("no t_end given and the model has no default duration; pass t_end=, e.g. "
                                 "t_end='5 ms', or build the model with cs.Model(dt, t_end=...)")
            t_end = self.t_end
        if every is None:
            every = self.dt if self.every is None else self.every
        n_total = self.steps(t_end, "t_end")
        k = self.steps(every, "every")
        if k < 1:
            raise ModelError(f"every = {every!r} must be at least one time step (dt = {self.dt:g} s)")
        if n_total % k:
            raise ModelError(f"t_end = {t_end!r} is not a whole number of sampling intervals every = {every!r}; "
                             f"use t_end = {(n_total // k + 1) * k * self.dt:g} s")
        return n_total, k

    # ---- lookup helpers -------------------------------------------------------------------
    def _species(self, sp: Species | str) -> Species:
        if isinstance(sp, Species):
            if sp.index < len(self.species) and self.species[sp.index] is sp:
                return sp
            raise ModelError(f"species {sp.name!r} belongs to another model; use this model's add_species")
        for s in self.species:
            if s.name == sp:
                return s
        if isinstance(sp, (SurfaceSpecies, StateSet, SchemeHandle)) or any(s.name == sp for s in self.surface_species):
            raise ModelError(f"{getattr(sp, 'name', sp)!r} is a surface species (a state of a membrane molecule); "
                             f"a volume species is needed here: {[s.name for s in self.species]}")
        raise ModelError(f"unknown species {sp!r}; known species: {[s.name for s in self.species]}")

    def _surface_species(self, sp: SurfaceSpecies | str) -> SurfaceSpecies:
        if isinstance(sp, SurfaceSpecies):
            if sp.index < len(self.surface_species) and self.surface_species[sp.index] is sp:
                return sp
            raise ModelError(f"surface species {sp.name!r} belongs to another model")
        for s in self.surface_species:
            if s.name == sp:
                return s
        if isinstance(sp, Species) or any(s.name == sp for s in self.species):
            raise ModelError(f"{getattr(sp, 'name', sp)!r} is a volume species; a surface species (or a scheme's state) "
                             f"is needed here: {[s.name for s in self.surface_species]}")
        raise ModelError(f"unknown surface species {sp!r}; known surface species: "
                         f"{[s.name for s in self.surface_species]}")

    def _any_species(self, name: str) -> Species | SurfaceSpecies:
        for s in self.species + self.surface_species:
            if s.name == name:
                return s
        raise ModelError(f"unknown species {name!r}; volume species: {[s.name for s in self.species]}, "
                         f"surface species: {[s.name for s in self.surface_species]}")

    def _state_set(self, what: Any) -> tuple[str, tuple[SurfaceSpecies, ...]]:
        """A surface species, a state set or a list of them as (label, species)."""
        if isinstance(what, StateSet):
            return what.name, tuple(self._surface_species(s) for s in what.species)
        if isinstance(what, SchemeHandle):
            return self._state_set(what.all)
        if isinstance(what, (list, tuple)):
            parts = [self._state_set(w) for w in what]
            return "+".join(p[0] for p in parts), tuple(s for p in parts for s in p[1])
        if isinstance(what, str):
            what = self._any_species(what)
            if isinstance(what, Species):
                raise ModelError(f"{what.name!r} is a volume species; a surface species or state set is needed here")
        sp = self._surface_species(what)
        return sp.name, (sp,)

    def _object(self, obj: GeometryObject | str) -> GeometryObject:
        if isinstance(obj, GeometryObject):
            if obj.index < len(self.objects) and self.objects[obj.index] is obj:
                return obj
            raise ModelError(f"geometry object {obj.name!r} belongs to another model")
        for o in self.objects:
            if o.name == obj:
                return o
        raise ModelError(f"unknown geometry object {obj!r}; known objects: {[o.name for o in self.objects]}")

    def _regions(self, region: Region | GeometryObject | str | Sequence) -> list[Region]:
        if isinstance(region, (list, tuple)):
            if not region:
                raise ModelError("an empty list of regions; give at least one region or object")
            return list({r.index: r for item in region for r in self._regions(item)}.values())
        if isinstance(region, Region):
            self._object(region.object)
            return [region]
        if isinstance(region, str) and "." in region:
            obj, name = region.split(".", 1)
            return [self._object(obj).region(name)]
        return self._object(region).regions

    def _check_name(self, name: str, what: str) -> None:
        if not isinstance(name, str) or not reactions.NAME.match(name):
            raise ModelError(f"{what} name {name!r} must start with a letter or '_' and use letters, digits, '_', '-' or '.'")
        if what == "species" and any(s.name == name for s in self.species + self.surface_species):
            raise ModelError(f"species {name!r} is already defined")

    # ---- building -------------------------------------------------------------------------
    @_edit
    def add_species(self, name: str, D: Any) -> Species:
        """Add a volume species with diffusion coefficient D (µm²/s, or e.g. ``"0.33 um^2/ms"``)."""
        self._check_name(name, "species")
        d = units.diffusion(D, f"D of species {name!r}")
        if d < 0:
            raise ModelError(f"D of species {name!r} must be >= 0, got {D!r}")
        sp = Species(name, d, len(self.species))
        self.species.append(sp)
        return sp

    @_edit
    def add_geometry(self, mesh: Mesh, name: str) -> GeometryObject:
        """Place a mesh in the world under ``name``; returns the object (``obj.region(...)``).

        The mesh must not intersect itself, nor touch or cross the objects already added
        (nested objects that keep apart are fine)."""
        if not isinstance(mesh, Mesh):
            raise ModelError(f"add_geometry needs a cleftsim.geometry.Mesh, got {type(mesh).__name__}")
        self._check_name(name, "geometry object")
        if any(o.name == name for o in self.objects):
            raise ModelError(f"a geometry object named {name!r} already exists")
        try:
            mesh.check(closed=False)
        except MeshError as exc:
            raise ModelError(f"geometry object {name!r}: {exc}") from None
        if self.periodic is not None:
            lo, hi = mesh.bounds
            if np.any(lo <= self.periodic.lo) or np.any(hi >= self.periodic.hi):
                raise ModelError(f"geometry object {name!r} must lie strictly inside the periodic box")
        for other in self.objects:
            message = checks.objects_intersection(other.mesh, other.name, mesh, name)
            if message:
                raise ModelError(message)
        offset = sum(len(o.mesh.region_names) for o in self.objects)
        obj = GeometryObject(name, mesh, len(self.objects), offset)
        self.objects.append(obj)
        return obj

    @_edit
    def set_surface(self, species: Species | str, region: Region | GeometryObject | str, rule: str) -> None:
        """Set what ``species`` does at ``region`` (or every region of an object):
        ``"reflect"`` (default), ``"absorb"`` or ``"transparent"``."""
        sp = self._species(species)
        if rule not in RULES:
            raise ModelError(f"surface rule {rule!r} is not one of {list(RULES)}")
        for reg in self._regions(region):
            self._rules[(reg.index, sp.index)] = RULES[rule]

    # ---- surface molecules and reactions --------------------------------------------------
    @_edit
    def add_surface_species(self, name: str, D: Any = 0.0) -> SurfaceSpecies:
        """Add a surface species (a state of a membrane molecule) with lateral diffusion
        coefficient D (µm²/s; 0 = immobile). Its molecules stay in the region they are placed on."""
        self._check_name(name, "species")
        d = units.diffusion(D, f"D of surface species {name!r}")
        if d < 0:
            raise ModelError(f"D of surface species {name!r} must be >= 0, got {D!r}")
        sp = SurfaceSpecies(name, d, len(self.surface_species))
        self.surface_species.append(sp)
        return sp

    @_edit
    def add_reaction(self, equation: str, rates: Any, name: str | None = None,
                     inside: GeometryObject | str | None = None, radius: Any = None,
                     side: str = "facing", product_side: Any = "facing") -> Reaction | tuple[Reaction, ...]:
        """Add a reaction in the reaction language (:mod:`cleftsim.model.reactions`).

        ``"L + S -> SL"`` (a volume molecule binds a surface molecule on a hit; rate M⁻¹s⁻¹),
        ``"SL -> S + L"`` (first order, s⁻¹; volume products appear on the side the molecule
        faces), ``"A + B -> C"`` (two volume molecules, M⁻¹s⁻¹ or a volume per time per pair),
        ``"A <-> B"`` with ``(k_forward, k_reverse)``, ``"0 -> A"`` (production in M/s, uniformly
        ``inside`` a closed object). Returns the Reaction, or the pair (forward, reverse) for
        ``<->``; pass it to :meth:`count_events` to count its events.

        Two volume molecules react when they are closer than a binding radius computed from k,
        their D and dt (:mod:`cleftsim.physics.bimolecular`); ``radius`` (µm or e.g. ``"2 nm"``) fixes it
        instead, and the probability of reacting per step within it is computed (a rate above
        what that radius allows at this dt is refused).

        Orientation (reactions with a surface molecule; MCell's ``'`` and ``,``): ``side`` says from
        which side a binding volume molecule must come, ``"facing"`` (default: the side the surface
        molecule faces), ``"back"`` (the other side) or ``"both"``; ``product_side`` where the volume
        products appear, ``"facing"`` (default), ``"back"``, ``"random"`` (each independently on
        either side with probability 1/2, MCell's ``;``), or a tuple with one of those per volume
        product in the order written. For ``"<->"``, ``side`` applies to the binding direction and
        ``product_side`` to the direction that has volume products. A clamp drives a binding
        from the bath on its side (both baths for ``"both"``).
        """
        try:
            eqs = reactions.parse(equation)
            rate_list = reactions.split_rates(eqs, rates, equation)
        except reactions.ReactionSyntaxError as exc:
            raise ModelError(str(exc)) from None
        if name is None:
            labels = [str(eq) for eq in eqs]
        else:
            labels = [name] if len(eqs) == 1 else [f"{name}[forward]", f"{name}[reverse]"]
        if inside is not None and all(eq.reactants for eq in eqs):
            raise ModelError(f"reaction {equation!r}: only a zeroth-order production ('0 -> A') takes inside=; "
                             f"other reactions happen wherever their reactants are")
        where = None
        if radius is not None:
            try:
                radius = units.length(radius, f"radius of reaction {equation!r}")
            except units.UnitError as exc:
                raise ModelError(str(exc)) from None
            if not 0 < radius <= bimolecular.MAX_BINDING_RADIUS:
                raise ModelError(f"reaction {equation!r}: radius must be positive and at most "
                                 f"{bimolecular.MAX_BINDING_RADIUS:g} um (molecules react at contact), got {radius!r}; "
                                 f"a plain number is in um: for nanometres write e.g. '2 nm'")
        if inside is not None:
            where = self._closed(inside, f"the production {equation!r} (inside=)")
        sides = self._orientations(equation, eqs, side, product_side)
        made = tuple(self._add_equation(eq, k, lab, where, radius if i == 0 else None, *sides[i])
                     for i, (eq, k, lab) in enumerate(zip(eqs, rate_list, labels)))
        return made[0] if len(made) == 1 else made

    def _orientations(self, equation: str, eqs, side: Any, product_side: Any) -> list[tuple[int, tuple | None]]:
        """(side, product sides or None for the default) of each direction of an equation."""
        sides = {"facing": 1, "back": -1, "both": 0}
        places = {"facing": 1, "back": -1, "random": 0}
        if not isinstance(side, str) or side not in sides:
            raise ModelError(f"reaction {equation!r}: side must be one of {list(sides)}, got {side!r}")
        if isinstance(product_side, str):
            if product_side not in places:
                raise ModelError(f"reaction {equation!r}: product_side must be one of {list(places)} or a tuple of "
                                 f"those (one per volume product), got {product_side!r}")
        elif not (isinstance(product_side, (tuple, list)) and product_side
                  and all(isinstance(p, str) and p in places for p in product_side)):
            raise ModelError(f"reaction {equation!r}: product_side must be one of {list(places)} or a tuple of those "
                             f"(one per volume product), got {product_side!r}")
        parts = []
        for eq in eqs:
            reac = [self._any_species(n) for n in eq.reactants]
            prod = [self._any_species(n) for n in eq.products]
            surf = any(isinstance(r, SurfaceSpecies) for r in reac)
            parts.append((surf and len(reac) == 2, surf and any(isinstance(p, Species) for p in prod),
                          sum(isinstance(p, Species) for p in prod)))
        out = [(1, None) for _ in eqs]
        if side != "facing":
            hit = [i for i, (b, _, _) in enumerate(parts) if b]
            if not hit:
                raise ModelError(f"reaction {equation!r}: side={side!r} applies only to the binding of a volume molecule "
                                 f"to a surface molecule ('L + R -> LR'); leave side= out here")
            for i in hit:
                out[i] = (sides[side], None)
        if product_side != "facing":
            hit = [i for i, (_, v, _) in enumerate(parts) if v]
            if not hit:
                raise ModelError(f"reaction {equation!r}: product_side={product_side!r} applies only to reactions of a "
                                 f"surface molecule that release volume molecules ('LR -> L + R'); leave it out here")
            for i in hit:
                n_vol = parts[i][2]
                if isinstance(product_side, str):
                    ps = (places[product_side],) * n_vol
                elif len(product_side) != n_vol:
                    raise ModelError(f"reaction {equation!r}: product_side={tuple(product_side)!r} gives "
                                     f"{len(product_side)} sides for {n_vol} volume product(s); give one per volume "
                                     f"product in the order written, or a single side for all")
                else:
                    ps = tuple(places[p] for p in product_side)
                out[i] = (out[i][0], ps)
        return out

    def _add_equation(self, eq: reactions.Equation, k: Any, label: str, where=None, radius=None,
                      side: int = 1, product_sides: tuple | None = None) -> Reaction:
        reac = tuple(self._any_species(n) for n in eq.reactants)
        prod = tuple(self._any_species(n) for n in eq.products)
        if not reac:
            if len(prod) != 1 or not isinstance(prod[0], Species):
                raise ModelError(f"reaction {str(eq)!r}: a zeroth-order production makes one volume molecule; "
                                 f"write one reaction '0 -> A' per volume species A")
            if where is None:
                raise ModelError(f"reaction {str(eq)!r}: a production needs a place; pass inside=<closed object>")
        surf_in = [r for r in reac if isinstance(r, SurfaceSpecies)]
        surf_out = [r for r in prod if isinstance(r, SurfaceSpecies)]
        if not surf_in and surf_out:
            raise ModelError(f"reaction {str(eq)!r}: the surface product {surf_out[0].name!r} cannot exist where the "
                             f"reactants are (in the volume); a surface product needs a surface reactant")
        if not surf_in and len(reac) == 2 and len(prod) > 2:
            raise ModelError(f"reaction {str(eq)!r}: a reaction of two volume molecules can have at most two products")
        if not surf_in and len(reac) == 2 and any(
                rx.kind == "pair" and sorted(r.index for r in rx.reactants) == sorted(r.index for r in reac)
                for rx in self.reactions):
            raise ModelError(f"reaction {str(eq)!r}: {reac[0].name!r} and {reac[1].name!r} already have a reaction; "
                             f"one reaction per pair of volume species")
        if len(surf_in) > 1:
            raise ModelError(f"reaction {str(eq)!r}: reactions between two surface molecules are not supported")
        if len(reac) > 2:
            raise ModelError(f"reaction {str(eq)!r}: at most two reactants (a volume and a surface molecule)")
        if len(surf_out) > 1:
            raise ModelError(f"reaction {str(eq)!r}: a surface molecule can become at most one surface molecule, "
                             f"but the products hold {len(surf_out)}: {[s.name for s in surf_out]}")
        if any(r.index == p.index and isinstance(p, SurfaceSpecies) for r in surf_in for p in surf_out) \
                and len(reac) == 1 and not [p for p in prod if isinstance(p, Species)]:
            raise ModelError(f"reaction {str(eq)!r} changes nothing")
        if sorted(reac, key=id) == sorted(prod, key=id):
            raise ModelError(f"reaction {str(eq)!r} changes nothing: its products are its reactants")
        try:
            rate = reactions.rate(k, len(reac), f"reaction {str(eq)!r}")
        except (units.UnitError, reactions.ReactionSyntaxError) as exc:
            raise ModelError(str(exc)) from None
        kind = ("pair" if len(reac) == 2 else "volume") if not surf_in else ("binding" if len(reac) == 2 else "surface")
        kind = "production" if not reac else kind
        if radius is not None and kind != "pair":
            raise ModelError(f"reaction {str(eq)!r}: radius= is for reactions of two volume molecules")
        n_vol_prod = sum(isinstance(p, Species) for p in prod)
        if product_sides is None:
            product_sides = (1,) * n_vol_prod if surf_in else ()
        rx = Reaction(label, reac, prod, rate, kind, len(self.reactions), where if not reac else None, radius,
                      side, tuple(product_sides))
        if radius is not None:
            pair_radius(rx, self.dt, reversible=False)          # refuse a rate the radius cannot reach
        self.reactions.append(rx)
        return rx

    @_edit
    def add_scheme(self, scheme: Scheme, prefix: str | None = None) -> SchemeHandle:
        """Add a kinetic scheme (:mod:`cleftsim.schemes`): one surface species per state, named
        ``"<prefix>_<state>"`` (prefix defaults to the scheme's name), and its reactions. Its
        ligands must already be volume species of the model. Returns a handle with the states
        and the named state sets (``handle.open``, ...); ``model.schemes[prefix]`` keeps it."""
        if not isinstance(scheme, Scheme):
            hint = " (call the factory: cs.schemes.ampa_jonas1993(ligand=glu))" if callable(scheme) else ""
            raise ModelError(f"add_scheme needs a cleftsim.schemes.Scheme, got {type(scheme).__name__} "
                             f"{scheme!r}{hint}")
        prefix = scheme.name if prefix is None else prefix
        if prefix in self.schemes:
            raise ModelError(f"a scheme with the prefix {prefix!r} is already in the model; give the second copy "
                             f"another, e.g. add_scheme(scheme, prefix='{prefix}2')")
        for lig in scheme.ligands:
            if lig in scheme.ligand_species:
                try:
                    self._species(scheme.ligand_species[lig])
                except ModelError:
                    raise ModelError(f"scheme {prefix!r}: its ligand {lig!r} is a species of another model; build "
                                     f"the scheme with this model's species (ligand=model.add_species(...)) or its "
                                     f"name") from None
            if not any(s.name == lig for s in self.species):
                raise ModelError(f"scheme {prefix!r} uses the volume species {lig!r}; add it first with "
                                 f"model.add_species({lig!r}, D=...)")
        states = {st: self.add_surface_species(f"{prefix}_{st}", scheme.D) for st in scheme.states}
        rename = {st: sp.name for st, sp in states.items()}
        added = {}
        for equation, rates in scheme.reactions:
            eqs = reactions.parse(equation)
            for eq, k in zip(eqs, reactions.split_rates(eqs, rates, equation)):
                mapped = reactions.Equation(tuple(rename.get(n, n) for n in eq.reactants),
                                            tuple(rename.get(n, n) for n in eq.products))
                added[str(eq)] = self._add_equation(mapped, k, str(mapped))
        handle = SchemeHandle(scheme, prefix, states, added)
        self.schemes[prefix] = handle
        return handle

    @_edit
    def place(self, what: Any, region: Region | GeometryObject | str, n: int | None = None,
              density: Any = None, positions: Sequence | None = None, clusters: tuple | None = None,
              facing: str = "inside") -> None:
        """Put surface molecules on a region at t = 0.

        ``what`` is a surface species (or its name) or a scheme handle (its initial state). Give
        ``n`` or ``density`` (µm⁻², e.g. ``"5600 /um^2"``) for a uniform random placement, or
        ``positions`` ((n, 3) points in µm, each moved to the nearest point of the region within
        1 nm); ``clusters=(k, radius)`` with ``n``/``density`` spreads the molecules uniformly in k
        discs of the radius whose centres are uniform on the region. ``facing``: ``"inside"``
        (against the triangle normals: into a closed object) or ``"outside"``.
        """
        if isinstance(what, StateSet):
            raise ModelError(f"place needs a surface species or a scheme handle (its initial state), not the state "
                             f"set {what.name!r}; e.g. place(ampa, ...) or place(ampa['C0'], ...)")
        sp = self._surface_species(what.initial if isinstance(what, SchemeHandle) else what)
        regs = self._regions(region)
        if facing not in FACING:
            raise ModelError(f"place {sp.name!r}: facing must be one of {list(FACING)}, got {facing!r}")
        if positions is not None:
            if n is not None or density is not None or clusters is not None:
                raise ModelError("place: give positions= alone, or n=/density= (optionally with clusters=)")
            pts = np.asarray([units.point(p, "positions") for p in positions], dtype=np.float64).reshape(-1, 3)
            if len(regs) != 1:
                raise ModelError("place(positions=...) needs one region, not a whole object")
            self._check_room(sp, regs[0], len(pts))
            self.placements.append(Placement(sp, regs[0], FACING[facing], len(pts), "positions", (pts,)))
            return
        if (n is None) == (density is None):
            raise ModelError(f"place {sp.name!r}: give exactly one of n= or density=")
        areas = [r.area for r in regs]
        if density is not None:
            rho = units.to_base(density, "density", "density")
            if rho < 0:
                raise ModelError(f"place {sp.name!r}: density must be >= 0, got {density!r}")
            counts = [int(round(rho * a)) for a in areas]
            if rho > 0 and sum(counts) == 0:
                warnings.warn(f"place {sp.name!r}: a density of {density!r} on {sum(areas):.3g} um^2 rounds to no "
                              f"molecules at all", ModelWarning, stacklevel=3)
        else:
            if not units.is_whole(n):
                raise ModelError(f"place {sp.name!r}: n must be a non-negative integer, got {n!r}")
            share = np.array(areas) / sum(areas)
            counts = list(np.diff(np.round(np.concatenate([[0], np.cumsum(share)]) * n)).astype(int))
        params: tuple = ()
        kind = "uniform"
        if clusters is not None:
            if not _pair(clusters) or isinstance(clusters[0], bool) or not isinstance(clusters[0], (int, np.integer)) \
                    or clusters[0] < 1:
                raise ModelError(f"place {sp.name!r}: clusters= must be (number of clusters >= 1, radius), e.g. "
                                 f"(5, '30 nm'), got {clusters!r}")
            radius = units.length(clusters[1], "cluster radius")
            size = np.sqrt(sum(areas) / np.pi)
            if not 0 < radius <= size:
                hint = f"; a plain number is in um: did you mean '{clusters[1]} nm'?" if not isinstance(clusters[1], str) else ""
                raise ModelError(f"place {sp.name!r}: the cluster radius {clusters[1]!r} must be positive and at most "
                                 f"the size of the region ({size * 1e3:.3g} nm, the radius of a disc of its area){hint}")
            kind, params = "clusters", (int(clusters[0]), radius)
        for reg, k in zip(regs, counts):
            self._check_room(sp, reg, int(k))
        for reg, k in zip(regs, counts):
            if k:
                self.placements.append(Placement(sp, reg, FACING[facing], int(k), kind, params))

    def surface_capacity(self, region: Region | str) -> int:
        """How many surface molecules fit on ``region``: its number of tiles (each triangle holds
        n_t² tiles, n_t = ceil(√(area·tile_density)); one molecule per tile)."""

        return int(sum((tile_divisions(r.object.mesh.areas[r.triangles], self.tile_density) ** 2).sum()
                       for r in self._regions(region)))

    def _check_room(self, sp: SurfaceSpecies, reg: Region, k: int) -> None:
        """Refuse placing more molecules on a region than fit there (with those already placed)."""
        have = sum(p.n for p in self.placements if p.region.index == reg.index)
        room = self.surface_capacity(reg)
        if have + k > room:
            already = f" besides the {have} already placed there" if have else ""
            raise ModelError(
                f"place {sp.name!r}: {k} molecules{already} do not fit on region {reg.label!r} ({reg.area:.4g} um^2): "
                f"it has {room} tiles (tile_density = {self.tile_density:g} /um^2, one molecule per tile), so at "
                f"most {room - have} more fit; place fewer, use a larger region, or raise the model's tile_density "
                f"to about {self.tile_density * (have + k) / max(room, 1) * 1.1:.3g} /um^2")

    @_edit
    def clamp(self, species: Species | str, concentration: Any, inside: GeometryObject | str | None = None,
              region: Region | str | None = None, side: str = "inside") -> None:
        """Hold a volume species at a concentration (M, a string such as ``"1 mM"``, or a waveform
        of :mod:`cleftsim.waveforms`) in a well-mixed bath ``inside`` a closed object, or on one
        ``side`` (``"inside"``/``"outside"``) of a region.

        Surface molecules facing the bath bind it at the exact rate k_on·c(t) (first-order events
        with the step's mean concentration), and the molecules they release into the bath join
        it. The bath replaces particles of the species there, so the species cannot also be
        released inside the clamped object. Waveform edges must fall on whole time steps.
        """
        sp = self._species(species)
        try:
            wf = waveforms.as_waveform(concentration)
        except (units.UnitError, ValueError) as exc:
            raise ModelError(f"clamp of {sp.name!r}: {exc}") from None
        for t in wf.breakpoints:
            k = t / self.dt
            if abs(k - round(k)) > 1e-6 * max(1.0, k):
                raise ModelError(f"clamp of {sp.name!r}: the waveform changes at t = {t:g} s, which is not a whole "
                                 f"number of time steps (dt = {self.dt:g} s); move the edge to {round(k) * self.dt:g} s")
        if (inside is None) == (region is None):
            raise ModelError(f"clamp of {sp.name!r}: give exactly one of inside= (a closed object) or region=")
        if inside is not None:
            obj = self._closed(inside, "clamp(inside=)")
            contexts = tuple((r.index, 0) for r in obj.regions)
            label = f"inside {obj.name}"
        else:
            if side not in FACING:
                raise ModelError(f"clamp side must be one of {list(FACING)}, got {side!r}")
            regs = self._regions(region)
            contexts = tuple((r.index, 1 if FACING[side] > 0 else 0) for r in regs)
            label = f"{side} of {regs[0].label}"
        taken = {(c, s.species.index) for s in self.clamps for c in s.contexts}
        if any((c, sp.index) in taken for c in contexts):
            raise ModelError(f"{sp.name!r} is already clamped {label}")
        self.clamps.append(Clamp(sp, wf, contexts, label))

    @_edit
    def count_events(self, reaction: Reaction | Sequence[Reaction], name: str | None = None) -> str:
        """Record the cumulative number of events of a reaction (or the sum over several)."""
        rxs = tuple(reaction) if isinstance(reaction, (tuple, list)) else (reaction,)
        if not rxs:
            raise ModelError("count_events needs at least one reaction returned by add_reaction")
        for rx in rxs:
            if not isinstance(rx, Reaction) or rx.index >= len(self.reactions) or self.reactions[rx.index] is not rx:
                raise ModelError(f"count_events needs reactions returned by this model's add_reaction, got {rx!r}")
        name = self._observable_name(name, f"events[{rxs[0].equation}]")
        self.observables.append(Events(name, rxs))
        return name

    def _closed(self, obj: GeometryObject, why: str) -> GeometryObject:
        obj = self._object(obj)
        try:
            obj.mesh.check(closed=True)
        except MeshError as exc:
            raise ModelError(f"{why} needs a closed object, but {obj.name!r} is not: {exc}") from None
        return obj

    @_edit
    def release(self, species: Species | str, n: int, at: Sequence | None = None,
                inside: GeometryObject | str | None = None, box: Sequence | None = None,
                sphere: tuple | None = None, t: Any = 0.0, p: Any = 1.0) -> None:
        """Release ``n`` molecules at time ``t`` (s): at a point ``at=(x, y, z)``, uniformly
        ``inside`` a closed object, in ``box=(lo, hi)`` or in ``sphere=(center, radius)`` (µm).

        A time inside a step puts the molecules in at that time: they diffuse (reflected,
        absorbed or passed by surfaces, but not binding) for the rest of that step and join the
        others at its end, as MCell's releases between steps do. ``p``: the probability that the
        release happens in a run (all ``n`` molecules or none, drawn afresh in every run)."""
        sp = self._species(species)
        if not units.is_whole(n):
            raise ModelError(f"release of {sp.name!r}: n must be a non-negative integer, got {n!r}")
        check_memory((n + sum(r.n for r in self.releases)) * BYTES_PER_MOLECULE, f"releasing {n:.4g} {sp.name} molecules",
                     "release fewer molecules (a concentration of 1 mM is 6.0e5 molecules per um^3)")
        when = units.time(t, "release time t")
        if when < 0:
            raise ModelError(f"release of {sp.name!r}: t must be >= 0, got {t!r}")
        try:
            prob = _probability(p, f"release of {sp.name!r}: p")
        except ReleaseError as exc:
            raise ModelError(str(exc)) from None
        given = [k for k, v in (("at", at), ("inside", inside), ("box", box), ("sphere", sphere)) if v is not None]
        if len(given) != 1:
            raise ModelError(f"release of {sp.name!r}: give exactly one of at=, inside=, box=, sphere= (got {given or 'none'})")
        if at is not None:
            rel = Release(sp, int(n), when, "point", (units.point(at, "at"),), prob)
        elif inside is not None:
            rel = Release(sp, int(n), when, "object", (self._closed(inside, "release inside="),), prob)
        elif box is not None:
            if not _pair(box):
                raise ModelError(f"release of {sp.name!r}: box= must be (lo, hi), two corners in um, got {box!r}")
            lo, hi = units.point(box[0], "box lo"), units.point(box[1], "box hi")
            if np.any(hi <= lo):
                raise ModelError(f"box= corners must satisfy lo < hi on every axis, got {box!r}")
            rel = Release(sp, int(n), when, "box", (lo, hi), prob)
        else:
            if not _pair(sphere):
                raise ModelError(f"release of {sp.name!r}: sphere= must be (center, radius), got {sphere!r}")
            r = units.length(sphere[1], "sphere radius")
            if not r > 0:
                raise ModelError(f"sphere radius must be positive, got {sphere[1]!r}")
            rel = Release(sp, int(n), when, "sphere", (units.point(sphere[0], "sphere center"), r), prob)
        if self.periodic is not None and rel.kind in ("point", "box", "sphere"):
            lo, hi = rel.params if rel.kind == "box" else (rel.params[0],) * 2
            if rel.kind == "sphere":
                lo, hi = lo - rel.params[1], hi + rel.params[1]
            if np.any(lo < self.periodic.lo) or np.any(hi > self.periodic.hi):
                raise ModelError(f"release of {sp.name!r} reaches outside the periodic box "
                                 f"{self.periodic.lo.tolist()}..{self.periodic.hi.tolist()} um; keep it inside")
        self.releases.append(rel)

    @_edit
    def release_vesicles(self, species: Species | str, stimulus: Any, at: Sequence | None = None,
                         region: Region | str | None = None, depth: Any = "2 nm", pore: Any = None) -> None:
        """Release vesicles of ``species`` when a stimulus fires (:func:`cleftsim.release.stimulus`:
        action-potential times, release probability per site, quantal size, latency).

        Each of the stimulus's ``n_sites`` release sites is a point of ``at`` ((n_sites, 3) µm; one
        point is shared by every site) or, with ``region`` (an active zone), a point drawn
        uniformly over the region for every vesicle, ``depth`` into the space the region's
        molecules face (against its normals). ``pore`` (:func:`cleftsim.release.fusion_pore`)
        spreads each vesicle's molecules over time; by default they all leave at fusion. A
        molecule released at time t joins at the start of the nearest time step. The events
        (time, AP, site, N) of each run are in ``result.releases``.
        """
        sp = self._species(species)
        if sp.D == 0:
            raise ModelError(f"release_vesicles of {sp.name!r}: its D is 0, so the transmitter would never leave the "
                             f"release site; give it a diffusion coefficient, e.g. D='0.33 um^2/ms'")
        if not isinstance(stimulus, rel.Stimulus):
            raise ModelError(f"release_vesicles of {sp.name!r}: stimulus must come from cleftsim.release.stimulus(...), "
                             f"got {type(stimulus).__name__}")
        q = stimulus.quantal
        most = len(stimulus.ap_times) * stimulus.n_sites * q.mean * (1 + 6 * q.cv)     # beyond 6 SD: never
        check_memory(most * BYTES_PER_MOLECULE, f"release_vesicles of {sp.name!r} (up to {most:.3g} molecules)",
                     "release fewer or smaller vesicles")
        if (at is None) == (region is None):
            raise ModelError(f"release_vesicles of {sp.name!r}: give exactly one of at= (site points) or region= "
                             f"(an active zone)")
        pts, regs = None, None
        if at is not None:
            pts = np.asarray([units.point(p, "at") for p in np.atleast_2d(np.asarray(at, dtype=object))],
                             dtype=np.float64).reshape(-1, 3)
            if len(pts) == 1:
                pts = np.repeat(pts, stimulus.n_sites, axis=0)
            if len(pts) != stimulus.n_sites:
                raise ModelError(f"release_vesicles of {sp.name!r}: {len(pts)} points given for {stimulus.n_sites} "
                                 f"release sites; give one point per site (or one for all)")
        else:
            regs = self._regions(region)
        d = units.length(depth, "depth")
        if not d > 0:
            raise ModelError(f"release_vesicles of {sp.name!r}: depth must be positive, got {depth!r}")
        pore = rel.instantaneous() if pore is None else pore
        if not isinstance(pore, rel.Pore):
            raise ModelError(f"release_vesicles of {sp.name!r}: pore must come from cleftsim.release "
                             f"(instantaneous() or fusion_pore(...)), got {type(pore).__name__}")
        self.vesicle_releases.append(VesicleRelease(sp, stimulus, pts, regs, d, pore))

    def _observable_name(self, name: str | None, default: str) -> str:
        name = default if name is None else name
        if not isinstance(name, str) or not name:
            raise ModelError(f"observable name must be a non-empty string, got {name!r}")
        if any(o.name == name for o in self.observables):
            raise ModelError(f"an observable named {name!r} already exists; pass name= to choose another")
        return name

    @_edit
    def count(self, what: Any, inside: Any = None,
              region: Region | GeometryObject | str | None = None, name: str | None = None) -> str:
        """Record a count: molecules of a volume species in the world or ``inside`` a closed
        object or a shape of :mod:`cleftsim.geometry.shapes` (e.g. ``syn.cleft``); or surface
        molecules of a surface species, a state set (``ampa.open``) or a list of them, in the
        whole model or on ``region``. Returns the observable's name."""
        if isinstance(what, Species) or (isinstance(what, str) and any(s.name == what for s in self.species)):
            sp = self._species(what)
            if region is not None:
                raise ModelError(f"count({sp.name!r}): region= applies to surface species; use inside= for volume species")
            if isinstance(inside, SHAPES):
                name = self._observable_name(name, f"{sp.name}_in_{type(inside).__name__.lower()}")
                self.observables.append(Count(name, sp, inside))
                return name
            obj = None if inside is None else self._closed(inside, "count(inside=)")
            default = sp.name if obj is None else f"{sp.name}_in_{obj.name}"
            name = self._observable_name(name, default)
            self.observables.append(Count(name, sp, obj))
            return name
        label, members = self._state_set(what)
        if inside is not None:
            raise ModelError(f"count({label!r}): surface molecules are counted per region=, not inside=")
        regs = None if region is None else self._regions(region)
        name = self._observable_name(name, label if regs is None else f"{label}_on_{regs[0].label}")
        self.observables.append(SurfaceCount(name, members, None if regs is None else tuple(regs)))
        return name

    @_edit
    def observe_current(self, *channels: Channel, holding: Any, name: str = "current") -> str:
        """Record the current (A) through the open receptors of the ``channels`` at the
        ``holding`` potential (V or e.g. ``"-70 mV"``): I = Σ N_open·γ·(V − E)·B(V), inward
        negative (see :mod:`cleftsim.model.currents`). Returns the observable's name."""
        if not channels or not all(isinstance(c, Channel) for c in channels):
            raise ModelError("observe_current needs one or more cleftsim.Channel(receptor, conductance, reversal)")
        terms = []
        for ch in channels:
            try:
                i = ch.unitary(holding)
            except (units.UnitError, ValueError) as exc:
                raise ModelError(f"observe_current: {exc}") from None
            if np.ndim(i) != 0:
                raise ModelError(f"observe_current: holding={holding!r} and the reversal {ch.reversal!r} must be single "
                                 f"potentials; record one current per holding potential (name=...)")
            terms.append((self._state_set(ch.states())[1], i))
        name = self._observable_name(name, "current")
        self.observables.append(Current(name, tuple(terms)))
        return name

    @_edit
    def count_released(self, species: Species | str, name: str | None = None) -> str:
        """Record the cumulative number of ``species`` molecules added by releases (``release``
        and ``release_vesicles``) so far."""
        sp = self._species(species)
        name = self._observable_name(name, f"{sp.name}_released")
        self.observables.append(Released(name, sp))
        return name

    @_edit
    def count_absorbed(self, species: Species | str, region: Region | GeometryObject | str,
                       name: str | None = None) -> str:
        """Record the cumulative number of ``species`` molecules absorbed at ``region``."""
        sp = self._species(species)
        regs = self._regions(region)
        name = self._observable_name(name, f"{sp.name}_absorbed_{regs[0].object.name}")
        self.observables.append(Absorbed(name, sp, tuple(regs)))
        return name

    @_edit
    def count_crossings(self, species: Species | str, region: Region | GeometryObject | str,
                        direction: str = "net", name: str | None = None) -> str:
        """Record cumulative crossings of a transparent ``region``: ``"out"`` (along the triangle
        normals, i.e. leaving a closed object), ``"in"``, or ``"net"`` (out - in)."""
        sp = self._species(species)
        if direction not in ("out", "in", "net"):
            raise ModelError(f"direction must be 'out', 'in' or 'net', got {direction!r}")
        regs = self._regions(region)
        name = self._observable_name(name, f"{sp.name}_crossed_{direction}_{regs[0].object.name}")
        self.observables.append(Crossings(name, sp, tuple(regs), direction))
        return name

    @_edit
    def combine(self, terms: dict[str, float], name: str) -> str:
        """Record a sum of observables already recorded, each times a coefficient: ``terms`` maps
        their names to the coefficients (e.g. ``{"A_in_outer": 1, "A_in_inner": -1}``: the
        molecules between two nested objects). Returns the name."""
        if not isinstance(terms, dict) or not terms:
            raise ModelError(f"combine needs a dict of observable names and coefficients, got {terms!r}")
        known = {o.name for o in self.observables}
        for key, coef in terms.items():
            if key not in known:
                raise ModelError(f"combine: no observable named {key!r}; record it first (count, count_events, ...); "
                                 f"the model has {sorted(known)}")
            if not units.is_number(coef):
                raise ModelError(f"combine: the coefficient of {key!r} must be a number, got {coef!r}")
        name = self._observable_name(name, "")
        self.observables.append(Combination(name, tuple((k, float(c)) for k, c in terms.items())))
        return name

    # ---- compiled form --------------------------------------------------------------------
    @property
    def n_regions(self) -> int:
        return sum(len(o.mesh.region_names) for o in self.objects)

    def rule_table(self) -> np.ndarray:
        """(regions, species) int8 table of surface rules (0 reflect, 1 absorb, 2 transparent)."""
        table = np.zeros((max(self.n_regions, 1), max(len(self.species), 1)), dtype=np.int8)
        for (r, s), v in self._rules.items():
            table[r, s] = v
        return table

    def describe(self) -> dict:
        """A plain description of the model (JSON-serialisable), stored with results."""
        names = [f"{o.name}.{r}" for o in self.objects for r in o.mesh.region_names]
        return {
            "dt": self.dt,
            "seed": self.seed,
            "t_end": self.t_end,
            "every": self.every,
            "species": [{"name": s.name, "D": s.D} for s in self.species],
            "objects": [{"name": o.name, "n_triangles": int(o.mesh.n_triangles),
                         "regions": list(o.mesh.region_names)} for o in self.objects],
            "rules": [{"region": names[r], "species": self.species[s].name,
                       "rule": [k for k, v in RULES.items() if v == val][0]}
                      for (r, s), val in sorted(self._rules.items())],
            "releases": [{"species": r.species.name, "n": r.n, "t": r.t, "kind": r.kind}
                         | ({"p": r.p} if r.p < 1 else {}) for r in self.releases],
            "vesicle_releases": [{"species": v.species.name, "stimulus": v.stimulus.describe(),
                                  "pore": v.pore.describe(), "depth": v.depth,
                                  "where": ([r.label for r in v.region] if v.region is not None
                                            else v.sites.tolist())} for v in self.vesicle_releases],
            "tile_density": self.tile_density,
            **({"bridge_radius": self.bridge_radius} if self.bridge_radius != 4.0 else {}),
            "surface_species": [{"name": s.name, "D": s.D} for s in self.surface_species],
            "reactions": [{"equation": r.equation, "k": r.k, "kind": r.kind}
                          | ({"inside": r.inside.name} if r.inside is not None else {})
                          | ({"radius": r.radius} if r.radius is not None else {})
                          | ({"side": {1: "facing", -1: "back", 0: "both"}[r.side]} if r.side != 1 else {})
                          | ({"product_side": [{1: "facing", -1: "back", 0: "random"}[v] for v in r.product_sides]}
                             if any(v != 1 for v in r.product_sides) else {}) for r in self.reactions],
            "placements": [{"species": p.species.name, "region": p.region.label, "n": p.n, "kind": p.kind,
                            "facing": "outside" if p.orient > 0 else "inside"} for p in self.placements],
            "clamps": [{"species": c.species.name, "where": c.label, "waveform": c.waveform.describe()}
                       for c in self.clamps],
            "observables": [o.name for o in self.observables],
        } | {k: self.metadata[k] for k in ("preset", "parameters") if k in self.metadata}

    def __repr__(self) -> str:
        n_rel = sum(r.n for r in self.releases)
        return (f"Model(dt={units.format_time(self.dt)}, {len(self.species)} volume and {len(self.surface_species)} "
                f"surface species, {len(self.objects)} objects, {len(self.reactions)} reactions, {len(self.releases)} "
                f"releases ({n_rel} molecules), {len(self.placements)} placements, {len(self.observables)} observables)")

    def __str__(self) -> str:
        """A summary of the model: what it holds and how long it runs."""
        def listed(items, most=8):
            items = list(items)
            return ", ".join(items[:most]) + (f", ... ({len(items)} in all)" if len(items) > most else "")

        run = "" if self.t_end is None else (f"; runs {units.format_time(self.t_end)}, sampled every "
                                             f"{units.format_time(self.every or self.dt)}")
        lines = [f"Model: dt = {units.format_time(self.dt)}{run}"]
        if self.species:
            lines.append("  volume species: " + listed(f"{s.name} (D = {s.D:.4g} um^2/s)" for s in self.species))
        if self.surface_species:
            lines.append("  surface species: " + listed(s.name for s in self.surface_species))
        for o in self.objects:
            lines.append(f"  object {o.name}: {o.mesh.n_triangles} triangles, regions "
                         + listed(f"{r.name} ({r.area:.3g} um^2)" for r in o.regions))
        if self.reactions:
            lines.append("  reactions: " + listed((r.equation for r in self.reactions), 6))
        if self.releases:
            times = [r.t for r in self.releases]
            lines.append(f"  releases: {len(self.releases)}, {sum(r.n for r in self.releases)} molecules of "
                         f"{listed(sorted({r.species.name for r in self.releases}))}, at t = "
                         f"{units.format_time(min(times))} to {units.format_time(max(times))}")
        if self.vesicle_releases:
            lines.append("  vesicle releases: " + listed(v.species.name for v in self.vesicle_releases))
        for p in self.placements:
            lines.append(f"  placed: {p.n} {p.species.name} on {p.region.label}")
        if self.clamps:
            lines.append("  clamps: " + listed(f"{c.species.name} {c.label}" for c in self.clamps))
        if self.observables:
            lines.append("  observables: " + listed((o.name for o in self.observables), 10))
        return "\n".join(lines)

    def frozen_copy(self) -> "Model":
        """A copy that refuses every change, sharing the (immutable) species, regions, reactions and
        meshes, and keeping of ``metadata`` only what results record (preset and parameters)."""
        twin = copy.copy(self)
        for key, value in vars(self).items():
            if isinstance(value, (list, dict)):
                setattr(twin, key, copy.copy(value))
        twin.metadata = {k: self.metadata[k] for k in ("preset", "parameters") if k in self.metadata}
        twin.frozen = True
        return twin

    def simulation(self, threads: int | None = None) -> Simulation:
        """Compile the model into a :class:`~cleftsim.engine.simulation.Simulation` at t = 0
        (``threads``: as there; default every core)."""
        from cleftsim.engine.simulation import Simulation

        return Simulation(self, threads=threads)

    def run(self, t_end: Any = None, every: Any = None, progress: bool = True, threads: int | None = None) -> Result:
        """Run from t = 0 to ``t_end``, sampling observables every ``every`` (defaults: the
        model's ``t_end`` and ``every``, else dt). ``progress``: a progress bar for runs that
        last more than a few seconds. ``threads``: threads moving the molecules (default: every
        core); the result is the same bit for bit for any number.

        Returns a :class:`~cleftsim.results.result.Result`.
        """
        return self.simulation(threads).sample(t_end, every, progress=progress)
