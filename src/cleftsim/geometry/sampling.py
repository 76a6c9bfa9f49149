"""Points on triangles: uniform over a set of triangles, in clusters, the nearest point of a
set of triangles, and barycentric coordinates (µm throughout)."""
from __future__ import annotations

import numpy as np


def triangle_areas(vertices: np.ndarray, tris: np.ndarray) -> np.ndarray:
    v = vertices[tris]
    return 0.5 * np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1)


def uniform_on(vertices: np.ndarray, tris: np.ndarray, n: int, rng: np.random.Generator):
    """n points uniform over the triangles ``tris`` (rows of vertex indices): (which, points)."""
    areas = triangle_areas(vertices, tris)
    which = rng.choice(len(tris), size=n, p=areas / areas.sum())
    u, w = rng.random(n), rng.random(n)
    flip = u + w > 1.0
    u[flip], w[flip] = 1.0 - u[flip], 1.0 - w[flip]
    v = vertices[tris[which]]
    return which, v[:, 0] + u[:, None] * (v[:, 1] - v[:, 0]) + w[:, None] * (v[:, 2] - v[:, 0])


def closest_on_triangles(vertices: np.ndarray, tris: np.ndarray, points: np.ndarray):
    """For each point, the nearest of the triangles ``tris``: (which, closest point, distance)."""
    v = vertices[tris]                                      # (T, 3, 3)
    best = np.full(len(points), np.inf)
    which = np.zeros(len(points), dtype=np.int64)
    closest = np.zeros((len(points), 3))
    for start in range(0, len(points), 256):
        p = points[start:start + 256, None, :]             # (P, 1, 3)
        q = _closest_point_triangle(p, v[None, :, 0], v[None, :, 1], v[None, :, 2])   # (P, T, 3)
        d = np.linalg.norm(q - p, axis=2)
        k = np.argmin(d, axis=1)
        rows = np.arange(len(k))
        best[start:start + 256] = d[rows, k]
        which[start:start + 256] = k
        closest[start:start + 256] = q[rows, k]
    return which, closest, best


def _closest_point_triangle(p, a, b, c):
    """Closest point of triangles (a, b, c) to points p (broadcast arrays; Ericson 2005, §5.1.5)."""
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    bp, cp = p - b, p - c
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        v = vb / denom
        w = vc / denom
        out = a + v[..., None] * ab + w[..., None] * ac                       # interior
        t_ab = d1 / (d1 - d3)
        t_ac = d2 / (d2 - d6)
        t_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
    cases = [
        ((d1 <= 0) & (d2 <= 0), a),
        ((d3 >= 0) & (d4 <= d3), b),
        ((d6 >= 0) & (d5 <= d6), c),
        ((vc <= 0) & (d1 >= 0) & (d3 <= 0), a + np.nan_to_num(t_ab)[..., None] * ab),
        ((vb <= 0) & (d2 >= 0) & (d6 <= 0), a + np.nan_to_num(t_ac)[..., None] * ac),
        ((va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0), b + np.nan_to_num(t_bc)[..., None] * (c - b)),
    ]
    done = np.zeros(out.shape[:-1], dtype=bool)
    for mask, value in cases:
        m = mask & ~done
        out = np.where(m[..., None], np.broadcast_to(value, out.shape), out)
        done |= m
    return out


def cluster_centres(vertices: np.ndarray, tris: np.ndarray, n_clusters: int, rng: np.random.Generator):
    """Centres of n_clusters clusters, uniform over the triangles: (which triangle, points)."""
    _, centres = uniform_on(vertices, tris, n_clusters, rng)
    which_c, _ = closest_on_triangles(vertices, tris, centres)[:2]
    return which_c, centres


def cluster_points(vertices: np.ndarray, tris: np.ndarray, which_c: np.ndarray, centres: np.ndarray,
                   member: np.ndarray, radius: float, rng: np.random.Generator):
    """One point per entry of ``member`` (its cluster), uniform in the disc of ``radius`` (µm)
    around the cluster's centre in the plane of the centre's triangle, moved to the nearest
    point of the triangles. Returns (which, points)."""
    v = vertices[tris[which_c[member]]]
    normal = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    normal /= np.linalg.norm(normal, axis=1)[:, None]
    e1 = v[:, 1] - v[:, 0]
    e1 /= np.linalg.norm(e1, axis=1)[:, None]
    e2 = np.cross(normal, e1)
    r = radius * np.sqrt(rng.random(len(member)))
    phi = 2 * np.pi * rng.random(len(member))
    pts = centres[member] + (r * np.cos(phi))[:, None] * e1 + (r * np.sin(phi))[:, None] * e2
    which, closest, _ = closest_on_triangles(vertices, tris, pts)
    return which, closest


def clustered_on(vertices: np.ndarray, tris: np.ndarray, n: int, n_clusters: int, radius: float,
                 rng: np.random.Generator):
    """n points in n_clusters discs of ``radius`` (µm) whose centres are uniform over the
    triangles; each point is uniform in its disc (in the plane of the centre's triangle) and then
    moved to the nearest point of the triangles. Returns (which, points)."""
    which_c, centres = cluster_centres(vertices, tris, n_clusters, rng)
    return cluster_points(vertices, tris, which_c, centres, np.arange(n) % n_clusters, radius, rng)


def bary_of(vertices: np.ndarray, tris: np.ndarray, which: np.ndarray, pts: np.ndarray):
    """Barycentric (u, w) of points on triangles tris[which] (projected on their planes)."""
    v = vertices[tris[which]]
    e1, e2, r = v[:, 1] - v[:, 0], v[:, 2] - v[:, 0], pts - v[:, 0]
    d00, d01, d11 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
    d20, d21 = (r * e1).sum(1), (r * e2).sum(1)
    den = d00 * d11 - d01 * d01
    return (d11 * d20 - d01 * d21) / den, (d00 * d21 - d01 * d20) / den
