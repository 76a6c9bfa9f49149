"""Edge topology of a triangle mesh: manifoldness, boundary edges and orientation.

All work is vectorised over edges with numpy; only the few offending items that end up in an
error message are visited in Python.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: How many offending items an error message lists.
SHOW = 3


@dataclass(frozen=True)
class Edges:
    """Undirected edges of a mesh, each with the triangles that use it.

    The 3·T directed edges (v0→v1, v1→v2, v2→v0 of every triangle) are sorted so that the uses
    of one undirected edge are contiguous: edge ``e`` owns rows
    ``start[e] : start[e] + count[e]`` of ``directed`` and ``owner``.
    """

    directed: np.ndarray  # (3T, 2) directed vertex pairs, grouped by undirected edge
    owner: np.ndarray  # (3T,) triangle of each directed edge
    start: np.ndarray  # (E,) first row of each undirected edge
    count: np.ndarray  # (E,) number of triangles on each edge
    balance: np.ndarray  # (E,) uses low→high minus uses high→low (0 when consistently oriented)

    @classmethod
    def of(cls, triangles: np.ndarray) -> Edges:
        """Edge table of ``triangles`` ((T, 3) vertex indices)."""
        directed = triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2).astype(np.int64)
        owner = np.repeat(np.arange(len(triangles)), 3)
        lo, hi = directed.min(axis=1), directed.max(axis=1)
        key = lo * (int(hi.max()) + 1) + hi
        order = np.argsort(key, kind="stable")
        key = key[order]
        start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        count = np.diff(np.r_[start, len(key)])
        directed, owner = directed[order], owner[order]
        sign = np.where(directed[:, 0] < directed[:, 1], 1, -1)
        balance = np.add.reduceat(sign, start)
        return cls(directed, owner, start, count, balance)

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
