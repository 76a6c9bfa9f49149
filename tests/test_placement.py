"""Placing surface molecules: counts, densities, uniformity, given positions, clusters, facing."""
import numpy as np
import pytest
from scipy import stats

import cleftsim as cs


def model(**kw):
    m = cs.Model(dt="1 us", seed=kw.pop("seed", 1), tile_density=kw.pop("tile_density", None))
    m.add_species("L", D="0.3 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(2.0, 1.0, 0.5)), name="box")
    m.add_surface_species("S")
    return m, box


def test_count_and_density():
    m, box = model()
    m.place("S", region=box.region("bottom"), n=1234)
    m.place("S", region=box.region("top"), density="300 /um^2")      # area 2 µm² -> 600
    m.count("S", region=box.region("bottom"), name="bottom")
    m.count("S", region=box.region("top"), name="top")
    m.count("S", name="all")
    obs = m.simulation().observe()
    assert obs == {"bottom": 1234, "top": 600, "all": 1834}


def test_whole_object_splits_by_area():
    m, box = model()
    m.place("S", region=box, n=10000)              # every face, in proportion to its area
    tris = m.simulation().surface_molecules("S")["triangles"]
    region_of = np.asarray(box.mesh.region_ids)[tris]
    total = sum(r.area for r in box.regions)
    for k, r in enumerate(box.regions):
        assert abs(np.count_nonzero(region_of == k) - 10000 * r.area / total) <= 1


def test_uniform_positions_on_the_face():
    m, box = model(seed=5)
    m.place("S", region=box.region("bottom"), n=20000)
    p = m.simulation().surface_molecules("S")["positions"]
    assert np.allclose(p[:, 2], -0.25)
    # uniform on [-1, 1] x [-0.5, 0.5]: Kolmogorov–Smirnov on each axis
    assert stats.kstest(p[:, 0], "uniform", args=(-1.0, 2.0)).pvalue > 1e-3
    assert stats.kstest(p[:, 1], "uniform", args=(-0.5, 1.0)).pvalue > 1e-3


def test_given_positions_are_snapped_and_far_ones_refused():
    m, box = model()
    m.place("S", region=box.region("bottom"), positions=[(0.1, 0.2, -0.2502), (0.3, -0.1, -0.25)])
    p = m.simulation().surface_molecules("S")["positions"]
    assert np.allclose(p, [(0.1, 0.2, -0.25), (0.3, -0.1, -0.25)])
    m, box = model()
    m.place("S", region=box.region("bottom"), positions=[(0.1, 0.2, 0.0)])
    with pytest.raises(cs.ModelError, match="lies 0.25 µm from region 'box.bottom'"):
        m.simulation()


def test_clusters_stay_within_their_radius():
    m, box = model(seed=7, tile_density=5e4)           # 100 per 50 nm disc: 390 tiles each
    m.place("S", region=box.region("bottom"), n=300, clusters=(3, "50 nm"))
    p = m.simulation().surface_molecules("S")["positions"]
    # members k, k+3, ... share a centre: each group fits in a disc of radius 50 nm
    for k in range(3):
        g = p[k::3]
        c = g.mean(axis=0)
        assert np.linalg.norm(g - c, axis=1).max() < 2 * 0.05
        # uniform in a disc: mean squared distance from the centre r²/2 (SE from 100 members)
        r2 = (np.linalg.norm(g[:, :2] - c[:2], axis=1) ** 2).mean()
        assert abs(r2 - 0.05 ** 2 / 2) < 5 * (0.05 ** 2 / np.sqrt(12)) / np.sqrt(len(g)) + 1e-4


def test_facing_sets_the_orientation():
    m, box = model()
    m.place("S", region=box.region("bottom"), n=10, facing="outside")
    m.place("S", region=box.region("top"), n=5)
    o = m.simulation().surface_molecules("S")["orient"]
    assert sorted(o.tolist()) == [-1] * 5 + [1] * 10


def test_placement_is_reproducible():
    a = model(seed=11)
    a[0].place("S", region=a[1].region("bottom"), n=100)
    b = model(seed=11)
    b[0].place("S", region=b[1].region("bottom"), n=100)
    assert np.array_equal(a[0].simulation().surface_molecules("S")["positions"],
                          b[0].simulation().surface_molecules("S")["positions"])
