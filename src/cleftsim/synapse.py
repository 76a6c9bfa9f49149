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

Circles are regular polygons of ``segments`` sides; ``Synapse.psd_area`` etc. are the areas of
the mesh regions as built. Geometry after Savtchenko & Rusakov 2007 (PNAS 104:1823) and
physics.md §2 (defaults: h = 20 nm, PSD radius 150 nm).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import units
from .geometry.io import _weld
from .geometry.mesh import Mesh, combine
from .geometry.primitives import cylinder
from .geometry.shapes import Cylinder

#: Distance (µm) of a release site from the presynaptic membrane, inside the cleft.
RELEASE_DEPTH = 0.002


class SynapseError(ValueError):
    """Synapse dimensions that cannot be built; the message names the parameter and the fix."""


@dataclass(frozen=True, eq=False)
class Synapse:
    """A built synapse geometry.

    ``mesh``: the closed extracellular space with named regions. ``clefts``: the volume of each
    cleft (a :class:`~cleftsim.geometry.shapes.Cylinder`, for counts and concentrations).
    ``release_sites``: (n, 3) µm, the centre of each active zone, RELEASE_DEPTH below the
    presynaptic membrane. ``parameters``: the dimensions it was built with (µm).
    """

    mesh: Mesh
    clefts: tuple[Cylinder, ...]
    release_sites: np.ndarray
    parameters: dict = field(default_factory=dict)

    @property
    def cleft(self) -> Cylinder:
        """The (first) cleft's volume."""
        return self.clefts[0]

    def area(self, region: str) -> float:
        """Area (µm²) of a region of the mesh."""
        return float(self.mesh.areas[self.mesh.region(region)].sum())


def _length(value: Any, name: str, positive: bool = True) -> float:
    x = units.length(value, name)
    if not np.isfinite(x) or (x <= 0 if positive else x < 0):
        raise SynapseError(f"{name} must be a {'positive' if positive else 'non-negative'} length, got {value!r}")
    return x


def _ring_radii(breaks: list[float], segments: int) -> np.ndarray:
    """Radii of concentric rings through every break, spaced about 1.5 arcs of the polygon apart."""
    out, lo = [], 0.0
    for hi in breaks:
        k = max(1, int(np.ceil((hi - lo) / (1.5 * 2 * np.pi * hi / segments))))
        out += list(lo + (hi - lo) * np.arange(1, k + 1) / k)
        lo = hi
    return np.array(out)


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
    n = max(1, int(np.ceil(abs(z1 - z0) / (2 * np.pi * r / segments))))
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
    breaks = sorted({r for r, _ in face_regions} | {radius})
    f_v, f_t, f_r = _disc(_ring_radii(breaks, segments), face_z, segments, up)
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


def _glial_ring(inner: float, thickness: float, z0: float, z1: float, coverage: float, segments: int,
                offset: np.ndarray) -> Mesh:
    """A closed solid ring (an annular sector when coverage < 1, its opening centred on +x),
    wound with normals into the solid."""
    full = coverage >= 1.0
    n = max(3, int(np.ceil(segments * coverage)))
    half = np.pi * (1 - coverage)
    a = half + (2 * np.pi - 2 * half) * np.arange(n + (0 if full else 1)) / n
    m = len(a)
    ring = lambda r, z: np.column_stack([r * np.cos(a), r * np.sin(a), np.full(m, z)])  # noqa: E731
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
    # normals into the solid: toward the centre of the cross-section (or along the sweep at the caps)
    p = verts[tris].mean(axis=1)
    ang = np.arctan2(p[:, 1], p[:, 0])
    mid = np.column_stack([(inner + thickness / 2) * np.cos(ang), (inner + thickness / 2) * np.sin(ang),
                           np.full(len(p), (z0 + z1) / 2)])
    direction = mid - p
    if not full:
        ncap = 4
        ends = np.array([a[0], a[-1]])
        sweep = np.column_stack([-np.sin(ends), np.cos(ends), np.zeros(2)]) * np.array([[1.0], [-1.0]])
        direction[-ncap:] = np.repeat(sweep, 2, axis=0)
    return Mesh(verts + offset, _orient(verts, tris, direction), {"glia": np.arange(len(tris))})


def _check_sizes(p: dict) -> None:
    if p["psd_radius"] > p["radius"]:
        raise SynapseError(f"psd_radius ({p['psd_radius'] * 1e3:g} nm) must not exceed the cleft radius "
                           f"({p['radius'] * 1e3:g} nm)")
    if p["active_zone_radius"] > p["radius"]:
        raise SynapseError(f"active_zone_radius ({p['active_zone_radius'] * 1e3:g} nm) must not exceed the cleft "
                           f"radius ({p['radius'] * 1e3:g} nm)")
    if p["height"] <= 2 * RELEASE_DEPTH:
        raise SynapseError(f"height ({p['height'] * 1e3:g} nm) must exceed {2 * RELEASE_DEPTH * 1e3:g} nm so a "
                           f"release site fits between the membranes")


def cleft(height: Any = "20 nm", radius: Any = "250 nm", psd_radius: Any = "150 nm",
          active_zone_radius: Any = None, cell_length: Any = "300 nm", extracellular: Any = "500 nm",
          glia: dict | None = None, segments: int = 64) -> Synapse:
    """One disc synapse in an extracellular space (see the module docstring).

    Parameters (lengths in µm or unit strings)
    ----------
    height : cleft height h (membrane to membrane).
    radius : radius R of the apposed membranes: the cleft's rim.
    psd_radius, active_zone_radius : radii of the ``"psd"`` and ``"active_zone"`` discs
        (the active zone defaults to the PSD's radius, facing it).
    cell_length : length of the bouton and spine cylinders beyond the cleft.
    extracellular : gap between the cells and the ``"outer"`` boundary, radially and axially.
    glia : optional sheath, a dict with ``distance`` (from the rim to the sheath's inner face,
        default 50 nm), ``thickness`` (default 50 nm), ``height`` (axial extent centred on the
        cleft, default the cleft height plus 2 × 100 nm) and ``coverage`` (fraction of the
        circumference covered, 0 < coverage <= 1, default 1).
    segments : sides of the polygons that stand for circles.
    """
    return cleft_array(1, "1 um", height=height, radius=radius, psd_radius=psd_radius,
                       active_zone_radius=active_zone_radius, cell_length=cell_length,
                       extracellular=extracellular, glia=glia, segments=segments)


def cleft_array(n: int, spacing: Any, height: Any = "20 nm", radius: Any = "250 nm", psd_radius: Any = "150 nm",
                active_zone_radius: Any = None, cell_length: Any = "300 nm", extracellular: Any = "500 nm",
                glia: dict | None = None, segments: int = 64) -> Synapse:
    """``n`` disc synapses on the x axis, ``spacing`` apart centre to centre (µm), in one
    extracellular space bounded by a box: for spillover studies.

    Parameters as :func:`cleft`. With n > 1 the regions of synapse i are suffixed ``_i``
    (``"psd_0"``, ``"active_zone_1"``, ``"glia_2"``...); ``"outer"`` is shared. With n = 1 the
    boundary is a cylinder and the names carry no suffix.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise SynapseError(f"n (number of synapses) must be a positive integer, got {n!r}")
    p = {"height": _length(height, "height"), "radius": _length(radius, "radius"),
         "psd_radius": _length(psd_radius, "psd_radius"),
         "active_zone_radius": _length(psd_radius if active_zone_radius is None else active_zone_radius,
                                       "active_zone_radius"),
         "cell_length": _length(cell_length, "cell_length"), "extracellular": _length(extracellular, "extracellular"),
         "spacing": _length(spacing, "spacing"), "n": int(n)}
    if not isinstance(segments, (int, np.integer)) or segments < 8:
        raise SynapseError(f"segments must be an integer >= 8, got {segments!r}")
    _check_sizes(p)
    h, R, L, gap = p["height"], p["radius"], p["cell_length"], p["extracellular"]
    g = _glia(glia, h) if glia is not None else None
    reach = R if g is None else R + g["distance"] + g["thickness"]
    zreach = h / 2 + L if g is None else max(h / 2 + L, g["height"] / 2)
    if n > 1 and p["spacing"] <= 2 * reach:
        raise SynapseError(f"spacing ({p['spacing'] * 1e3:g} nm) must exceed twice the synapse's reach "
                           f"({2 * reach * 1e3:g} nm, glia included) so the synapses do not overlap")
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
        outer = cylinder(radius=reach + gap, height=2 * zmax, segments=segments, rings=max(1, segments // 8))
    else:
        from .geometry.primitives import box

        outer = box(size=(xs[-1] - xs[0] + 2 * (reach + gap), 2 * (reach + gap), 2 * zmax), divisions=4)
    parts.append(_rename(outer, "outer"))
    mesh = combine(*parts)
    mesh.check(closed=True)
    if g is not None:
        p["glia"] = g
    return Synapse(mesh, tuple(clefts), np.array(sites), p)


def _glia(spec: dict, h: float) -> dict:
    known = {"distance", "thickness", "height", "coverage"}
    if not isinstance(spec, dict) or set(spec) - known:
        raise SynapseError(f"glia must be a dict with keys from {sorted(known)}, got {spec!r}")
    g = {"distance": _length(spec.get("distance", "50 nm"), "glia distance"),
         "thickness": _length(spec.get("thickness", "50 nm"), "glia thickness"),
         "height": _length(spec.get("height", h + 0.2), "glia height")}
    cov = float(spec.get("coverage", 1.0))
    if not 0.0 < cov <= 1.0:
        raise SynapseError(f"glia coverage must be in (0, 1], got {spec.get('coverage')!r}")
    g["coverage"] = cov
    return g


def _rename(mesh: Mesh, name: str) -> Mesh:
    return Mesh(mesh.vertices, mesh.triangles, {name: np.arange(mesh.n_triangles)})
