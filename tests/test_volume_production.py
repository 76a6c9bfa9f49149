"""Zeroth-order production ``0 -> A`` inside a closed object.

With decay ``A -> 0`` (rate k) the count is an immigration–death process: started empty, N(t) is
Poisson with mean (λ/k)(1 − e^{−kt}) exactly, λ = k₀·V·N_A the production rate in molecules
per second; without decay the number made by t is Poisson(λt). Birth times are uniform within a
step and lifetimes exact, so these hold at any dt (tested at k·dt = 0.5 and 2). Tolerances:
|z| < 5 per sample with the Poisson SD.
"""
import numpy as np
import pytest
from scipy import stats

import cleftsim as cs
from cleftsim.errors import ModelError
from cleftsim.units import PER_UM3_PER_MOLAR

LAMBDA = 2e5          # molecules per second in the 2 µm box (V = 8 µm³)


def production_model(dt, seed, k_decay=None, D=10.0):
    m = cs.Model(dt=dt, seed=seed)
    box = m.add_geometry(cs.geometry.box(2.0), "box")
    m.add_species("A", D=D)
    made = m.add_reaction("0 -> A", f"{LAMBDA / 8.0} /um^3/s", inside=box)
    if k_decay is not None:
        m.add_reaction("A -> 0", k_decay)
    m.count("A")
    m.count_events(made, name="made")
    return m, box


@pytest.mark.parametrize("kdt", [0.5, 2.0])
def test_immigration_death_is_poisson_with_the_exact_mean(kdt):
    k = 2000.0
    dt = kdt / k
    m, _ = production_model(dt, 3, k_decay=k)
    res = m.run(t_end=400 * dt, every=dt)
    t, n = res.times, res["A"].astype(float)
    mean = LAMBDA / k * (1 - np.exp(-k * t))
    z = (n[1:] - mean[1:]) / np.sqrt(mean[1:])
    assert np.max(np.abs(z)) < 5, np.max(np.abs(z))
    # stationary part: samples 5/k apart are independent to e^-5; mean and variance both λ/k
    late = n[t > 5 / k][:: int(np.ceil(5 / kdt))]
    mu = LAMBDA / k
    assert abs(late.mean() - mu) < 5 * np.sqrt(mu / len(late)), (late.mean(), mu)
    # the variance of a Poisson sample: SE of s² ≈ sqrt((μ + 2μ²)/n)
    assert abs(late.var(ddof=1) - mu) < 5 * np.sqrt((mu + 2 * mu * mu) / len(late)), (late.var(ddof=1), mu)


def test_production_alone_is_a_poisson_process_and_counts_events():
    dt = 1e-4
    m, _ = production_model(dt, 4)
    res = m.run(t_end=0.01, every=1e-3)
    mean = LAMBDA * res.times
    z = (res["made"][1:] - mean[1:]) / np.sqrt(mean[1:])
    assert np.max(np.abs(z)) < 5, z
    assert np.array_equal(res["made"], res["A"])


def test_new_molecules_are_uniform_inside_the_object_and_never_outside():
    """Production inside a sphere that sits in a larger box: every molecule lies in the sphere
    and the radii follow P(r < x) = (x/R)³ (Kolmogorov–Smirnov, p > 1e-3)."""
    R = 0.5
    m = cs.Model(dt=1e-4, seed=5)
    m.add_geometry(cs.geometry.box(3.0), "world")
    ball = m.add_geometry(cs.geometry.icosphere(R, subdivisions=3), "ball")
    m.add_species("A", D=0.0)
    m.add_reaction("0 -> A", "1 uM/s", inside=ball)
    m.count("A", inside=ball, name="in_ball")
    m.count("A")
    sim = m.simulation()
    res = sim.sample(t_end=0.01, every=0.001)
    assert np.array_equal(res["A"], res["in_ball"])
    r = np.linalg.norm(sim.positions("A"), axis=1)
    volume = abs(ball.mesh.volume)
    expected = 1e-6 * PER_UM3_PER_MOLAR * volume * 0.01
    assert abs(len(r) - expected) < 5 * np.sqrt(expected)
    assert r.max() < R
    # the icosphere is inscribed in the sphere: test uniformity in the inscribed ball only
    inner = r[r < 0.95 * R] / (0.95 * R)
    assert stats.kstest(inner ** 3, "uniform").pvalue > 1e-3


def test_units_of_production_rates():
    m, box = production_model(1e-4, 1)
    a = m.add_reaction("0 -> A", "1 uM/s", inside=box)
    b = m.add_reaction("0 -> A", "602.214076 /um^3/s", inside=box)
    assert a.k == pytest.approx(1e-6) and b.k == pytest.approx(1e-6)


@pytest.mark.parametrize("call, fragments", [
    (lambda m, box: m.add_reaction("0 -> A", 1e-6), ["'0 -> A'", "needs a place", "inside="]),
    (lambda m, box: m.add_reaction("A -> 0", 5.0, inside=box), ["only a zeroth-order production", "inside="]),
    (lambda m, box: m.add_reaction("0 -> A + A", 1e-6, inside=box), ["one volume molecule", "'0 -> A'"]),
    (lambda m, box: m.add_reaction("0 -> A", "5 /s", inside=box), ["zeroth order: M/s"]),
    (lambda m, box: m.add_reaction("0 -> A", 1e-6, inside="nowhere"), ["'nowhere'"]),
])
def test_bad_productions_are_refused(call, fragments):
    m, box = production_model(1e-4, 1)
    with pytest.raises(ModelError) as exc:
        call(m, box)
    for f in fragments:
        assert f in str(exc.value), (f, str(exc.value))


def test_production_needs_a_closed_object():
    m = cs.Model(dt=1e-4, seed=1)
    m.add_species("A", D=1.0)
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float)
    sheet = m.add_geometry(cs.geometry.Mesh(v, [[0, 1, 2]]), "sheet")
    with pytest.raises(ModelError, match="needs a closed object"):
        m.add_reaction("0 -> A", 1e-6, inside=sheet)
