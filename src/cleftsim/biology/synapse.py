"""Synapse geometry builders: meshes of the extracellular space with named regions.

Every builder returns a :class:`Synapse`: ``syn.mesh`` is one closed mesh whose interior is the
extracellular space (its normals point out of the space: into the cells and out through the
outer boundary), ready for ``model.add_geometry(syn.mesh, name)``. Receptors, transporters and
enzymes face the space: place them with ``facing="inside"`` (the default).

The disc synapse (:func:`cleft`): the presynaptic bouton and the postsynaptic spine are closed
cylinders of radius R whose facing discs (the presynaptic and postsynaptic membranes) are a
cleft height h apart; the cleft's rim opens into the extracellular space, bounded by a cylinder
(region ``"outer"``) that a model makes absorbing (escape) or reflecting. Coordinates: the cleft
is centred at the origin, the postsynaptic membrane at z = -h/2, the presynaptic at z = +h/2.
Regions: ``"psd"`` (postsynaptic disc r < psd_radius), ``"post"`` (the rest of the spine),
``"active_zone"`` (presynaptic disc r < active_zone_radius), ``"pre"`` (the rest of the
bouton), ``"outer"``, and ``"glia"`` when a glial sheath is asked for: a closed solid ring
(thickness, height) at a distance from the rim, covering a fraction of the circumference (the
rest is the opening, centred on the +x axis).

Circles are regular polygons of ``segments`` sides; ``Synapse.area(region)`` gives the areas of
the mesh regions as built. Geometry after Savtchenko & Rusakov 2007 (PNAS 104:1823) and
docs/reference.md §2 (defaults: h = 20 nm, PSD radius 150 nm).

:func:`neuromuscular_junction` builds a slab cleft over a muscle surface cut by junctional folds;
:func:`from_mesh` wraps a mesh made elsewhere (a reconstruction) as a :class:`Synapse`.

The builders check their input and raise :class:`SynapseError` naming the builder, the
parameter, the value and the fix: sizes from 1 nm (:data:`MIN_SIZE`) to the largest that is
plausible for a synapse (:data:`DISC_SIZES`, :data:`GLIA_SIZES`, :data:`NMJ_SIZES`; a plain
number is in µm, so ``height=20`` is refused with the suggestion ``'20 nm'``), counts as ints,
and the number of triangles against this machine's memory
(:func:`~cleftsim.geometry.primitives.check_size`); :func:`from_mesh` refuses release sites and
cleft volumes outside the mesh's space.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np

from cleftsim import units
from cleftsim.compiler import scene as world
from cleftsim.errors import MeshError, SynapseError
from cleftsim.geometry import primitives
from cleftsim.geometry.io import _weld
from cleftsim.geometry.mesh import Mesh, combine
from cleftsim.geometry.primitives import box, cylinder
from cleftsim.geometry.shapes import SHAPES, Box, Cylinder

#: Distance (µm) of a release site from the presynaptic membrane, inside the cleft.
RELEASE_DEPTH = 0.002
#: Smallest size a builder takes (µm): no part of a synapse is thinner than 1 nm, and much
#: smaller parts make triangles too small for the mesh checks beside the rest of the synapse.
MIN_SIZE = 1e-3

#: The builders' sizes: name → (example, largest in µm, why no larger).
DISC_SIZES = {
    "height": ("20 nm", 1.0, "synaptic clefts are 10-100 nm high"),
    "radius": ("250 nm", 10.0, "synaptic appositions are 0.1-1 µm across"),
    "psd_radius": ("150 nm", 10.0, "PSDs are 0.1-1 µm across"),
    "active_zone_radius": ("150 nm", 10.0, "active zones are 0.1-1 µm across"),
    "cell_length": ("300 nm", 10.0, "spines and boutons are about 1 µm long"),
    "extracellular": ("500 nm", 10.0, "the space around one synapse"),
    "spacing": ("1 um", 100.0, "neighbouring synapses lie 0.3-3 µm apart"),
}
GLIA_SIZES = {
    "distance": ("50 nm", 1.0, "astrocytic processes lie within a few hundred nm of the synapse"),
    "thickness": ("50 nm", 10.0, "a glial sheath is at most a few µm thick"),
    "height": ("220 nm", 10.0, "a glial sheath around one synapse is at most a few µm high"),
}
NMJ_SIZES = {
    "height": ("50 nm", 1.0, "synaptic clefts are 10-100 nm high"),
    "length": ("2 um", 100.0, "an endplate is tens of µm across"),
    "width": ("1 um", 100.0, "an endplate is tens of µm across"),
    "fold_depth": ("1 um", 10.0, "folds are about 1 µm deep"),
    "fold_width": ("50 nm", 1.0, "folds open 50-100 nm wide"),
    "fold_spacing": ("0.5 um", 10.0, "folds are 0.5-1 µm apart"),
    "cell_thickness": ("200 nm", 10.0, "a patch of the terminal and the muscle a few µm thick"),
    "extracellular": ("300 nm", 10.0, "the space around the patch"),
}


@dataclass(frozen=True, eq=False)
class Synapse:
    """A built synapse geometry.

    ``mesh``: the closed extracellular space with named regions. ``clefts``: the volume of each
    cleft (a :class:`~cleftsim.geometry.shapes.Cylinder` or :class:`~cleftsim.geometry.shapes.Box`,
    for counts and concentrations).
    ``release_sites``: (n, 3) µm, the centre of each active zone, RELEASE_DEPTH below the
    presynaptic membrane. ``parameters``: the dimensions it was built with (µm).
    """

    mesh: Mesh
    clefts: tuple[Cylinder | Box, ...]
    release_sites: np.ndarray
    parameters: dict = field(default_factory=dict)

    @property
    def cleft(self) -> Cylinder | Box:
        """The (first) cleft's volume."""
        if not self.clefts:
            raise SynapseError("this synapse has no cleft volume; give from_mesh a cleft= shape")
        return self.clefts[0]

    def area(self, region: str) -> float:
        """Area (µm²) of a region of the mesh."""
        return float(self.mesh.areas[self.mesh.region(region)].sum())


# -- checks --------------------------------------------------------------------------------------
def _fail(builder: str, name: str, value: Any, problem: str, fix: str) -> NoReturn:
    """Raise the SynapseError "<builder>: <name>=<value> <problem>; <fix>"."""
    raise SynapseError(f"{builder}: {name}={value!r} {problem}; {fix}")


def _size(builder: str, name: str, value: Any, limits: tuple[str, float, str]) -> float:
    """A length (µm or a unit string) from MIN_SIZE to the largest of ``limits`` (example,
    largest µm, why no larger); a plain number that fits in nm gets that suggestion."""
    example, high, why = limits
    try:
        return units.bounded(value, "length", f"{builder}: {name}", f"{MIN_SIZE * 1e3:g} nm", f"{high:g} um", why,
                             plain="nm", example=example)
    except units.UnitError as exc:
        raise SynapseError(str(exc)) from None


def _whole(builder: str, name: str, value: Any, low: int, example: int) -> int:
    """An int >= ``low`` (not a bool or a float)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        _fail(builder, name, value, f"must be a whole number >= {low} (an int)", f"give e.g. {name}={example}")
    return int(value)


def _budget(n_triangles: int, what: str, fix: str) -> None:
    """:func:`~cleftsim.geometry.primitives.check_size`, raising SynapseError."""
    primitives.check_size(n_triangles, what, fix, error=SynapseError)


# -- the disc synapse -------------------------------------------------------------------------------
def _ring_counts(breaks: list[float], segments: int) -> list[int]:
    """Rings between consecutive breaks (from 0), spaced about 1.5 arcs of the polygon apart."""
    return [max(1, int(np.ceil((hi - lo) / (1.5 * 2 * np.pi * hi / segments))))
            for lo, hi in zip([0.0, *breaks[:-1]], breaks)]


def _ring_radii(breaks: list[float], segments: int) -> np.ndarray:
    """Radii of concentric rings through every break (see :func:`_ring_counts`)."""
    out, lo = [], 0.0
    for hi, k in zip(breaks, _ring_counts(breaks, segments)):
        out += list(lo + (hi - lo) * np.arange(1, k + 1) / k)
        lo = hi
    return np.array(out)


def _bands(r: float, length: float, segments: int) -> int:
    """Bands of a cylinder side of radius ``r``, each about one arc of the polygon high."""
    return max(1, int(np.ceil(abs(length) / (2 * np.pi * r / segments))))


def _sectors(coverage: float, segments: int) -> int:
    """Polygon sides of a glial ring covering ``coverage`` of the circumference."""
    return max(3, int(np.ceil(segments * coverage)))


def _outer_rings(segments: int) -> int:
    """Rings of the caps of the cylindrical ``"outer"`` boundary of a single synapse."""
    return max(1, segments // 8)


#: Divisions of each face of a box-shaped ``"outer"`` boundary (12 × 4² triangles).
_OUTER_DIVISIONS = 4


def _circle(r: float, z: float, segments: int) -> np.ndarray:
    a = 2 * np.pi * np.arange(segments) / segments
    return np.column_stack([r * np.cos(a), r * np.sin(a), np.full(segments, z)])


def _disc(radii: np.ndarray, z: float, segments: int, normal_z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disc at height z triangulated in concentric rings; returns vertices, triangles (normals
    along ``normal_z``) and the outer radius of each triangle's ring."""
    s = segments
    verts = np.concatenate([[[0.0, 0.0, z]]] + [_circle(r, z, s) for r in radii])
    j = np.arange(s)
    tris = [np.stack([np.zeros(s, int), 1 + j, 1 + (j + 1) % s], 1)]
    outer = [np.full(s, radii[0])]
    for k in range(1, len(radii)):
        a, b = 1 + (k - 1) * s + j, 1 + (k - 1) * s + (j + 1) % s
        c, d = b + s, a + s
        tris += [np.stack([a, b, c], 1), np.stack([a, c, d], 1)]
        outer.append(np.full(2 * s, radii[k]))
    tris = np.concatenate(tris)
    return verts, _orient(verts, tris, np.array([0.0, 0.0, normal_z])), np.concatenate(outer)


def _tube(r: float, z0: float, z1: float, segments: int, inward: bool) -> tuple[np.ndarray, np.ndarray]:
    """Open cylindrical side between z0 and z1, in bands about one arc high; normals radial
    (toward the axis when ``inward``)."""
    n = _bands(r, z1 - z0, segments)
    s = segments
    verts = np.concatenate([_circle(r, z, s) for z in np.linspace(z0, z1, n + 1)])
    j = np.arange(s)
    tris = []
    for k in range(n):
        a, b = k * s + j, k * s + (j + 1) % s
        tris += [np.stack([a, b, b + s], 1), np.stack([a, b + s, a + s], 1)]
    tris = np.concatenate(tris)
    centre = verts[tris].mean(axis=1)
    radial = centre * np.array([1.0, 1.0, 0.0])
    return verts, _orient(verts, tris, -radial if inward else radial)


def _orient(verts: np.ndarray, tris: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Triangles rewound so that their normals have a positive component along ``direction``
    (one vector, or one per triangle)."""
    p = verts[tris]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    flip = np.einsum("ij,ij->i", n, np.broadcast_to(direction, n.shape)) < 0
    out = tris.copy()
    out[flip] = out[flip][:, [0, 2, 1]]
    return out


def _cell(radius: float, face_z: float, length: float, face_regions: list[tuple[float, str]], rest: str,
          segments: int, offset: np.ndarray) -> Mesh:
    """A closed cylindrical cell whose face at ``face_z`` looks into the cleft, wound with normals
    into the cell (out of the extracellular space). ``face_regions``: (outer radius, name) of the
    face's discs and annuli, innermost first; the rest of the cell is region ``rest``."""
    up = 1.0 if length > 0 else -1.0             # from the face into the cell
    far = face_z + length
    f_v, f_t, f_r = _disc(_ring_radii(_breaks(radius, face_regions), segments), face_z, segments, up)
    b_v, b_t, _ = _disc(_ring_radii([radius], segments), far, segments, -up)
    s_v, s_t = _tube(radius, face_z, far, segments, inward=True)
    verts = np.concatenate([f_v, b_v, s_v])
    tris = np.concatenate([f_t, b_t + len(f_v), s_t + len(f_v) + len(b_v)])
    names = np.full(len(tris), rest, dtype=object)
    for r, name in sorted(face_regions, reverse=True):
        names[: len(f_t)][f_r <= r * (1 + 1e-9)] = name
    verts, tris = _weld(verts, tris)
    regions = {n: np.flatnonzero(names == n) for n in dict.fromkeys(names)}
    return Mesh(verts + offset, tris, regions)


def _breaks(radius: float, face_regions: list[tuple[float, str]]) -> list[float]:
    """Radii where the regions of a cell's face change, the rim last."""
    return sorted({r for r, _ in face_regions} | {radius})


def _cell_triangles(radius: float, length: float, face_regions: list[tuple[float, str]], segments: int) -> int:
    """Triangles of a :func:`_cell`: face and far discs (a fan and two per ring quad) and the side."""
    rings = sum(_ring_counts(_breaks(radius, face_regions), segments)) + sum(_ring_counts([radius], segments))
    return segments * (2 * rings - 2) + 2 * segments * _bands(radius, length, segments)


def _glial_ring(inner: float, thickness: float, z0: float, z1: float, coverage: float, segments: int,
                offset: np.ndarray) -> Mesh:
    """A closed solid ring (an annular sector when coverage < 1, its opening centred on +x),
    wound with normals into the solid."""
    full = coverage >= 1.0
    n = _sectors(coverage, segments)
    half = np.pi * (1 - coverage)
    a = half + (2 * np.pi - 2 * half) * np.arange(n + (0 if full else 1)) / n
    m = len(a)

    def ring(r: float, z: float) -> np.ndarray:
        return np.column_stack([r * np.cos(a), r * np.sin(a), np.full(m, z)])

    outer = inner + thickness
    # four rings of vertices: (inner, z0), (outer, z0), (outer, z1), (inner, z1): a quad cross-section
    verts = np.concatenate([ring(inner, z0), ring(outer, z0), ring(outer, z1), ring(inner, z1)])
    j = np.arange(m if full else m - 1)
    nxt = (j + 1) % m
    tris = []
    for c in range(4):                                       # the four faces swept around
        a0, a1 = c * m + j, c * m + nxt
        b0, b1 = ((c + 1) % 4) * m + j, ((c + 1) % 4) * m + nxt
        tris += [np.stack([a0, a1, b1], 1), np.stack([a0, b1, b0], 1)]
    if not full:                                              # the two end caps
        for e in (0, m - 1):
            q = [c * m + e for c in range(4)]
            tris += [np.array([[q[0], q[1], q[2]], [q[0], q[2], q[3]]])]
    tris = np.concatenate(tris)
    # normals into the solid: up from the bottom face, in from the outer one, down from the top one,
    # out from the inner one (radially at each triangle: right however thin the ring is beside the
    # polygon's chords), along the sweep at the caps
    swept = 8 * len(j)
    p = verts[tris[:swept]].mean(axis=1)
    radial = p * [1.0, 1.0, 0.0] / np.hypot(p[:, 0], p[:, 1])[:, None]
    r_sign, z_sign = np.repeat([[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]], 2 * len(j), axis=0).T
    direction = r_sign[:, None] * radial + z_sign[:, None] * np.array([0.0, 0.0, 1.0])
    if not full:
        ends = np.array([a[0], a[-1]])
        sweep = np.column_stack([-np.sin(ends), np.cos(ends), np.zeros(2)]) * np.array([[1.0], [-1.0]])
        direction = np.concatenate([direction, np.repeat(sweep, 2, axis=0)])
    return Mesh(verts + offset, _orient(verts, tris, direction), {"glia": np.arange(len(tris))})


def _check_height(builder: str, h: float) -> None:
    if h <= 2 * RELEASE_DEPTH:
        raise SynapseError(f"{builder}: height ({h * 1e3:g} nm) must exceed {2 * RELEASE_DEPTH * 1e3:g} nm so a "
                           f"release site fits between the membranes; give a larger height")


def _check_sizes(builder: str, p: dict) -> None:
    for key in ("psd_radius", "active_zone_radius"):
        if p[key] > p["radius"]:
            raise SynapseError(f"{builder}: {key} ({p[key] * 1e3:g} nm) must not exceed the cleft radius "
                               f"({p['radius'] * 1e3:g} nm); give a smaller {key} or a larger radius")
        if 0 < p["radius"] - p[key] < MIN_SIZE:
            raise SynapseError(f"{builder}: {key} ({p[key] * 1e3:.10g} nm) lies less than 1 nm inside the cleft "
                               f"radius ({p['radius'] * 1e3:.10g} nm), too thin a rim to mesh; give {key} equal to "
                               f"radius or at least 1 nm smaller")
    _check_height(builder, p["height"])


def _glia(builder: str, spec: Any, h: float, rim: float) -> dict:
    """Sizes (µm) and coverage of the glial sheath from the ``glia`` dict of a disc synapse of
    height ``h`` and rim radius ``rim``."""
    known = {"distance", "thickness", "height", "coverage"}
    if not isinstance(spec, dict) or set(spec) - known:
        _fail(builder, "glia", spec, f"must be a dict with keys from {sorted(known)}",
              "give e.g. glia={'distance': '50 nm', 'coverage': 0.5}, or glia=None for no sheath")
    given = {"distance": "50 nm", "thickness": "50 nm", "height": h + 0.2, **spec}
    g = {key: _size(builder, f"glia['{key}']", given[key], GLIA_SIZES[key]) for key in GLIA_SIZES}
    g["coverage"] = _coverage(builder, spec.get("coverage", 1.0), 2 * np.pi * (rim + g["distance"]))
    return g


def _coverage(builder: str, value: Any, circumference: float) -> float:
    """The covered fraction of a glial ring's ``circumference`` (µm): in (0, 1], and an arc of
    at least MIN_SIZE."""
    name = "glia['coverage']"
    if not (units.is_number(value) and 0 < value <= 1):                      # NaN fails too
        _fail(builder, name, value, "must be a number from 0 (excluded) to 1",
              "give the fraction of the circumference covered, e.g. glia={'coverage': 0.5}")
    if value * circumference < MIN_SIZE:
        _fail(builder, name, value, f"covers an arc of {value * circumference * 1e3:.3g} nm, less than 1 nm",
              "give a larger coverage, or glia=None for no sheath")
    return float(value)


def _unmeshable(builder: str, sizes: dict[str, float], exc: MeshError) -> NoReturn:
    """Raise SynapseError for the MeshError ``exc`` of sizes (µm) each in range but too far apart
    (a small part's triangles are degenerate beside the whole mesh), naming the extremes."""
    small, large = min(sizes, key=sizes.get), max(sizes, key=sizes.get)
    raise SynapseError(f"{builder}: cannot mesh sizes so far apart ({small}={sizes[small] * 1e3:g} nm, "
                       f"{large}={sizes[large]:g} µm): the small parts' triangles are too small beside the whole "
                       f"mesh; make {small} larger or {large} smaller (the mesh check says: {exc})") from None


def _disc_triangles(p: dict, g: dict | None, segments: int) -> int:
    """Triangles of the two cells and the glial ring of one disc synapse (see :func:`_discs`)."""
    R, L = p["radius"], p["cell_length"]
    cells = sum(_cell_triangles(R, L, [(p[key], "")], segments) for key in ("psd_radius", "active_zone_radius"))
    if g is None:
        return cells
    return cells + 8 * _sectors(g["coverage"], segments) + (0 if g["coverage"] >= 1 else 4)


def cleft(height: Any = "20 nm", radius: Any = "250 nm", psd_radius: Any = "150 nm",
          active_zone_radius: Any = None, cell_length: Any = "300 nm", extracellular: Any = "500 nm",
          glia: dict | None = None, segments: int = 64) -> Synapse:
    """One disc synapse in an extracellular space (see the module docstring).

    Parameters (lengths in µm or unit strings; each from 1 nm to the largest in
    :data:`DISC_SIZES`, e.g. height <= 1 µm)
    ----------
    height : cleft height h (membrane to membrane), more than 2 × RELEASE_DEPTH.
    radius : radius R of the apposed membranes: the cleft's rim.
    psd_radius, active_zone_radius : radii of the ``"psd"`` and ``"active_zone"`` discs, at most R
        (the active zone defaults to the PSD's radius, facing it).
    cell_length : length of the bouton and spine cylinders beyond the cleft.
    extracellular : gap between the cells and the ``"outer"`` boundary, radially and axially.
    glia : optional sheath, a dict with ``distance`` (from the rim to the sheath's inner face,
        default 50 nm), ``thickness`` (default 50 nm), ``height`` (axial extent centred on the
        cleft, default the cleft height plus 2 × 100 nm), sizes as in :data:`GLIA_SIZES`, and
        ``coverage`` (fraction of the circumference covered, 0 < coverage <= 1, default 1, an arc
        of at least 1 nm).
    segments : sides of the polygons that stand for circles (an int >= 8; the mesh must fit the
        triangle budget of :func:`~cleftsim.geometry.primitives.check_size`).
    """
    return _discs("synapse.cleft", 1, "1 um", height, radius, psd_radius, active_zone_radius, cell_length,
                  extracellular, glia, segments)


def cleft_array(n: int, spacing: Any, height: Any = "20 nm", radius: Any = "250 nm", psd_radius: Any = "150 nm",
                active_zone_radius: Any = None, cell_length: Any = "300 nm", extracellular: Any = "500 nm",
                glia: dict | None = None, segments: int = 64) -> Synapse:
    """``n`` disc synapses on the x axis, ``spacing`` apart centre to centre (µm, at most 100 µm),
    in one extracellular space bounded by a box: for spillover studies.

    Parameters as :func:`cleft`. With n > 1 the regions of synapse i are suffixed ``_i``
    (``"psd_0"``, ``"active_zone_1"``, ``"glia_2"``...); ``"outer"`` is shared. With n = 1 the
    boundary is a cylinder and the names carry no suffix.
    """
    return _discs("synapse.cleft_array", n, spacing, height, radius, psd_radius, active_zone_radius, cell_length,
                  extracellular, glia, segments)


def _discs(builder: str, n: Any, spacing: Any, height: Any, radius: Any, psd_radius: Any, active_zone_radius: Any,
           cell_length: Any, extracellular: Any, glia: Any, segments: Any) -> Synapse:
    """The disc synapses of :func:`cleft` and :func:`cleft_array`; errors name ``builder``."""
    n = _whole(builder, "n", n, 1, 2)
    segments = _whole(builder, "segments", segments, 8, 64)
    given = {"height": height, "radius": radius, "psd_radius": psd_radius,
             "active_zone_radius": psd_radius if active_zone_radius is None else active_zone_radius,
             "cell_length": cell_length, "extracellular": extracellular, "spacing": spacing}
    p = {key: _size(builder, key, value, DISC_SIZES[key]) for key, value in given.items()}
    p["n"] = n
    _check_sizes(builder, p)
    h, R, L = p["height"], p["radius"], p["cell_length"]
    g = _glia(builder, glia, h, R) if glia is not None else None
    reach = R if g is None else R + g["distance"] + g["thickness"]
    zreach = h / 2 + L if g is None else max(h / 2 + L, g["height"] / 2)
    if n > 1 and p["spacing"] <= 2 * reach:
        raise SynapseError(f"{builder}: spacing ({p['spacing'] * 1e3:g} nm) must exceed twice the synapse's reach "
                           f"({2 * reach * 1e3:g} nm, glia included) so the synapses do not overlap; space them "
                           f"further apart")
    outer = 2 * segments * (_outer_rings(segments) + 1) if n == 1 else 12 * _OUTER_DIVISIONS**2
    _budget(n * _disc_triangles(p, g, segments) + outer,
            f"{builder}({f'n={n}, ' if n > 1 else ''}segments={segments})",
            "use fewer segments (the triangles grow as segments², and as segments × cell_length / radius along "
            "the cells)" + (" or fewer synapses" if n > 1 else ""))
    try:
        mesh, clefts, sites = _disc_mesh(p, g, segments, reach, zreach)
    except MeshError as exc:
        used = {key: x for key, x in p.items() if key != "n" and (key != "spacing" or n > 1)}
        _unmeshable(builder, {**used, **({f"glia['{key}']": g[key] for key in GLIA_SIZES} if g else {})}, exc)
    if g is not None:
        p["glia"] = g
    return Synapse(mesh, tuple(clefts), np.array(sites), p)


def _disc_mesh(p: dict, g: dict | None, segments: int, reach: float, zreach: float) -> tuple[Mesh, list, list]:
    """Mesh, cleft volumes and release sites of :func:`_discs` (``reach``, ``zreach``: extent of
    one synapse from its centre radially and along z, µm)."""
    n, h, R, L, gap = p["n"], p["height"], p["radius"], p["cell_length"], p["extracellular"]
    xs = (np.arange(n) - (n - 1) / 2) * p["spacing"]
    parts, clefts, sites = [], [], []
    for i, x in enumerate(xs):
        tag = "" if n == 1 else f"_{i}"
        at = np.array([x, 0.0, 0.0])
        parts.append(_cell(R, -h / 2, -L, [(p["psd_radius"], "psd" + tag)], "post" + tag, segments, at))
        parts.append(_cell(R, h / 2, L, [(p["active_zone_radius"], "active_zone" + tag)], "pre" + tag, segments, at))
        if g is not None:
            parts.append(_rename(_glial_ring(R + g["distance"], g["thickness"], -g["height"] / 2, g["height"] / 2,
                                             g["coverage"], segments, at), "glia" + tag))
        clefts.append(Cylinder(center=tuple(at), radius=R, height=h))
        sites.append(at + [0.0, 0.0, h / 2 - RELEASE_DEPTH])
    zmax = zreach + gap
    if n == 1:
        outer = cylinder(radius=reach + gap, height=2 * zmax, segments=segments, rings=_outer_rings(segments))
    else:
        outer = box(size=(xs[-1] - xs[0] + 2 * (reach + gap), 2 * (reach + gap), 2 * zmax),
                    divisions=_OUTER_DIVISIONS)
    parts.append(_rename(outer, "outer"))
    mesh = combine(*parts)
    mesh.check(closed=True)
    return mesh, clefts, sites


def _rename(mesh: Mesh, name: str) -> Mesh:
    return Mesh(mesh.vertices, mesh.triangles, {name: np.arange(mesh.n_triangles)})


def _extrusion(segments: list[tuple[tuple[float, float], tuple[float, float], str, tuple[float, float]]],
               ends: list[tuple[float, float, float, float]], y0: float, y1: float) -> Mesh:
    """Closed solid made by extruding an x–z profile from y0 to y1, normals into the solid.

    ``segments``: the profile's boundary, each ((x, z), (x, z), region, (dx, dz) into the solid),
    swept into a rectangle along y. ``ends``: rectangles (x0, x1, z0, z1) tiling the profile
    (corners shared, no T-junctions), capping both ends as region ``"post_other"``.
    """
    quads, into, names = [], [], []
    for (xa, za), (xb, zb), name, (dx, dz) in segments:
        quads.append([(xa, y0, za), (xb, y0, zb), (xb, y1, zb), (xa, y1, za)])
        into.append((dx, 0.0, dz))
        names.append(name)
    for x0, x1, z0, z1 in ends:
        for y, dy in ((y0, 1.0), (y1, -1.0)):
            quads.append([(x0, y, z0), (x1, y, z0), (x1, y, z1), (x0, y, z1)])
            into.append((0.0, dy, 0.0))
            names.append("post_other")
    verts = np.array(quads, dtype=np.float64).reshape(-1, 3)
    base = 4 * np.arange(len(quads))[:, None]
    tris = np.stack([base + [0, 1, 2], base + [0, 2, 3]], axis=1).reshape(-1, 3)
    tris = _orient(verts, tris, np.repeat(np.array(into), 2, axis=0))
    verts, tris = _weld(verts, tris)
    labels = np.repeat(np.array(names, dtype=object), 2)
    return Mesh(verts, tris, {n: np.flatnonzero(labels == n) for n in dict.fromkeys(names)})


def _folded_muscle(p: dict, n_folds: int) -> Mesh:
    """The muscle fibre below the cleft: a block whose top (z = -h/2) is cut by ``n_folds`` slots
    along y, regions ``"post"`` (crests), ``"folds"`` (slot walls and bottoms), ``"post_other"``."""
    h, L, W = p["height"], p["length"], p["width"]
    depth, fw, T = p["fold_depth"], p["fold_width"], p["cell_thickness"]
    centres = (np.arange(n_folds) - (n_folds - 1) / 2) * p["fold_spacing"]
    xs = np.concatenate([[-L / 2], np.column_stack([centres - fw / 2, centres + fw / 2]).ravel(), [L / 2]])
    top, floor, bottom = -h / 2, -h / 2 - depth, -h / 2 - depth - T
    segments, ends = [], []
    for i, (xa, xb) in enumerate(zip(xs[:-1], xs[1:])):      # columns: crests (even) and slots (odd)
        slot = i % 2 == 1
        z = floor if slot else top
        segments.append(((xa, z), (xb, z), "folds" if slot else "post", (0.0, -1.0)))
        segments.append(((xa, bottom), (xb, bottom), "post_other", (0.0, 1.0)))
        ends.append((xa, xb, bottom, floor))
        if slot:
            segments.append(((xa, floor), (xa, top), "folds", (-1.0, 0.0)))
            segments.append(((xb, floor), (xb, top), "folds", (1.0, 0.0)))
        else:
            ends.append((xa, xb, floor, top))
    for x, dx in ((xs[0], 1.0), (xs[-1], -1.0)):
        segments.append(((x, bottom), (x, floor), "post_other", (dx, 0.0)))
        segments.append(((x, floor), (x, top), "post_other", (dx, 0.0)))
    return _extrusion(segments, ends, -W / 2, W / 2)


def _muscle_triangles(n_folds: int) -> int:
    """Triangles of :func:`_folded_muscle`: 12 quads per fold and 10 more, two triangles each."""
    return 2 * (12 * n_folds + 10)


def _check_nmj(builder: str, p: dict) -> None:
    nm = {k: f"{v * 1e3:g} nm" for k, v in p.items()}
    if p["fold_width"] >= p["fold_spacing"]:
        raise SynapseError(f"{builder}: fold_width ({nm['fold_width']}) must be smaller than fold_spacing "
                           f"({nm['fold_spacing']}) so that crests remain between the folds; narrow the folds or "
                           f"space them further apart")
    if p["fold_spacing"] > p["length"]:
        raise SynapseError(f"{builder}: fold_spacing ({nm['fold_spacing']}) must not exceed length ({nm['length']}) "
                           f"so that at least one fold fits; lengthen the junction or space the folds closer")
    _check_height(builder, p["height"])


def neuromuscular_junction(height: Any = "50 nm", length: Any = "2 um", width: Any = "1 um",
                           fold_depth: Any = "1 um", fold_width: Any = "50 nm", fold_spacing: Any = "0.5 um",
                           cell_thickness: Any = "200 nm", extracellular: Any = "300 nm") -> Synapse:
    """A patch of neuromuscular junction: a slab-shaped primary cleft between a nerve terminal
    and a muscle fibre whose surface is cut by junctional folds.

    The terminal is a closed box above the cleft (underside at z = +h/2); the muscle is a closed
    block below it (crests at z = -h/2), both ``length`` × ``width`` in x and y and centred on the
    origin. The folds are slots ``fold_width`` wide and ``fold_depth`` deep, ``fold_spacing``
    apart centre to centre along x (as many as fit in ``length``, centred), each running across
    the whole width in y, so they open into the primary cleft above and into the extracellular
    space at both y ends. The ``"outer"`` box bounds the space ``extracellular`` beyond the cells.

    Regions: ``"pre"`` (the terminal's underside, facing the cleft), ``"pre_other"`` (the rest of
    the terminal), ``"post"`` (the crests between the folds, facing the cleft: where the AChRs
    are densest), ``"folds"`` (walls and bottoms of the folds), ``"post_other"`` (the rest of the
    muscle block), ``"outer"``. ``clefts``: one :class:`~cleftsim.geometry.shapes.Box`, the primary
    cleft (|x| <= length/2, |y| <= width/2, |z| <= h/2). ``release_sites``: one per fold, at y = 0
    RELEASE_DEPTH below the terminal's underside, above the centre of the fold's opening (active
    zones face the fold openings). ``parameters`` also holds ``n_folds``.

    Default dimensions (mammalian endplate; Stiles et al. 1996, PNAS 93:5747; Stiles & Bartol 2001,
    in *Computational Neuroscience: Realistic Modeling*, ed. De Schutter): primary cleft ~50 nm;
    folds ~0.5-1 µm deep [?], openings ~50 nm wide [?] (50-100 nm reported), spaced ~0.5 µm [?]
    (0.5-1 µm reported). The terminal and muscle blocks end ``cell_thickness`` beyond the
    cleft and the fold bottoms: a patch of a junction, not a whole one.

    Parameters (lengths in µm or unit strings; each from 1 nm to the largest in
    :data:`NMJ_SIZES`, e.g. height <= 1 µm)
    ----------
    height : primary cleft height h (membrane to membrane), more than 2 × RELEASE_DEPTH.
    length, width : x and y extent of the apposition (of the terminal and muscle blocks).
    fold_depth, fold_width, fold_spacing : the folds' depth below the crests, their width in x,
        and their centre-to-centre spacing in x (fold_width < fold_spacing <= length).
    cell_thickness : thickness of the terminal above the cleft, and of the muscle below the folds.
    extracellular : gap between the cells and the ``"outer"`` boundary on every side.
    """
    given = {"height": height, "length": length, "width": width, "fold_depth": fold_depth,
             "fold_width": fold_width, "fold_spacing": fold_spacing, "cell_thickness": cell_thickness,
             "extracellular": extracellular}
    builder = "synapse.neuromuscular_junction"
    p = {key: _size(builder, key, value, NMJ_SIZES[key]) for key, value in given.items()}
    _check_nmj(builder, p)
    h, L, W, T, gap = p["height"], p["length"], p["width"], p["cell_thickness"], p["extracellular"]
    n_folds = int(np.floor(L / p["fold_spacing"] * (1 + 1e-9)))
    _budget(_muscle_triangles(n_folds) + 12 + 12 * _OUTER_DIVISIONS**2,          # muscle, terminal, outer box
            f"{builder}(length={length!r}, fold_spacing={fold_spacing!r}) with {n_folds} folds",
            "use fewer folds: a shorter length or a larger fold_spacing")
    muscle = _folded_muscle(p, n_folds)
    terminal = box(size=(L, W, T), center=(0.0, 0.0, h / 2 + T / 2)).flipped()   # normals into the cell
    faces = terminal.region_names
    terminal = Mesh(terminal.vertices, terminal.triangles,
                    {"pre": terminal.region("bottom"),
                     "pre_other": np.concatenate([terminal.region(f) for f in faces if f != "bottom"])})
    zlo, zhi = -h / 2 - p["fold_depth"] - T - gap, h / 2 + T + gap
    outer = box(size=(L + 2 * gap, W + 2 * gap, zhi - zlo), center=(0.0, 0.0, (zlo + zhi) / 2),
                divisions=_OUTER_DIVISIONS)
    mesh = combine(terminal, muscle, _rename(outer, "outer"))
    mesh.check(closed=True)
    centres = (np.arange(n_folds) - (n_folds - 1) / 2) * p["fold_spacing"]
    sites = np.column_stack([centres, np.zeros(n_folds), np.full(n_folds, h / 2 - RELEASE_DEPTH)])
    p["n_folds"] = n_folds
    return Synapse(mesh, (Box((-L / 2, -W / 2, -h / 2), (L / 2, W / 2, h / 2)),), sites, p)


def from_mesh(mesh: Mesh, require: str | Sequence[str] = (), release_sites: Any = None,
              cleft: Cylinder | Box | Sequence[Cylinder | Box] | None = None) -> Synapse:
    """A :class:`Synapse` from a mesh of the extracellular space made elsewhere (e.g. a
    reconstruction read with :func:`cleftsim.geometry.load`), used like a built one.

    ``mesh`` must be one closed mesh whose interior is the extracellular space, normals out of
    the space (into the cells, out through the outer boundary): its ``check(closed=True)``
    must pass. ``require``: region names the model will use (``"psd"``, ``"active_zone"``...; one
    name or several), each must exist. ``release_sites``: (n, 3) µm, or one point, each inside the
    space; none by default. ``cleft``: the cleft volume(s) for counts, a
    :class:`~cleftsim.geometry.shapes.Box` or :class:`~cleftsim.geometry.shapes.Cylinder` (or a
    sequence of them), each reaching into the space.
    """
    builder = "synapse.from_mesh"
    if not isinstance(mesh, Mesh):
        raise SynapseError(f"{builder}: needs a cleftsim Mesh (e.g. from geometry.load), got {type(mesh).__name__}")
    try:
        mesh.check(closed=True)
    except MeshError as exc:
        raise MeshError(f"{builder}: a synapse's mesh must be one closed surface around the extracellular space: "
                        f"{exc}") from None
    missing = [r for r in ([require] if isinstance(require, str) else require) if r not in mesh.region_names]
    if missing:
        raise SynapseError(f"{builder}: the mesh has no region {', '.join(map(repr, missing))}; its regions are "
                           f"{', '.join(map(repr, mesh.region_names))} (rename with load(..., groups=...))")
    try:
        sites = np.zeros((0, 3)) if release_sites is None else np.array(release_sites, dtype=np.float64)
    except (TypeError, ValueError):
        sites = np.zeros(0)                              # not numbers: refused below
    if sites.ndim == 1:
        sites = sites.reshape(1, -1)
    if sites.ndim != 2 or sites.shape[1] != 3 or not np.isfinite(sites).all():
        raise SynapseError(f"{builder}: release_sites must be finite (n, 3) points in µm, got {release_sites!r}")
    clefts = () if cleft is None else tuple(cleft) if np.iterable(cleft) else (cleft,)
    if not all(isinstance(c, SHAPES) for c in clefts):
        raise SynapseError(f"{builder}: cleft must be a geometry Box or Cylinder, or a sequence of them")
    _check_inside(builder, mesh, sites, clefts)
    return Synapse(mesh, clefts, sites, {})


def _xyz(point: np.ndarray) -> str:
    """A point as '(x, y, z)'."""
    return "(" + ", ".join(f"{x:g}" for x in point) + ")"


def _check_inside(builder: str, mesh: Mesh, sites: np.ndarray, clefts: tuple[Cylinder | Box, ...]) -> None:
    """SynapseError for the first release site (µm) that is not inside the closed ``mesh``, or a
    cleft none of whose 5 × 5 × 5 sample points (spread where its bounds and the mesh's overlap) is."""
    if not len(sites) and not clefts:
        return
    lo, hi = mesh.bounds
    rules = np.zeros((len(mesh.region_names), 1), dtype=np.int8)
    # a coarse grid: the default one, fine for simulation, takes seconds to build for 10⁵ triangles
    scene = world.build_scene([mesh], [0], rules, np.zeros(1), cell=float(np.linalg.norm(hi - lo)) / 20)
    space = f"the mesh's space (within {_xyz(lo)} to {_xyz(hi)} µm)"
    coordinates = "in the mesh's coordinates: µm, or load(..., unit=) to convert a file's unit"
    out = np.flatnonzero(~world.contains(scene, 0, mesh, sites))
    if len(out):
        more = f" (and {len(out) - 1} more of the {len(sites)} sites)" if len(out) > 1 else ""
        raise SynapseError(f"{builder}: release site {out[0]} at {_xyz(sites[out[0]])} µm is not inside {space}"
                           f"{more}; give release sites inside the extracellular space ({coordinates})")
    f = (np.arange(5) + 0.5) / 5
    grid = np.stack(np.meshgrid(f, f, f, indexing="ij"), axis=-1).reshape(-1, 3)
    for i, shape in enumerate(clefts):
        c_lo, c_hi = np.maximum(shape.bounds[0], lo), np.minimum(shape.bounds[1], hi)
        points = c_lo + grid * (c_hi - c_lo)
        points = points[shape.contains(points)] if np.all(c_hi > c_lo) else points[:0]
        if not world.contains(scene, 0, mesh, points).any():
            raise SynapseError(f"{builder}: cleft {i}, {shape}, lies outside {space}; give a cleft volume that "
                               f"reaches into the extracellular space ({coordinates})")


# -- builders in their own modules ------------------------------------------------------------------
#: Public names defined in modules that import this one (so this one cannot import them at its top):
#: name → module, loaded on first use (``cs.synapse.neuropil``, ``from cleftsim.synapse import neuropil``).
ELSEWHERE = {"neuropil": "cleftsim.biology.neuropil", "Neuropil": "cleftsim.biology.neuropil",
             "NEUROPIL_SIZES": "cleftsim.biology.neuropil",
             "tortuosity": "cleftsim.biology.tortuosity", "Tortuosity": "cleftsim.biology.tortuosity"}

__all__ = ["DISC_SIZES", "GLIA_SIZES", "MIN_SIZE", "NMJ_SIZES", "RELEASE_DEPTH", "SHAPES", "Synapse", "cleft",
           "cleft_array", "from_mesh", "neuromuscular_junction"] + list(ELSEWHERE)


def __getattr__(name: str) -> Any:
    if name in ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(ELSEWHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(ELSEWHERE))
