"""World-space geometry as MCell computes it: the transform matrices of TRANSLATE, SCALE and
ROTATE, and the triangles of a BOX.

MCell semantics followed (MCell 3's ``vector.c`` and ``mdlparse_util.c``):

- MCell keeps a 4×4 matrix per object for row vectors (p' = p·M) and right-multiplies each
  TRANSLATE / SCALE / ROTATE into it (``translate_matrix``, ``scale_matrix``, ``rotate_matrix``),
  so they apply in the order written; ROTATE = axis, angle is right-handed, in degrees. Vertex
  order is kept (a mirroring SCALE flips normals, as in MCell).
- BOX: CORNERS give the two opposite corners; the box becomes MCell's 12 triangles
  (``polygonalize_cuboid`` of an undivided box): LEFT = -x (0, 1), RIGHT = +x (2, 3),
  FRONT = -y (4, 5), BACK = +y (6, 7), BOTTOM = -z (8, 9), TOP = +z (10, 11), normals outward.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["BOX_SIDES", "box", "rotation", "scaling", "transformed", "translation"]

#: The triangles of each side of a BOX (see :func:`box`).
BOX_SIDES = {"LEFT": (0, 1), "RIGHT": (2, 3), "FRONT": (4, 5), "BACK": (6, 7), "BOTTOM": (8, 9), "TOP": (10, 11)}


def translation(v) -> np.ndarray:
    """The row-vector matrix of TRANSLATE = ``v``."""
    m = np.eye(4)
    m[3, :3] = v
    return m


def scaling(v) -> np.ndarray:
    """The row-vector matrix of SCALE = ``v`` (a factor per axis)."""
    m = np.eye(4)
    m[0, 0], m[1, 1], m[2, 2] = v
    return m


def rotation(axis, degrees) -> np.ndarray:
    """The row-vector matrix of a right-handed rotation by ``degrees`` about ``axis`` (MCell's
    ``rotate_matrix``)."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    x, y, z = a
    # column-vector Rodrigues matrix R (p' = R p); the row-vector form is its transpose
    r = np.array([[c + x * x * (1 - c), x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
                  [y * x * (1 - c) + z * s, c + y * y * (1 - c), y * z * (1 - c) - x * s],
                  [z * x * (1 - c) - y * s, z * y * (1 - c) + x * s, c + z * z * (1 - c)]])
    m = np.eye(4)
    m[:3, :3] = r.T
    return m


def transformed(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (n, 3) or (3,) transformed by a row-vector 4×4 matrix."""
    return points @ matrix[:3, :3] + matrix[3, :3]


def box(p0, p1) -> tuple[np.ndarray, np.ndarray]:
    """MCell's undivided box: 8 vertices (index 4·ix + 2·iz + iy) and 12 outward triangles."""
    lo, hi = np.minimum(p0, p1), np.maximum(p0, p1)
    xs, ys, zs = (lo[0], hi[0]), (lo[1], hi[1]), (lo[2], hi[2])
    verts = np.array([[xs[ix], ys[iy], zs[iz]] for ix in (0, 1) for iz in (0, 1) for iy in (0, 1)])

    def v(ix, iy, iz):
        return 4 * ix + 2 * iz + iy

    tris = np.array([
        [v(0, 0, 0), v(0, 0, 1), v(0, 1, 0)], [v(0, 1, 1), v(0, 1, 0), v(0, 0, 1)],    # LEFT  -x
        [v(1, 0, 0), v(1, 1, 0), v(1, 0, 1)], [v(1, 1, 1), v(1, 0, 1), v(1, 1, 0)],    # RIGHT +x
        [v(0, 0, 0), v(1, 0, 0), v(0, 0, 1)], [v(1, 0, 1), v(0, 0, 1), v(1, 0, 0)],    # FRONT -y
        [v(0, 1, 0), v(0, 1, 1), v(1, 1, 0)], [v(1, 1, 1), v(1, 1, 0), v(0, 1, 1)],    # BACK  +y
        [v(0, 0, 0), v(0, 1, 0), v(1, 0, 0)], [v(1, 1, 0), v(1, 0, 0), v(0, 1, 0)],    # BOTTOM -z
        [v(0, 0, 1), v(1, 0, 1), v(0, 1, 1)], [v(1, 1, 1), v(0, 1, 1), v(1, 0, 1)],    # TOP   +z
    ], dtype=np.int64)
    return verts, tris
