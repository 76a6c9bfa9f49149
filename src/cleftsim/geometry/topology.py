"""Mesh connectivity for molecules that move on surfaces."""
from __future__ import annotations

from typing import Any

import numpy as np

from cleftsim.geometry.checks import Edges


def surface_adjacency(vertices: Any, triangles: Any, region_ids: Any) -> np.ndarray:
    """Neighbour of every triangle across each of its edges, within its region.

    Edge ``k`` of triangle ``t`` joins vertices ``triangles[t, k]`` and ``triangles[t, (k+1) % 3]``.
    ``out[t, k]`` is the other triangle that has this edge if that triangle has the same region
    id as ``t``, and -1 otherwise: the edge is on the mesh border or on a region boundary, where
    surface molecules reflect (see ``cleftsim._core.lateral``). Edges are matched by vertex index
    (build meshes whose triangles share their vertices; orientation does not matter);
    ``vertices`` is only used to validate the indices.

    The edges are those of the mesh's edge table (:class:`cleftsim.geometry.checks.Edges`).

    Parameters: vertices (V, 3), triangles (T, 3) int, region_ids (T,) int.
    Returns (T, 3) int32. Raises ValueError for bad shapes or indices and for non-manifold edges
    (shared by more than two triangles).
    """
    n_vertices = len(np.asarray(vertices))
    tri = np.asarray(triangles)
    reg = np.asarray(region_ids)
    if tri.ndim != 2 or tri.shape[1] != 3 or not np.issubdtype(tri.dtype, np.integer):
        raise ValueError(f"triangles must be a (T, 3) integer array, got shape {tri.shape}")
    if reg.shape != (len(tri),) or not np.issubdtype(reg.dtype, np.integer):
        raise ValueError(f"region_ids must be a ({len(tri)},) integer array, got shape {reg.shape}")
    tri = tri.astype(np.int64)
    if tri.size and (tri.min() < 0 or tri.max() >= n_vertices):
        raise ValueError(f"triangles use vertex indices outside 0..{n_vertices - 1}")

    out = np.full(3 * len(tri), -1, dtype=np.int32)
    if not len(tri):
        return out.reshape(-1, 3)
    edges = Edges.of(tri)
    if np.any(edges.count > 2):
        a, b = edges.pair(int(np.flatnonzero(edges.count > 2)[0]))
        raise ValueError(f"non-manifold mesh: edge ({min(a, b)}, {max(a, b)}) is shared by more than two triangles")
    first = edges.start[edges.count == 2]
    first, second = edges.index[first], edges.index[first + 1]
    t1, t2 = first // 3, second // 3
    same = reg[t1] == reg[t2]
    out[first[same]] = t2[same]
    out[second[same]] = t1[same]
    return out.reshape(-1, 3)
