"""The compiled scene's search structures against brute force: the absorbers' tree (cells whose
list would be too long search it), the release-point clearance search, the sparse slab map and
the bricked tracing grid, on meshes fine enough to use them."""
import numpy as np
import pytest

import cleftsim as cs
from cleftsim.compiler import scene as world


def _brute_nearest(arrays, p, rcut):
    """(triangle, distance) of the nearest triangle within rcut (every triangle absorbs), by
    distances to all triangles: to the plane where p projects inside, else to the nearest edge."""
    tri = arrays["tri"][: arrays["n_tri"]]
    v0, e1, e2 = tri[:, :3], tri[:, 3:6], tri[:, 6:9]
    r = p - v0
    d20, d21 = np.einsum("ij,ij->i", r, e1), np.einsum("ij,ij->i", r, e2)
    v = (tri[:, 11] * d20 - tri[:, 10] * d21) * tri[:, 12]
    w = (tri[:, 9] * d21 - tri[:, 10] * d20) * tri[:, 12]
    n = np.cross(e1, e2)
    plane = np.abs(np.einsum("ij,ij->i", r, n)) / np.linalg.norm(n, axis=1)
    edges = [_point_segments(p, v0, v0 + e1), _point_segments(p, v0 + e1, v0 + e2), _point_segments(p, v0 + e2, v0)]
    dist = np.where((v >= 0) & (w >= 0) & (v + w <= 1), plane, np.min(edges, axis=0))
    j = int(np.argmin(dist))
    return (j, dist[j]) if dist[j] < rcut else (-1, rcut)


def _point_segments(p, a, b):
    """Distances from p to the segments a-b (arrays of end points)."""
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.einsum("ij,ij->i", ab, ab), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


@pytest.fixture(scope="module")
def fine_absorber():
    """An icosphere of 5120 absorbing triangles (about 17 nm), with a search radius of 100 nm: most
    absorber-grid cells near it would list hundreds of triangles, so they search the tree."""
    mesh = cs.geometry.icosphere(0.4, subdivisions=4)
    arrays = world.scene_arrays([mesh], [0], np.ones((1, 1), np.int8), np.array([0.1]))
    return arrays, world._scene.Scene(arrays)


def test_cells_without_a_list_search_the_tree_and_find_the_nearest_absorber(fine_absorber):
    arrays, sc = fine_absorber
    listed = np.diff(arrays["near_start"]) > 0
    in_reach = np.isfinite(arrays["near_min"])
    assert (in_reach & ~listed).sum() > 0.5 * in_reach.sum()     # most cells in reach use the tree
    rng = np.random.default_rng(3)
    v = rng.normal(size=(300, 3))
    points = v / np.linalg.norm(v, axis=1)[:, None] * (0.4 + rng.uniform(-0.12, 0.12, (300, 1)))
    lo = np.array(arrays["grid_lo"])
    hi = lo + np.array(arrays["grid_cell"]) * np.array(arrays["grid_n"])
    points = points[np.all((points > lo) & (points < hi), axis=1)][:150]     # the absorber grid's box
    for p in np.ascontiguousarray(points):
        j, d = sc.nearest(p, 0, 0.1)
        bj, bd = _brute_nearest(arrays, p, 0.1)
        assert (j >= 0) == (bj >= 0)
        if j >= 0:
            assert d == pytest.approx(bd, abs=1e-9)


def test_surface_within_finds_the_triangle_a_point_lies_on(fine_absorber):
    arrays, sc = fine_absorber
    tri = arrays["tri"]
    for j in (0, 17, 4000):
        p = np.ascontiguousarray(tri[j, :3] + 0.3 * tri[j, 3:6] + 0.3 * tri[j, 6:9])
        d, k = sc.surface_within(p, 1e-6)
        assert k == j and d < 1e-12
        d, k = sc.surface_within(np.ascontiguousarray(p * 1.01), 1e-6)     # 4 nm off the surface
        assert k == -1 and d == np.inf


def test_slab_map_is_stored_only_where_slabs_are():
    """A thin disc cleft in a large box: its slab cells are found in the finer map, which is stored
    for the tracing cells that hold both plates only (not over the whole finer grid)."""
    meshes = [cs.geometry.cylinder(0.3, 0.02, segments=64), cs.geometry.box(2.0)]
    arrays = world.scene_arrays(meshes, [0, 3], np.zeros((9, 1), np.int8), np.zeros(1))
    slab = arrays["slab_axis"] >= 0
    fine_cells = int(np.prod(arrays["slab_grid_n"]))
    assert slab.sum() > 100 and (arrays["slab_axis"][slab] == 2).all()
    assert len(arrays["slab_axis"]) < fine_cells / 20
    # the plates of every slab cell: bottom below top
    assert np.all(arrays["slab_bounds"][slab, 0] < arrays["slab_bounds"][slab, 1])


def test_bricked_grid_holds_every_group_once():
    mesh = cs.geometry.icosphere(0.3, subdivisions=3)
    arrays = world.scene_arrays([mesh], [0], np.zeros((1, 1), np.int8), np.zeros(1))
    slots = arrays["grid_slots"]
    n = arrays["grid_n"]
    cells = np.array([slots[0][a] + slots[1][b] + slots[2][c]
                      for a in range(n[0]) for b in range(n[1]) for c in range(n[2])])
    assert len(np.unique(cells)) == len(cells)                   # distinct slots
    occupied = np.diff(arrays["cell_start"]) > 0
    assert np.all(np.flatnonzero(occupied) == np.flatnonzero(np.unpackbits(arrays["cell_bits"],
                                                                          bitorder="little")[:len(occupied)]))
    assert np.isin(np.flatnonzero(occupied), cells).all()        # no groups in padding slots
    assert arrays["cell_start"][-1] == len(arrays["groups"])
