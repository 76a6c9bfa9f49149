"""The read MDL model: a resolved intermediate representation (IR) of an MCell model.

:func:`cleftsim.mcell.parser.read` turns MDL text into a :class:`Document`; the builder
(:mod:`cleftsim.mcell.build`) turns a Document into a cleftsim model. Everything here is plain
data: variables are evaluated, INCLUDE_FILEs followed, objects instantiated (world coordinates),
names resolved to instance paths ("Scene.pjm", "Scene.pjm[mpjm]"). Units are MCell's, as written
in the file: lengths µm, times s, diffusion constants cm²/s, rates s⁻¹ / M⁻¹s⁻¹, concentrations M,
surface densities µm⁻².

Every item carries ``where``, the file and line of the construct, for error messages.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cleftsim.errors import MDLError

__all__ = [
    "Where", "MDLError", "Molecule", "Term", "Reaction", "SurfaceRule", "SurfaceClass", "RegionSpec",
    "MeshObject", "ReleasePattern", "RegionExpr", "ReleaseSite", "CountTerm", "Output", "Document",
]


@dataclass(frozen=True)
class Where:
    """A place in an MDL file: the file (as given or resolved) and the 1-based line."""

    file: str
    line: int

    def __str__(self):
        return f"{self.file}:{self.line}"


@dataclass
class Molecule:
    """A DEFINE_MOLECULES entry."""

    name: str
    D: float        #: diffusion constant, cm²/s as written (DIFFUSION_CONSTANT_3D or _2D)
    surface: bool   #: True for DIFFUSION_CONSTANT_2D (a surface molecule)
    where: Where


@dataclass(frozen=True)
class Term:
    """A molecule (or a surface class, in a reaction) with its orientation mark.

    ``orient`` is +1 for ``'``, -1 for ``,``, 0 for ``;`` (the sum of the marks when several are
    written, the number for ``{n}``), None when no mark is written.
    """

    name: str
    orient: int | None = None


@dataclass
class Reaction:
    """One direction of a DEFINE_REACTIONS entry (``<->`` is split into forward, then reverse)."""

    reactants: list[Term]   #: a surface class after ``@`` is the last reactant
    products: list[Term]    #: empty for NULL
    k: float                #: rate constant, s⁻¹ (unimolecular) or M⁻¹s⁻¹ (bimolecular)
    name: str | None        #: the name after ``:`` (the forward reaction only)
    where: Where


@dataclass
class SurfaceRule:
    """One property of a surface class."""

    kind: str               #: "absorptive" | "transparent" | "reflective" | "clamp_concentration"
    molecule: str           #: a molecule, or ALL_MOLECULES / ALL_VOLUME_MOLECULES / ALL_SURFACE_MOLECULES
    orient: int | None
    value: float | None     #: the concentration (M) of clamp_concentration, else None
    where: Where


@dataclass
class SurfaceClass:
    """A DEFINE_SURFACE_CLASSES entry."""

    name: str
    rules: list[SurfaceRule]
    where: Where


@dataclass
class RegionSpec:
    """A surface region of a mesh object (``ALL`` is every triangle)."""

    name: str
    triangles: np.ndarray   #: int64 indices into the owning MeshObject.triangles, sorted, unique
    surface_class: str | None   #: the last SURFACE_CLASS assigned (DEFINE_ or MODIFY_SURFACE_REGIONS)
    densities: list[tuple[Term, float, Where]]  #: MOLECULE_DENSITY entries, µm⁻²
    numbers: list[tuple[Term, int, Where]]      #: MOLECULE_NUMBER entries
    where: Where


@dataclass
class MeshObject:
    """An instantiated POLYGON_LIST or BOX."""

    path: str               #: full instance name, e.g. "Scene.pjm"
    vertices: np.ndarray    #: (n, 3) float64, world coordinates (µm), every transform applied
    triangles: np.ndarray   #: (m, 3) int64 vertex indices; normals by the right-hand rule
    regions: dict[str, RegionSpec]  #: definition order, "ALL" first
    where: Where


@dataclass
class ReleasePattern:
    """A DEFINE_RELEASE_PATTERN (times in s; MCell's defaults: one release at DELAY)."""

    name: str
    delay: float = 0.0
    release_interval: float = math.inf
    train_duration: float = math.inf
    train_interval: float = math.inf
    number_of_trains: int = 1
    where: Where | None = None

    def times(self, t_end: float) -> list[float]:
        """Every release time before ``t_end`` (s), by MCell 3's rule.

        Train j (j < NUMBER_OF_TRAINS) starts at DELAY + j·TRAIN_INTERVAL; within a train the
        releases are at start + i·RELEASE_INTERVAL: the first always (MCell releases when the
        train starts), the next ones while i·RELEASE_INTERVAL < TRAIN_DURATION, where a value
        equal to TRAIN_DURATION within rounding (relative 1e-9) ends the train, as MCell's
        ``distinguishable`` test does (MCell 3's scheduling of release events, release_molecules).
        """
        out: list[float] = []
        if not t_end > self.delay:
            return out
        j = 0
        while j < self.number_of_trains:
            start = self.delay + j * self.train_interval if j else self.delay
            if not start < t_end:
                break
            i = 0
            while True:
                offset = i * self.release_interval if i else 0.0
                if i and not (offset < self.train_duration
                              and not math.isclose(offset, self.train_duration, rel_tol=1e-9)):
                    break
                t = start + offset
                if not t < t_end:
                    break
                out.append(t)
                if len(out) > 10_000_000:
                    raise ValueError(f"release pattern {self.name!r} gives more than 10 million releases "
                                     f"before t_end={t_end!r}")
                if math.isinf(self.release_interval):
                    break
                i += 1
            if math.isinf(self.train_interval):
                break
            j += 1
        return out


#: ("region", object_path, region_name) | ("+", a, b) | ("-", a, b) | ("*", a, b)
RegionExpr = tuple


@dataclass
class ReleaseSite:
    """An instantiated release site."""

    path: str                       #: full instance name, e.g. "Scene.release_site_1"
    shape: str                      #: "SPHERICAL" | "CUBIC" | "SPHERICAL_SHELL" | "ELLIPTIC" | "RECTANGULAR" | "LIST" | "REGION"
    region: RegionExpr | None       #: for shape "REGION" (a bare object is obj[ALL])
    location: np.ndarray | None     #: (3,) world coordinates (µm) after every transform
    diameter: np.ndarray | float    #: SITE_DIAMETER (or 2·SITE_RADIUS), µm, scalar or (3,); default 0
    molecule: Term | None
    number: float | None            #: NUMBER_TO_RELEASE
    density: float | None           #: DENSITY, per µm² (surface molecules on a region)
    concentration: float | None     #: CONCENTRATION, M
    probability: float              #: RELEASE_PROBABILITY, default 1
    pattern: ReleasePattern | None  #: RELEASE_PATTERN resolved by name
    where: Where


@dataclass
class CountTerm:
    """One COUNT of an output expression."""

    sign: float             #: +1 / -1, or the constant factor the COUNT is multiplied by
    what: str               #: a molecule name or a reaction name (the ``:`` name)
    orient: int | None      #: COUNT[A', ...]
    location: str           #: "WORLD" | an object path "Scene.box" | "Scene.box[r1]"
    where: Where


@dataclass
class Output:
    """One ``{...} => "file"`` line of a REACTION_DATA_OUTPUT block."""

    name: str               #: the file's stem: "./react_data/seed_00001/ACh.World.dat" -> "ACh.World"
    file: str               #: the evaluated file name
    terms: list[CountTerm]  #: the expression, a sum of signed COUNTs
    step: float | None      #: the block's STEP, s
    where: Where


@dataclass
class Document:
    """A read MDL model."""

    path: str                               #: the main file
    files: list[str]                        #: every file read (main + includes, in order)
    iterations: int | None
    time_step: float | None                 #: s
    surface_grid_density: float | None      #: SURFACE_GRID_DENSITY, µm⁻² (None when not given)
    variables: dict[str, object]            #: final user variables (numbers, strings, vectors as tuples)
    molecules: list[Molecule] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    surface_classes: dict[str, SurfaceClass] = field(default_factory=dict)
    objects: list[MeshObject] = field(default_factory=list)
    release_sites: list[ReleaseSite] = field(default_factory=list)
    release_patterns: dict[str, ReleasePattern] = field(default_factory=dict)
    outputs: list[Output] = field(default_factory=list)
    ignored: list[tuple[str, Where]] = field(default_factory=list)   #: blocks read and ignored
