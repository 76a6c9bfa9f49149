"""Compile a model's geometry into the arrays the Cython kernels trust.

Layout of :class:`cleftsim._core.scene.Scene` (all C-contiguous):

- ``planes`` (P, 4): unit normal and offset (n·x = offset) of each distinct plane; triangles of one
  object that are coplanar with the same orientation share a plane.
- ``tri`` (T, 13): v0, e1 = v1 - v0, e2 = v2 - v0, e1·e1, e1·e2, e2·e2, 1/(e1·e1 e2·e2 - (e1·e2)²).
- ``tri_plane``, ``tri_region`` (global region id), ``tri_object`` (T,) int32.
- Uniform grid over the geometry's bounding box, stored in bricks of BRICK³ cells (cell (a, b, c)
  at slot ``((brick number) · BRICK + a % BRICK) · BRICK² + (b % BRICK) · BRICK + c % BRICK``, the
  bricks in C order), so that cells near each other in space are near in memory:
  ``cell_start`` (slots + 1, uint32) indexes groups, bit k of ``cell_bits`` (little-endian bit
  order) tells whether slot k has any. A group is one plane's triangles inside one cell, one
  record of ``groups`` (GROUP: the plane, where its triangles start in ``group_tris`` and how
  many, the first of them, and whether it is full: its triangles cover the cell's whole section
  of the plane).
- ``slab_*``: the slab map (Scene.slab_cell), cells of a grid up to SLAB_REFINE times finer than
  the tracing grid that hold exactly two full, parallel, axis-aligned planes. It is sparse: only
  the tracing cells that hold slab cells are refined; ``slab_block`` (C,) gives each tracing
  cell's block (-1: none) of entries, one per fine cell, in ``slab_axis`` (-1: not a slab cell),
  ``slab_bounds``, ``slab_region``, ``slab_sign`` and ``slab_safe``.
- ``near_*``: an absorber grid (same origin, cells about the Brownian-bridge search radius wide):
  ``near_min`` (N,), the distance from each cell's centre to the nearest absorbing triangle
  (inf beyond the radius), and for each cell (CSR ``near_start``, ``near_tris``, ``near_dc``) the
  absorbing triangles that can be the nearest to one of its points, sorted by their distance
  from the cell centre; a cell that would need more than NEAR_LIST has none and searches
  ``tree_*`` (``tree_box``, ``tree_child``; per entry ``tree_rec``, ``tree_tris``,
  ``tree_region``), a bounding-volume hierarchy over the absorbing triangles (cleftsim._core.tree),
  which keeps its own copy of their records and planes, leaf after leaf.
- ``rules`` (R, S) int8: 0 reflect, 1 absorb, 2 transparent; +4 when surface molecules there may react.
"""
from __future__ import annotations

import numpy as np

from cleftsim._core import scene as _scene
from cleftsim.geometry.shapes import Periodic
from cleftsim.model.rules import ABSORB, RULE_MASK

#: Largest number of tracing-grid cells (8 bytes each at most: ``cell_start`` and ``slab_block``).
MAX_CELLS = 2**25
#: Largest number of absorber-grid cells (16 bytes each, and a nearest-absorber search each to build).
NEAR_MAX_CELLS = 4_000_000
#: Grid cell edge as a multiple of the median triangle edge (measured best on the disc cleft).
CELL_PER_EDGE = 0.75
#: At most this many grid cells per triangle: fine meshes in a large space (a synapse in its
#: extracellular space) would otherwise spend seconds and tens of MB on empty cells.
CELLS_PER_TRIANGLE = 8
#: Absorber-grid cells per Brownian-bridge search radius (finer: tighter bounds, longer lists).
NEAR_CELLS_PER_RADIUS = 4
#: Longest list of an absorber-grid cell; a cell that would need more searches the absorbers' tree.
NEAR_LIST = 48
#: Most triangles in a leaf of the absorbers' tree.
TREE_LEAF = 4
#: The slab map (see Scene.slab_move) uses cells this many times finer than the tracing grid.
SLAB_REFINE = 4
#: The tracing grid is stored in bricks of BRICK³ cells.
BRICK = 4
#: A group as the Scene reads it (scene.pxd, struct Group).
GROUP = np.dtype([("plane", np.float64, 4), ("start", np.int32), ("count", np.int32), ("first", np.int32),
                  ("full", np.int32)])
#: Directions for point-in-object rays (fixed, generic: no axis alignment).
_DIRECTIONS = np.random.default_rng(20261121).normal(size=(8, 3))
_DIRECTIONS /= np.linalg.norm(_DIRECTIONS, axis=1)[:, None]
_DIRECTIONS = np.ascontiguousarray(_DIRECTIONS)


def _planes(normals: np.ndarray, offsets: np.ndarray, objects: np.ndarray, scale: float):
    """Group coplanar, equally oriented triangles of the same object (to 1e-12 relative).

    Planes are numbered in the lexicographic order of (object, rounded normal, rounded offset)
    and take the normal and offset of their first triangle."""
    q = 1e12
    keys = (objects.astype(np.int64), *np.round(normals.T * q).astype(np.int64),
            np.round(offsets / scale * q).astype(np.int64))
    order = np.lexsort(keys[::-1])
    new = np.zeros(len(order), dtype=bool)
    new[0] = True
    for k in keys:
        ks = k[order]
        new[1:] |= ks[1:] != ks[:-1]
    first = order[new]
    tri_plane = np.empty(len(order), dtype=np.int32)
    tri_plane[order] = np.cumsum(new) - 1
    return np.ascontiguousarray(np.column_stack([normals[first], offsets[first]])), tri_plane


def _grid(vertices: np.ndarray, tv: np.ndarray, cell: float | None, pad: float):
    lo = vertices.min(axis=0) - pad
    hi = vertices.max(axis=0) + pad
    ext = hi - lo
    if cell is None:
        edges = np.linalg.norm(tv - np.roll(tv, 1, axis=1), axis=2)
        cell = CELL_PER_EDGE * float(np.median(edges))
        cell = max(cell, float(np.prod(ext) / min(MAX_CELLS, CELLS_PER_TRIANGLE * len(tv))) ** (1 / 3))
    cell_size, n = _cells(ext, cell, MAX_CELLS)
    return lo, cell_size, n


def _cells(extent: np.ndarray, cell: float, most: int):
    """Cells of about ``cell`` over ``extent`` (µm), at most ``most`` of them: (cell sizes, counts)."""
    n = np.maximum(1, np.round(extent / cell)).astype(np.int32)
    while int(np.prod(n.astype(np.int64))) > most:
        n = np.maximum(1, n // 2).astype(np.int32)
    return np.ascontiguousarray(extent / n), n


def _starts(keys: np.ndarray, n: int) -> np.ndarray:
    """CSR offsets (n + 1) of sorted keys in 0..n-1: entries of key k are [start[k], start[k+1])."""
    return np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n))]).astype(np.int64)


def _groups(tv, planes, tri_plane, tri_region, lo, cell_size, ncell, space_eps, subset=None, cells_kept=None,
            slots=None) -> dict:
    """The plane groups of a grid (see the module docstring): ``group_cell`` (flat C-order cell
    index of each group) and ``group_coef``, ``group_start``, ``group_tris``, ``group_full``, in
    the order of the cells' storage ``slots`` ((C,) array: the Scene's slot of each cell; C order
    if None), a cell's groups by plane.

    ``subset``: only these triangles; ``cells_kept``: a test of flat cell indices, only the
    cells it passes (the slab map builds the groups of a few cells of a finer grid).
    """
    tv = np.ascontiguousarray(tv if subset is None else tv[subset])
    sub_plane = np.ascontiguousarray(tri_plane if subset is None else tri_plane[subset])
    cell_size = np.ascontiguousarray(cell_size, dtype=np.float64)
    ncell = np.ascontiguousarray(ncell, dtype=np.int32)
    cells, tris = _scene.cell_pairs(tv, lo, cell_size, ncell, planes, sub_plane, 10 * space_eps)
    if cells_kept is not None:
        keep = cells_kept(cells)
        cells, tris = cells[keep], tris[keep]
    # Drop pairs where only the bounding boxes overlap; inside each group put the triangles
    # with the most area in the cell first, so the barycentric search usually ends early.
    area, padded_area = _scene.pair_areas(tv, cells, tris, lo, cell_size, ncell, 10 * space_eps)
    keep = padded_area > 0.0
    cells, tris, area = cells[keep], tris[keep], area[keep]
    if subset is not None:
        tris = subset[tris].astype(np.int32)
    key = cells if slots is None else slots[cells]
    n_keys = int(np.prod(ncell.astype(np.int64))) if slots is None else int(slots.max()) + 1
    order = _scene.pair_order(np.ascontiguousarray(key, dtype=np.int64), n_keys,
                              np.ascontiguousarray(tri_plane[tris]), np.ascontiguousarray(area))
    cells, tris, area = cells[order], tris[order], area[order]
    pl = tri_plane[tris]
    new_group = np.ones(len(cells), dtype=bool)
    new_group[1:] = (cells[1:] != cells[:-1]) | (pl[1:] != pl[:-1])
    starts = np.flatnonzero(new_group)
    group_plane = np.ascontiguousarray(pl[starts], dtype=np.int32)
    group_cell = np.ascontiguousarray(cells[starts])
    group_start = np.append(starts, len(cells)).astype(np.int64)
    group_tris = np.ascontiguousarray(tris, dtype=np.int32)
    group_full = _scene.full_groups(tri_region, planes, group_plane, group_cell,
                                    group_start, group_tris, area, lo, cell_size, ncell, 1e-9)
    return {
        "group_cell": group_cell,
        "group_coef": np.ascontiguousarray(planes[group_plane]),
        "group_start": group_start,
        "group_tris": group_tris,
        "group_full": group_full,
    }


def _brick_slots(ncell: np.ndarray) -> int:
    """Storage slots of a tracing grid of ``ncell`` cells: whole bricks of BRICK³ cells."""
    return int(np.prod(-(-ncell.astype(np.int64) // BRICK))) * BRICK**3


def _brick_slots_of(ncell: np.ndarray) -> tuple:
    """Per axis, each cell index's part of its storage slot (the Scene adds the three): cell
    (a, b, c) is stored at ((brick number) · BRICK + a % BRICK) · BRICK² + (b % BRICK) · BRICK
    + c % BRICK, the bricks numbered in C order."""
    nb = -(-ncell.astype(np.int64) // BRICK)
    brick_stride = (nb[1] * nb[2], nb[2], 1)
    inner_stride = (BRICK**2, BRICK, 1)
    return tuple(np.ascontiguousarray((i // BRICK) * brick_stride[k] * BRICK**3 + (i % BRICK) * inner_stride[k],
                                      dtype=np.int32)
                 for k, i in enumerate(np.arange(n) for n in ncell))


def _brick_index(cells: np.ndarray, ncell: np.ndarray) -> np.ndarray:
    """Storage slots of the tracing-grid cells (flat C-order indices)."""
    idx = np.unravel_index(cells, tuple(ncell))
    return sum(part[i].astype(np.int64) for part, i in zip(_brick_slots_of(ncell), idx))


def _stored(g: dict, ncell: np.ndarray) -> dict:
    """The tracing grid's arrays from its groups ``g`` (from :func:`_groups`, ordered by slot):
    ``cell_start`` over the slots, ``cell_bits`` and the groups' arrays."""
    cell_start = _starts(_brick_index(g["group_cell"], ncell), _brick_slots(ncell))
    if cell_start[-1] >= 2**32 or len(g["group_tris"]) >= 2**31:
        raise ValueError(f"{cell_start[-1]} plane groups of {len(g['group_tris'])} triangles in the grid, more "
                         "than its 32-bit indices reach")
    cell_start = cell_start.astype(np.uint32)
    return {
        "grid_slots": _brick_slots_of(ncell),
        "cell_start": cell_start,
        "cell_bits": np.packbits(np.diff(cell_start) > 0, bitorder="little"),
        "groups": _group_records(g),
        "group_tris": g["group_tris"],
    }



def _group_records(g: dict) -> np.ndarray:
    """The groups ``g`` (from :func:`_groups`) as one record each (GROUP: plane, where its triangles
    start in group_tris and how many, the first of them, whether it is full)."""
    n = len(g["group_coef"])
    out = np.zeros(max(n, 1), dtype=GROUP)
    out["plane"][:n] = g["group_coef"]
    out["start"][:n] = g["group_start"][:-1]
    out["count"][:n] = np.diff(g["group_start"])
    out["first"][:n] = g["group_tris"][g["group_start"][:-1]]
    out["full"][:n] = g["group_full"][:n]
    return out


def _two_planes(g: dict, space_eps: float) -> tuple:
    """The cells of a grid (groups ``g`` from :func:`_groups`) that hold exactly two full,
    parallel, axis-aligned planes more than 1e3 space_eps apart: (cells, axis, coordinates x0
    and x1 of the first and second group's plane on that axis, first group, second group)."""
    gc, full, coef = g["group_cell"], g["group_full"], g["group_coef"]
    first = np.flatnonzero(np.r_[True, gc[1:] != gc[:-1]]) if len(gc) else np.zeros(0, np.int64)
    g0 = first[np.diff(np.r_[first, len(gc)]) == 2]
    g1 = g0 + 1
    ok = (full[g0] == 1) & (full[g1] == 1)
    ax0 = np.argmax(np.abs(coef[g0, :3]), axis=1)
    ax1 = np.argmax(np.abs(coef[g1, :3]), axis=1)
    aligned = lambda g, ax: np.abs(np.abs(coef[g, ax]) - 1.0) < 1e-12
    ok &= (ax0 == ax1) & aligned(g0, ax0) & aligned(g1, ax1)
    x0 = coef[g0, 3] / coef[g0, ax0]
    x1 = coef[g1, 3] / coef[g1, ax1]
    ok &= np.abs(x0 - x1) > 1e3 * space_eps
    return tuple(v[ok] for v in (gc[g0], ax0, x0, x1, g0, g1))


def _slab_candidates(g: dict, n_cells: int) -> np.ndarray:
    """(C,) bool: the cells of the tracing grid (groups ``g``) that hold two or more
    axis-aligned planes across one axis; only their parts can be slab cells."""
    coef = g["group_coef"]
    ax = np.argmax(np.abs(coef[:, :3]), axis=1)
    aligned = np.abs(np.abs(coef[np.arange(len(coef)), ax]) - 1.0) < 1e-12
    keys, count = np.unique(g["group_cell"][aligned] * 3 + ax[aligned], return_counts=True)
    out = np.zeros(n_cells, dtype=bool)
    out[keys[count >= 2] // 3] = True
    return out


def _slabs(g: dict, tri_region: np.ndarray, ncell: np.ndarray, lo: np.ndarray, cell: np.ndarray,
           space_eps: float):
    """Slab cells for Scene.slab_cell, of a grid whose groups are ``g``: cells that hold
    exactly two full, parallel, axis-aligned planes. For each, the safe box: the largest block
    of cells centred on it (in the two other axes) whose cells are all slab cells of the same
    two planes; a step that ends inside it can only meet those planes. Returns the slab cells
    (flat indices, ascending) and, per cell, axis, bounds, region, sign and safe box."""
    from scipy import ndimage

    cells, axis, x0, x1, g0, g1 = _two_planes(g, space_eps)
    bounds = np.column_stack([np.minimum(x0, x1), np.maximum(x0, x1), 1.0 / np.abs(x1 - x0)])
    swap = x1 < x0                            # order the two planes by coordinate: a < b
    ga, gb = np.where(swap, g1, g0), np.where(swap, g0, g1)
    coef = g["group_coef"]
    region = tri_region[g["group_tris"][g["group_start"][np.column_stack([ga, gb])]]].reshape(-1, 2)
    sign = np.sign(np.column_stack([coef[ga, axis], coef[gb, axis]])).astype(np.int8).reshape(-1, 2)
    # label slab cells by their plane pair; chessboard distance to the nearest other cell
    _, label = np.unique(np.column_stack([axis, bounds[:, :2], region]), axis=0, return_inverse=True)
    label = label.reshape(-1)
    idx = np.array(np.unravel_index(cells, tuple(ncell))).T.reshape(-1, 3)
    radius = np.zeros(len(cells), dtype=np.int64)
    for lab in np.unique(label):
        mine = label == lab
        ax = int(axis[mine][0])
        # the label's cells in their bounding block, padded by one free cell on every side
        corner = idx[mine].min(axis=0) - 1
        block = np.zeros(idx[mine].max(axis=0) - corner + 2, dtype=bool)
        block[tuple((idx[mine] - corner).T)] = True
        footprint = np.ones((3, 3, 3), dtype=bool)
        sl = [slice(None)] * 3
        sl[ax] = [0, 2]
        footprint[tuple(sl)] = False          # grow only across the tangential axes
        dist = ndimage.distance_transform_cdt(block, metric=footprint)
        radius[mine] = dist[tuple((idx[mine] - corner).T)] - 1
    safe_lo = lo + (idx - radius[:, None]) * cell
    safe_hi = lo + (idx + radius[:, None] + 1) * cell
    return cells, axis.astype(np.int8), bounds, region.astype(np.int32), sign, np.column_stack([safe_lo, safe_hi])


def _slab_map(tv, planes, tri_plane, tri_region, g: dict, lo, cell_size, ncell, space_eps) -> dict:
    """The slab map's arrays (see Scene.slab_cell) for the tracing grid (lo, cell_size, ncell)
    whose groups are ``g``.

    The map's grid is SLAB_REFINE times finer than the tracing grid across the slabs, never
    along their normal (that would split the two planes of a slab into different cells). Its
    slab cells lie in the tracing cells that hold two or more planes across one axis, so only
    those are refined; each such cell that has slab cells gets a block (``slab_block``) of
    SLAB_REFINE² or ³ entries of the per-entry arrays, one per fine cell (``slab_axis`` -1 where
    it is not a slab cell). ``slab_slots``: per axis, each fine index's part of
    (tracing cell << bits) | (fine cell in it), bits = sum(slab_shift), which Scene.slab_cell adds up.
    """
    n_cells = int(np.prod(ncell.astype(np.int64)))
    coarse = _two_planes(g, space_eps)[1]
    shift = np.where(np.isin(np.arange(3), coarse), 0, SLAB_REFINE.bit_length() - 1).astype(np.int32)
    slab_cell, slab_n = cell_size / (1 << shift), (ncell << shift).astype(np.int32)
    bits = int(shift.sum())
    later = (int(shift[1] + shift[2]), int(shift[2]), 0)
    stride = (int(ncell[1]) * int(ncell[2]), int(ncell[2]), 1)
    slots = tuple(np.ascontiguousarray((((i >> shift[k]) * stride[k]) << bits) | ((i & ((1 << shift[k]) - 1)) << later[k]))
                  for k, i in enumerate(np.arange(n, dtype=np.int64) for n in slab_n))
    out = {"slab_grid_cell": tuple(slab_cell), "slab_grid_n": tuple(int(v) for v in slab_n),
           "slab_shift": tuple(int(v) for v in shift), "slab_slots": slots}
    candidate = _slab_candidates(g, n_cells)
    parent = lambda fine: np.ravel_multi_index(
        tuple(np.array(np.unravel_index(fine, tuple(slab_n))) >> shift[:, None]), tuple(ncell))
    found = None
    if candidate.any():
        in_candidate = np.repeat(candidate[g["group_cell"]], np.diff(g["group_start"]))
        subset = np.unique(g["group_tris"][in_candidate]).astype(np.int64)
        fine = _groups(tv, planes, tri_plane, tri_region, lo, slab_cell, slab_n, space_eps, subset,
                       lambda cells: candidate[parent(cells)])
        found = _slabs(fine, tri_region, slab_n, lo, slab_cell, space_eps)
    if found is None or len(found[0]) == 0:
        out.update(slab_axis=np.full(1, -1, np.int8), slab_bounds=np.zeros((1, 3)),
                   slab_region=np.zeros((1, 2), np.int32), slab_sign=np.zeros((1, 2), np.int8),
                   slab_safe=np.zeros((1, 6)), slab_block=np.full(1, -1, np.int32))
        return out
    cells = found[0]
    idx = np.array(np.unravel_index(cells, tuple(slab_n)))
    sub = np.ravel_multi_index(tuple(idx & ((1 << shift[:, None]) - 1)), tuple(1 << shift))
    owners, block = np.unique(parent(cells), return_inverse=True)
    slab_block = np.full(n_cells, -1, np.int32)
    slab_block[owners] = np.arange(len(owners), dtype=np.int32)
    entry = (block.reshape(-1) << bits) + sub
    for name, values, fill in zip(("slab_axis", "slab_bounds", "slab_region", "slab_sign", "slab_safe"),
                                  found[1:], (-1, 0, 0, 0, 0)):
        table = np.full((len(owners) << bits,) + values.shape[1:], fill, dtype=values.dtype)
        table[entry] = values
        out[name] = table
    out["slab_block"] = slab_block
    return out


def build_scene(meshes: list, region_offsets: list[int], rules: np.ndarray, rcut: np.ndarray,
                periodic: Periodic | None = None, cell: float | None = None) -> _scene.Scene:
    """The compiled scene of ``meshes`` (arguments as :func:`scene_arrays`)."""
    return _scene.Scene(scene_arrays(meshes, region_offsets, rules, rcut, periodic, cell))


def scene_arrays(meshes: list, region_offsets: list[int], rules: np.ndarray, rcut: np.ndarray,
                 periodic: Periodic | None = None, cell: float | None = None) -> dict:
    """The arrays of the compiled scene of ``meshes`` (one per geometry object, in object order).

    ``region_offsets[k]`` is the global id of object k's first region; ``rules`` is the
    (regions, species) rule table; ``rcut`` (per species, µm) the Brownian-bridge search radius
    (0 where the species meets no absorbing surface); ``cell`` overrides the grid cell edge (µm).
    """
    if meshes:
        vertices = np.concatenate([m.vertices for m in meshes])
        offsets = np.cumsum([0] + [len(m.vertices) for m in meshes])[:-1]
        triangles = np.concatenate([m.triangles + o for m, o in zip(meshes, offsets)])
        tri_region = np.concatenate([m.region_ids + r for m, r in zip(meshes, region_offsets)])
        tri_object = np.concatenate([np.full(m.n_triangles, k) for k, m in enumerate(meshes)])
    else:
        vertices = np.zeros((0, 3))
        triangles = np.zeros((0, 3), dtype=np.int32)
        tri_region = tri_object = np.zeros(0, dtype=np.int32)
    n_tri = len(triangles)
    scale = float(max(1.0, np.abs(vertices).max())) if n_tri else 1.0
    space_eps = 1e-10 * scale
    arrays = {
        "n_tri": n_tri,
        "delta": 1e-9 * scale,
        "bary_eps": 1e-9,
        "space_eps": space_eps,
        "rules": np.ascontiguousarray(rules, dtype=np.int8),
        "periodic": tuple(periodic.axes) if periodic else (False, False, False),
        "box_lo": tuple(periodic.lo) if periodic else (0.0, 0.0, 0.0),
        "box_hi": tuple(periodic.hi) if periodic else (0.0, 0.0, 0.0),
    }
    if n_tri == 0:
        arrays.update(
            planes=np.zeros((1, 4)), tri=np.zeros((1, 13)),
            tri_plane=np.zeros(1, np.int32), tri_region=np.zeros(1, np.int32),
            tri_object=np.zeros(1, np.int32), cell_start=np.zeros(BRICK**3 + 1, np.uint32),
            grid_slots=_brick_slots_of(np.ones(3, np.int64)),
            cell_bits=np.zeros(BRICK**3 // 8, np.uint8),
            groups=np.zeros(1, dtype=GROUP), group_tris=np.zeros(1, np.int32), near_min=np.full(1, np.inf),
            near_start=np.zeros(2, np.int64), near_tris=np.zeros(1, np.int32), near_dc=np.zeros(1),
            tree_box=np.zeros((1, 6)), tree_child=np.zeros((1, 2), np.int32), tree_rec=np.zeros((1, 17)),
            tree_tris=np.zeros(1, np.int32), tree_region=np.zeros(1, np.int32),
            near_grid_cell=(1.0, 1.0, 1.0), near_grid_n=(1, 1, 1),
            grid_lo=(0.0, 0.0, 0.0), grid_cell=(1.0, 1.0, 1.0), grid_n=(1, 1, 1),
            slab_axis=np.full(1, -1, np.int8), slab_bounds=np.zeros((1, 3)),
            slab_region=np.zeros((1, 2), np.int32), slab_sign=np.zeros((1, 2), np.int8),
            slab_safe=np.zeros((1, 6)), slab_block=np.full(1, -1, np.int32),
            slab_grid_cell=(1.0, 1.0, 1.0), slab_grid_n=(1, 1, 1), slab_shift=(0, 0, 0),
            slab_slots=tuple(np.zeros(1, np.int64) for _ in range(3)),
        )
        return arrays

    tv = vertices[triangles]
    e1 = tv[:, 1] - tv[:, 0]
    e2 = tv[:, 2] - tv[:, 0]
    normals = np.cross(e1, e2)
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    plane_off = np.einsum("ij,ij->i", normals, tv[:, 0])
    planes, tri_plane = _planes(normals, plane_off, tri_object, scale)
    d00 = np.einsum("ij,ij->i", e1, e1)
    d01 = np.einsum("ij,ij->i", e1, e2)
    d11 = np.einsum("ij,ij->i", e2, e2)
    tri = np.column_stack([tv[:, 0], e1, e2, d00, d01, d11, 1.0 / (d00 * d11 - d01 * d01)])

    lo, cell_size, ncell = _grid(vertices, tv, cell, pad=1e3 * space_eps)
    arrays.update(
        n_tri=n_tri,
        planes=planes,
        tri=np.ascontiguousarray(tri),
        tri_plane=tri_plane,
        tri_region=np.ascontiguousarray(tri_region, dtype=np.int32),
        tri_object=np.ascontiguousarray(tri_object, dtype=np.int32),
        near_min=np.full(1, np.inf),
        near_start=np.zeros(2, np.int64),
        near_tris=np.zeros(1, np.int32),
        near_dc=np.zeros(1),
        tree_box=np.zeros((1, 6)),
        tree_child=np.zeros((1, 2), np.int32),
        tree_rec=np.zeros((1, 17)),
        tree_tris=np.zeros(1, np.int32),
        tree_region=np.zeros(1, np.int32),
        near_grid_cell=(1.0, 1.0, 1.0),
        near_grid_n=(1, 1, 1),
        grid_lo=tuple(lo),
        grid_cell=tuple(cell_size),
        grid_n=tuple(int(v) for v in ncell),
    )
    g = _groups(tv, planes, tri_plane, arrays["tri_region"], lo, cell_size, ncell, space_eps,
                slots=_brick_index(np.arange(np.prod(ncell.astype(np.int64))), ncell))
    arrays.update(_slab_map(tv, planes, tri_plane, arrays["tri_region"], g, lo, cell_size, ncell, space_eps))
    arrays.update(_stored(g, ncell))
    absorbing = ((rules & RULE_MASK) == ABSORB) & (rcut[None, :] > 0)
    candidates = np.flatnonzero(absorbing.any(axis=1)[tri_region]).astype(np.int32)
    if len(candidates) == 0:
        return arrays
    arrays.update(_absorbers(arrays, candidates, absorbing, float(rcut.max()), lo))
    return arrays


def _grown(mask: np.ndarray, reach) -> np.ndarray:
    """The 3D boolean ``mask`` grown by ``reach[k]`` cells both ways along each axis k (dilation by
    a box), through running sums."""
    out = mask.astype(bool)
    for k, r in enumerate(reach):
        run = np.cumsum(np.moveaxis(out, k, 0), axis=0, dtype=np.int32)
        run = np.concatenate([np.zeros((1,) + run.shape[1:], np.int32), run])
        i = np.arange(len(run) - 1)
        out = np.moveaxis(run[np.minimum(i + r + 1, len(i))] - run[np.maximum(i - r, 0)] > 0, 0, k)
    return out


def _absorbers(arrays: dict, candidates: np.ndarray, absorbing: np.ndarray, margin: float, lo: np.ndarray) -> dict:
    """The absorber grid (see the module docstring) of the ``candidates`` (triangles that absorb
    a species of Brownian-bridge search radius ``margin`` or less, µm; ``absorbing``: (regions,
    species) where they do)."""
    tri = arrays["tri"]
    tree_box, tree_child, tree_tris = _scene.absorber_tree(tri, candidates, TREE_LEAF)
    tree = {"tree_box": tree_box, "tree_child": tree_child, "tree_tris": tree_tris,
            "tree_rec": np.ascontiguousarray(np.hstack([tri[tree_tris], arrays["planes"][arrays["tri_plane"][tree_tris]]])),
            "tree_region": np.ascontiguousarray(arrays["tri_region"][tree_tris])}
    # cells a fraction of the search radius wide, over the tracing grid
    near_cell, near_n = _cells(np.asarray(arrays["grid_cell"]) * np.asarray(arrays["grid_n"]),
                               margin / NEAR_CELLS_PER_RADIUS, NEAR_MAX_CELLS)
    # the cells whose centre may lie within margin + half a diagonal of a candidate
    touched = _scene.touched_cells(tri, candidates, lo, near_cell, near_n).reshape(tuple(near_n))
    half = 0.5 * float(np.linalg.norm(near_cell))
    cells = np.flatnonzero(_grown(touched, np.floor((margin + half) / near_cell + 0.5).astype(int) + 1))
    # one row of absorbing regions per group of species absorbed by the same regions (none if
    # there is one group, which every candidate absorbs)
    keep = np.unique(absorbing[:, absorbing.any(axis=0)].T, axis=0).astype(np.int8)
    if len(keep) == 1:
        keep = np.zeros((0, len(absorbing)), dtype=np.int8)
    near_min, counts, near_tris, near_dc = _scene.absorber_lists(
        *(tree[k] for k in ("tree_box", "tree_child", "tree_rec", "tree_tris", "tree_region")),
        np.ascontiguousarray(keep), cells, lo, near_cell, near_n, margin, NEAR_LIST)
    return {
        "near_min": near_min,
        "near_start": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        "near_tris": near_tris if len(near_tris) else np.zeros(1, np.int32),
        "near_dc": near_dc if len(near_dc) else np.zeros(1),
        "near_grid_cell": tuple(near_cell),
        "near_grid_n": tuple(int(v) for v in near_n),
        **tree,
    }


def contains(sc: _scene.Scene, obj: int, mesh, points: np.ndarray) -> np.ndarray:
    """Boolean mask of the points inside closed object ``obj`` (whose mesh is ``mesh``)."""
    points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 3)
    lo, hi = mesh.bounds
    mask = np.all((points >= lo) & (points <= hi), axis=1)
    out = np.zeros(len(points), dtype=bool)
    if mask.any():
        length = 2.0 * float(np.linalg.norm(hi - lo)) + 1.0
        inside, _ = _scene.contains(sc, obj, np.ascontiguousarray(points[mask]), _DIRECTIONS, length)
        out[mask] = inside.astype(bool)
    return out
