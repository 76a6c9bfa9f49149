"""Model: the declarative, validated description of a simulation.

A model holds species, geometry objects, surface rules, releases and observables. Every input is
checked when it is added (or, for whatever depends on several items, when the model is compiled
by :meth:`Model.simulation`), so a kernel never sees something it cannot handle.

Per-step order (the same in every run): (1) releases due at the current time add molecules;
(2) observables due at the current time are recorded; (3) every volume molecule takes a Gaussian
step, traced through the geometry (reflect / absorb / transparent at each surface, then the
Brownian-bridge test near absorbing surfaces).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from cleftsim import units
from cleftsim.geometry import Mesh, MeshError

RULES = {"reflect": 0, "absorb": 1, "transparent": 2}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class ModelError(ValueError):
    """The model is inconsistent or an input is invalid; the message names the item and the fix."""


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
    """N molecules of a species added at time t (s), at a point or uniformly in a shape."""

    species: Species
    n: int
    t: float
    kind: str                      # "point", "box", "sphere", "object"
    params: tuple = field(default=())


@dataclass(frozen=True)
class Observable:
    """One sampled quantity: kind in {"count", "absorbed", "crossed"}."""

    name: str
    kind: str
    species: Species
    target: Any = None             # GeometryObject (count inside) or list of Region
    direction: str = ""            # for crossings: "out", "in", "net"


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
    """

    def __init__(self, dt: Any, seed: int | None = None, periodic_box: Sequence | None = None,
                 box_center: Sequence = (0.0, 0.0, 0.0), periodic_axes: str = "xyz",
                 grid_cell: Any = None):
        self.dt = units.time(dt, "dt")
        if not self.dt > 0:
            raise ModelError(f"dt must be positive, got {dt!r}")
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
            raise ModelError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.seed = seed
        self.grid_cell = None if grid_cell is None else units.length(grid_cell, "grid_cell")
        if self.grid_cell is not None and not self.grid_cell > 0:
            raise ModelError(f"grid_cell must be positive, got {grid_cell!r}")
        self.periodic = None
        if periodic_box is not None:
            size = units.point(periodic_box, "periodic_box")
            if np.any(size <= 0):
                raise ModelError(f"periodic_box sizes must be positive, got {periodic_box!r}")
            if not set(periodic_axes) <= set("xyz") or not periodic_axes:
                raise ModelError(f"periodic_axes must be letters from 'xyz', got {periodic_axes!r}")
            center = units.point(box_center, "box_center")
            from cleftsim.world import Periodic

            self.periodic = Periodic(center - size / 2, center + size / 2,
                                     tuple(a in periodic_axes for a in "xyz"))
        self.species: list[Species] = []
        self.objects: list[GeometryObject] = []
        self._rules: dict[tuple[int, int], int] = {}
        self.releases: list[Release] = []
        self.observables: list[Observable] = []

    # ---- lookup helpers -------------------------------------------------------------------
    def _species(self, sp: Species | str) -> Species:
        if isinstance(sp, Species):
            if sp.index < len(self.species) and self.species[sp.index] is sp:
                return sp
            raise ModelError(f"species {sp.name!r} belongs to another model; use this model's add_species")
        for s in self.species:
            if s.name == sp:
                return s
        raise ModelError(f"unknown species {sp!r}; known species: {[s.name for s in self.species]}")

    def _object(self, obj: GeometryObject | str) -> GeometryObject:
        if isinstance(obj, GeometryObject):
            if obj.index < len(self.objects) and self.objects[obj.index] is obj:
                return obj
            raise ModelError(f"geometry object {obj.name!r} belongs to another model")
        for o in self.objects:
            if o.name == obj:
                return o
        raise ModelError(f"unknown geometry object {obj!r}; known objects: {[o.name for o in self.objects]}")

    def _regions(self, region: Region | GeometryObject | str) -> list[Region]:
        if isinstance(region, Region):
            self._object(region.object)
            return [region]
        if isinstance(region, str) and "." in region:
            obj, name = region.split(".", 1)
            return [self._object(obj).region(name)]
        return self._object(region).regions

    def _check_name(self, name: str, what: str) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ModelError(f"{what} name {name!r} must start with a letter or '_' and use letters, digits, '_', '-' or '.'")

    # ---- building -------------------------------------------------------------------------
    def add_species(self, name: str, D: Any) -> Species:
        """Add a volume species with diffusion coefficient D (µm²/s, or e.g. ``"0.33 um^2/ms"``)."""
        self._check_name(name, "species")
        if any(s.name == name for s in self.species):
            raise ModelError(f"species {name!r} is already defined")
        d = units.diffusion(D, f"D of species {name!r}")
        if d < 0:
            raise ModelError(f"D of species {name!r} must be >= 0, got {D!r}")
        sp = Species(name, d, len(self.species))
        self.species.append(sp)
        return sp

    def add_geometry(self, mesh: Mesh, name: str) -> GeometryObject:
        """Place a mesh in the world under ``name``; returns the object (``obj.region(...)``)."""
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
        offset = sum(len(o.mesh.region_names) for o in self.objects)
        obj = GeometryObject(name, mesh, len(self.objects), offset)
        self.objects.append(obj)
        return obj

    def set_surface(self, species: Species | str, region: Region | GeometryObject | str, rule: str) -> None:
        """Set what ``species`` does at ``region`` (or every region of an object):
        ``"reflect"`` (default), ``"absorb"`` or ``"transparent"``."""
        sp = self._species(species)
        if rule not in RULES:
            raise ModelError(f"surface rule {rule!r} is not one of {list(RULES)}")
        for reg in self._regions(region):
            self._rules[(reg.index, sp.index)] = RULES[rule]

    def _closed(self, obj: GeometryObject, why: str) -> GeometryObject:
        obj = self._object(obj)
        try:
            obj.mesh.check(closed=True)
        except MeshError as exc:
            raise ModelError(f"{why} needs a closed object, but {obj.name!r} is not: {exc}") from None
        return obj

    def release(self, species: Species | str, n: int, at: Sequence | None = None,
                inside: GeometryObject | str | None = None, box: Sequence | None = None,
                sphere: tuple | None = None, t: Any = 0.0) -> None:
        """Release ``n`` molecules at time ``t`` (s): at a point ``at=(x, y, z)``, uniformly
        ``inside`` a closed object, in ``box=(lo, hi)`` or in ``sphere=(center, radius)`` (µm)."""
        sp = self._species(species)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
            raise ModelError(f"release of {sp.name!r}: n must be a non-negative integer, got {n!r}")
        when = units.time(t, "release time t")
        if when < 0:
            raise ModelError(f"release of {sp.name!r}: t must be >= 0, got {t!r}")
        steps = when / self.dt
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
            raise ModelError(f"release of {sp.name!r} at t = {when:.6g} s is not a whole number of time steps "
                             f"(dt = {self.dt:.6g} s); use t = {round(steps) * self.dt:.6g} s")
        given = [k for k, v in (("at", at), ("inside", inside), ("box", box), ("sphere", sphere)) if v is not None]
        if len(given) != 1:
            raise ModelError(f"release of {sp.name!r}: give exactly one of at=, inside=, box=, sphere= (got {given or 'none'})")
        if at is not None:
            rel = Release(sp, int(n), when, "point", (units.point(at, "at"),))
        elif inside is not None:
            rel = Release(sp, int(n), when, "object", (self._closed(inside, "release inside="),))
        elif box is not None:
            if len(box) != 2:
                raise ModelError("box= must be (lo, hi), two corners in µm")
            lo, hi = units.point(box[0], "box lo"), units.point(box[1], "box hi")
            if np.any(hi <= lo):
                raise ModelError(f"box= corners must satisfy lo < hi on every axis, got {box!r}")
            rel = Release(sp, int(n), when, "box", (lo, hi))
        else:
            if len(sphere) != 2:
                raise ModelError("sphere= must be (center, radius)")
            r = units.length(sphere[1], "sphere radius")
            if not r > 0:
                raise ModelError(f"sphere radius must be positive, got {sphere[1]!r}")
            rel = Release(sp, int(n), when, "sphere", (units.point(sphere[0], "sphere center"), r))
        if self.periodic is not None and rel.kind in ("point", "box", "sphere"):
            c = rel.params[0]
            if np.any(c < self.periodic.lo) or np.any(c > self.periodic.hi):
                raise ModelError(f"release of {sp.name!r} lies outside the periodic box")
        self.releases.append(rel)

    def _observable_name(self, name: str | None, default: str) -> str:
        name = default if name is None else name
        if not isinstance(name, str) or not name:
            raise ModelError(f"observable name must be a non-empty string, got {name!r}")
        if any(o.name == name for o in self.observables):
            raise ModelError(f"an observable named {name!r} already exists; pass name= to choose another")
        return name

    def count(self, species: Species | str, inside: GeometryObject | str | None = None,
              name: str | None = None) -> str:
        """Record the number of molecules of ``species`` in the world, or inside a closed object."""
        sp = self._species(species)
        obj = None if inside is None else self._closed(inside, "count(inside=)")
        default = sp.name if obj is None else f"{sp.name}_in_{obj.name}"
        name = self._observable_name(name, default)
        self.observables.append(Observable(name, "count", sp, obj))
        return name

    def count_absorbed(self, species: Species | str, region: Region | GeometryObject | str,
                       name: str | None = None) -> str:
        """Record the cumulative number of ``species`` molecules absorbed at ``region``."""
        sp = self._species(species)
        regs = self._regions(region)
        name = self._observable_name(name, f"{sp.name}_absorbed_{regs[0].object.name}")
        self.observables.append(Observable(name, "absorbed", sp, regs))
        return name

    def count_crossings(self, species: Species | str, region: Region | GeometryObject | str,
                        direction: str = "net", name: str | None = None) -> str:
        """Record cumulative crossings of a transparent ``region``: ``"out"`` (along the triangle
        normals, i.e. leaving a closed object), ``"in"``, or ``"net"`` (out - in)."""
        sp = self._species(species)
        if direction not in ("out", "in", "net"):
            raise ModelError(f"direction must be 'out', 'in' or 'net', got {direction!r}")
        regs = self._regions(region)
        name = self._observable_name(name, f"{sp.name}_crossed_{direction}_{regs[0].object.name}")
        self.observables.append(Observable(name, "crossed", sp, regs, direction))
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
            "species": [{"name": s.name, "D": s.D} for s in self.species],
            "objects": [{"name": o.name, "n_triangles": int(o.mesh.n_triangles),
                         "regions": list(o.mesh.region_names)} for o in self.objects],
            "rules": [{"region": names[r], "species": self.species[s].name,
                       "rule": [k for k, v in RULES.items() if v == val][0]}
                      for (r, s), val in sorted(self._rules.items())],
            "releases": [{"species": r.species.name, "n": r.n, "t": r.t, "kind": r.kind}
                         for r in self.releases],
            "observables": [o.name for o in self.observables],
        }

    def simulation(self):
        """Compile the model into a :class:`~cleftsim.simulation.Simulation` at t = 0."""
        from cleftsim.simulation import Simulation

        return Simulation(self)

    def run(self, t_end: Any, every: Any = None):
        """Run from t = 0 to ``t_end``, sampling observables every ``every`` (default: dt).

        Returns a :class:`~cleftsim.result.Result`.
        """
        return self.simulation().sample(t_end, every)
