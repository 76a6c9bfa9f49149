"""Absorbing surfaces: escape from the disc cleft and from a sphere, and absorption bookkeeping.

Disc cleft (docs/reference.md §1.3): radius R = 200 nm, height h = 20 nm (128-segment cylinder),
D = 0.33 µm²/ms, reflecting plates, absorbing rim, N molecules released at the centre. Exact:
survival S(t) = Σ 2 exp(−α_n² Dt/R²)/(α_n J1(α_n)) (cleftsim.physics.analytic.disc_survival) and mean
escape time T = R²/(4D) = 30.30 µs.

Estimators. With n_k molecules left after step k (sampled every step), the escape-time estimate is
the trapezoid rule of the empirical survival, T̂ = Δt Σ_k (n_{k−1} + n_k)/(2N) = Σ_k e_k t_k / N,
e_k = n_{k−1} − n_k escapes in step k assigned to its midpoint t_k = (k − ½)Δt (error O(Δt²)). It
is a mean of N independent per-molecule values, so SE(T̂) = sd/√N with sd² = Σ_k e_k (t_k − T̂)²/N.
S(t) is a binomial fraction: SE = √(S(1 − S)/N) with the exact S.

Known, accepted bias (decision 2 of the lead engineer; documented, not hidden): each step that
ends near an absorbing wall is absorbed with the flat-wall Brownian-bridge crossing probability
exp(−d1·d2/(DΔt)); on a curved or faceted boundary that formula is not exact, and the residual
bias shrinks with Δt. Measured in scratch runs of this very model, mean escape time relative to
R²/(4D) ± SE (molecules per Δt in brackets), for the two variants of the engine seen while these
tests were written:
  d1, d2 = distances to the plane of the end point's nearest triangle (commit e8a2dbb):
    Δt = 1 µs: +0.60 % ± 0.04 % (3·10⁶);  0.25 µs: +0.14 % ± 0.02 % (1.2·10⁷);  0.1 µs: +0.08 % ± 0.07 % (10⁶)
  d1, d2 = each end point's distance to its own nearest absorbing triangle (commit 218b115):
    Δt = 1 µs: +0.00 % ± 0.05 % (2·10⁶);  0.25 µs: −0.02 % ± 0.04 % (3·10⁶)
  naive end-point check (bridge_radius=0): +14 % at 1 µs, +7.4 % at 0.25 µs.
Part of the first is geometry, not the time step: the inscribed 128-gon's exact T(0) is 0.040 %
BELOW the circle's (walk-on-spheres, T(0) = E|X_τ|²/(4D)). A test that the bias shrinks with Δt
(|T(1 µs) − T| > |T(0.25 µs) − T|) is deliberately not made: even for the first variant the
difference (≈0.45 %) is only ≈3 combined SE at affordable N, not a robust 4.5-SE check; the
validation report (make validate) shows the trend with high statistics.
"""
import math

import numpy as np
import pytest
from helpers import D_GLU, K, check

import cleftsim as cs
from cleftsim.physics import analytic

R, H, D = 0.2, 0.02, D_GLU                 # µm, µm, µm²/s
T_EXACT = R**2 / (4 * D)                   # 30.30 µs
ALPHA1 = 2.404825557695773                 # first zero of J0


def escape_stats(left: np.ndarray, n0: int, dt: float, tau_tail: float) -> tuple[float, float]:
    """Mean escape time and its SE from the numbers left after each step (left[0] = n0).

    Molecules still present at the end (none are expected) are given t_end + tau_tail, the mean
    residual lifetime in the slowest mode.
    """
    esc = -np.diff(left)
    assert np.all(esc >= 0)
    tk = (np.arange(1, len(left)) - 0.5) * dt
    times = np.append(tk, (len(left) - 1) * dt + tau_tail)
    weights = np.append(esc, left[-1])
    mean = float(np.sum(weights * times) / n0)
    sd = math.sqrt(float(np.sum(weights * (times - mean) ** 2)) / n0)
    return mean, sd / math.sqrt(n0)


def run_disc(dt_us: float, n: int, seed: int, t_end_us: float = 400.0, bridge_radius: float = 4.0):
    m = cs.Model(dt=f"{dt_us} us", seed=seed, bridge_radius=bridge_radius)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    cleft = m.add_geometry(cs.geometry.cylinder(radius="200 nm", height="20 nm", segments=128), name="cleft")
    m.set_surface(glu, cleft.region("side"), "absorb")
    m.release(glu, n=n, at=(0, 0, 0))
    m.count(glu, name="left")
    m.count_absorbed(glu, cleft.region("side"), name="rim")
    res = m.run(t_end=f"{t_end_us} us", every=f"{dt_us} us")
    assert np.all(res["left"] + res["rim"] == n)
    T, se = escape_stats(res["left"], n, dt_us * 1e-6, R**2 / (ALPHA1**2 * D))
    return res, T, se


# -- the acceptance check at Δt = 1 µs ------------------------------------------------
@pytest.mark.slow
def test_spec_mean_escape_time_within_2_percent_at_1us():
    """SPEC (issue acceptance bound, not a statistical tolerance): at Δt = 1 µs the mean escape
    time must be within 2 % of R²/(4D) = 30.30 µs. Required with confidence: the whole 4.5-SE
    interval must lie inside the bound (N = 4·10⁵: SE ≈ 0.11 %; measured bias +0.6 % or 0 for the
    two engine variants in the module docstring, so |bias| + 4.5 SE ≤ 1.1 % < 2 %)."""
    n = 400_000
    res, T, se = run_disc(1.0, n, seed=41)
    assert T_EXACT * 1e6 == pytest.approx(30.30, abs=0.005)
    assert se < 0.002 * T_EXACT
    assert abs(T - T_EXACT) + K * se < 0.02 * T_EXACT, (
        f"T = {T * 1e6:.3f} ± {se * 1e6:.3f} µs vs {T_EXACT * 1e6:.3f} µs ({(T / T_EXACT - 1) * 100:+.2f} %)")
    assert res.diagnostics["bridge_absorptions"] > 0.1 * n


def test_naive_end_point_check_misses_the_spec_by_more_than_10_percent():
    """The correction matters: without the bridge test (search radius 0) T is > 10 % too long."""
    n = 100_000
    res, T, se = run_disc(1.0, n, seed=42, bridge_radius=0.0)
    assert res.diagnostics["bridge_absorptions"] == 0
    assert (T - T_EXACT) - K * se > 0.10 * T_EXACT, f"naive T = {T * 1e6:.3f} µs"


# -- statistical checks against the exact series at Δt = 0.25 µs ------------------------------
N_STAT = 200_000
# Design of N_STAT (the tolerance is 4.5 SE with the SE computed from the run itself):
# - T: SE(T̂) = 0.707·T/√N = 0.16 % (the 2D exit time from the centre has sd/mean = 1/√2, from
#   E e^{−sτ} = 1/I0(R√(s/D))); tolerance 0.71 %. The measured bias (above: +0.14 ± 0.02 % or
#   −0.02 ± 0.04 %, so |bias| ≤ 0.21 %) is at most 1.3 SE: the tolerance keeps a margin of ≥ 3.2 SE
#   over it, so a correct engine fails this check with probability ≤ P(Z > 3.2) ≈ 7e-4 per random
#   stream (≈ 2e-4 at the central value 0.9 SE).
# - S(t) at 10, 20, 50, 100 µs: binomial SEs are 0.07, 0.18, 0.54, 1.9 % of S; the measured
#   biases (first variant +0.05, +0.15, +0.3, +0.7 %, each ± about a third of that; second variant
#   consistent with 0) are below 0.9 SE.
# - Power: the naive end-point engine's +7.4 % at this Δt is 46 SE; cutting the bridge search
#   radius from 4σ to 0.5σ (bridge_radius=0.5: T +1.9 %) fails too. Any bias above
#   ≈ 0.7 % of T (4.5 SE) is caught.


@pytest.fixture(scope="module")
def disc_025():
    return run_disc(0.25, N_STAT, seed=43)


@pytest.mark.slow
def test_survival_matches_the_bessel_series(disc_025):
    res, _, _ = disc_025
    for t_us in (10, 20, 50, 100):
        i = int(np.argmin(np.abs(res.times - t_us * 1e-6)))
        assert res.times[i] == pytest.approx(t_us * 1e-6, rel=1e-9)
        S = analytic.disc_survival(t_us * 1e-6, R, D)
        check(res["left"][i] / N_STAT, S, math.sqrt(S * (1 - S) / N_STAT), f"S({t_us} us)")


@pytest.mark.slow
def test_mean_escape_time_matches_R2_over_4D(disc_025):
    _, T, se = disc_025
    assert analytic.disc_mean_escape_time(R, D) == pytest.approx(T_EXACT, rel=1e-14)
    check(T, T_EXACT, se, "mean escape time at dt = 0.25 us")


def test_survival_series_reference_values():
    """docs/reference.md §1.3 [C]: S(20 µs) = 0.610, S(50 µs) = 0.147, S(100 µs) = 0.0136."""
    S = analytic.disc_survival(np.array([20e-6, 50e-6, 100e-6]), R, D)
    for value, quoted, half_digit in zip(S, (0.610, 0.147, 0.0136), (5e-4, 5e-4, 5e-5)):
        assert value == pytest.approx(quoted, abs=half_digit)
    # ∫S dt = T: the series integrates to R²/(4D)
    from scipy import special
    a = special.jn_zeros(0, 2000)
    assert np.sum(2 / (a * special.j1(a)) * R**2 / (a**2 * D)) == pytest.approx(T_EXACT, rel=1e-6)


# -- sphere ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_absorbing_sphere_mean_exit_time():
    """Icosphere R = 0.2 µm (2 subdivisions, 320 flat faces), absorbing, release at the centre,
    Δt = 0.1 µs. Exact for a ball: T(0) = R²/(6D). For the polyhedron we use R_eq²/(6D), R_eq the
    volume-equivalent radius (0.9886 R). Approximation: to first order in the deviation ε(Ω) of
    the boundary from a sphere, T(0) = ⟨R(Ω)²⟩_Ω/(6D) = R_eq²/(6D); the exact value for this
    polyhedron, computed independently by walk-on-spheres (T(0) = E|X_τ|²/(6D)), is 0.047 % ±
    0.001 % lower, 0.3 SE here. Rigorous bracket (domain monotonicity):
    r_in²/(6D) ≤ T(0) ≤ R²/(6D), r_in = 0.9822 R.
    Engine bias vs R_eq²/(6D), measured (variants as in the module docstring; molecules in
    brackets): nearest-plane variant +1.3 ± 0.2 % at 1 µs (10⁵), +0.30 ± 0.04 % at 0.25 µs
    (3·10⁶), +0.15 ± 0.12 % at 0.1 µs (3·10⁵; ≈ +0.12 % if linear in Δt like the 1/0.25 µs pair);
    nearest-triangle variant −0.04 ± 0.11 % at 1 µs (3·10⁵), −0.12 ± 0.03 % at 0.25 µs and at
    0.1 µs (4·10⁶ each), +0.06 ± 0.06 % at 0.05 µs (10⁶); no bridge test: +7.4 % at 0.25 µs.
    Hence Δt = 0.1 µs and N = 2·10⁵: SE = 0.632·T/√N = 0.14 % (3D exit time from the centre:
    sd/mean = 6/√90, from E e^{−sτ} = x/sinh x, x = R√(s/D)), tolerance 0.64 %; |bias| ≤ 0.9 SE
    for either variant, a margin of ≥ 3.6 SE (with the first variant at 0.25 µs it would be 2.4 SE)."""
    n, dt_us = 200_000, 0.1
    mesh = cs.geometry.icosphere(R, 2)
    r_eq = (3 * mesh.volume / (4 * math.pi)) ** (1 / 3)
    assert r_eq / R == pytest.approx(0.98859, abs=1e-5)
    m = cs.Model(dt=f"{dt_us} us", seed=44)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    ball = m.add_geometry(mesh, name="ball")
    m.set_surface(glu, ball, "absorb")
    m.release(glu, n=n, at=(0, 0, 0))
    m.count(glu, name="left")
    m.count_absorbed(glu, ball, name="absorbed")
    res = m.run(t_end="200 us", every=f"{dt_us} us")
    assert np.all(res["left"] + res["absorbed"] == n)
    tau1 = R**2 / (math.pi**2 * D)                      # slowest Dirichlet mode of the ball
    T, se = escape_stats(res["left"], n, dt_us * 1e-6, tau1)
    exact = r_eq**2 / (6 * D)
    assert se < 0.0016 * exact
    check(T, exact, se, "sphere mean exit time")


# -- bookkeeping -------------------------------------------------------------------------------
def test_absorbed_plus_remaining_equals_released_at_every_sample():
    """Two absorbing regions (rim and postsynaptic plate), a reflecting presynaptic plate, two
    releases (t = 0 and t = 10 µs): at every sample, absorbed(side) + absorbed(top) + present =
    released so far, exactly; the object-wide counter is the sum; nothing is absorbed at the
    reflecting plate (counting there is refused: it would stay 0), and every molecule present is
    inside the cleft."""
    n1, n2, t2 = 3000, 2000, 10e-6
    m = cs.Model(dt="1 us", seed=45)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    cleft = m.add_geometry(cs.geometry.cylinder(radius="200 nm", height="20 nm", segments=128), name="cleft")
    m.set_surface(glu, cleft.region("side"), "absorb")
    m.set_surface(glu, cleft.region("top"), "absorb")
    m.release(glu, n=n1, at=(0, 0, 0))
    m.release(glu, n=n2, at=(0.1, 0.05, -0.005), t="10 us")
    m.count(glu, name="present")
    m.count(glu, inside=cleft, name="inside")
    m.count_absorbed(glu, cleft.region("side"), name="side")
    m.count_absorbed(glu, cleft.region("top"), name="top")
    m.count_absorbed(glu, cleft, name="all")
    res = m.run(t_end="150 us", every="1 us")
    released = n1 + n2 * (res.times >= t2 - 1e-12)
    np.testing.assert_array_equal(res["side"] + res["top"] + res["present"], released)
    np.testing.assert_array_equal(res["all"], res["side"] + res["top"])
    np.testing.assert_array_equal(res["inside"], res["present"])
    assert np.all(np.diff(res["side"]) >= 0) and np.all(np.diff(res["top"]) >= 0)
    assert res["side"][-1] > 0 and res["top"][-1] > 0 and res["present"][-1] < 0.5 * (n1 + n2)
