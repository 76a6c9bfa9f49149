"""Reading and writing meshes: OBJ is read here (faces in file order, with their object, group
and material names); STL, PLY and whatever else trimesh reads, and all writing, go through trimesh."""
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


def _parts(loaded: Any) -> list[tuple[str | None, np.ndarray, np.ndarray]]:
    """(name, vertices, faces) of every triangle geometry in a trimesh Scene (name None for a
    single Trimesh)."""
    if hasattr(loaded, "graph"):
        placed = (loaded.graph[node] for node in loaded.graph.nodes_geometry)
        nodes = [(t, name, loaded.geometry[name]) for t, name in placed]
    else:
        nodes = [(np.eye(4), None, loaded)]
    parts = []
    for transform, name, geom in nodes:
        if not hasattr(geom, "faces") or not len(geom.faces):
            continue  # paths, point clouds
        faces = np.asarray(geom.faces)
        v = np.asarray(geom.vertices) @ transform[:3, :3].T + transform[:3, 3]
        if np.linalg.det(transform[:3, :3]) < 0:  # a mirror turns the winding inside out
            faces = faces[:, ::-1]
        parts.append((name, v, faces))
    return parts


#: OBJ statements that name the faces after them: object, group, material.
_OBJ_NAMES = ("o", "g", "usemtl")


def _read_obj(path: str) -> tuple[np.ndarray, np.ndarray, list[tuple], np.ndarray]:
    """Vertices, triangles (polygons split into fans, file order), the distinct (object, group,
    material) labels and the label of every triangle, from an OBJ file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read().replace("\\\n", " ")
    verts: list[list[float]] = []
    tris: list[tuple[int, int, int]] = []
    owner: list[int] = []
    current: list[str | None] = [None, None, None]
    labels = {tuple(current): 0}
    label = 0
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "v":
                if len(words) < 4:
                    raise ValueError("a vertex needs three coordinates")
                verts.append([float(w) for w in words[1:4]])
            elif words[0] == "f":
                idx = [int(w.split("/")[0]) for w in words[1:]]
                if len(idx) < 3 or 0 in idx:
                    raise ValueError("a face needs at least three vertex numbers (1 is the first vertex)")
                idx = [i - 1 if i > 0 else len(verts) + i for i in idx]
                if min(idx) < 0:
                    raise ValueError(f"a relative vertex number goes back beyond the {len(verts)} vertices so far")
                tris += [(idx[0], idx[k], idx[k + 1]) for k in range(1, len(idx) - 1)]
                owner += [label] * (len(idx) - 2)
            elif words[0] in _OBJ_NAMES:
                current[_OBJ_NAMES.index(words[0])] = " ".join(words[1:]) or None
                label = labels.setdefault(tuple(current), len(labels))
        except ValueError as exc:
            raise MeshError(f"cannot read mesh file {path!r}, line {number} ({line.strip()!r}): {exc}") from None
    if not tris:
        raise MeshError(f"mesh file {path!r} contains no triangles; is it a surface mesh?")
    tris_a = np.array(tris)
    if tris_a.max() >= len(verts):
        raise MeshError(f"faces in {path!r} use vertex number {tris_a.max() + 1}, but the file has {len(verts)} "
                        f"vertices")
    return np.array(verts, dtype=np.float64).reshape(-1, 3), tris_a, list(labels), np.array(owner)


def _obj_name(label: tuple, named: bool) -> str:
    """Own name of faces labelled (object, group, material): the group, else the object; the
    material when the file names no objects or groups (``named`` false)."""
    obj, group, material = label
    name = (group or obj) if named else material
    return name or DEFAULT_REGION


def _name_regions(labels: list[tuple], own: list[str], owner: np.ndarray,
                  groups: Mapping[str, str] | None, path: str) -> dict[str, np.ndarray]:
    """Region → triangle indices: each triangle's label renamed through ``groups`` (any of its
    names may be a key; keys that match no name, or several keys giving one triangle different
    regions, are errors), else its own name."""
    known = {n for label in labels for n in label if n is not None}
    used = np.unique(owner)
    final = list(own)
    if groups is not None:
        if not isinstance(groups, Mapping) or not all(isinstance(v, str) and v for v in groups.values()):
            raise MeshError("groups must be a dict mapping names in the file to region names (non-empty strings)")
        unknown = sorted(set(groups) - known)
        if unknown:
            listed = ", ".join(repr(n) for n in sorted(known)) or "none"
            raise MeshError(f"groups names {', '.join(map(repr, unknown))} are not in {path!r}; its object, "
                            f"group and material names are: {listed}")
        for i in used:
            targets = {groups[n] for n in labels[i] if n in groups}
            if len(targets) > 1:
                raise MeshError(f"faces named {[n for n in labels[i] if n is not None]} in {path!r} are mapped by "
                                f"groups to several regions {sorted(targets)}; map only one of their names")
            if targets:
                final[i] = targets.pop()
    elif len({final[i] for i in used}) == 1:
        final = [DEFAULT_REGION] * len(final)
    names = np.array(final, dtype=object)[owner]
    return {n: np.flatnonzero(names == n) for n in dict.fromkeys(names)}


def load(
    path: str | os.PathLike,
    unit: str | float = "um",
    regions: Mapping[str, Any] | None = None,
    groups: Mapping[str, str] | None = None,
) -> Mesh:
    """Read a mesh file (OBJ, STL, PLY, ... anything trimesh reads).

    ``unit`` is the length unit of the file's coordinates ("nm", "um", ...) or a number of µm per
    file unit. Duplicate vertices (e.g. STL's separate triangles) are merged; triangles keep their
    order in the file. Regions come from the names in the file: in an OBJ each face is named by
    its group (``g``), else its object (``o``), or by its material (``usemtl``) when the file
    names no groups or objects; in other formats by the scene's geometry names. A file with a
    single name gives the one region "surface".

    ``groups`` renames: it maps names in the file (object, group or material names) to region
    names; several names may map to one region, and names not listed keep their own, e.g.
    ``groups={"PSD_mat": "psd", "spine_head": "post", "spine_neck": "post"}``. ``regions``
    (name → triangle indices in file order) replaces the file's names instead.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"mesh file not found: {path!r}")
    if regions is not None and groups is not None:
        raise MeshError("give regions= (triangle indices) or groups= (names in the file), not both")
    factor = _scale(unit)
    if path.lower().endswith(".obj"):
        vertices, triangles, labels, owner = _read_obj(path)
        named = any(o is not None or g is not None for o, g, _ in labels)
        own = [_obj_name(label, named) for label in labels]
    else:
        import trimesh

        try:
            parts = _parts(trimesh.load(path, process=False))
        except Exception as exc:  # trimesh raises many kinds of errors for bad files
            raise MeshError(f"cannot read mesh file {path!r}: {exc}") from exc
        if not parts:
            raise MeshError(f"mesh file {path!r} contains no triangles; is it a surface mesh?")
        offsets = np.cumsum([0] + [len(v) for _, v, _ in parts])
        vertices = np.concatenate([v for _, v, _ in parts])
        triangles = np.concatenate([f + o for (_, _, f), o in zip(parts, offsets)])
        labels = [(name,) for name, _, _ in parts]
        own = [name or DEFAULT_REGION for name, _, _ in parts]
        owner = np.repeat(np.arange(len(parts)), [len(f) for _, _, f in parts])
    if regions is None:
        regions = _name_regions(labels, own, owner, groups, path)
    vertices, triangles = _weld(vertices * factor, triangles)
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
