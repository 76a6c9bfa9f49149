"""Reading and writing meshes: OBJ is read here (faces in file order, with their object, group
and material names); STL, PLY, OFF and glTF, and all writing, go through trimesh.

The format of a file is its extension or load()'s ``format=``, never guessed from the content;
the first bytes are looked at only to explain a failure ("its content looks like OBJ").
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import units
from .mesh import DEFAULT_REGION, Mesh, MeshError
from .primitives import check_size

#: Vertices closer than this times the bounding-box diagonal are merged on load.
MERGE_TOLERANCE = 1e-6
#: File types :func:`load` reads (surface meshes only: trimesh's point clouds and 2-D drawings
#: have no triangles).
LOAD_TYPES = ("obj", "stl", "ply", "off", "glb", "gltf")
#: File types :func:`save` writes.
SAVE_TYPES = ("obj", "stl", "ply")
#: Bytes read from the start of a file to check its header and name what it looks like.
_HEAD = 1 << 16
#: What to do about a mesh file with too many triangles.
_FEWER = "simplify the mesh to fewer triangles (e.g. quadric decimation in MeshLab or Blender)"
#: Largest coordinate (µm) of a vertex read: cleftsim's geometry is at most 1 m across.
MAX_COORDINATE = units.PLAUSIBLE["length"][1]


def _scale(unit: Any) -> float:
    """µm per file unit: ``"nm"`` → 1e-3, ``"2 nm"`` → 2e-3; a number is taken as the factor itself."""
    factor = units.length(unit, name="unit")
    if not factor > 0:
        raise ValueError(f"unit must be a length unit such as 'nm' or a number of µm > 0, not {unit!r}")
    return factor


# -- which file, which format -----------------------------------------------------------------
def _mesh_file(path: Any) -> str:
    """``path`` as a str, checked to name a non-empty file."""
    try:
        path = os.fsdecode(path)
    except TypeError:
        raise TypeError(f"path must be a file name (str or pathlib.Path), got {path!r}") from None
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a folder, not a mesh file; give the path of a file in it"
                                f"{_listing(path)}")
    if not os.path.isfile(path):
        where = "" if os.path.isabs(path) else f" (looked for in the current folder {os.getcwd()!r})"
        raise FileNotFoundError(f"mesh file not found: {path!r}{where}")
    if os.path.getsize(path) == 0:
        raise MeshError(f"mesh file {path!r} is empty (0 bytes)")
    return path


def _listing(folder: str) -> str:
    """', e.g. 'a.obj', 'b.stl'' for the first mesh files in ``folder`` (or '')."""
    found = sorted(f for f in os.listdir(folder) if os.path.splitext(f)[1].lower().lstrip(".") in LOAD_TYPES)
    return ", e.g. " + ", ".join(repr(os.path.join(folder, f)) for f in found[:3]) if found else ""


def _format(path: str, format: Any, head: bytes) -> str:
    """The file type to read: ``format`` if given, else the extension of ``path``."""
    if format is not None:
        if not isinstance(format, str):
            raise TypeError(f"format must be a string such as 'obj', got {format!r}")
        fmt = format.lower().lstrip(".")
        if fmt not in LOAD_TYPES:
            raise ValueError(f"format={format!r} is not one load reads; use one of {', '.join(LOAD_TYPES)}")
        return fmt
    ext = os.path.splitext(path)[1]
    if ext.lower().lstrip(".") in LOAD_TYPES:
        return ext.lower().lstrip(".")
    told = f"extension {ext!r}" if ext else "name (it has no extension)"
    raise MeshError(f"cannot tell the format of mesh file {path!r} from its {told}; load reads "
                    f"{', '.join(LOAD_TYPES)}"
                    + (_looks_like(path, head, None) or ": pass one as format=, or rename the file"))


#: Words that begin the lines of an OBJ file.
_OBJ_WORDS = {b"v", b"vt", b"vn", b"vp", b"f", b"l", b"o", b"g", b"s", b"usemtl", b"mtllib"}


def _binary_stl(path: str, head: bytes) -> int | None:
    """Triangle count of a binary STL (80-byte header, count, 50 bytes per triangle), None if the
    file's size does not fit one."""
    count = int.from_bytes(head[80:84], "little")
    return count if len(head) >= 84 and os.path.getsize(path) == 84 + 50 * count else None


def _sniff(path: str, head: bytes) -> str | None:
    """The format the start of a file looks like ("obj", "stl", ...), or None."""
    if _binary_stl(path, head) is not None:
        return "stl"
    text = head.lstrip()
    for magic, fmt in ((b"ply", "ply"), (b"glTF", "glb"), (b"OFF", "off"), (b"solid", "stl"), (b"{", "gltf")):
        if text.startswith(magic):
            return fmt
    if _binary_at(head) is None:
        for line in text.splitlines():
            word = line.split(maxsplit=1)[:1]
            if word and not word[0].startswith(b"#"):
                return "obj" if word[0] in _OBJ_WORDS else None
    return None


def _looks_like(path: str, head: bytes, fmt: str | None) -> str:
    """'; its content looks like OBJ: pass format='obj'' when it looks like a format but not
    ``fmt``, else ''."""
    seen = _sniff(path, head)
    return f"; its content looks like {seen.upper()}: pass format={seen!r}" if seen and seen != fmt else ""


def _binary_at(head: bytes) -> int | None:
    """Offset of the first control character other than whitespace (binary data), or None."""
    found = re.search(rb"[\x00-\x08\x0e-\x1f\x7f]", head)
    return found.start() if found else None


# -- reading ----------------------------------------------------------------------------------
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


def _too_far(coordinate: float, factor: float) -> str:
    """Why a vertex with a ``coordinate`` (µm) beyond MAX_COORDINATE is refused, and the fix
    (``factor``: µm per file unit)."""
    return (f"has a coordinate of {coordinate:.4g} µm ({factor:g} µm per file unit), but cleftsim's geometry is "
            f"at most 1 m ({MAX_COORDINATE:g} µm) across; fix the coordinate, or give the unit the file is "
            f"written in, e.g. load(path, unit='nm')")


def _read_obj(path: str, head: bytes, factor: float) -> tuple[np.ndarray, np.ndarray, list[tuple], np.ndarray]:
    """Vertices, triangles (polygons split into fans, file order), the distinct (object, group,
    material) labels and the label of every triangle, from an OBJ file whose unit is ``factor``
    µm (for the check of the coordinates)."""
    at = _binary_at(head)
    if at is not None:
        raise MeshError(f"mesh file {path!r} is not an OBJ text file: it has binary data (byte {head[at]:#04x} "
                        f"at offset {at}){_looks_like(path, head, 'obj')}")
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
                xyz = [float(w) for w in words[1:4]]
                if not all(map(math.isfinite, xyz)):
                    raise ValueError(f"vertex {len(verts) + 1} is not a finite point; replace its NaN/inf "
                                     f"coordinates")
                far = max(map(abs, xyz)) * factor
                if far > MAX_COORDINATE:
                    raise ValueError(f"vertex {len(verts) + 1} {_too_far(far, factor)}")
                verts.append(xyz)
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
        raise MeshError(f"mesh file {path!r} contains no triangles; is it a surface mesh?"
                        f"{_looks_like(path, head, 'obj')}")
    tris_a = np.array(tris)
    if tris_a.max() >= len(verts):
        raise MeshError(f"faces in {path!r} use vertex number {tris_a.max() + 1}, but the file has {len(verts)} "
                        f"vertices")
    return np.array(verts, dtype=np.float64).reshape(-1, 3), tris_a, list(labels), np.array(owner)


def _promised(path: str, fmt: str, head: bytes) -> int | None:
    """Triangle count a binary STL or a PLY header announces (None where the format or an ASCII
    STL does not say); MeshError if the file lacks the format's header."""
    if fmt == "stl":
        count = _binary_stl(path, head)
        if count is not None or head.lstrip().startswith(b"solid"):
            return count
        raise MeshError(f"mesh file {path!r} has no triangles that can be read: it is neither a binary STL "
                        f"(its size, {os.path.getsize(path)} bytes, is not 84 + 50 × the triangle count in its "
                        f"header) nor an ASCII STL (which starts with 'solid'){_looks_like(path, head, fmt)}")
    if fmt == "ply":
        if not re.match(rb"ply\r?\n", head):
            raise MeshError(f"mesh file {path!r} is not a PLY file: it does not start with the line 'ply'"
                            f"{_looks_like(path, head, fmt)}")
        if b"end_header" not in head:
            raise MeshError(f"mesh file {path!r} is not a complete PLY file: its header has no 'end_header' line "
                            f"(the file is cut short, or its header is not PLY's)")
        faces = re.search(rb"^element\s+face\s+(\d+)", head.split(b"end_header")[0], re.M)
        return int(faces[1]) if faces else None
    return None


def _read_other(path: str, fmt: str, head: bytes) -> list[tuple[str | None, np.ndarray, np.ndarray]]:
    """The parts of a file that trimesh reads (see :func:`_parts`), after its header is checked
    and its triangle count is known to fit in memory."""
    import trimesh

    count = _promised(path, fmt, head)
    if count:
        check_size(count, f"mesh file {path!r}", _FEWER)
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # huge values become inf: refused by name later
            parts = _parts(trimesh.load(path, file_type=fmt, process=False))
    except Exception as exc:  # trimesh raises many kinds of errors for bad files
        raise MeshError(f"cannot read mesh file {path!r} as {fmt.upper()}: {exc}"
                        f"{_looks_like(path, head, fmt)}") from exc
    if not parts:
        raise MeshError(f"mesh file {path!r} contains no triangles; is it a surface mesh?"
                        f"{_looks_like(path, head, fmt)}")
    return parts


def _check_vertices(path: str, vertices: np.ndarray, triangles: np.ndarray, factor: float) -> None:
    """MeshError naming the first vertex with a NaN or infinite coordinate, or one beyond
    MAX_COORDINATE µm (``factor``: µm per file unit), and a triangle using it."""
    far = np.abs(vertices).max(axis=1) * factor
    bad = np.flatnonzero(~(far <= MAX_COORDINATE))                     # NaN too
    if len(bad):
        i = int(bad[0])
        used = np.flatnonzero((triangles == i).any(axis=1))
        corner = f" (a corner of triangle {used[0]}, counting from 0 in file order)" if len(used) else ""
        problem = (f"not a finite point{corner}; fix its coordinates in the file" if not np.isfinite(far[i])
                   else f"too far out{corner}: it {_too_far(far[i], factor)}")
        raise MeshError(f"mesh file {path!r}: vertex {i} is {tuple(vertices[i].tolist())}, {problem}")


def _obj_name(label: tuple, named: bool) -> str:
    """Own name of faces labelled (object, group, material): the group, else the object; the
    material when the file names no objects or groups (``named`` false)."""
    obj, group, material = label
    name = (group or obj) if named else material
    return name or DEFAULT_REGION


def _check_groups(groups: Any) -> None:
    """MeshError unless ``groups`` maps strings to non-empty strings, naming the first bad entry."""
    if not isinstance(groups, Mapping):
        raise MeshError(f"groups must be a dict mapping names in the file to region names, got {groups!r}")
    for key, value in groups.items():
        if not (isinstance(key, str) and isinstance(value, str) and value):
            raise MeshError(f"groups must map names in the file (strings) to region names (non-empty "
                            f"strings); the entry {key!r}: {value!r} does not")


def _name_regions(labels: list[tuple], own: list[str], owner: np.ndarray,
                  groups: Mapping[str, str] | None, path: str) -> dict[str, np.ndarray]:
    """Region → triangle indices: each triangle's label renamed through ``groups`` (any of its
    names may be a key; keys that match no name, or several keys giving one triangle different
    regions, are errors), else its own name."""
    known = {n for label in labels for n in label if n is not None}
    used = np.unique(owner)
    final = list(own)
    if groups is not None:
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
    format: str | None = None,
) -> Mesh:
    """Read a surface mesh file: OBJ, STL, PLY, OFF, glTF (GLB or GLTF).

    The format is ``format`` ("obj", "stl", ..., see :data:`LOAD_TYPES`) if given, else the
    file's extension (any case). It is never guessed from the content: a file with another
    extension or none (e.g. OBJ text saved as ``mesh.xyz``) is refused with a message listing the
    formats and, when its content looks like one of them, the ``format=`` to pass. A file that
    does not match its format (binary data in an OBJ, an STL without a valid header), an empty
    file, a folder, a NaN/inf vertex and a vertex beyond 1 m (:data:`MAX_COORDINATE` µm, in
    ``unit``) are refused naming the file (and the line for OBJ). A
    binary STL or PLY whose header counts more triangles than fit in memory once simulated is
    refused before reading (see :func:`~cleftsim.geometry.primitives.check_size`).

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
    path = _mesh_file(path)
    with open(path, "rb") as f:
        head = f.read(_HEAD)
    fmt = _format(path, format, head)
    if regions is not None and groups is not None:
        raise MeshError("give regions= (triangle indices) or groups= (names in the file), not both")
    if groups is not None:
        _check_groups(groups)
    factor = _scale(unit)
    if fmt == "obj":
        vertices, triangles, labels, owner = _read_obj(path, head, factor)
        named = any(o is not None or g is not None for o, g, _ in labels)
        own = [_obj_name(label, named) for label in labels]
    else:
        parts = _read_other(path, fmt, head)
        offsets = np.cumsum([0] + [len(v) for _, v, _ in parts])
        vertices = np.concatenate([v for _, v, _ in parts])
        triangles = np.concatenate([f + o for (_, _, f), o in zip(parts, offsets)])
        labels = [(name,) for name, _, _ in parts]
        own = [name or DEFAULT_REGION for name, _, _ in parts]
        owner = np.repeat(np.arange(len(parts)), [len(f) for _, _, f in parts])
        _check_vertices(path, vertices, triangles, factor)
    if regions is None:
        regions = _name_regions(labels, own, owner, groups, path)
    vertices, triangles = _weld(vertices * factor, triangles)
    try:
        return Mesh(vertices, triangles, regions)
    except MeshError as exc:
        raise MeshError(f"{path!r}: {exc}") from None


def _check_folder(path: str) -> None:
    """FileNotFoundError (NotADirectoryError) unless the folder ``path`` is to be written in exists."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(f"cannot save {path!r}: {folder!r} is a file, not a folder")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save {path!r}: the folder {folder!r} does not exist; create it first "
                                f"(os.makedirs) or save elsewhere")


def save(mesh: Mesh, path: str | os.PathLike, unit: str | float = "um") -> None:
    """Write ``mesh`` to ``path`` as OBJ, STL or PLY (by extension), coordinates in ``unit``, into
    a folder that exists.

    OBJ keeps region names (one object per region, read back by :func:`load`) when there are
    several; STL and PLY store the triangles only.
    """
    import trimesh

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in SAVE_TYPES:
        raise ValueError(f"cannot save {path!r}: use one of the extensions {', '.join(SAVE_TYPES)}")
    _check_folder(path)
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
