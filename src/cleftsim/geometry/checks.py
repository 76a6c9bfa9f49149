"""Checks of triangle meshes: edge topology (manifoldness, boundary edges, orientation) and
intersections (of a mesh with itself, and of two meshes).

Edge work is vectorised over edges with numpy, intersections are found by
:mod:`cleftsim._core.intersect`; only the few offending items that end up in an error message
are visited in Python.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cleftsim._core import intersect as _intersect

if TYPE_CHECKING:
    from .mesh import Mesh

#: How many offending items an error message lists.
SHOW = 3
#: Surfaces closer than this times the geometry's scale touch (see :func:`tolerance`).
TOUCH = 1e-9


@dataclass(frozen=True)
class Edges:
    """Undirected edges of a mesh, each with the triangles that use it.

    The 3·T directed edges (v0→v1, v1→v2, v2→v0 of every triangle) are sorted so that the uses
    of one undirected edge are contiguous: edge ``e`` owns rows
    ``start[e] : start[e] + count[e]`` of ``directed`` and ``owner``.
    """

    directed: np.ndarray  # (3T, 2) directed vertex pairs, grouped by undirected edge
    owner: np.ndarray  # (3T,) triangle of each directed edge
    index: np.ndarray  # (3T,) its index 3t + k: edge k of triangle t joins its vertices k and k + 1
    start: np.ndarray  # (E,) first row of each undirected edge
    count: np.ndarray  # (E,) number of triangles on each edge
    balance: np.ndarray  # (E,) uses low→high minus uses high→low (0 when consistently oriented)

    @classmethod
    def of(cls, triangles: np.ndarray) -> Edges:
        """Edge table of ``triangles`` ((T, 3) vertex indices)."""
        directed = triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2).astype(np.int64)
        owner = np.repeat(np.arange(len(triangles)), 3)
        lo, hi = np.minimum(directed[:, 0], directed[:, 1]), np.maximum(directed[:, 0], directed[:, 1])
        key = lo * (int(hi.max()) + 1) + hi
        order = np.argsort(key, kind="stable")
        key = key[order]
        start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        count = np.diff(np.r_[start, len(key)])
        directed, owner = directed[order], owner[order]
        sign = np.where(directed[:, 0] < directed[:, 1], 1, -1)
        balance = np.add.reduceat(sign, start)
        return cls(directed, owner, order, start, count, balance)

    def pair(self, e: int) -> tuple[int, int]:
        """Vertex pair of edge ``e``, as traversed by its first triangle."""
        a, b = self.directed[self.start[e]]
        return int(a), int(b)

    def triangles_of(self, e: int) -> list[int]:
        """Triangles that use edge ``e``."""
        s = self.start[e]
        return [int(t) for t in self.owner[s : s + self.count[e]]]

    @property
    def closed(self) -> bool:
        """Every edge has exactly two triangles that traverse it in opposite directions."""
        return bool(np.all(self.count == 2) and np.all(self.balance == 0))


def _more(n: int) -> str:
    return f" (and {n - SHOW} more)" if n > SHOW else ""


def nonmanifold(edges: Edges) -> str | None:
    """Message naming edges shared by more than two triangles, or None."""
    bad = np.flatnonzero(edges.count > 2)
    if not len(bad):
        return None
    items = "; ".join(
        f"edge {edges.pair(e)} is shared by triangles {edges.triangles_of(e)}" for e in bad[:SHOW]
    )
    return (
        f"non-manifold edges: {items}{_more(len(bad))}. An edge may border at most two triangles: "
        "remove duplicate or extra triangles, or split the surfaces apart"
    )


def boundary(edges: Edges) -> str | None:
    """Message naming edges that belong to a single triangle, or None."""
    bad = np.flatnonzero(edges.count == 1)
    if not len(bad):
        return None
    items = "; ".join(
        f"edge {edges.pair(e)} of triangle {edges.triangles_of(e)[0]} has no neighbour"
        for e in bad[:SHOW]
    )
    return (
        f"mesh is not closed: {items}{_more(len(bad))}. Fill the holes so that every edge is "
        "shared by two triangles"
    )


def misoriented(edges: Edges) -> str | None:
    """Message naming two-triangle edges that both triangles traverse the same way, or None."""
    bad = np.flatnonzero((edges.count == 2) & (edges.balance != 0))
    if not len(bad):
        return None
    items = "; ".join(
        "triangles {} and {} both run along edge {} in the same direction".format(
            *edges.triangles_of(e), edges.pair(e)
        )
        for e in bad[:SHOW]
    )
    return (
        f"inconsistent orientation: {items}{_more(len(bad))}. Flip the winding of one triangle "
        "of each pair so that neighbours traverse their shared edge in opposite directions"
    )


# -- intersections ------------------------------------------------------------------------------
def tolerance(lo: np.ndarray, hi: np.ndarray) -> float:
    """Distance (µm) within which two surfaces touch, for geometry in the box [lo, hi] (µm).

    TOUCH times the largest of 1 µm, the box's diagonal and its largest |coordinate|: above the
    round-off of the tests (which grows with the coordinates) and at least the ray tracer's
    1e-9 × max(1 µm, |coordinate|) offsets from surfaces (:mod:`cleftsim.compiler.scene`), so surfaces
    closer than that, which a traced molecule could not tell apart, count as touching.
    """
    scale = max(1.0, float(np.linalg.norm(hi - lo)), float(np.abs(lo).max()), float(np.abs(hi).max()))
    return TOUCH * scale


def closed_parts(triangles: np.ndarray, edges: Edges) -> np.ndarray:
    """(T,) bool: whether each triangle's connected part (triangles linked through shared
    vertices) has no boundary edge, so encloses a volume."""
    boundary = edges.count == 1
    if not boundary.any():
        return np.ones(len(triangles), dtype=bool)
    part = _intersect.vertex_parts(np.ascontiguousarray(triangles, dtype=np.int32), int(triangles.max()) + 1)
    open_parts = part[edges.directed[edges.start[boundary], 0]]
    return ~np.isin(part[triangles[:, 0]], open_parts)


def _at(point) -> str:
    return "({:.6g}, {:.6g}, {:.6g}) µm".format(*point)


def self_intersection(vertices: np.ndarray, triangles: np.ndarray, edges: Edges) -> str | None:
    """Message naming two triangles of a mesh that intersect, or None.

    In a closed part of the mesh (see :func:`closed_parts`) triangles that share no vertex must
    not touch (come within :func:`tolerance`), and triangles that share one vertex must not cross
    beyond it (a fold through). In any part, no two triangles may overlap in one plane (a face
    folded back onto its neighbour or covered twice); an open surface may otherwise pass through
    the rest of the mesh (a transparent sheet cutting a box, say).
    """
    eps = tolerance(vertices.min(axis=0), vertices.max(axis=0))
    closed = closed_parts(triangles, edges).astype(np.int8)
    group = np.zeros(len(triangles), dtype=np.int32)
    hit = _intersect.first_contact(vertices, triangles, group, closed, eps, True)
    if hit is None:
        return None
    i, j, coplanar, point = hit
    if coplanar:
        return (
            f"mesh intersects itself: triangles {i} and {j} overlap or touch in one plane near "
            f"{_at(point)}, where a ray would meet only one of them. Remove duplicated triangles, "
            "unfold faces folded back onto their neighbours and move parts that lie on each other apart"
        )
    return (
        f"mesh intersects itself: triangles {i} and {j} cross or touch near {_at(point)} "
        f"(surfaces closer than {eps:.1g} µm touch). A closed surface must not pass through or "
        "touch itself, or its inside is undefined: move its vertices, or the parts combined into "
        "it, apart"
    )


def _near(vertices: np.ndarray, triangles: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Indices of the triangles whose bounding boxes meet the box [lo, hi] (µm)."""
    corners = [vertices[triangles[:, k]] for k in range(3)]
    t_lo = np.minimum(np.minimum(corners[0], corners[1]), corners[2])
    t_hi = np.maximum(np.maximum(corners[0], corners[1]), corners[2])
    return np.flatnonzero(np.all((t_lo <= hi) & (t_hi >= lo), axis=1))


def objects_intersection(a: Mesh, a_name: str, b: Mesh, b_name: str) -> str | None:
    """Message naming a triangle of mesh ``a`` and one of mesh ``b`` (geometry objects
    ``a_name`` and ``b_name``) that meet, or None.

    Any contact counts, touching too: where faces of two objects coincide the ray tracer meets
    only the first object's triangle, from either side (:mod:`cleftsim._core.scene` keeps the
    first of hits at the same point), and a contact along edges or at vertices cannot be told
    apart from surfaces that cross there.
    """
    eps = tolerance(np.minimum(a.bounds[0], b.bounds[0]), np.maximum(a.bounds[1], b.bounds[1]))
    lo = np.maximum(a.bounds[0], b.bounds[0]) - eps
    hi = np.minimum(a.bounds[1], b.bounds[1]) + eps
    if np.any(lo > hi):
        return None
    in_a, in_b = _near(a.vertices, a.triangles, lo, hi), _near(b.vertices, b.triangles, lo, hi)
    if not len(in_a) or not len(in_b):
        return None
    triangles = np.concatenate([a.triangles[in_a], b.triangles[in_b] + len(a.vertices)])
    group = np.repeat(np.array([0, 1], dtype=np.int32), [len(in_a), len(in_b)])
    hit = _intersect.first_contact(np.concatenate([a.vertices, b.vertices]), triangles, group,
                                   np.zeros(len(triangles), dtype=np.int8), eps, False)
    if hit is None:
        return None
    i, j, coplanar, point = hit
    head = (f"geometry objects {a_name!r} and {b_name!r} intersect: triangle {in_a[i]} of {a_name!r} "
            f"and triangle {in_b[j - len(in_a)]} of {b_name!r} "
            f"{'touch or overlap in one plane' if coplanar else 'cross or touch'} near {_at(point)}. ")
    if coplanar:
        return head + ("Where faces of two objects lie on each other a ray meets only one of them: "
                       "leave a gap between the objects")
    fix = f"Move them apart (surfaces closer than {eps:.1g} µm touch)"
    if not (a.is_closed and b.is_closed):
        fix += ("; or, if one is meant to cut through the other (e.g. a transparent sheet counting "
                "crossings), merge them into one object with cs.geometry.combine(...)")
    return head + fix
