"""Vesicle release in a model: the events of each run follow the configured statistics, the
molecules appear where and when the events say, and bad input is refused by name."""
import numpy as np
import pytest
from scipy import stats

import cleftsim as cs
from cleftsim import release

SITES = [(-0.2, 0.0, 0.0), (-0.1, 0.0, 0.0), (0.0, 0.0, 0.0), (0.1, 0.0, 0.0), (0.2, 0.0, 0.0)]


def box_model(stim, **kw):
    m = cs.Model(dt="1 us", seed=1)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    m.add_geometry(cs.geometry.box(size=(1, 1, 1)), name="box")
    m.release_vesicles(glu, stim, **kw)
    m.count(glu)
    m.count_released(glu)
    return m


def test_vesicles_per_ap_are_binomial_and_sizes_follow_the_quantal_distribution():
    q = release.quantal(50, cv=0.3)
    stim = release.stimulus(["0 ms", "0.1 ms", "0.2 ms"], p=0.3, n_sites=5, quantal=q)
    model = box_model(stim, at=SITES)
    compiled = cs.compile(model)
    per_ap, sizes = [], []
    for k in range(400):
        sim = cs.Simulation(compiled, seed=cs.trial_seed(7, k))
        ev = sim.release_events
        per_ap += list(np.bincount(ev["ap"], minlength=3))
        sizes += list(ev["n"])
        assert np.allclose(np.c_[ev["x"], ev["y"], ev["z"]], np.asarray(SITES)[ev["site"]])
        if k < 3:                                   # the molecules that appear are the events' sum
            sim.run("0.2 ms")
            assert sim.observe()["glu_released"] == sim.count("glu") == ev["n"].sum()
    # 1200 APs: chi-square against Binomial(5, 0.3) (p-value threshold 1e-3)
    observed = np.bincount(per_ap, minlength=6)
    expected = stats.binom.pmf(np.arange(6), 5, 0.3) * len(per_ap)
    merged_o = np.r_[observed[:4], observed[4:].sum()]
    merged_e = np.r_[expected[:4], expected[4:].sum()]
    assert stats.chisquare(merged_o, merged_e).pvalue > 1e-3
    # quantal sizes: chi-square against the exact pmf on bins of about equal probability
    sizes = np.array(sizes)
    n = np.arange(0, 200)
    cdf = np.cumsum(q.pmf(n))
    edges = np.searchsorted(cdf, np.linspace(0, 1, 9)[1:-1])
    obs = np.bincount(np.searchsorted(edges, sizes, side="left"), minlength=8)
    exp = np.diff(np.r_[0, cdf[edges], 1]) * len(sizes)
    assert stats.chisquare(obs, exp).pvalue > 1e-3


def test_fusion_pore_molecules_join_at_the_nearest_step():
    """A molecule released at t joins at step rint(t/dt), so at the sample k·dt the released
    fraction is F((k + 1/2)·dt) of the pore's delay distribution: binomial, 5 SE."""
    pore = release.fusion_pore("50 us", expansion="20 us")
    n = 20000
    model = box_model(release.stimulus([0.0], p=1, quantal=n), at=[(0, 0, 0)], pore=pore)
    res = model.run(t_end="300 us", every="10 us")
    expect = pore.cdf(res.times + 0.5e-6)
    se = np.sqrt(n * expect * (1 - expect)) + 1e-9
    z = (res["glu_released"] - n * expect) / se
    assert np.all(np.abs(z[1:]) < 5), z
    assert np.array_equal(res["glu"], res["glu_released"])
    assert res["glu_released"][0] < 300 and res["glu_released"][-1] > 0.98 * n


def test_region_release_spreads_vesicles_over_the_active_zone():
    syn = cs.synapse.cleft(active_zone_radius="100 nm")
    m = cs.Model(dt="1 us", seed=2)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    obj = m.add_geometry(syn.mesh, "syn")
    m.release_vesicles(glu, release.stimulus(np.arange(200) * 1e-5, p=1, quantal=1), region=obj.region("active_zone"))
    ev = m.simulation().release_events
    r = np.hypot(ev["x"], ev["y"])
    assert np.all(r <= 0.1 + 1e-12) and np.allclose(ev["z"], 0.01 - 0.002)
    # uniform over the disc: r² / a² is uniform on (0, 1)
    assert stats.kstest(r**2 / 0.1**2, "uniform").pvalue > 1e-3


@pytest.mark.parametrize("kw, match", [
    (dict(at=SITES[:2]), "one point per site"),
    (dict(), "exactly one of at="),
    (dict(at=SITES, pore="fast"), "pore"),
    (dict(at=SITES, depth=0), "depth"),
])
def test_bad_vesicle_release_is_refused(kw, match):
    stim = release.stimulus([0.0], p=0.5, n_sites=5)
    with pytest.raises(cs.ModelError, match=match):
        box_model(stim, **kw)
    with pytest.raises(cs.ModelError, match="stimulus"):
        box_model("AP at 0", at=SITES)


def test_a_site_on_a_membrane_is_refused():
    syn = cs.synapse.cleft()
    m = cs.Model(dt="1 us")
    glu = m.add_species("glu", D="0.33 um^2/ms")
    m.add_geometry(syn.mesh, "syn")
    m.release_vesicles(glu, release.stimulus([0.0], p=1), at=[(0, 0, 0.01)])
    with pytest.raises(cs.ModelError, match="lies on the surface"):
        m.simulation()
