"""Closed, outward-oriented primitive meshes: box, icosphere, cylinder (lengths in µm).

Each primitive predicts its triangle count before building and refuses (:func:`check_size`)
meshes that would not fit in this machine's memory once compiled into a simulation.
"""
from __future__ import annotations

import itertools
import operator
import os
from decimal import Decimal
from typing import Any

import numpy as np

from .. import units
from .mesh import Mesh, MeshError

#: Peak memory (bytes) per triangle of building a mesh and its compiled scene (``model.simulation()``),
#: measured for closed icospheres, boxes and cylinders of 1.3·10⁵-1.3·10⁶ triangles: 0.7-0.9 kB,
#: 0.9-1.2 kB with an absorbing surface, 1.4 kB with diffusing surface molecules on it too.
BYTES_PER_TRIANGLE = 2_000
#: Physical memory assumed where the system does not report it (bytes).
ASSUMED_MEMORY = 16 * 10**9


def physical_memory() -> int:
    """This machine's physical memory in bytes (:data:`ASSUMED_MEMORY` where unknown)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return ASSUMED_MEMORY


def _number(n: int) -> str:
    """``n`` with thousands separators, or to three digits beyond 10¹⁵ (Decimal: any size)."""
    return f"{n:,}" if n < 10**15 else f"{Decimal(n):.3g}"


def _bytes(n: int) -> str:
    """``n`` bytes to three digits in decimal units, e.g. '4.03 TB'."""
    for power, unit in ((15, "PB"), (12, "TB"), (9, "GB"), (6, "MB"), (3, "kB")):
        if n >= 10**power:
            return f"{Decimal(n) / 10**power:.3g} {unit}"
    return f"{n} B"


def check_size(n_triangles: int, what: str, fix: str, error: type[Exception] = MeshError) -> None:
    """Raise ``error`` if ``n_triangles`` would take more memory to build and simulate
    (:data:`BYTES_PER_TRIANGLE` each) than :func:`physical_memory`.

    ``what`` names the mesh in the message (e.g. "icosphere(subdivisions=12)"); ``fix`` says
    what to change.
    """
    need, have = n_triangles * BYTES_PER_TRIANGLE, physical_memory()
    if need > have:
        raise error(
            f"{what} would have {_number(n_triangles)} triangles, needing about {_bytes(need)} of memory to "
            f"build and simulate ({_bytes(BYTES_PER_TRIANGLE)} per triangle), more than this machine's "
            f"{_bytes(have)} (room for about {have // BYTES_PER_TRIANGLE:,} triangles); {fix}"
        )


def _positive(value: Any, name: str) -> float:
    """A length > 0 in µm."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a length in µm or a string such as '200 nm', got {value!r}")
    x = units.length(value, name)
    if not x > 0:
        raise ValueError(f"{name} must be a positive length, got {value!r}; give e.g. {name}='200 nm'")
    return x


def _count(value: Any, name: str, minimum: int) -> int:
    """An integer >= ``minimum`` (not a bool, float or string)."""
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{name} must be an integer such as {minimum + 1}, got {value!r}")
    n = operator.index(value)
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return n


def _finish(vertices: np.ndarray, triangles: np.ndarray, regions: dict, shift: np.ndarray) -> Mesh:
    mesh = Mesh(vertices + shift, triangles, regions)
    mesh.check(closed=True)
    return mesh


# -- box --------------------------------------------------------------------------------------
# Each face: (axis, side, u, v) with u × v pointing outward, so quads wound u→v face outward.
_BOX_FACES = {
    "left": (0, 0, 2, 1),
    "right": (0, 1, 1, 2),
    "front": (1, 0, 0, 2),
    "back": (1, 1, 2, 0),
    "bottom": (2, 0, 1, 0),
    "top": (2, 1, 0, 1),
}


def _size(size: Any) -> np.ndarray:
    """Box edge lengths (µm) from one length (a cube) or three."""
    if isinstance(size, str) or not np.iterable(size):
        return np.full(3, _positive(size, "size"))
    items = list(size)
    if len(items) != 3:
        raise units.UnitError(f"size: expected one length or three coordinates (x, y, z), got {size!r}")
    return np.array([_positive(s, f"size[{i}]") for i, s in enumerate(items)])


def box(size: Any, center: Any = (0.0, 0.0, 0.0), divisions: int = 1) -> Mesh:
    """Axis-aligned box of edge lengths ``size`` (µm; a scalar makes a cube).

    Regions "left"/"right" (x min/max), "front"/"back" (y min/max), "bottom"/"top" (z min/max).
    Each face is an n×n grid of quads (n = ``divisions``), two triangles each (12·n² in all);
    faces share the vertices along their common edges, so the mesh is closed.
    """
    dims = _size(size)
    shift = units.point(center, "center")
    n = _count(divisions, "divisions", 1)
    check_size(12 * n * n, f"box(divisions={n})", "use fewer divisions (the triangles grow as 12·divisions²)")

    # Vertices are points (i, j, k) of the (n+1)³ lattice, numbered in C order; only the surface
    # ones are used, and only they are built.
    lattice = (n + 1,) * 3
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    i, j = i.ravel(), j.ravel()
    quads, regions = [], {}
    for name, (axis, side, u, v) in _BOX_FACES.items():
        corners = []
        for du, dv in ((0, 0), (1, 0), (1, 1), (0, 1)):
            idx = [None, None, None]
            idx[axis], idx[u], idx[v] = np.full_like(i, side * n), i + du, j + dv
            corners.append(np.ravel_multi_index(idx, lattice))
        a, b, c, d = corners
        tris = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
        regions[name] = np.arange(len(tris)) + 2 * n * n * len(quads)
        quads.append(tris)
    used, triangles = np.unique(np.concatenate(quads), return_inverse=True)
    points = np.unravel_index(used, lattice)
    vertices = np.column_stack([np.linspace(-d / 2, d / 2, n + 1)[p] for d, p in zip(dims, points)])
    return _finish(vertices, triangles.reshape(-1, 3), regions, shift)


# -- icosphere --------------------------------------------------------------------------------
def _icosahedron() -> tuple[np.ndarray, np.ndarray]:
    """Unit icosahedron; faces are the vertex triples at mutual distance 2 (edge length)."""
    phi = (1 + 5**0.5) / 2
    base = [(0, a, b * phi) for a in (-1, 1) for b in (-1, 1)]
    verts = np.array([np.roll(p, k) for k in range(3) for p in base], dtype=float)
    adjacent = np.isclose(np.linalg.norm(verts[:, None] - verts[None], axis=-1), 2.0)
    faces = np.array(
        [(a, b, c) for a, b, c in itertools.combinations(range(12), 3)
         if adjacent[a, b] and adjacent[b, c] and adjacent[a, c]]
    )  # fmt: skip
    p0, p1, p2 = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    inward = np.einsum("ij,ij->i", np.cross(p1 - p0, p2 - p0), p0) < 0
    faces[inward] = faces[inward][:, [0, 2, 1]]
    return verts / np.linalg.norm(verts, axis=1, keepdims=True), faces


def _subdivide(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split every triangle into four at its edge midpoints, projected onto the unit sphere."""
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1).astype(np.int64)
    keys, inverse = np.unique(edges[:, 0] * len(verts) + edges[:, 1], return_inverse=True)  # (low, high) order
    unique = np.column_stack([keys // len(verts), keys % len(verts)])
    mid = verts[unique[:, 0]] + verts[unique[:, 1]]
    mid /= np.linalg.norm(mid, axis=1, keepdims=True)
    ab, bc, ca = (len(verts) + inverse.reshape(-1, 3)).T
    a, b, c = faces.T
    corners = ((a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca))
    new = np.concatenate([np.stack(t, axis=1) for t in corners])
    return np.concatenate([verts, mid]), new


def icosphere(radius: Any, subdivisions: int = 2, center: Any = (0.0, 0.0, 0.0)) -> Mesh:
    """Sphere of ``radius`` (µm) from an icosahedron whose triangles are split in four
    ``subdivisions`` times (20·4ⁿ triangles), vertices on the sphere. Region "surface"."""
    r = _positive(radius, "radius")
    shift = units.point(center, "center")
    n = _count(subdivisions, "subdivisions", 0)
    check_size(20 * 4**n, f"icosphere(subdivisions={n})",
               "use fewer subdivisions (each one multiplies the triangles by 4)")
    verts, faces = _icosahedron()
    for _ in range(n):
        verts, faces = _subdivide(verts, faces)
    return _finish(verts * r, faces, {"surface": np.arange(len(faces))}, shift)


# -- cylinder ---------------------------------------------------------------------------------
def _zipper(inner: np.ndarray, a_inner: np.ndarray, outer: np.ndarray, a_outer: np.ndarray):
    """Triangles (counter-clockwise seen from +z) joining two concentric rings of vertex ids
    with increasing angles, advancing along whichever ring has the next smaller angle."""
    nxt = np.concatenate([np.r_[a[1:], a[0] + 2 * np.pi] for a in (a_inner, a_outer)])
    step_inner = (np.arange(len(nxt)) < len(inner))[np.argsort(nxt, kind="stable")]
    i = np.cumsum(step_inner) - step_inner
    j = np.cumsum(~step_inner) - ~step_inner
    third = np.where(step_inner, inner[(i + 1) % len(inner)], outer[(j + 1) % len(outer)])
    return np.stack([inner[i % len(inner)], outer[j % len(outer)], third], axis=1)


def _disk(segments: int, rings: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit disk triangulated by concentric rings; returns (xy, triangles), counter-clockwise.

    Ring k (1..rings) has radius k/rings and about segments·k/rings points; the outer ring comes
    first in ``xy`` (``segments`` points at angles 2πi/segments), then the inner rings, then the
    centre. Inner rings are turned by half a step so that neighbouring rings interleave.
    """
    counts = [max(3, round(segments * k / rings)) for k in range(1, rings)]
    angles = [2 * np.pi * (np.arange(n) + 0.5) / n for n in counts] + [
        2 * np.pi * np.arange(segments) / segments
    ]
    first = np.cumsum([segments] + counts)  # first vertex id of each inner ring, then the centre
    ids = [np.arange(f - n, f) for f, n in zip(first[1:], counts)] + [np.arange(segments)]
    centre = first[-1]
    radii = np.arange(1, rings + 1) / rings
    xy = [rho * np.stack([np.cos(a), np.sin(a)], axis=1) for rho, a in zip(radii, angles)]
    points = np.concatenate([xy[-1], *xy[:-1], [[0.0, 0.0]]])
    tris = [np.stack([np.full(len(ids[0]), centre), ids[0], np.roll(ids[0], -1)], axis=1)]
    tris += [_zipper(ids[k - 1], angles[k - 1], ids[k], angles[k]) for k in range(1, rings)]
    return points, np.concatenate(tris)


def cylinder(
    radius: Any,
    height: Any,
    segments: int = 64,
    center: Any = (0.0, 0.0, 0.0),
    rings: int | None = None,
) -> Mesh:
    """Closed cylinder along z of ``radius`` and ``height`` (µm), a regular ``segments``-gon prism.

    Regions "bottom" (z = -h/2), "top" (z = +h/2) and "side" (``segments`` quads, two triangles
    each). Each cap is triangulated with ``rings`` concentric rings, not a fan (default
    segments/16, giving triangles with angles of about 20°-95°; segments/2π makes them nearly
    equilateral at 2.5 times the triangle count); ``rings`` may be at most
    1 / (2 (1 - cos(π/segments))), so the inner rings stay clear of the rim. There are about
    2·segments·(rings + 1) triangles in all.
    """
    r = _positive(radius, "radius")
    h = _positive(height, "height")
    shift = units.point(center, "center")
    s = _count(segments, "segments", 3)
    # the innermost ring must keep about half a ring spacing from the rim's chords;
    # 1 - cos(x) = 2 sin²(x/2) stays accurate for many segments
    most = int(1 / (4 * np.sin(np.pi / (2 * s)) ** 2))
    k = _count(min(most, max(1, round(s / 16))) if rings is None else rings, "rings", 1)
    if k > most:
        raise ValueError(
            f"rings={k} is too many for segments={s}: the inner rings would reach the rim's "
            f"chords; use rings <= {most} or more segments"
        )
    check_size(2 * s * (k + 1), f"cylinder(segments={s}, rings={k})",
               "use fewer segments or rings (the triangles grow as 2·segments·(rings + 1))")

    xy, cap = _disk(s, k)
    inner = len(xy) - s  # cap vertices that are not on the rim
    # vertex layout: bottom rim, top rim, bottom inner, top inner
    bottom_ids = np.r_[np.arange(s), 2 * s + np.arange(inner)]
    top_ids = np.r_[s + np.arange(s), 2 * s + inner + np.arange(inner)]
    rim, inside = r * xy[:s], r * xy[s:]

    def at(p, z):
        return np.column_stack([p, np.full(len(p), z)])

    verts = np.concatenate([at(rim, -h / 2), at(rim, h / 2), at(inside, -h / 2), at(inside, h / 2)])
    b0 = np.arange(s)
    b1, t0 = np.roll(b0, -1), b0 + s
    t1 = b1 + s
    side = np.concatenate([np.stack([b0, b1, t1], 1), np.stack([b0, t1, t0], 1)])
    bottom = bottom_ids[cap][:, [0, 2, 1]]
    top = top_ids[cap]
    triangles = np.concatenate([bottom, top, side])
    nb, nt = len(bottom), len(top)
    regions = {
        "bottom": np.arange(nb),
        "top": nb + np.arange(nt),
        "side": nb + nt + np.arange(len(side)),
    }
    return _finish(verts, triangles, regions, shift)
