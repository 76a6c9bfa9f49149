"""Releases between time steps and releases with a probability (Model.release(t=, p=)).

A release at a time inside a step puts its molecules in at that time; they diffuse for the rest
of the step (MCell's rule). In free space the positions at any later sample are then Gaussian with
variance 2D(t − t_release) per axis, whatever Δt: the test compares the sample variance with it
(its SE for n molecules is var·√(2/n)). A release with probability p happens in a binomial
number of independent runs (SE √(p(1−p)/runs)).
"""
import numpy as np
import pytest
from scipy.special import erfc

import cleftsim as cs

K = 4.5


@pytest.mark.parametrize("t_release", ["0.3 us", "2 us", "2.75 us"])
def test_release_inside_a_step_diffuses_for_the_rest_of_it(t_release):
    D, dt, t_obs, n = 200.0, 1e-6, 4e-6, 20000
    m = cs.Model(dt="1 us", seed=3)
    glu = m.add_species("glu", D)
    m.release(glu, n, at=(0, 0, 0), t=t_release)
    sim = m.simulation()
    sim.advance(int(round(t_obs / dt)))
    pos = sim.positions(glu)
    exact = 2 * D * (t_obs - cs.units.time(t_release, "t"))
    var = pos.var(axis=0).mean()
    se = exact * np.sqrt(2 / (3 * n))
    print(f"variance {var:.6g} um^2, exact {exact:.6g}, SE {se:.3g}")
    assert len(pos) == n
    assert abs(var - exact) < K * se


def test_release_inside_a_step_is_counted_at_the_end_of_that_step():
    m = cs.Model(dt="1 us", seed=1)
    glu = m.add_species("glu", 200.0)
    m.release(glu, 10, at=(0, 0, 0), t="0.5 us")
    m.count_released(glu)
    m.count(glu)
    res = m.run(t_end="3 us")
    assert list(res["glu_released"]) == [0, 10, 10, 10]
    assert list(res["glu"]) == [0, 10, 10, 10]


@pytest.mark.filterwarnings("ignore::cleftsim.AccuracyWarning")
def test_molecules_absorbed_in_the_rest_of_their_step_are_counted():
    """Released 10 nm from an absorbing wall at t = 0.5 us, by t = 1 us a fraction
    erfc(a/sqrt(4 D tau)) (tau = 0.5 us) is absorbed (the bridge test makes a flat wall exact)."""
    D, a, tau, n = 200.0, 0.01, 0.5e-6, 4000
    m = cs.Model(dt="1 us", seed=2)
    glu = m.add_species("glu", D)
    wall = m.add_geometry(cs.geometry.box(2.0), "wall")
    m.set_surface(glu, wall, "absorb")
    m.count_absorbed(glu, wall)
    m.count(glu)
    m.release(glu, n, at=(1.0 - a, 0, 0), t="0.5 us")
    res = m.run(t_end="1 us")
    absorbed, free = res["glu_absorbed_wall"][-1], res["glu"][-1]
    exact = erfc(a / np.sqrt(4 * D * tau))
    se = np.sqrt(exact * (1 - exact) / n)
    print(f"absorbed {absorbed / n:.4f}, exact {exact:.4f}, SE {se:.3g}")
    assert absorbed + free == n
    assert abs(absorbed / n - exact) < K * se


def test_release_probability_is_honoured_run_by_run():
    p, runs = 0.3, 400
    m = cs.Model(dt="1 us", seed=5)
    glu = m.add_species("glu", 200.0)
    m.release(glu, 7, at=(0, 0, 0), t="1 us", p=p)
    m.count(glu)
    ens = cs.run_ensemble(m, trials=runs, seed=5, t_end="2 us", progress=False)
    happened = np.asarray(ens["glu"])[:, -1]
    assert set(np.unique(happened)) <= {0, 7}
    frac = np.mean(happened == 7)
    se = np.sqrt(p * (1 - p) / runs)
    print(f"fraction {frac:.4f}, p {p}, SE {se:.3g}")
    assert abs(frac - p) < K * se
