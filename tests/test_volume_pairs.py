"""Bimolecular reactions of volume molecules against the closed forms of physics.md §1.4.

The binding radius comes from cleftsim.bimolecular (steady-state rate = k at the time step);
the reactions start from a uniform mixture, so the rate is k within the first steps (the
transient of a Smoluchowski rate lasts ~σ_b²/D, far below a step here). Each count is compared
at every sample with the closed form, |z| < 5, with the binomial SD of the survivors.
"""
import numpy as np
import pytest

import cleftsim as cs
from cleftsim.model import ModelError

N_A = 6.02214076e23


def box_model(dt, seed, species="ABC", D=100.0, size=1.0):
    m = cs.Model(dt=dt, seed=seed)
    box = m.add_geometry(cs.geometry.box(size), "box")
    for s in species:
        m.add_species(s, D=D)
    return m, box


def assert_close(counts, exact, n0, what):
    q = np.clip(exact / n0, 0, 1)
    sd = np.sqrt(np.maximum(n0 * q * (1 - q), 1.0))
    z = (np.asarray(counts) - exact) / sd
    assert np.max(np.abs(z)) < 5, f"{what}: z = {np.round(z, 2)}"


@pytest.mark.parametrize("dt", [1e-5, 1e-4])
def test_a_plus_b_follows_the_closed_form_at_two_time_steps(dt):
    a0, b0, k = 4000, 40000, 2e7
    m, box = box_model(dt, 2)
    rx = m.add_reaction("A + B -> C", k)
    m.release("A", n=a0, inside=box)
    m.release("B", n=b0, inside=box)
    m.count("A")
    m.count("C")
    m.count_events(rx, name="events")
    res = m.run(t_end=4e-3, every=4e-4)
    km = k / (N_A * 1e-15)                              # per pair per s in 1 µm³
    exact = a0 * (b0 - a0) / (b0 * np.exp(km * (b0 - a0) * res.times) - a0)
    assert_close(res["A"], exact, a0, "A(t)")
    assert np.array_equal(res["C"], a0 - res["A"])
    assert np.array_equal(res["events"], res["C"])


def test_identical_reactants_convention():
    """A + A -> C with d[C]/dt = k[A]² (so d[A]/dt = -2k[A]²): A(t) = A0/(1 + 2 k A0 t)."""
    a0, k, dt = 20000, 5e6, 1e-5
    m, box = box_model(dt, 3, "AC")
    m.add_reaction("A + A -> C", k)
    m.release("A", n=a0, inside=box)
    m.count("A")
    m.count("C")
    res = m.run(t_end=4e-3, every=4e-4)
    km = k / (N_A * 1e-15)
    exact = a0 / (1 + 2 * km * a0 * res.times)
    assert_close(res["A"], exact, a0, "A(t)")
    assert np.array_equal(2 * res["C"], a0 - res["A"])


def test_products_keep_the_molecule_count_and_enzyme_is_conserved():
    """E + S -> E + P: E is unchanged, every event turns one S into one P."""
    m, box = box_model(1e-5, 4, ("E", "S", "P"))
    rx = m.add_reaction("E + S -> E + P", 5e7)
    m.release("E", n=2000, inside=box)
    m.release("S", n=20000, inside=box)
    for s in "ESP":
        m.count(s)
    m.count_events(rx, name="events")
    res = m.run(t_end=2e-3, every=2e-4)
    assert np.all(res["E"] == 2000)
    assert np.array_equal(res["S"] + res["P"], np.full(len(res.times), 20000))
    assert np.array_equal(res["P"], res["events"])
    # pseudo-first order in S with rate k·[E]: S(t) = S0 exp(-k_m E t)
    km = 5e7 / (N_A * 1e-15)
    assert_close(res["S"], 20000 * np.exp(-km * 2000 * res.times), 20000, "S(t)")


def test_no_reaction_across_a_membrane():
    """A and B in two boxes 2 nm apart (binding radius ~ 40 nm at dt = 100 µs): never react."""
    m = cs.Model(dt=1e-4, seed=5)
    left = m.add_geometry(cs.geometry.box(size=(0.2, 0.2, 0.2), center=(-0.101, 0, 0)), "left")
    right = m.add_geometry(cs.geometry.box(size=(0.2, 0.2, 0.2), center=(0.101, 0, 0)), "right")
    for s in "ABC":
        m.add_species(s, D=100.0)
    m.add_reaction("A + B -> C", 1e9)
    m.release("A", n=3000, inside=left)
    m.release("B", n=3000, inside=right)
    m.count("C")
    sim = m.simulation()
    res = sim.sample(t_end=2e-3, every=2e-4)
    assert np.all(res["C"] == 0)
    assert res.diagnostics["pairs_blocked_by_surfaces"] > 0      # pairs were in range across the gap


def test_errors():
    m, _ = box_model(1e-5, 6, "ABCD")
    with pytest.raises(ModelError, match="at most two products"):
        m.add_reaction("A + B -> C + C + D", 1e6)
    m.add_reaction("A + B -> C", 1e6)
    with pytest.raises(ModelError, match="one reaction per pair"):
        m.add_reaction("B + A -> D", 1e6)
    m.add_reaction("C -> A + B", 10.0)
    with pytest.raises(ModelError, match="unbinding radius"):
        m.simulation()
