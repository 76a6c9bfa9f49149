"""Reproducibility (docs/algorithms.md, Random numbers) and periodic boundaries.

Same seed → bit-identical positions and Result, whether the run is done in one call or in
pieces and however often it is observed; different seeds → different trajectories.

Periodic box (exact results, 4.5-SE tolerances with SE = sd/√N, chi-square p > 1e-4):
- the number of molecules is conserved and every position stays in [lo, hi];
- a uniform density stays uniform, even with steps of several box lengths;
- a point release at the box centre c spreads as a wrapped normal: y = x − c ∈ [−L/2, L/2) has
  density (1/L)[1 + 2 Σ_{m≥1} q_m cos(2πmy/L)], q_m = exp(−2π²m²s²/L²), s² = 2Dt, so
      ⟨cos(2πmy/L)⟩ = q_m   and   ⟨y²⟩ = L²/12 + (L²/π²) Σ_{m≥1} (−1)^m q_m / m²
  (from ∫_{−L/2}^{L/2} y² cos(2πmy/L) dy = (−1)^m L³/(2π²m²)); at s → 0 it is 0 (Σ(−1)^m/m² =
  −π²/12), at s → ∞ it is L²/12. A non-periodic axis keeps ⟨y²⟩ = 2Dt.
"""
import math

import numpy as np
import pytest
from helpers import P_MIN, check
from scipy import integrate, stats

import cleftsim as cs


# -- same seed, same numbers -------------------------------------------------------------------
def build(seed):
    """A model that uses every random path: Gaussian steps, reflections, the Brownian-bridge
    draw at an absorbing rim, transparent crossings, a delayed release, uniform releases."""
    m = cs.Model(dt="1 us", seed=seed)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    b = m.add_species("b", D="0.76 um^2/ms")
    cleft = m.add_geometry(cs.geometry.cylinder("200 nm", "20 nm", segments=64), name="cleft")
    box = m.add_geometry(cs.geometry.box(0.4, center=(2.0, 0.0, 0.0)), name="box")
    inner = m.add_geometry(cs.geometry.icosphere(0.1, 1, center=(2.0, 0.0, 0.0)), name="inner")
    m.set_surface(glu, cleft.region("side"), "absorb")
    m.set_surface(b, inner, "transparent")
    m.release(glu, n=3000, at=(0, 0, 0))
    m.release(glu, n=1000, at=(0.05, 0, 0), t="7 us")
    m.release(b, n=2000, inside=box)
    m.count(glu, name="glu")
    m.count_absorbed(glu, cleft.region("side"), name="rim")
    m.count(b, inside=inner, name="b_in")
    m.count_crossings(b, inner, direction="out", name="b_out")
    return m, glu, b


def snapshot(sim, glu, b):
    return sim.positions(glu), sim.positions(b)


def test_same_seed_gives_bit_identical_results():
    r1 = build(7)[0].run(t_end="40 us", every="2 us")
    r2 = build(7)[0].run(t_end="40 us", every="2 us")
    assert r1.names == r2.names
    np.testing.assert_array_equal(r1.times, r2.times)
    for name in r1.names:
        np.testing.assert_array_equal(r1[name], r2[name])
    assert r1.diagnostics == r2.diagnostics
    assert r1.metadata["seed"] == 7 and r1.metadata["model"] == r2.metadata["model"]
    assert r1["rim"][-1] > 0 and r1["b_out"][-1] > 0 and r1.diagnostics["bridge_absorptions"] > 0


def test_same_seed_gives_bit_identical_positions_however_the_run_is_cut():
    """One call, pieces, sampled every step or not at all: the same positions (observing
    draws no random numbers; the stream carries over between calls)."""
    m, glu, b = build(11)
    whole = m.simulation().run("40 us")
    pieces = m.simulation()
    pieces.run("3 us").run("4 us")          # across the delayed release at 7 µs
    pieces.advance(13)
    pieces.run("20 us")
    sampled = m.simulation()
    sampled.sample("40 us", every="1 us")
    ref = snapshot(whole, glu, b)
    for other in (pieces, sampled):
        assert other.time == pytest.approx(40e-6)
        for x, y in zip(ref, snapshot(other, glu, b)):
            assert x.shape == y.shape and np.array_equal(x, y)
    assert whole.diagnostics == pieces.diagnostics == sampled.diagnostics


def test_different_seeds_differ():
    m1, glu, b = build(1)
    m2, _, _ = build(2)
    s1, s2 = m1.simulation().run("10 us"), m2.simulation().run("10 us")
    p1, p2 = snapshot(s1, glu, b), snapshot(s2, "glu", "b")
    # uniform releases already differ at t = 0; after 10 steps no position should coincide
    for x, y in zip(p1, p2):
        n = min(len(x), len(y))
        assert not np.any(np.all(x[:n] == y[:n], axis=1))
    r1, r2 = m1.run(t_end="40 us", every="2 us"), m2.run(t_end="40 us", every="2 us")
    assert not np.array_equal(r1["glu"], r2["glu"])


# -- periodic box ------------------------------------------------------------------------------
SIZE = np.array([0.5, 0.7, 0.9])
CENTER = np.array([0.1, -0.2, 0.3])
LO, HI = CENTER - SIZE / 2, CENTER + SIZE / 2


def wrapped_var(L: float, s2: float, terms: int = 200) -> float:
    m = np.arange(1, terms + 1)
    return L**2 / 12 + L**2 / np.pi**2 * float(np.sum((-1.0) ** m * np.exp(-2 * np.pi**2 * m**2 * s2 / L**2) / m**2))


def test_wrapped_variance_formula():
    """The reference against the sum over images, ∫ y² Σ_k φ_s(y + kL) dy on [−L/2, L/2)."""
    for L, s in ((0.5, 0.05), (0.5, 0.3), (0.9, 1.0), (0.7, 2.5)):
        def f(y):
            k = np.arange(-60, 61)
            return y**2 * np.sum(np.exp(-((y + k * L) ** 2) / (2 * s**2))) / math.sqrt(2 * np.pi * s**2)
        ref = integrate.quad(f, -L / 2, L / 2, epsabs=1e-14, limit=200)[0]
        assert wrapped_var(L, s**2) == pytest.approx(ref, rel=1e-9)
    assert wrapped_var(0.5, 0.0, terms=100_000) == pytest.approx(0.0, abs=1e-6)
    assert wrapped_var(0.5, 100.0) == pytest.approx(0.5**2 / 12, rel=1e-12)


@pytest.mark.parametrize("sigma_steps", [(0.1, 1), (0.1, 8), (0.6, 1), (0.6, 3)])
def test_point_release_spreads_as_a_wrapped_normal(sigma_steps):
    """rms step per axis σ = 0.1 or 0.6 µm (up to 1.2 box lengths), release at the box centre."""
    sigma, steps = sigma_steps
    n = 200_000
    m = cs.Model(dt="1 us", seed=61, periodic_box=SIZE, box_center=CENTER)
    sp = m.add_species("a", D=sigma**2 / (2 * 1e-6))
    m.release(sp, n=n, at=CENTER)
    sim = m.simulation()
    sim.advance(steps)
    p = sim.positions(sp)
    assert len(p) == n and sim.count(sp) == n
    assert np.all((p >= LO) & (p <= HI))
    s2 = sigma**2 * steps
    y = p - CENTER
    for ax in range(3):
        L = SIZE[ax]
        y2 = y[:, ax] ** 2
        check(y2.mean(), wrapped_var(L, s2), y2.std(ddof=1) / math.sqrt(n), f"wrapped <y^2>, axis {ax}")
        for mm in (1, 2):
            c = np.cos(2 * np.pi * mm * y[:, ax] / L)
            check(c.mean(), math.exp(-2 * np.pi**2 * mm**2 * s2 / L**2), c.std(ddof=1) / math.sqrt(n),
                  f"<cos(2 pi {mm} y/L)>, axis {ax}")
    assert sim.diagnostics["periodic_wraps"] > 0


def test_periodic_on_some_axes_only():
    """periodic_axes="xz": x and z wrap, y diffuses freely (⟨y²⟩ = 2Dt)."""
    n, sigma, steps = 100_000, 0.3, 4
    m = cs.Model(dt="1 us", seed=62, periodic_box=SIZE, box_center=CENTER, periodic_axes="xz")
    sp = m.add_species("a", D=sigma**2 / (2 * 1e-6))
    m.release(sp, n=n, at=CENTER)
    sim = m.simulation()
    sim.advance(steps)
    y = sim.positions(sp) - CENTER
    s2 = sigma**2 * steps
    for ax in (0, 2):
        assert np.all(np.abs(y[:, ax]) <= SIZE[ax] / 2)
        y2 = y[:, ax] ** 2
        check(y2.mean(), wrapped_var(SIZE[ax], s2), y2.std(ddof=1) / math.sqrt(n), f"wrapped <y^2>, axis {ax}")
    y2 = y[:, 1] ** 2
    assert np.abs(y[:, 1]).max() > SIZE[1] / 2                  # y is not wrapped
    check(y2.mean(), s2, y2.std(ddof=1) / math.sqrt(n), "free <y^2> on the open axis")


@pytest.mark.parametrize("sigma", [0.05, 1.5])
def test_periodic_box_keeps_a_uniform_density(sigma):
    """Uniform start, 10 steps of σ = 0.05 µm or 1.5 µm per axis (several box lengths per step);
    chi-square over 10 × 10 × 10 cells and 50 slabs per axis."""
    n = 300_000
    m = cs.Model(dt="1 us", seed=63, periodic_box=SIZE, box_center=CENTER)
    sp = m.add_species("a", D=sigma**2 / (2 * 1e-6))
    m.release(sp, n=n, box=(LO, HI))
    sim = m.simulation()
    sim.advance(10)
    p = sim.positions(sp)
    assert len(p) == n and np.all((p >= LO) & (p <= HI))
    u = (p - LO) / SIZE
    pv = stats.chisquare(np.histogramdd(u, bins=(10, 10, 10), range=[(0, 1)] * 3)[0].ravel()).pvalue
    assert pv > P_MIN, f"cells: chi-square p = {pv:.2e}"
    for ax in range(3):
        pv = stats.chisquare(np.histogram(u[:, ax], bins=50, range=(0, 1))[0]).pvalue
        assert pv > P_MIN, f"slabs along axis {ax}: chi-square p = {pv:.2e}"
