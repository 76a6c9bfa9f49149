"""The immutable triangle mesh with named regions that all geometry is built from."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cleftsim.errors import MeshError, UnknownRegionError

from .. import units
from . import checks

#: A triangle is degenerate when its area is below this times the squared bounding-box diagonal.
DEGENERATE_AREA = 1e-12
#: Region that collects the triangles not listed in ``regions``.
DEFAULT_REGION = "surface"


def _few(indices: np.ndarray, n: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:n])
    return shown + (f", ... ({len(indices)} in total)" if len(indices) > n else "")


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _vertices(vertices: Any) -> np.ndarray:
    try:
        v = np.array(vertices, dtype=np.float64, order="C")
    except (TypeError, ValueError) as exc:
        raise MeshError(f"vertices must be an (V, 3) array of numbers in µm ({exc})") from None
    if v.ndim != 2 or v.shape[1] != 3:
        raise MeshError(f"vertices must have shape (V, 3), got {v.shape}")
    if len(v) == 0:
        raise MeshError("mesh is empty: give at least three vertices and one triangle")
    bad = np.flatnonzero(~np.isfinite(v).all(axis=1))
    if len(bad):
        raise MeshError(f"vertices {_few(bad)} are not finite; replace NaN/inf coordinates")
    return v


def _triangles(triangles: Any, n_vertices: int) -> np.ndarray:
    t = np.asarray(triangles)
    if t.size == 0:
        raise MeshError("mesh is empty: give at least one triangle")
    if t.ndim != 2 or t.shape[1] != 3:
        raise MeshError(f"triangles must have shape (T, 3), got {t.shape}")
    if not np.issubdtype(t.dtype, np.integer):
        raise MeshError(f"triangles must be integer vertex indices, got dtype {t.dtype}")
    bad = np.flatnonzero(((t < 0) | (t >= n_vertices)).any(axis=1))
    if len(bad):
        raise MeshError(
            f"triangles {_few(bad)} use vertex indices outside 0..{n_vertices - 1}; "
            "fix the indices or add the missing vertices"
        )
    return np.array(t, dtype=np.int32, order="C")


def _region_ids(
    regions: Mapping[str, Any] | None, n_triangles: int
) -> tuple[tuple[str, ...], np.ndarray]:
    ids = np.full(n_triangles, -1, dtype=np.int32)
    names: list[str] = []
    for name, members in (regions or {}).items():
        if not isinstance(name, str) or not name:
            raise MeshError(f"region names must be non-empty strings, got {name!r}")
        idx = np.asarray(members)
        if idx.size == 0:
            raise MeshError(f"region {name!r} has no triangles; list some or leave it out")
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise MeshError(f"region {name!r}: give a 1-D sequence of integer triangle indices")
        out = idx[(idx < 0) | (idx >= n_triangles)]
        if len(out):
            raise MeshError(
                f"region {name!r} lists triangles {_few(out)}, outside 0..{n_triangles - 1}"
            )
        taken = np.unique(idx[ids[idx] >= 0])
        if len(taken):
            other = names[ids[taken[0]]]
            raise MeshError(
                f"triangles {_few(taken)} are in both region {other!r} and region {name!r}; "
                "each triangle belongs to exactly one region"
            )
        ids[idx] = len(names)
        names.append(name)
    if (ids < 0).any():
        if DEFAULT_REGION not in names:
            names.append(DEFAULT_REGION)
        ids[ids < 0] = names.index(DEFAULT_REGION)
    return tuple(names), ids


class Mesh:
    """An immutable triangle mesh (lengths in µm) whose triangles are grouped into named regions.

    ``vertices`` is (V, 3) float64, ``triangles`` is (T, 3) int32 vertex indices; the winding of
    each triangle gives its normal by the right-hand rule, (v1 - v0) × (v2 - v0). ``regions`` maps
    names to triangle indices; triangles not listed go to the region ``"surface"``.
    Construction validates shapes, indices, finiteness and degeneracy; call :meth:`check` for
    topology (manifold, closed, oriented).
    """

    __slots__ = (
        "_vertices", "_triangles", "_region_names", "_region_ids", "_regions",
        "_normals", "_areas", "_bounds", "_volume", "_closed", "_crossing", "_checked",
    )  # fmt: skip

    def __init__(
        self, vertices: Any, triangles: Any, regions: Mapping[str, Any] | None = None
    ) -> None:
        v = _vertices(vertices)
        t = _triangles(triangles, len(v))
        if regions is not None and not isinstance(regions, Mapping):
            raise MeshError("regions must be a dict mapping region names to triangle indices")
        names, ids = _region_ids(regions, len(t))

        lo, hi = v.min(axis=0), v.max(axis=0)
        p0, p1, p2 = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
        cross = np.cross(p1 - p0, p2 - p0)
        areas = 0.5 * np.linalg.norm(cross, axis=1)
        repeated = (t[:, 0] == t[:, 1]) | (t[:, 1] == t[:, 2]) | (t[:, 2] == t[:, 0])
        bad = np.flatnonzero(repeated | (areas < DEGENERATE_AREA * np.sum((hi - lo) ** 2)))
        if len(bad):
            raise MeshError(
                f"degenerate triangles {_few(bad)} (zero area or a repeated vertex); "
                "remove them or move their vertices apart"
            )

        order = np.argsort(ids, kind="stable").astype(np.int32)
        split = np.cumsum(np.bincount(ids, minlength=len(names)))[:-1]
        self._vertices = _frozen(v)
        self._triangles = _frozen(t)
        self._region_names = names
        self._region_ids = _frozen(ids)
        self._regions = {n: _frozen(r) for n, r in zip(names, np.split(order, split))}
        self._normals = _frozen(cross / (2.0 * areas[:, None]))
        self._areas = _frozen(areas)
        self._bounds = (_frozen(lo), _frozen(hi))
        self._volume: float | None = None
        self._closed: bool | None = None
        self._crossing: str | None = None  # self-intersection message ("" if none), once known
        self._checked: bool | None = None  # the strictest check() passed: closed=False, True, or None

    # -- data -------------------------------------------------------------------------------
    @property
    def vertices(self) -> np.ndarray:
        """(V, 3) vertex coordinates in µm (read-only)."""
        return self._vertices

    @property
    def triangles(self) -> np.ndarray:
        """(T, 3) int32 vertex indices (read-only)."""
        return self._triangles

    @property
    def region_names(self) -> tuple[str, ...]:
        """Region names, in order of first definition."""
        return self._region_names

    @property
    def region_ids(self) -> np.ndarray:
        """(T,) int32 index into :attr:`region_names` for every triangle (read-only)."""
        return self._region_ids

    @property
    def normals(self) -> np.ndarray:
        """(T, 3) unit normals from the winding (right-hand rule)."""
        return self._normals

    @property
    def areas(self) -> np.ndarray:
        """(T,) triangle areas in µm²."""
        return self._areas

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounding box ``(lo, hi)`` of the vertices, in µm."""
        return self._bounds

    @property
    def n_triangles(self) -> int:
        """Number of triangles."""
        return len(self._triangles)

    @property
    def volume(self) -> float:
        """Signed enclosed volume in µm³ (divergence theorem); positive for outward normals.

        Meaningful for closed meshes only.
        """
        if self._volume is None:
            v = self._vertices - 0.5 * (self._bounds[0] + self._bounds[1])
            p0, p1, p2 = (v[self._triangles[:, k]] for k in range(3))
            self._volume = float(np.einsum("ij,ij->", p0, np.cross(p1, p2)) / 6.0)
        return self._volume

    @property
    def is_closed(self) -> bool:
        """Every edge is shared by exactly two triangles that traverse it in opposite directions
        (closed, manifold and consistently oriented)."""
        if self._closed is None:
            self._closed = checks.Edges.of(self._triangles).closed
        return self._closed

    def region(self, name: str) -> np.ndarray:
        """Sorted int32 indices of the triangles in region ``name``."""
        try:
            return self._regions[name]
        except KeyError:
            available = ", ".join(repr(n) for n in self._region_names)
            raise UnknownRegionError(
                f"mesh has no region {name!r}; available regions: {available}"
            ) from None

    def _region_map(self) -> dict[str, np.ndarray]:
        return dict(self._regions)

    # -- validation -------------------------------------------------------------------------
    def check(self, closed: bool = False) -> None:
        """Raise :class:`MeshError` if the topology is broken or the mesh intersects itself.

        Always checks that no edge is shared by more than two triangles and that the surface
        does not intersect itself (:func:`checks.self_intersection`: closed parts must not cross
        or touch themselves or each other, no faces may overlap). With ``closed=True`` also
        requires every edge to have a neighbour, neighbours to be consistently oriented and the
        normals to point outward (positive volume). A mesh is immutable: a check it passed is not
        repeated.
        """
        if self._checked is not None and self._checked >= closed:
            return
        edges = checks.Edges.of(self._triangles)
        self._closed = edges.closed
        tests = [checks.nonmanifold]
        if closed:
            tests += [checks.boundary, checks.misoriented]
        for test in tests:
            message = test(edges)
            if message:
                raise MeshError(message)
        if closed and self.volume < 0:
            raise MeshError(
                f"normals point inward (volume {self.volume:.6g} µm³ < 0); "
                "flip the winding, e.g. mesh.flipped()"
            )
        if self._crossing is None:
            self._crossing = checks.self_intersection(self._vertices, self._triangles, edges) or ""
        if self._crossing:
            raise MeshError(self._crossing)
        self._checked = closed

    # -- derived meshes ---------------------------------------------------------------------
    def translated(self, offset: Any) -> Mesh:
        """A copy moved by ``offset`` (3-vector of lengths, µm or unit strings)."""
        shift = units.point(offset, "offset")
        return Mesh(self._vertices + shift, self._triangles, self._region_map())

    def scaled(self, factor: float) -> Mesh:
        """A copy with all coordinates multiplied by ``factor`` (a plain number > 0, about the origin)."""
        if isinstance(factor, bool) or not isinstance(factor, (int, float, np.integer, np.floating)):
            raise TypeError(f"scale factor must be a plain number (e.g. 1e-3 turns nm into µm), not {factor!r}; "
                            f"to read a mesh file in another unit use geometry.load(path, unit='nm')")
        f = float(factor)
        if not (np.isfinite(f) and f > 0):
            raise ValueError(f"scale factor must be positive and finite, got {factor!r}")
        return Mesh(self._vertices * f, self._triangles, self._region_map())

    def flipped(self) -> Mesh:
        """A copy with every triangle's winding (and so its normal) reversed."""
        return Mesh(self._vertices, self._triangles[:, [0, 2, 1]], self._region_map())

    # -- protocol ---------------------------------------------------------------------------
    def __reduce__(self):
        return Mesh, (self._vertices, self._triangles, self._region_map())

    def __repr__(self) -> str:
        regions = ", ".join(f"{n!r}: {len(r)}" for n, r in self._regions.items())
        return (
            f"Mesh({len(self._vertices)} vertices, {self.n_triangles} triangles, "
            f"regions={{{regions}}})"
        )


def combine(*meshes: Mesh) -> Mesh:
    """One mesh made of several, keeping their triangles apart (no vertices are merged).

    Regions with the same name are joined, so a region may span parts (e.g. the ``"outer"``
    boundary and the cells inside it of a synapse's extracellular space).
    """
    if not meshes or not all(isinstance(m, Mesh) for m in meshes):
        raise MeshError("combine needs one or more Mesh objects")
    v_off = np.cumsum([0] + [len(m.vertices) for m in meshes])
    t_off = np.cumsum([0] + [m.n_triangles for m in meshes])
    regions: dict[str, list[np.ndarray]] = {}
    for m, o in zip(meshes, t_off):
        for name, idx in m._region_map().items():
            regions.setdefault(name, []).append(idx + o)
    return Mesh(np.concatenate([m.vertices for m in meshes]),
                np.concatenate([m.triangles + o for m, o in zip(meshes, v_off)]),
                {name: np.concatenate(parts) for name, parts in regions.items()})
