"""First-order reactions of volume molecules: exact event times, independent of dt.

Molecules react independently, so each count is Binomial(N, p(t)) with p from the closed forms
of docs/reference.md §1.4; every sample is held to |z| < 5 (z from the binomial SD).
"""

import numpy as np
import pytest

import cleftsim as cs

N = 20000


def model(dt, seed, species=("A",), D=0.0):
    m = cs.Model(dt=dt, seed=seed)
    for s in species:
        m.add_species(s, D=D)
    return m


def assert_binomial(counts, p, n, what):
    sd = np.sqrt(np.maximum(n * p * (1 - p), 0.25))
    z = (np.asarray(counts) - n * p) / sd
    assert np.max(np.abs(z)) < 5, f"{what}: max |z| = {np.max(np.abs(z)):.2f}"


@pytest.mark.parametrize("dt, k", [(1e-6, 5e5), (1e-6, 3e6), (1e-4, 5e3)])
def test_decay_is_exponential_at_any_dt(dt, k):
    """A -> 0 with k·dt = 0.5, 3 and 0.5 (several events per step are possible)."""
    m = model(dt, 1)
    rx = m.add_reaction("A -> 0", k)
    m.release("A", n=N, at=(0, 0, 0))
    m.count("A")
    m.count_events(rx, name="decays")
    res = m.run(t_end=10 * dt, every=dt)
    assert_binomial(res["A"], np.exp(-k * res.times), N, "A(t)")
    assert np.array_equal(res["decays"], N - res["A"])


def test_reversible_conversion_relaxes_to_the_closed_form():
    kf, kr, dt = 3e5, 1e5, 1e-6                      # kf·dt = 0.3 (about 0.4 events per step)
    m = model(dt, 2, ("A", "B"))
    m.add_reaction("A <-> B", (kf, kr))
    m.release("A", n=N, at=(0, 0, 0))
    m.count("A")
    m.count("B")
    res = m.run(t_end=20e-6, every=1e-6)
    p_a = kr / (kf + kr) + kf / (kf + kr) * np.exp(-(kf + kr) * res.times)
    assert_binomial(res["A"], p_a, N, "A(t)")
    assert np.all(res["A"] + res["B"] == N)


def test_competing_channels_and_dissociation_products():
    """A -> B (k1) and A -> C + D (k2): A decays at k1 + k2, the split is k1 : k2, and every
    dissociation makes one C and one D at the parent's place."""
    k1, k2, dt = 2e5, 6e5, 1e-6
    m = model(dt, 3, ("A", "B", "C", "D"))
    m.add_reaction("A -> B", k1)
    m.add_reaction("A -> C + D", k2)
    m.release("A", n=N, at=(0.1, 0.2, 0.3))
    for s in "ABCD":
        m.count(s)
    sim = m.simulation()
    res = sim.sample(t_end=10e-6, every=1e-6)
    t = res.times
    assert_binomial(res["A"], np.exp(-(k1 + k2) * t), N, "A(t)")
    assert_binomial(res["B"], k1 / (k1 + k2) * (1 - np.exp(-(k1 + k2) * t)), N, "B(t)")
    assert np.array_equal(res["C"], res["D"])
    assert np.array_equal(res["A"] + res["B"] + res["C"], np.full(len(t), N))
    # D = 0: products stay where their parent was
    for s in "BCD":
        assert np.allclose(sim.positions(s), (0.1, 0.2, 0.3))


def test_fast_chain_matches_bateman():
    """A -> B -> 0 with k·dt = 2 and 5: products react again within the step they are made."""
    k1, k2, dt = 2e6, 5e6, 1e-6
    m = model(dt, 4, ("A", "B"))
    m.add_reaction("A -> B", k1)
    m.add_reaction("B -> 0", k2)
    m.release("A", n=N, at=(0, 0, 0))
    m.count("B")
    res = m.run(t_end=3e-6, every=0.1e-6 * 10)
    t = res.times
    p_b = k1 / (k2 - k1) * (np.exp(-k1 * t) - np.exp(-k2 * t))
    assert_binomial(res["B"], p_b, N, "B(t)")


def test_branching_grows_the_product_buffer():
    """A -> A + A (a Yule process): mean N0·e^{kt}, SD sqrt(N0 e^{kt}(e^{kt} - 1)); tens of
    thousands of extra products per run force the product buffer to grow."""
    n0, k, dt, t_end = 200, 2e4, 1e-6, 200e-6
    m = model(dt, 5)
    m.add_reaction("A -> A + A", k)
    m.release("A", n=n0, at=(0, 0, 0))
    m.count("A")
    res = m.run(t_end=t_end, every=50e-6)
    g = np.exp(k * res.times)
    sd = np.sqrt(n0 * g * (g - 1))
    z = (res["A"][1:] - n0 * g[1:]) / sd[1:]
    assert np.max(np.abs(z)) < 5, z
    assert res["A"][-1] > 5000


def test_first_order_reactions_with_diffusion_and_walls():
    """Decay inside a reflecting box while diffusing: the count still follows e^{-kt}, and no
    molecule leaves the box."""
    from cleftsim.compiler import scene as world

    k, dt = 1e4, 1e-6
    m = model(dt, 6, ("A", "B"), D=300.0)
    box = m.add_geometry(cs.geometry.box(0.2), "box")
    m.add_reaction("A -> B + B", k)
    m.release("A", n=5000, inside=box)
    m.count("A")
    sim = m.simulation()
    res = sim.sample(t_end=200e-6, every=20e-6)
    assert_binomial(res["A"], np.exp(-k * res.times), 5000, "A(t)")
    assert sim.count("B") == 2 * (5000 - sim.count("A"))
    assert world.contains(sim.scene, box.index, box.mesh, sim.positions("B")).all()
