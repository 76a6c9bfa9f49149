"""Tiles: every triangle of a region holding surface molecules is cut into n_t² equal
sub-triangles (one surface molecule per tile; cleftsim.physics.binding explains why)."""
from __future__ import annotations

import numpy as np


def tile_divisions(areas: np.ndarray, tile_density: float) -> np.ndarray:
    """n_t of triangles of these areas (µm²): each is cut into n_t² tiles (cleftsim.physics.binding)."""
    return np.maximum(1, np.ceil(np.sqrt(np.asarray(areas) * tile_density) * (1.0 - 1e-12))).astype(np.int64)


# ---- tiles (cleftsim.physics.binding): triangle t is cut into n_t² equal sub-triangles ------------------
# In barycentric coordinates (u along v1 - v0, w along v2 - v0) scaled by n, the cell (i, j) with
# i + j <= n - 1 holds an upright tile (fractional parts a + b < 1) and, if i + j <= n - 2, an
# inverted one. Row i holds 2(n - i) - 1 tiles and starts at i(2n - i); within it the upright tile
# of column j is 2j and the inverted one 2j + 1. The Membrane kernel (membrane.pyx) uses the same.
def tile_of_bary(n: np.ndarray, u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Local tile index of barycentric points (u, w) on triangles cut n ways (arrays)."""
    U, W = u * n, w * n
    i = np.clip(np.floor(U), 0, n - 1).astype(np.int64)
    j = np.clip(np.floor(W), 0, np.maximum(n - 1 - i, 0)).astype(np.int64)
    inv = ((U - i) + (W - j) > 1.0) & (i + j <= n - 2)
    return i * (2 * n - i) + 2 * j + inv


def tile_cell(n: np.ndarray, k: np.ndarray):
    """(i, j, inverted) of local tile indices k on triangles cut n ways (arrays)."""
    n, k = np.asarray(n, dtype=np.int64), np.asarray(k, dtype=np.int64)
    i = np.floor(n - np.sqrt(np.maximum(n * n - k, 0))).astype(np.int64)
    i = np.where(i * (2 * n - i) > k, i - 1, i)
    i = np.where((i + 1) * (2 * n - i - 1) <= k, i + 1, i)
    r = k - i * (2 * n - i)
    return i, r // 2, r % 2


def tile_bary(n: np.ndarray, k: np.ndarray, a: np.ndarray, b: np.ndarray):
    """Barycentric (u, w) of the point (a, b) of the unit triangle (a, b >= 0, a + b <= 1) mapped
    into tile k of triangles cut n ways; a = b = 1/3 gives the tile's centroid."""
    i, j, inv = tile_cell(n, k)
    U = np.where(inv == 1, i + 1 - a, i + a)
    W = np.where(inv == 1, j + 1 - b, j + b)
    return U / n, W / n
