"""Surface molecules: species, state sets, kinetic schemes in a model, placements and clamps.

A surface molecule sits on a triangle of a region and faces one side of its membrane: ``"inside"``
(against the triangle normals, i.e. into a closed object, since cleftsim meshes have outward
normals) or ``"outside"``. It binds volume molecules only from the side it faces, and the volume
molecules it releases appear on that side. Its species is its state: a reaction such as
``"glu + AMPA_C0 -> AMPA_C1"`` changes the state of the molecule in place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Sides a surface molecule can face, and the orientation code stored per molecule.
FACING = {"inside": -1, "outside": 1}


@dataclass(frozen=True)
class SurfaceSpecies:
    """A surface species (one state of a membrane molecule): name, lateral D (µm²/s), index."""

    name: str
    D: float
    index: int

    def __repr__(self) -> str:
        return f"SurfaceSpecies({self.name!r}, D={self.D:g} um^2/s)"


@dataclass(frozen=True)
class StateSet:
    """A named set of surface species (e.g. the open states of a receptor), counted together."""

    name: str
    species: tuple[SurfaceSpecies, ...]

    def __repr__(self) -> str:
        return f"StateSet({self.name!r}, {[s.name for s in self.species]})"


class SchemeHandle:
    """A kinetic scheme added to a model: its states (``handle["C0"]`` or ``handle.C0``) and named
    state sets (``handle.open``, ``handle.bound``, ...), each a :class:`StateSet`."""

    def __init__(self, scheme, prefix: str, states: dict[str, SurfaceSpecies], reactions: dict):
        self.scheme = scheme
        self.prefix = prefix
        self.states = dict(states)
        self.reactions = dict(reactions)
        self.initial = states[scheme.initial]
        self.sets = {name: StateSet(f"{prefix}.{name}", tuple(states[s] for s in members))
                     for name, members in scheme.sets.items()}

    def reaction(self, equation: str):
        """The model's Reaction for one of the scheme's equations, written with the scheme's own
        state names (one direction of a '<->': e.g. ``"AE -> AcE + Ch"``), for count_events."""
        from cleftsim.reactions import parse

        key = str(parse(equation)[0])
        if key not in self.reactions:
            raise KeyError(f"scheme {self.prefix!r} has no reaction {equation!r}; its reactions are {list(self.reactions)}")
        return self.reactions[key]

    def __getitem__(self, state: str) -> SurfaceSpecies:
        if state not in self.states:
            raise KeyError(f"scheme {self.prefix!r} has no state {state!r}; its states are {list(self.states)}")
        return self.states[state]

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("scheme", "prefix", "states", "initial", "sets", "reactions"):
            raise AttributeError(name)
        if name in self.sets:
            return self.sets[name]
        if name in self.states:
            return self.states[name]
        raise AttributeError(f"scheme {self.prefix!r} has no state or state set {name!r}; "
                             f"sets: {list(self.sets)}, states: {list(self.states)}")

    @property
    def all(self) -> StateSet:
        """Every state of the scheme."""
        return StateSet(f"{self.prefix}.all", tuple(self.states.values()))

    def __repr__(self) -> str:
        return f"SchemeHandle({self.prefix!r}, states={list(self.states)}, sets={list(self.sets)})"


@dataclass(frozen=True)
class Placement:
    """Surface molecules of one species put on a region at t = 0."""

    species: SurfaceSpecies
    region: Any                    # model.Region
    orient: int                    # +1 faces along the normals ("outside"), -1 against ("inside")
    n: int
    kind: str                      # "uniform", "positions", "clusters"
    params: tuple = field(default=())


@dataclass(frozen=True)
class Clamp:
    """A volume species held at a concentration time course in a bath on one side of regions."""

    species: Any                   # model.Species
    waveform: Any                  # waveforms.Waveform
    contexts: tuple[tuple[int, int], ...]   # (region index, side: 1 along the normals, 0 against)
    label: str


# ---- sampling positions on regions --------------------------------------------------------------
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


# ---- tiles (cleftsim.binding): triangle t is cut into n_t² equal sub-triangles ------------------
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


def bary_of(vertices: np.ndarray, tris: np.ndarray, which: np.ndarray, pts: np.ndarray):
    """Barycentric (u, w) of points on triangles tris[which] (projected on their planes)."""
    v = vertices[tris[which]]
    e1, e2, r = v[:, 1] - v[:, 0], v[:, 2] - v[:, 0], pts - v[:, 0]
    d00, d01, d11 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
    d20, d21 = (r * e1).sum(1), (r * e2).sum(1)
    den = d00 * d11 - d01 * d01
    return (d11 * d20 - d01 * d21) / den, (d00 * d21 - d01 * d20) / den
