"""Closed, outward-oriented primitive meshes: box, icosphere, cylinder (lengths in µm)."""
from __future__ import annotations

import itertools
import operator
from typing import Any

import numpy as np

from .. import units
from .mesh import Mesh


def _positive(value: Any, name: str) -> float:
    x = units.length(value, name)
    if not x > 0:
        raise ValueError(f"{name} must be a positive length, got {value!r}")
    return x


def _count(value: Any, name: str, minimum: int) -> int:
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return n


def _finish(vertices: np.ndarray, triangles: np.ndarray, regions: dict, center: Any) -> Mesh:
    mesh = Mesh(vertices + units.point(center, "center"), triangles, regions)
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


def box(size: Any, center: Any = (0.0, 0.0, 0.0), divisions: int = 1) -> Mesh:
    """Axis-aligned box of edge lengths ``size`` (µm; a scalar makes a cube).

    Regions "left"/"right" (x min/max), "front"/"back" (y min/max), "bottom"/"top" (z min/max).
    Each face is an n×n grid of quads (n = ``divisions``), two triangles each; faces share the
    vertices along their common edges, so the mesh is closed.
    """
    if isinstance(size, str) or np.ndim(size) == 0:
        size = (size, size, size)
    dims = np.array([_positive(s, f"size[{i}]") for i, s in enumerate(units.point(size, "size"))])
    n = _count(divisions, "divisions", 1)

    # Lattice (n+1)³ of candidate vertices; only those on the surface end up in the mesh.
    axes = [np.linspace(-d / 2, d / 2, n + 1) for d in dims]
    lattice = np.arange((n + 1) ** 3).reshape(n + 1, n + 1, n + 1)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    i, j = i.ravel(), j.ravel()
    quads, regions = [], {}
    for name, (axis, side, u, v) in _BOX_FACES.items():
        corners = []
        for du, dv in ((0, 0), (1, 0), (1, 1), (0, 1)):
            idx = [None, None, None]
            idx[axis], idx[u], idx[v] = np.full_like(i, side * n), i + du, j + dv
            corners.append(lattice[tuple(idx)])
        a, b, c, d = corners
        tris = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
        regions[name] = np.arange(len(tris)) + 2 * n * n * len(quads)
        quads.append(tris)
    triangles = np.concatenate(quads)
    used, triangles = np.unique(triangles, return_inverse=True)
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    return _finish(grid[used], triangles.reshape(-1, 3), regions, center)


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
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    unique, inverse = np.unique(edges, axis=0, return_inverse=True)
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
    verts, faces = _icosahedron()
    for _ in range(_count(subdivisions, "subdivisions", 0)):
        verts, faces = _subdivide(verts, faces)
    return _finish(verts * r, faces, {"surface": np.arange(len(faces))}, center)


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
    1 / (2 (1 - cos(π/segments))), so the inner rings stay clear of the rim.
    """
    r = _positive(radius, "radius")
    h = _positive(height, "height")
    s = _count(segments, "segments", 3)
    # the innermost ring must keep about half a ring spacing from the rim's chords
    most = int(1 / (2 * (1 - np.cos(np.pi / s))))
    k = _count(min(most, max(1, round(s / 16))) if rings is None else rings, "rings", 1)
    if k > most:
        raise ValueError(
            f"rings={k} is too many for segments={s}: the inner rings would reach the rim's "
            f"chords; use rings <= {most} or more segments"
        )

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
    return _finish(verts, triangles, regions, center)
