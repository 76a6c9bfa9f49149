"""Mesh connectivity for molecules that move on surfaces."""
from __future__ import annotations

from typing import Any

import numpy as np


def surface_adjacency(vertices: Any, triangles: Any, region_ids: Any) -> np.ndarray:
    """Neighbour of every triangle across each of its edges, within its region.

    Edge ``k`` of triangle ``t`` joins vertices ``triangles[t, k]`` and ``triangles[t, (k+1) % 3]``.
    ``out[t, k]`` is the other triangle that has this edge if that triangle has the same region
    id as ``t``, and -1 otherwise: the edge is on the mesh border or on a region boundary, where
    surface molecules reflect (see ``cleftsim._core.lateral``). Edges are matched by vertex index
    (build meshes whose triangles share their vertices; orientation does not matter);
    ``vertices`` is only used to validate the indices.

    Vectorised: every edge gets the key ``min·V + max`` of its vertex indices, the keys are sorted
    and equal neighbours in the sorted order are the two sides of one edge.

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

    start = tri.ravel()                       # edge 3t + k: start tri[t, k] ...
    end = tri[:, [1, 2, 0]].ravel()           # ... end tri[t, (k+1) % 3]
    key = np.minimum(start, end) * n_vertices + np.maximum(start, end)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    pair = sorted_key[1:] == sorted_key[:-1]  # pair[i]: sorted edges i and i+1 are one edge
    if np.any(pair[1:] & pair[:-1]):
        i = int(np.flatnonzero(pair[1:] & pair[:-1])[0]) + 1
        a, b = divmod(int(sorted_key[i]), n_vertices)
        raise ValueError(f"non-manifold mesh: edge ({a}, {b}) is shared by more than two triangles")
    first, second = order[:-1][pair], order[1:][pair]
    t1, t2 = first // 3, second // 3
    same = reg[t1] == reg[t2]
    out = np.full(3 * len(tri), -1, dtype=np.int32)
    out[first[same]] = t2[same]
    out[second[same]] = t1[same]
    return out.reshape(-1, 3)
