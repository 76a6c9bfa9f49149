"""A block of neuropil: cells packed into a box, separated by thin extracellular sheets, with
synapses on faces between neuronal cells, for spillover studies (:func:`neuropil`).

**Geometry.** Seed points are thrown into the box one after the other, each kept only if it lies
at least 0.6 × ``cell_size`` from every seed kept before and from its own mirror image in every
face of the box (random sequential addition: cells of similar size, none tiny). Their number is
the block's volume over ``cell_size``³, so ``cell_size`` is the cube root of the mean cell volume.
The Voronoi cells of the seeds and of their mirror images in the six faces (scipy.spatial.Voronoi)
tile the box exactly: the face between two cells is the plane halfway between their seeds, and
the face of a cell on the box is the box's face. Every face of every cell is then moved inward by
``gap``/2 (the cell is the intersection of the half-spaces behind its moved faces,
scipy.spatial.HalfspaceIntersection), so two neighbouring cells face each other across a flat
sheet of extracellular space exactly ``gap`` thick, and a cell faces the box across ``gap``/2.
Where three or more cells meet, the sheets meet in narrow channels along the cells' edges.

The faces stay flat (not rounded): the sheets then have the one thickness ``gap`` everywhere, the
extracellular volume fraction α follows from the cells' shapes and ``gap`` alone (not from a
rounding radius as well), and every cell is a convex polyhedron, closed and free of
self-intersections by construction. Each face is a fan of triangles around its centroid; a face
that carries a PSD or an active zone is subdivided instead: a regular ``segments``-gon disc (the
region) fanned around its centre, and a ring of triangles joining it to the face's edges.

Mirror images make the box a plane of symmetry of the tissue: a reflecting ``"outer"`` boundary
is then exactly the same tissue mirrored beyond it, and the sheet of ``gap``/2 along the box is
half of the sheet between a cell and its mirror image, so α of the block is that of the tissue.

**Cell types.** A random ``glia_fraction`` of the cells are glial (region ``"glia"``, where
transporters go: ``model.place(glt, region=obj.region("glia"), density=...)``), the others
neuronal (region ``"neuron"``).

**Synapses.** ``round(synapse_density × volume)`` synapses are put on faces between two neuronal
cells, chosen at random among the pairs of facing faces where both discs fit with a rim of at
least max(5 nm, 0.1 × radius) to the faces' edges; one cell of the pair (at random) is
presynaptic, the other postsynaptic. Synapse i has the regions ``"psd_i"`` (a disc of
``psd_radius`` on the postsynaptic face) and ``"active_zone_i"`` (a disc of ``active_zone_radius``
on the presynaptic face, facing it), so its cleft is the sheet between them (height ``gap``); its
release site is RELEASE_DEPTH from the presynaptic membrane, on the discs' axis, in the cleft; its
centre is halfway between the discs' centres.

**Dead-end pockets** (``dead_space`` > 0; by default none, and the faces stay flat). Each pocket
is a chamber inside a cell joined to the sheet by a narrow neck, a dead end in which molecules
linger without getting anywhere. Under a face of a cell, take the pyramid from the cell's seed
to the face (the pyramids of a cell's faces tile it). The face gets a square hole ``pocket_neck``
wide at its area centroid (rim as for the discs); the neck runs from it towards the seed,
``pocket_neck`` long, narrowing with the pyramid (by about a tenth). The chamber below it lies
between the neck's bottom and half-way to the seed, and its cross-sections are the face shrunk
by up to POCKET_SCALE about the hole, scaled towards the seed like the pyramid's; every part is
the image of the face or of the hole under a homothety about the seed, so its walls are flat and
the neck is square to the hole. The shrink factor is smaller where needed so that the chamber and
the neck keep POCKET_WALL × gap from the pyramid's sides: each pocket then keeps that much
cytoplasm from its cell's other faces and twice that from the cell's other pockets (which lie in
other pyramids), and the pit's walls are part of the cell's surface (region ``"neuron"`` or
``"glia"``), so each cell stays one closed surface without self-intersections. Faces with a PSD or
an active zone get no pocket, nor do faces without room for the hole or with an edge shorter than
POCKET_MIN_EDGE × pocket_neck. The pockets' volume, dead_space / (1 - dead_space) × the sheets'
volume, is shared among the cells by their surface, and each cell, visited along a Z-order curve,
takes its faces in random order until its pockets hold nearest its share plus what the cells
before it fell short of (error diffusion: neighbouring cells hold close to their share, and
``Neuropil.dead_space``, the pockets' share of the space from the mesh, comes out within a
pocket's volume of the one asked for). With the default cells a pocket holds 0.5-4.6·10⁻³ µm³
(10th-90th percentile; mean 2.3·10⁻³ µm³, the volume of a 132 nm cube), its chamber about 120 nm
high; at dead_space = 0.45 a cell has five of them on average.

The extracellular space is one closed mesh (``syn.mesh``): the box (region ``"outer"``, normals
outward) and every cell (normals into the cell), ready for ``model.add_geometry(syn.mesh, name)``
like the other builders' meshes. Same parameters and ``seed``: the same mesh, bit for bit.

**Measured** (:func:`cleftsim.biology.tortuosity.tortuosity`; docs/neuropil.md has the tables and
the method): without pockets α and λ depend on ``gap`` / ``cell_size`` only, α ≈ 2.7 × gap /
cell_size. The
defaults (0.5 µm, 20 nm) give α = 0.113 ± 0.001 and λ = 1.21 ± 0.01; brain-like α ≈ 0.2 takes
gap / cell_size ≈ 0.075 (0.5 µm and 40 nm: α = 0.218, λ = 1.19; 0.3 µm and 20 nm: α = 0.184,
λ = 1.19). The brain's λ ≈ 1.6 (with α ≈ 0.2; Syková & Nicholson 2008, Physiol Rev 88:1277) is
reached by no cell size or gap: around convex cells diffusion in thin sheets is hindered by at
most λ = √(3/2) ≈ 1.22 (diffusion in randomly oriented planes: MSD = 4Dt; Tao & Nicholson 2004,
J Theor Biol 229:59 [?]), as Monte Carlo packings of convex cells found (Nandigam & Kroll 2007,
Biophys J 92:3368 [P]); the rest of the brain's hindrance is ascribed to dead-end pores (dead-space
microdomains: Hrabětová et al. 2003, J Neurosci 23:8351 [?]; Hrabe et al. 2004, Biophys J 87:1606
[P]; cavities in cells, Tao, Tao & Nicholson 2005, J Theor Biol 234:525 [?]) and the
extracellular matrix. The pockets bring it: α = α₀ / (1 - dead_space) and λ ≈ λ₀ / √(1 -
dead_space) (λ² grows with the volume that dead ends add, Hrabe et al. 2004), measured over three
blocks of the default cells and gap: dead_space 0.2 gives α = 0.142, λ = 1.37; 0.4 gives 0.189
and 1.57; **0.45 gives α = 0.206 and λ = 1.62 ± 0.01, the brain's values** (dead spaces are
thought to hold about 40 % of its extracellular volume, Hrabětová & Nicholson 2004, Neurochem Int
45:467 [P]). The necks' width (12-40 nm) does not change λ.

Defaults: sheets of 20 nm (EM of rapidly frozen tissue shows 10-40 nm sheets and wider tunnels,
Kinney et al. 2013, J Comp Neurol 521:448 [?]); about 2 synapses per µm³ in CA1 stratum radiatum
(Rusakov & Kullmann 1998, J Neurosci 18:3158 [?]); a PSD of 100 nm radius, smaller than the
median CA1 PSD (148 nm, Bourne & Harris 2012 [P]) so that it fits on the faces of 0.5 µm cells;
10 % glial cells (astrocytic processes fill about a tenth of CA1 neuropil, Ventura & Harris 1999,
J Neurosci 19:6897 [?]). Marks as in :mod:`cleftsim.biology.presets`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

import numpy as np

from cleftsim import units
from cleftsim.biology.synapse import RELEASE_DEPTH, Synapse, _budget, _fail, _size, _whole
from cleftsim.errors import MeshError, SynapseError
from cleftsim.geometry.mesh import Mesh
from cleftsim.geometry.primitives import box
from cleftsim.geometry.shapes import Box

BUILDER = "synapse.neuropil"

#: The builder's sizes: name → (example, largest in µm, why no larger).
NEUROPIL_SIZES = {
    "size": ("4 um", 50.0, "a block of neuropil tens of µm across already holds 10⁵-10⁶ cells' faces"),
    "cell_size": ("0.5 um", 10.0, "axons, dendrites, spines and glial processes are 0.1-2 µm thick"),
    "gap": ("20 nm", 1.0, "extracellular sheets are 10-100 nm wide"),
    "psd_radius": ("100 nm", 1.0, "PSDs are 0.1-1 µm across"),
    "active_zone_radius": ("100 nm", 1.0, "active zones are 0.1-1 µm across"),
    "pocket_neck": ("20 nm", 1.0, "a pocket's neck is far narrower than its cell"),
}
#: Largest synapse density (µm⁻³): the densest neuropil holds a few synapses per µm³.
MAX_SYNAPSE_DENSITY = 10.0
#: Seeds keep at least this fraction of ``cell_size`` from each other (random sequential addition).
HARD_CORE = 0.6
#: ``gap`` may be at most this fraction of ``cell_size`` (the cells are moved in by gap/2 from
#: faces at least HARD_CORE/2 × cell_size from their seeds).
MAX_GAP_FRACTION = 0.2
#: Vertices of one cell closer than this times the block's diagonal are merged: near-degenerate
#: corners of the tessellation leave faces and edges a few pm across, whose triangles the mesh
#: checks would find degenerate (area below 1e-12 × diagonal²) or touching. At most 0.9 nm for the
#: largest block, against sheets of at least 4 nm.
MERGE = 1e-5
#: Triangles per cell (about 15 faces of about 6 edges, a centroid fan of one triangle per edge:
#: 90 measured) and per synapse and disc segment (two discs, each a fan and two rings), for the
#: triangle budget.
TRIANGLES_PER_CELL = 90
TRIANGLES_PER_SYNAPSE_SEGMENT = 5
#: Largest ``dead_space`` (fraction of the extracellular volume in pockets): in ischaemic tissue
#: dead spaces are thought to hold about 60 % of it (Hrabětová & Nicholson 2004, Neurochem Int
#: 45:467 [P], abstract).
MAX_DEAD_SPACE = 0.8
#: A pocket keeps at least this many gaps of cytoplasm from the sides of its pyramid (the cone from
#: its cell's seed to its face): so at least that much from its cell's other faces, and twice that
#: from the cell's other pockets.
POCKET_WALL = 0.5
#: A pocket's chamber: the cross-sections of the face's pyramid shrunk by at most this factor
#: about the hole (less where it would come closer to the pyramid's sides) ...
POCKET_SCALE = 0.7
#: ... from the neck's bottom (ratio k1 of the pyramid, at depth pocket_neck) down to ratio
#: POCKET_REACH × k1 (half-way to the seed).
POCKET_REACH = 0.5
#: Faces with an edge shorter than this times pocket_neck get no pocket: the rings around the hole
#: and in the ceiling copy such an edge, shrunk, and nearly flat triangles a fraction of a nm apart
#: can fail the mesh's intersection test (5-7 % of the faces of the default block).
POCKET_MIN_EDGE = 0.25
#: Triangles a pocket adds to its face (about 2 × 6 edges + 4 in each of its two holed faces,
#: the face and the ceiling; 8 in the neck, 12 in the chamber's walls, 6 in its floor).
TRIANGLES_PER_POCKET = 60


@dataclass(frozen=True, eq=False)
class Neuropil(Synapse):
    """A neuropil block (:func:`neuropil`): a :class:`~cleftsim.biology.synapse.Synapse` whose
    ``mesh`` is the extracellular space of the block, ``release_sites`` one per synapse, and
    ``clefts`` empty (the clefts are tilted; the Cylinder and Box shapes are along the axes).

    Per synapse i (regions ``"psd_i"`` and ``"active_zone_i"``): ``centers[i]`` the cleft's centre
    (µm), ``normals[i]`` the unit normal from the active zone to the PSD, ``pre[i]`` and
    ``post[i]`` the indices of its cells. Per cell: ``seeds`` (µm) and ``glial`` (bool).
    ``block``: the box (:class:`~cleftsim.geometry.shapes.Box`) bounded by region ``"outer"``.
    Per dead-end pocket j: ``pockets[j]`` the centre of its hole (µm, on its cell's face),
    ``pocket_cells[j]`` its cell, ``pocket_volumes[j]`` its volume (µm³, neck and chamber).
    """

    centers: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    normals: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    pre: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    post: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    seeds: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    glial: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    block: Box | None = None
    pockets: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    pocket_cells: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pocket_volumes: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def cleft(self) -> NoReturn:
        """A neuropil has no cleft shape: its clefts are tilted, the shapes lie along the axes."""
        raise SynapseError("a neuropil block's clefts are tilted sheets between cells, which the Cylinder and Box "
                           "shapes (along the axes) cannot describe; count what binds at a synapse instead, e.g. "
                           "model.count(ampa.open, region=obj.region('psd_0'))")

    @property
    def n_synapses(self) -> int:
        """Number of synapses."""
        return len(self.centers)

    @property
    def psd_regions(self) -> tuple[str, ...]:
        """``("psd_0", "psd_1", ...)``."""
        return tuple(f"psd_{i}" for i in range(self.n_synapses))

    @property
    def active_zone_regions(self) -> tuple[str, ...]:
        """``("active_zone_0", ...)``."""
        return tuple(f"active_zone_{i}" for i in range(self.n_synapses))

    @property
    def alpha(self) -> float:
        """Extracellular volume fraction from the mesh: the space's volume over the block's."""
        return self.mesh.volume / self.block.volume

    @property
    def n_pockets(self) -> int:
        """Number of dead-end pockets."""
        return len(self.pockets)

    @property
    def dead_space(self) -> float:
        """Fraction of the extracellular volume in the pockets (chambers and necks), from the
        mesh: the pockets' volume over the space's."""
        return float(self.pocket_volumes.sum()) / self.mesh.volume

    def neighbours(self, within: Any = "1 um") -> tuple[np.ndarray, ...]:
        """For each synapse, the other synapses whose centres lie within ``within`` (µm or a
        length string) of its centre, nearest first."""
        r = _size(BUILDER, "within", within, ("1 um", 100.0, "beyond a few µm synapses do not share transmitter"))
        d = np.linalg.norm(self.centers[:, None] - self.centers[None], axis=-1)
        np.fill_diagonal(d, np.inf)
        return tuple(np.argsort(row, kind="stable")[: int(np.count_nonzero(row <= r))] for row in d)


# -- checks ---------------------------------------------------------------------------------------
def _dims(size: Any) -> np.ndarray:
    """The block's edge lengths (µm): one length (a cube) or three."""
    if isinstance(size, str) or not np.iterable(size):
        return np.full(3, _size(BUILDER, "size", size, NEUROPIL_SIZES["size"]))
    items = list(size)
    if len(items) != 3:
        _fail(BUILDER, "size", size, "must be one length (a cube) or three (x, y, z)", "give e.g. size='4 um'")
    return np.array([_size(BUILDER, f"size[{i}]", s, NEUROPIL_SIZES["size"]) for i, s in enumerate(items)])


def _fraction(name: str, value: Any, example: float) -> float:
    if not (units.is_number(value) and 0 <= value <= 1):                    # NaN fails too
        _fail(BUILDER, name, value, "must be a number from 0 to 1", f"give e.g. {name}={example}")
    return float(value)


def _density(value: Any) -> float:
    """Synapses per µm³ (a number, or a string such as '2 /um^3'), from 0 to MAX_SYNAPSE_DENSITY."""
    name, fix = "synapse_density", "give e.g. synapse_density='2 /um^3' (a plain number is per µm³)"
    if isinstance(value, bool):
        _fail(BUILDER, name, value, "is not a density", fix)
    if isinstance(value, str) or hasattr(value, "dimensionality"):
        try:
            q = units.registry().Quantity(value) if isinstance(value, str) else value
            x = float(q.to("1/um**3").magnitude)
        except Exception:                          # any text pint cannot read as a number per volume
            _fail(BUILDER, name, value, "is not a number per volume", fix)
    elif units.is_number(value):
        x = float(value)
    else:
        _fail(BUILDER, name, value, "is not a density", fix)
    if not 0 <= x <= MAX_SYNAPSE_DENSITY:                                    # NaN fails too
        _fail(BUILDER, name, value, f"is {x:g} per µm³, but it must be from 0 to {MAX_SYNAPSE_DENSITY:g} per µm³ "
              f"(CA1 neuropil holds about 2)", fix)
    return x


def _parameters(size, cell_size, gap, glia_fraction, synapse_density, psd_radius, active_zone_radius, segments,
                seed, dead_space, pocket_neck) -> dict:
    p = {"size": _dims(size)}
    for key, value in (("cell_size", cell_size), ("gap", gap), ("psd_radius", psd_radius),
                       ("active_zone_radius", psd_radius if active_zone_radius is None else active_zone_radius),
                       ("pocket_neck", pocket_neck)):
        p[key] = _size(BUILDER, key, value, NEUROPIL_SIZES[key])
    p["glia_fraction"] = _fraction("glia_fraction", glia_fraction, 0.1)
    p["synapse_density"] = _density(synapse_density)
    p["segments"] = _whole(BUILDER, "segments", segments, 6, 12)
    p["seed"] = _whole(BUILDER, "seed", seed, 0, 1)
    if not (units.is_number(dead_space) and 0 <= dead_space <= MAX_DEAD_SPACE):          # NaN fails too
        _fail(BUILDER, "dead_space", dead_space, f"must be a number from 0 to {MAX_DEAD_SPACE:g} (the fraction of "
              f"the extracellular volume in dead-end pockets)", "give e.g. dead_space=0.4")
    p["dead_space"] = float(dead_space)
    nm = lambda key: f"{p[key] * 1e3:g} nm"
    if p["gap"] <= 2 * RELEASE_DEPTH:
        raise SynapseError(f"{BUILDER}: gap ({nm('gap')}) must exceed {2 * RELEASE_DEPTH * 1e3:g} nm so a release "
                           f"site fits in the cleft between the membranes; give a larger gap")
    if p["gap"] > MAX_GAP_FRACTION * p["cell_size"]:
        raise SynapseError(f"{BUILDER}: gap ({nm('gap')}) must be at most {MAX_GAP_FRACTION:g} × cell_size "
                           f"({MAX_GAP_FRACTION * p['cell_size'] * 1e3:g} nm) so that every cell keeps its shape "
                           f"when its faces move in by gap/2; give a smaller gap or a larger cell_size")
    small = float(p["size"].min())
    if small < p["cell_size"]:
        raise SynapseError(f"{BUILDER}: size ({small:g} µm along its shortest edge) must be at least cell_size "
                           f"({p['cell_size']:g} µm) so that the block holds a cell; give a larger size or a "
                           f"smaller cell_size")
    return p


# -- the tessellation -----------------------------------------------------------------------------
def _mirrors(points: np.ndarray, half: np.ndarray) -> np.ndarray:
    """The points' mirror images in the six faces of the box [-half, half] (6n, 3)."""
    out = []
    for axis in range(3):
        for side in (-1.0, 1.0):
            m = points.copy()
            m[:, axis] = 2 * side * half[axis] - m[:, axis]
            out.append(m)
    return np.concatenate(out)


def _seeds(dims: np.ndarray, cell_size: float, rng: np.random.Generator) -> np.ndarray:
    """Random sequential addition of volume / cell_size³ seeds (at least one), each at least
    HARD_CORE × cell_size from the others and from its mirror images (so HARD_CORE/2 × cell_size
    from the faces), in the box of edges ``dims`` centred on the origin."""
    n = max(1, int(round(float(np.prod(dims)) / cell_size**3)))
    d = HARD_CORE * cell_size
    half = dims / 2
    lo, hi = -half + d / 2, half - d / 2          # size >= cell_size > d: never empty
    kept = np.zeros((n, 3))
    k, tries = 0, 0
    while k < n:
        tries += 1
        if tries > 1000 * n:
            raise SynapseError(f"{BUILDER}: could not place {n} cells of cell_size {cell_size:g} µm in the block; "
                               f"give a larger size or cell_size")
        c = rng.uniform(lo, hi)
        if k and np.min(np.sum((kept[:k] - c) ** 2, axis=1)) < d * d:
            continue
        kept[k] = c
        k += 1
    return kept


def _cells(seeds: np.ndarray, dims: np.ndarray, gap: float) -> list[dict]:
    """Each cell as a convex polyhedron: its Voronoi faces moved in by gap/2.

    A cell is a dict: ``vertices`` (V, 3), ``faces`` {neighbour: (ordered vertex ids, outward unit
    normal)} with the neighbour's cell index, or -1 - k for a face on the box (k: which of the
    six). Vertex ids run counter-clockwise seen from outside the cell."""
    from scipy.spatial import HalfspaceIntersection, Voronoi

    n = len(seeds)
    merge = MERGE * float(np.linalg.norm(dims))
    every = np.concatenate([seeds, _mirrors(seeds, dims / 2)])
    if n == 1:
        neighbours = [np.arange(1, 7)]
    else:
        pairs = Voronoi(every).ridge_points
        pairs = pairs[(pairs < n).any(axis=1)]
        own = np.concatenate([pairs[:, 0], pairs[:, 1]])
        other = np.concatenate([pairs[:, 1], pairs[:, 0]])
        keep = own < n
        own, other = own[keep], other[keep]
        order = np.lexsort((other, own))
        own, other = own[order], other[order]
        neighbours = np.split(other, np.searchsorted(own, np.arange(1, n)))
    cells = []
    for i, near in enumerate(neighbours):
        q = every[near] - seeds[i]
        dist = np.linalg.norm(q, axis=1)
        normal = q / dist[:, None]
        offset = normal @ seeds[i] + dist / 2 - gap / 2
        hs = HalfspaceIntersection(np.column_stack([normal, -offset]), seeds[i])
        # the faces' labels: the neighbour's index; -1 - k for box face k (the seed's own mirror
        # image n + k·n + i); other mirror images (whose planes lie beyond the box) below -6
        k = (near - n) // n
        labels = np.where(near < n, near, np.where(near == n + k * n + i, -1 - k, -7 - near))
        cells.append(_polyhedron(hs.intersections, hs.dual_facets, normal, labels, merge))
    return cells


def _polyhedron(points: np.ndarray, incidence: list, normals: np.ndarray, labels: np.ndarray, merge: float) -> dict:
    """Faces of a convex polyhedron from its vertices and, for each, the planes through it;
    vertices closer than ``merge`` (µm) are merged (faces that shrink to an edge or a point go)."""
    from scipy.spatial import cKDTree

    rep = np.arange(len(points))
    for a, b in sorted(map(tuple, cKDTree(points).query_pairs(merge, output_type="ndarray").tolist())):
        ra, rb = rep[a], rep[b]
        rep[rep == max(ra, rb)] = min(ra, rb)
    on_plane: dict[int, list[int]] = {}
    for v, planes in enumerate(incidence):
        for k in planes:
            on_plane.setdefault(int(k), []).append(v)
    faces = {}
    for k in sorted(on_plane):
        ids = np.array(on_plane[k])
        if len(ids) < 3:
            continue
        n = normals[k]
        c = points[ids].mean(axis=0)
        u = _perpendicular(n)
        w = np.cross(n, u)
        rel = points[ids] - c
        ids = rep[ids[np.argsort(np.arctan2(rel @ w, rel @ u), kind="stable")]]
        ids = ids[ids != np.roll(ids, 1)]
        if len(ids) >= 3:
            faces[int(labels[k])] = (ids, n)
    used, inverse = np.unique(np.concatenate([f[0] for f in faces.values()]), return_inverse=True)
    split = np.cumsum([len(f[0]) for f in faces.values()])[:-1]
    renumbered = np.split(inverse, split)
    return {"vertices": points[used],
            "faces": {key: (ids, f[1]) for (key, f), ids in zip(faces.items(), renumbered)}}


def _perpendicular(n: np.ndarray) -> np.ndarray:
    """A unit vector perpendicular to the unit vector n."""
    a = np.eye(3)[int(np.argmin(np.abs(n)))]
    u = np.cross(n, a)
    return u / np.linalg.norm(u)


# -- synapses -------------------------------------------------------------------------------------
def _inradius(polygon: np.ndarray, point: np.ndarray) -> float:
    """Distance from a point to the nearest edge of a convex polygon (counter-clockwise, 2-D);
    negative outside."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    e = b - a
    length = np.linalg.norm(e, axis=1)
    cross = e[:, 0] * (point[1] - a[:, 1]) - e[:, 1] * (point[0] - a[:, 0])
    return float(np.min(cross / length))


def _area_centroid(polygon: np.ndarray) -> np.ndarray:
    """Centroid of the area of a convex polygon (2-D)."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return ((a + b) * cross[:, None]).sum(axis=0) / (3 * cross.sum())


def _disc_centre(cells: list[dict], a: int, b: int, radius: float) -> np.ndarray | None:
    """A centre (µm, on the mid-plane of the sheet between cells a and b) where a disc of
    ``radius`` plus its rim fits on both facing faces, or None."""
    verts_a, (ids_a, n) = cells[a]["vertices"], cells[a]["faces"][b]
    verts_b, (ids_b, _) = cells[b]["vertices"], cells[b]["faces"][a]
    u = _perpendicular(n)
    w = np.cross(n, u)
    origin = verts_a[ids_a].mean(axis=0)
    flat = lambda p: np.column_stack([(p - origin) @ u, (p - origin) @ w])
    pa, pb = flat(verts_a[ids_a]), flat(verts_b[ids_b])[::-1]          # both counter-clockwise about n
    need = radius + max(0.005, 0.1 * radius)
    best = None
    for c in (_area_centroid(pa), _area_centroid(pb), (_area_centroid(pa) + _area_centroid(pb)) / 2):
        room = min(_inradius(pa, c), _inradius(pb, c))
        if room >= need and (best is None or room > best[0]):
            best = (room, c)
    if best is None:
        return None
    gap_half = float(n @ (verts_b[ids_b[0]] - verts_a[ids_a[0]])) / 2
    c = best[1]
    return origin + c[0] * u + c[1] * w + gap_half * n


def _synapses(cells: list[dict], glial: np.ndarray, p: dict, volume: float, rng: np.random.Generator):
    """Pairs (pre, post) and centres of the synapses, chosen among the faces where they fit."""
    want = int(round(p["synapse_density"] * volume))
    radius = max(p["psd_radius"], p["active_zone_radius"])
    pairs, centres = [], []
    if want:
        for a, cell in enumerate(cells):
            if glial[a]:
                continue
            for b in cell["faces"]:
                if b > a and not glial[b] and a in cells[b]["faces"]:
                    c = _disc_centre(cells, a, b, radius)
                    if c is not None:
                        pairs.append((a, b))
                        centres.append(c)
    if want > len(pairs):
        raise SynapseError(
            f"{BUILDER}: synapse_density={p['synapse_density']:g} per µm³ asks for {want} synapses in "
            f"{volume:.4g} µm³, but discs of radius {radius * 1e3:g} nm fit on only {len(pairs)} pairs of facing "
            f"neuronal faces; give a lower synapse_density, a smaller psd_radius/active_zone_radius, a larger "
            f"cell_size or a lower glia_fraction")
    chosen = np.sort(rng.choice(len(pairs), size=want, replace=False)) if want else np.zeros(0, dtype=np.int64)
    flip = rng.random(want) < 0.5
    ab = np.array(pairs, dtype=np.int64).reshape(-1, 2)[chosen]
    pre = np.where(flip, ab[:, 1], ab[:, 0])
    post = np.where(flip, ab[:, 0], ab[:, 1])
    return pre, post, np.array(centres).reshape(-1, 3)[chosen]


# -- dead-end pockets -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pocket:
    """A pocket under face ``label`` of cell ``cell``: its hole (a square of circumradius
    ``radius`` about ``centre``, on the face) and the homothety about the cell's seed ``apex`` that
    maps the face onto the neck's bottom (ratio ``k1``) and onto the chamber's floor (``k2``); the
    chamber's cross-sections are the face shrunk by ``scale`` about ``centre``, mapped so."""

    cell: int
    label: int
    centre: np.ndarray
    radius: float
    apex: np.ndarray
    scale: float
    k1: float
    k2: float
    volume: float


def _pocket_room(verts: np.ndarray, ids: np.ndarray, n: np.ndarray, apex: np.ndarray, p: dict) -> _Pocket | None:
    """The pocket that fits under a face (vertex ids ``ids``, counter-clockwise about its outward
    normal n) of a cell with seed ``apex``, or None (see :func:`neuropil`, dead_space)."""
    neck = p["pocket_neck"]
    r = neck / np.sqrt(2)
    rim = max(0.005, 0.1 * r)
    clear = POCKET_WALL * p["gap"]
    u = _perpendicular(n)
    w = np.cross(n, u)
    face = verts[ids]
    origin = face.mean(axis=0)
    flat = np.column_stack([(face - origin) @ u, (face - origin) @ w])
    c2 = _area_centroid(flat)
    room = _inradius(flat, c2)
    centre = origin + c2[0] * u + c2[1] * w
    h = float(n @ (face[0] - apex))                       # the seed's height below the face
    k1 = 1 - neck / h
    k2 = POCKET_REACH * k1
    shortest = float(np.min(np.linalg.norm(face - np.roll(face, -1, axis=0), axis=1)))
    if room < r + rim or k1 <= 0 or shortest < POCKET_MIN_EDGE * neck:
        return None
    # the sides of the pyramid from the seed to the face, outward normals m through the seed
    m = np.cross(np.roll(face, -1, axis=0) - apex, face - apex)
    m /= np.linalg.norm(m, axis=1)[:, None]
    # the chamber's corners at ratio k: apex + k (centre - apex) + k s (face - centre); each side's
    # distance -m·(x - apex) = k (a - s b) must be >= clear at k2 (the smallest k)
    a = -(m @ (centre - apex))                            # > 0: the centre is inside
    b = -(face - centre) @ m.T                            # b[i, j]: corner i against side j
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(b > 0, (a[None, :] - clear / k2) / b, np.inf)
    scale = min(POCKET_SCALE, float(bound.min()))
    # the neck's bottom corners apex + k1 (centre + r d - apex), |d| = 1: k1 (a - r m·d) >= k1 (a - r)
    if scale * room < r + rim / k1 or k1 * (float(a.min()) - r) < clear:   # its bottom fits in the ceiling
        return None
    area = 0.5 * abs(float(np.sum(flat[:, 0] * np.roll(flat[:, 1], -1) - np.roll(flat[:, 0], -1) * flat[:, 1])))
    volume = h / 3 * (2 * r * r * (1 - k1**3) + scale**2 * area * (k1**3 - k2**3))
    return _Pocket(-1, -1, centre, r, apex, scale, k1, k2, volume)


def _morton(points: np.ndarray, cell: float) -> np.ndarray:
    """The order of points along a Z-order curve on a grid of spacing ``cell`` (neighbours in the
    order are mostly neighbours in space)."""
    grid = np.floor((points - points.min(axis=0)) / cell).astype(np.int64)
    code = np.zeros(len(points), dtype=np.int64)
    for bit in range(20):
        for axis in range(3):
            code |= ((grid[:, axis] >> bit) & 1) << (3 * bit + axis)
    return np.argsort(code, kind="stable")


def _pockets(cells: list[dict], seeds: np.ndarray, taken: set, p: dict, target: float,
             rng: np.random.Generator) -> list[_Pocket]:
    """Pockets under faces without a disc, at most one per face, holding ``target`` µm³ in all,
    spread evenly: each cell's share of the target goes with its surface (so of the sheets around
    it). Cells are visited along a Z-order curve; each takes its faces in random order, as many as
    bring its pockets' volume nearest its share plus what the cells before it fell short of or
    overshot (error diffusion, so any few neighbouring cells hold close to their share)."""
    candidates: list[list[_Pocket]] = []
    surface = np.zeros(len(cells))
    for k, cell in enumerate(cells):
        mine = []
        for label, (ids, n) in cell["faces"].items():
            face = cell["vertices"][ids]
            surface[k] += 0.5 * float(np.linalg.norm(np.cross(face - face[0], np.roll(face, -1, axis=0) - face[0]).sum(0)))
            if (k, label) not in taken:
                pocket = _pocket_room(cell["vertices"], ids, n, seeds[k], p)
                if pocket is not None:
                    mine.append(replace(pocket, cell=k, label=label))
        candidates.append(mine)
    have = sum(x.volume for mine in candidates for x in mine)
    if have < target:
        raise SynapseError(
            f"{BUILDER}: dead_space={p['dead_space']:g} asks for {target:.3g} µm³ of pockets, but the "
            f"{sum(map(len, candidates))} faces without a synapse that have room for one hold only {have:.3g} µm³; "
            f"give a lower dead_space, a narrower pocket_neck, a lower synapse_density or a smaller gap")
    chosen, left, carry = [], [], 0.0
    for k in _morton(seeds, p["cell_size"]):
        mine = [candidates[k][i] for i in rng.permutation(len(candidates[k]))]
        want = target * surface[k] / surface.sum() + carry
        total = np.concatenate([[0.0], np.cumsum([x.volume for x in mine])])
        count = int(np.argmin(np.abs(total - want)))
        chosen += mine[:count]
        left += mine[count:]
        carry = want - float(total[count])
    for i in rng.permutation(len(left)):              # what the last cells could not take up
        if abs(carry - left[i].volume) < abs(carry):
            chosen.append(left[i])
            carry -= left[i].volume
    return sorted(chosen, key=lambda x: (x.cell, list(cells[x.cell]["faces"]).index(x.label)))


def _pit(out: _Builder, q: np.ndarray, face: np.ndarray, n: np.ndarray, start: int, pocket: _Pocket,
         name: str) -> None:
    """The pit below the square hole (corner ids ``q``, counter-clockwise about the face's outward
    normal n) of ``pocket`` in a face (corners ``face``, counter-clockwise about n; ray 0 of the
    hole through corner ``start``): the neck, the ceiling (the chamber's top, a copy of the face
    around the neck's bottom), the chamber's walls and its floor; triangles counter-clockwise
    seen from outside the cell, i.e. from inside the pit. Every part is the image of the face (or
    of the hole) under a homothety about the seed, so the walls are flat and the ceiling's hole is
    square to the face's."""
    S, c, s = pocket.apex, pocket.centre, pocket.scale
    shrunk = c + s * (face - c)
    top = S + pocket.k1 * (shrunk - S)                                   # the ceiling's outer edge
    low = S + pocket.k2 * (shrunk - S)                                   # the floor
    k = len(face)
    t = out.add_vertices(top)
    top_ids = t + np.arange(k)
    reverse = top_ids[::-1]                                              # counter-clockwise about -n
    qq, _, _ = _holed_face(out, top, reverse - t, t, -n, S + pocket.k1 * (c - S), pocket.k1 * pocket.radius, 4, name,
                        start=k - 1 - start)
    bottom = qq[(-np.arange(4)) % 4]                                     # the neck's bottom, as q
    f = out.add_vertices(np.concatenate([low, (S + pocket.k2 * (c - S))[None]]))
    low_ids, middle = f + np.arange(k), f + k
    nxt = np.roll
    walls = lambda up, down: [np.column_stack([up, nxt(up, -1), nxt(down, -1)]),
                              np.column_stack([up, nxt(down, -1), down])]
    tris = walls(q, bottom) + walls(top_ids, low_ids) + [np.column_stack([np.full(k, middle), low_ids,
                                                                             nxt(low_ids, -1)])]
    out.add(np.concatenate(tris).astype(np.int64), name)


# -- the mesh -------------------------------------------------------------------------------------
class _Builder:
    """Vertices, triangles (counter-clockwise seen from outside the cell) and their region names."""

    def __init__(self) -> None:
        self.vertices: list[np.ndarray] = []
        self.triangles: list[np.ndarray] = []
        self.names: list[np.ndarray] = []
        self.n = 0

    def add_vertices(self, v: np.ndarray) -> int:
        first = self.n
        self.vertices.append(v)
        self.n += len(v)
        return first

    def add(self, tris: np.ndarray, name: str) -> None:
        self.triangles.append(tris)
        self.names.append(np.full(len(tris), name, dtype=object))


def _fan(out: _Builder, ring: np.ndarray, centre: np.ndarray, name: str) -> None:
    """Triangles from a new centre vertex to each edge of a ring of vertex ids."""
    c = out.add_vertices(centre[None])
    out.add(np.column_stack([np.full(len(ring), c), ring, np.roll(ring, -1)]), name)


def _holed_face(out: _Builder, verts: np.ndarray, ids: np.ndarray, first: int, n: np.ndarray,
                centre: np.ndarray, radius: float, segments: int, rest: str, disc: str | None = None,
                start: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """A face (vertex ids ``ids`` into the cell's ``verts``, added from id ``first`` on;
    counter-clockwise about its outward normal ``n``) around a regular ``segments``-gon of
    circumradius ``radius`` about ``centre``: the rest of the face (region ``rest``) around it,
    and the polygon itself fanned from its centre (region ``disc``) if ``disc`` is given, or left
    open (a hole, whose edges the caller closes). The polygon's first corner lies on the ray from
    the centre through the face's corner ``start`` (an index into ``ids``; by default the corner
    of least angle about n from :func:`_perpendicular`). Returns the polygon's corner ids
    (counter-clockwise about n; the fan, if any, runs each edge from corner j to corner j + 1),
    their positions and ``start``.

    The rest is two rings. The outer joins the face's polygon P to a copy P' shrunk towards the
    centre, halfway from the disc to P (trapezoids: the face's edges stay unsplit, so the faces
    beside it need no extra vertex). The inner joins the disc's polygon to P', which gets a vertex
    where the ray from the centre through each corner of the disc meets it: between two such rays
    the ring is a convex polygon, fanned from the disc's corner (a ring that joined the disc to the
    few corners of P directly would cross the disc).
    """
    u = _perpendicular(n)
    w = np.cross(n, u)
    rel = verts[ids] - centre
    outer = np.column_stack([rel @ u, rel @ w])                          # P, 2-D about the centre
    psi = np.arctan2(outer[:, 1], outer[:, 0])
    if start is None:
        start = int(np.argmin(psi))
        ids, outer, psi = first + np.roll(ids, -start), np.roll(outer, -start, axis=0), np.roll(psi, -start)
    else:                                                                 # increasing from the start corner
        ids, outer, psi = first + np.roll(ids, -start), np.roll(outer, -start, axis=0), np.roll(psi, -start)
        psi = psi[0] + np.mod(psi - psi[0], 2 * np.pi)
    theta = psi[0] + 2 * np.pi * np.arange(segments) / segments           # the disc's corners; the first
    room = _inradius(outer, np.zeros(2))                                  # on the ray through P's first
    shrunk = outer * (radius + (room - radius) / 2) / room                # P'
    # P' with a vertex on each ray θ_j (j >= 1; ray 0 passes through P's first corner), by angle
    edge = np.searchsorted(psi, theta[1:], side="right") - 1              # the edge of P' each ray meets
    a, b = shrunk[edge], shrunk[(edge + 1) % len(shrunk)]
    d = np.column_stack([np.cos(theta[1:]), np.sin(theta[1:])])
    e = b - a
    t = (a[:, 0] * e[:, 1] - a[:, 1] * e[:, 0]) / (d[:, 0] * e[:, 1] - d[:, 1] * e[:, 0])
    chain = np.concatenate([shrunk, d * t[:, None]])
    key = np.concatenate([psi, theta[1:]])
    order = np.argsort(key, kind="stable")                                # corners first at equal angles
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    corner_at, ray_at = rank[: len(psi)], np.r_[0, rank[len(psi):]]
    corners = radius * np.column_stack([np.cos(theta), np.sin(theta)])
    lead = 1 if disc is not None else 0                                   # the fan's centre vertex
    flat = np.concatenate([np.zeros((lead, 2)), corners, chain[order]])
    base = out.add_vertices(centre + flat[:, :1] * u + flat[:, 1:] * w)
    q, ring = base + lead + np.arange(segments), base + lead + segments + np.arange(len(order))
    if disc is not None:
        out.add(np.column_stack([np.full(segments, base), q, np.roll(q, -1)]), disc)
    tris = []
    size = len(order)
    for j in range(segments):                                             # the inner ring: sector j
        lo, hi = ray_at[j], ray_at[(j + 1) % segments] + (size if j == segments - 1 else 0)
        arc = ring[np.arange(lo, hi + 1) % size]
        tris += [(q[j], x, y) for x, y in zip(arc[:-1], arc[1:])]
        tris.append((q[j], arc[-1], q[(j + 1) % segments]))
    k = len(ids)
    for i in range(k):                                                    # the outer ring: edge i of P
        lo, hi = corner_at[i], corner_at[(i + 1) % k] + (size if i == k - 1 else 0)
        arc = ring[np.arange(lo, hi + 1) % size][::-1]                    # P' from corner i + 1 back to i
        tris.append((ids[i], ids[(i + 1) % k], arc[0]))
        tris += [(ids[i], x, y) for x, y in zip(arc[:-1], arc[1:])]
    out.add(np.array(tris, dtype=np.int64), rest)
    return q, centre + corners[:, :1] * u + corners[:, 1:] * w, start


def _mesh(cells: list[dict], glial: np.ndarray, pre: np.ndarray, post: np.ndarray, centres: np.ndarray,
          p: dict, pockets: list[_Pocket] = ()) -> Mesh:
    """The extracellular space: the block's box and every cell, normals out of the space."""
    out = _Builder()
    holes = {(pocket.cell, pocket.label): pocket for pocket in pockets}
    discs = {}
    for i, (a, b) in enumerate(zip(pre, post)):
        discs[(int(a), int(b))] = ("active_zone", i, p["active_zone_radius"])
        discs[(int(b), int(a))] = ("psd", i, p["psd_radius"])
    for k, cell in enumerate(cells):
        kind = "glia" if glial[k] else "neuron"
        first = out.add_vertices(cell["vertices"])
        for other, (ids, n) in cell["faces"].items():
            if (k, other) in discs:
                what, i, r = discs[(k, other)]
                on_face = centres[i] + n * float(n @ (cell["vertices"][ids[0]] - centres[i]))
                _holed_face(out, cell["vertices"], ids, first, n, on_face, r, p["segments"], kind, f"{what}_{i}")
            elif (k, other) in holes:
                pocket = holes[(k, other)]
                q, _, start = _holed_face(out, cell["vertices"], ids, first, n, pocket.centre, pocket.radius, 4, kind)
                _pit(out, q, cell["vertices"][ids], n, start, pocket, kind)
            else:
                _fan(out, first + ids, cell["vertices"][ids].mean(axis=0), kind)
    outer = box(tuple(p["size"]))
    verts = np.concatenate(out.vertices)
    tris = np.concatenate(out.triangles)[:, [0, 2, 1]]                 # normals into the cells
    names = np.concatenate(out.names)
    tris = np.concatenate([tris, outer.triangles + len(verts)])
    names = np.concatenate([names, np.full(outer.n_triangles, "outer", dtype=object)])
    verts = np.concatenate([verts, outer.vertices])
    order = ["outer", "neuron", "glia"] + [f"{w}_{i}" for i in range(len(pre)) for w in ("psd", "active_zone")]
    regions = {name: np.flatnonzero(names == name) for name in order}
    return Mesh(verts, tris, {name: idx for name, idx in regions.items() if len(idx)})


def neuropil(size: Any = "4 um", cell_size: Any = "0.5 um", gap: Any = "20 nm", glia_fraction: float = 0.1,
             synapse_density: Any = "2 /um^3", psd_radius: Any = "100 nm", active_zone_radius: Any = None,
             segments: int = 12, seed: int = 0, dead_space: float = 0.0,
             pocket_neck: Any = "20 nm") -> Neuropil:
    """A block of neuropil centred on the origin (see the module docstring): convex cells
    separated by extracellular sheets ``gap`` thick, some glial, with synapses between neuronal
    cells; returns a :class:`Neuropil`.

    Parameters (lengths in µm or unit strings; each from 1 nm to the largest in
    :data:`NEUROPIL_SIZES`)
    ----------
    size : the block's edge, one length (a cube) or three (x, y, z), at least cell_size.
    cell_size : the cube root of the mean cell volume (the block holds volume / cell_size³ cells).
    gap : thickness of the sheets between cells (the clefts' height), more than 2 × RELEASE_DEPTH
        and at most a fifth of cell_size; cells face the box across gap/2.
    glia_fraction : fraction of the cells that are glial (region ``"glia"``; the rest ``"neuron"``).
    synapse_density : synapses per µm³ (a number, or a string such as ``"2 /um^3"``), 0 to 10.
    psd_radius, active_zone_radius : radii of the ``"psd_i"`` and ``"active_zone_i"`` discs (the
        active zone defaults to the PSD's radius); faces where they do not fit get no synapse.
    segments : sides of the polygons that stand for the discs (an int >= 6).
    seed : the seed (an int >= 0) of the cells' seeds, the glial cells, the synapses and the
        pockets: the same seed and parameters give the same mesh, bit for bit.
    dead_space : the fraction of the extracellular volume in dead-end pockets, 0 (the default: no
        pockets, flat faces) to 0.8: pockets are carved under faces without a synapse (at most one
        per face, faces in random order) until they hold the nearest volume to dead_space / (1 -
        dead_space) × the sheets' volume; ``Neuropil.dead_space`` is the fraction obtained (see the
        module docstring for their shape).
    pocket_neck : width at the face, and length, of the square neck that joins a pocket's chamber
        to the sheet. It is the space's narrowest passage where it is below the gap: keep
        tortuosity()'s step below it (its default step is a quarter of the narrower of the two).

    Raises SynapseError naming the parameter and the fix, e.g. when the synapses asked for do not
    fit on the faces between neuronal cells, or the pockets in the cells.
    """
    p = _parameters(size, cell_size, gap, glia_fraction, synapse_density, psd_radius, active_zone_radius,
                    segments, seed, dead_space, pocket_neck)
    dims = p["size"]
    volume = float(np.prod(dims))
    n_cells = max(1, int(round(volume / p["cell_size"] ** 3)))
    n_synapses = int(round(p["synapse_density"] * volume))
    _budget(TRIANGLES_PER_CELL * n_cells + TRIANGLES_PER_SYNAPSE_SEGMENT * p["segments"] * n_synapses,
            f"{BUILDER}(size={size!r}, cell_size={cell_size!r}) with {n_cells} cells",
            "give a smaller size or a larger cell_size")
    rng = np.random.default_rng(p["seed"])
    seeds = _seeds(dims, p["cell_size"], rng)
    cells = _cells(seeds, dims, p["gap"])
    glial = np.zeros(len(cells), dtype=bool)
    glial[rng.choice(len(cells), size=int(round(p["glia_fraction"] * len(cells))), replace=False)] = True
    pre, post, centres = _synapses(cells, glial, p, volume, rng)
    pockets: list[_Pocket] = []
    if p["dead_space"] > 0:
        from scipy.spatial import ConvexHull

        sheets = volume - sum(ConvexHull(cell["vertices"]).volume for cell in cells)
        delta = p["dead_space"]
        taken = {(int(a), int(b)) for a, b in zip(pre, post)} | {(int(b), int(a)) for a, b in zip(pre, post)}
        pockets = _pockets(cells, seeds, taken, p, delta / (1 - delta) * sheets, rng)
        _budget(TRIANGLES_PER_CELL * n_cells + TRIANGLES_PER_SYNAPSE_SEGMENT * p["segments"] * n_synapses
                + TRIANGLES_PER_POCKET * len(pockets), f"{BUILDER}(size={size!r}, dead_space={dead_space!r}) with "
                f"{n_cells} cells and {len(pockets)} pockets", "give a smaller size or a lower dead_space")
    try:
        mesh = _mesh(cells, glial, pre, post, centres, p, pockets)
        mesh.check(closed=True)
    except MeshError as exc:
        raise SynapseError(f"{BUILDER}: could not mesh this block ({exc}); give another seed, and report the "
                           f"parameters and seed as a bug") from None
    normals = np.array([cells[a]["faces"][b][1] for a, b in zip(pre, post)]).reshape(-1, 3)
    half = p["gap"] / 2
    sites = centres - (half - RELEASE_DEPTH) * normals
    p.update(size=tuple(float(x) for x in dims), n_cells=len(cells), n_glia=int(glial.sum()),
             n_synapses=len(pre), n_pockets=len(pockets))
    return Neuropil(mesh, (), sites, p, centers=centres, normals=normals, pre=pre, post=post, seeds=seeds,
                    glial=glial, block=Box(tuple(-dims / 2), tuple(dims / 2)),
                    pockets=np.array([x.centre for x in pockets]).reshape(-1, 3),
                    pocket_cells=np.array([x.cell for x in pockets], dtype=np.int64),
                    pocket_volumes=np.array([x.volume for x in pockets]))
