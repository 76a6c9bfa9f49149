"""Reading and writing meshes (OBJ, STL, PLY and whatever else trimesh reads) through trimesh."""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import units
from .mesh import DEFAULT_REGION, Mesh, MeshError

#: Vertices closer than this times the bounding-box diagonal are merged on load.
MERGE_TOLERANCE = 1e-6
#: File types :func:`save` writes.
SAVE_TYPES = ("obj", "stl", "ply")


def _scale(unit: str | float) -> float:
    """µm per file unit: ``"nm"`` → 1e-3; a number is taken as the factor itself."""
    if isinstance(unit, str):
        factor = units.length(f"1 {unit}", name="unit")
    else:
        factor = float(unit)
    if not (math.isfinite(factor) and factor > 0):
        raise ValueError(f"unit must be a length unit such as 'nm' or a number > 0, not {unit!r}")
    return factor


def _weld(vertices: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices closer than MERGE_TOLERANCE × diagonal and drop unused ones.

    Triangle order is kept; vertices keep the order of their first use.
    """
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    used, triangles = np.unique(triangles, return_inverse=True)
    vertices, triangles = vertices[used], triangles.reshape(-1, 3)
    tol = MERGE_TOLERANCE * float(np.linalg.norm(np.ptp(vertices, axis=0)))
    pairs = cKDTree(vertices).query_pairs(tol, output_type="ndarray")
    n = len(vertices)
    graph = coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    label = label[triangles.ravel()]  # component of every corner, in order of use
    _, first, inverse = np.unique(label, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    keep = triangles.ravel()[np.sort(first)]
    return vertices[keep], rank[inverse].reshape(-1, 3)


def _parts(loaded: Any) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, vertices, faces) of every triangle geometry in a trimesh Trimesh or Scene."""
    if hasattr(loaded, "graph"):
        placed = (loaded.graph[node] for node in loaded.graph.nodes_geometry)
        nodes = [(t, name, loaded.geometry[name]) for t, name in placed]
    else:
        nodes = [(np.eye(4), DEFAULT_REGION, loaded)]
    parts = []
    for transform, name, geom in nodes:
        if not hasattr(geom, "faces") or not len(geom.faces):
            continue  # paths, point clouds
        faces = np.asarray(geom.faces)
        v = np.asarray(geom.vertices) @ transform[:3, :3].T + transform[:3, 3]
        if np.linalg.det(transform[:3, :3]) < 0:  # a mirror turns the winding inside out
            faces = faces[:, ::-1]
        parts.append((name, v, faces))
    if len(parts) == 1:
        parts = [(DEFAULT_REGION, *parts[0][1:])]
    return parts


def load(
    path: str | os.PathLike,
    unit: str | float = "um",
    regions: Mapping[str, Any] | None = None,
) -> Mesh:
    """Read a mesh file (OBJ, STL, PLY, ... anything trimesh reads).

    ``unit`` is the length unit of the file's coordinates ("nm", "um", ...) or a number of µm per
    file unit. Duplicate vertices (e.g. STL's separate triangles) are merged. A file with several
    objects gives one region per object, named after it; otherwise the region is "surface".
    ``regions`` (name → triangle indices in file order) replaces the file's object names.
    """
    import trimesh

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"mesh file not found: {path!r}")
    factor = _scale(unit)
    split = regions is None
    try:
        loaded = trimesh.load(
            path, process=False, split_objects=split, split_groups=split, group_material=False
        )
        parts = _parts(loaded)
    except Exception as exc:  # trimesh raises many kinds of errors for bad files
        raise MeshError(f"cannot read mesh file {path!r}: {exc}") from exc
    if not parts:
        raise MeshError(f"mesh file {path!r} contains no triangles; is it a surface mesh?")

    offsets = np.cumsum([0] + [len(v) for _, v, _ in parts])
    vertices = np.concatenate([v for _, v, _ in parts]) * factor
    triangles = np.concatenate([f + o for (_, _, f), o in zip(parts, offsets)])
    if regions is None:
        sizes = np.cumsum([0] + [len(f) for _, _, f in parts])
        found: dict[str, list[np.ndarray]] = {}
        for (name, _, _), lo, hi in zip(parts, sizes[:-1], sizes[1:]):
            found.setdefault(name, []).append(np.arange(lo, hi))
        regions = {name: np.concatenate(idx) for name, idx in found.items()}
    vertices, triangles = _weld(vertices, triangles)
    try:
        return Mesh(vertices, triangles, regions)
    except MeshError as exc:
        raise MeshError(f"{path!r}: {exc}") from None


def save(mesh: Mesh, path: str | os.PathLike, unit: str | float = "um") -> None:
    """Write ``mesh`` to ``path`` as OBJ, STL or PLY (by extension), coordinates in ``unit``.

    OBJ keeps region names (one object per region, read back by :func:`load`) when there are
    several; STL and PLY store the triangles only.
    """
    import trimesh

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in SAVE_TYPES:
        raise ValueError(f"cannot save {path!r}: use one of the extensions {', '.join(SAVE_TYPES)}")
    vertices = mesh.vertices / _scale(unit)
    extent = float(np.abs(vertices).max())
    options = {}
    if ext == "obj":  # OBJ stores fixed-point decimals: keep ~16 significant digits
        options["digits"] = max(8, 15 - math.floor(math.log10(extent)))

    def part(tris: np.ndarray) -> trimesh.Trimesh:
        return trimesh.Trimesh(vertices, tris, process=False, validate=False)

    if ext == "obj" and len(mesh.region_names) > 1:
        out = trimesh.Scene()
        for name in mesh.region_names:
            piece = part(mesh.triangles[mesh.region(name)])
            piece.remove_unreferenced_vertices()
            out.add_geometry(piece, geom_name=name)
    else:
        out = part(mesh.triangles)
    out.export(path, file_type=ext, **options)
