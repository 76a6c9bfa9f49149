"""Trace features (cleftsim.results.features) against analytic traces.

Alpha function y = (t/τ)e^(1−t/τ): peak 1 at t = τ, area e·τ, 10 % and 90 % crossings from
x·e^(1−x) = 0.1, 0.9 (x < 1). Difference of exponentials y = e^(−t/τd) − e^(−t/τr): peak at
t* = τrτd/(τd − τr)·ln(τd/τr), area τd − τr, and the decay from 90 % of the peak down is τd up to
the fast term, e^(−t/τr) < 1e-3 of the amplitude there. Each sampled estimate must be within the
interpolation error bound of its method at the sampling step (derived in each test).
"""
import math

import numpy as np
import pytest
from scipy import optimize

from cleftsim.results.features import trace_features

TAU = 1e-3


def alpha(h, offset=0.0):
    t = (np.arange(int(30 * TAU / h)) + offset) * h
    return t, (t / TAU) * np.exp(1 - t / TAU)


def alpha_area(t0, t1):
    """∫ (t/τ)e^(1−t/τ) dt from t0 to t1."""
    g = lambda x: -math.e * TAU * (1 + x) * math.exp(-x)
    return g(t1 / TAU) - g(t0 / TAU)


def alpha_crossing(f):
    return TAU * optimize.brentq(lambda x: x * math.exp(1 - x) - f, 1e-12, 1.0)


def test_alpha_function_features_within_the_interpolation_error_bounds():
    """Bounds from the interpolation error of each method at sampling step h (for the alpha
    function, with x = t/tau: y2 = (x - 2)e^(1-x)/tau^2 and y3 = (3 - x)e^(1-x)/tau^3 are its
    second and third derivatives): peak value, quadratic interpolation, error <= h^3 max|y3|/(9 sqrt 3);
    peak time, the parabola's vertex, error <= 0.3 h^2 |y3/y2| (h^2/6 from the slope, h^2/8 from
    the offset of the middle sample); crossings, linear interpolation, error <= h^2 |y2|/(8 |y1|)
    at each; area, the trapezoid's Euler-Maclaurin term -(h^2/12)[y1(T) - y1(0)]."""
    for h, offset in ((TAU / 10, 0.0), (TAU / 10, 0.37), (TAU / 20, 0.61)):   # peak on and between samples
        t, y = alpha(h, offset)
        f = trace_features(t, y, t0=0.0)
        assert abs(f["peak"] - 1) <= h ** 3 * (3 / TAU ** 3) / (9 * math.sqrt(3))
        assert abs(f["time_to_peak"] - TAU) <= 0.3 * h * h * (2 / TAU)
        bound = 0.0
        for frac in (0.1, 0.9):
            x = alpha_crossing(frac) / TAU
            d1 = (1 - x) * math.exp(1 - x) / TAU
            d2 = abs(x - 2) * math.exp(1 - x) / TAU ** 2
            bound += h * h * d2 / (8 * d1)
        assert abs(f["rise_10_90"] - (alpha_crossing(0.9) - alpha_crossing(0.1))) <= bound
        slope = lambda x: (1 - x) * math.exp(1 - x) / TAU
        euler_maclaurin = (h * h / 12) * (slope(t[-1] / TAU) - slope(t[0] / TAU))
        assert f["area"] - alpha_area(t[0], t[-1]) == pytest.approx(euler_maclaurin, rel=0.01)


@pytest.mark.parametrize("sign", [1, -1])
def test_difference_of_exponentials_and_sign_conventions(sign):
    """Peak value and time within the bounds above; decay tau within the relative size of the
    fast term where the fit starts (90 % of the peak, after it); area td - tr."""
    tr, td, h = 0.2e-3, 5e-3, 2e-5
    t = np.arange(0, 80e-3, h)
    y = sign * (np.exp(-t / td) - np.exp(-t / tr))
    f = trace_features(t, y)
    tp = tr * td / (td - tr) * math.log(td / tr)
    peak = math.exp(-tp / td) - math.exp(-tp / tr)
    d2 = math.exp(-tp / td) / td ** 2 - math.exp(-tp / tr) / tr ** 2
    d3 = -math.exp(-tp / td) / td ** 3 + math.exp(-tp / tr) / tr ** 3
    assert abs(f["peak"] - sign * peak) <= h ** 3 * (1 / tr ** 3) / (9 * math.sqrt(3))   # max|y3| <= 1/tr^3
    assert abs(f["time_to_peak"] - tp) <= 0.3 * h * h * abs(d3 / d2)
    t90 = optimize.brentq(lambda s: math.exp(-s / td) - math.exp(-s / tr) - 0.9 * peak, tp, 10 * td)
    assert abs(f["decay_tau"] / td - 1) <= math.exp(-t90 / tr) / math.exp(-t90 / td)
    assert f["area"] == pytest.approx(sign * (td - tr), rel=1e-4)
    assert np.sign(f["peak"]) == sign                     # an inward current keeps its negative peak


def test_exponential_decay_is_exact_with_noise_averaging_out():
    """A step up then e^(−t/τ) with Gaussian noise of SD 0.01: the least-squares τ is unbiased to
    within its scatter (SD from 200 noisy copies, each tested in the batch form)."""
    h, tau = 1e-5, 2e-3
    t = np.arange(0, 20e-3, h)
    clean = np.where(t < 1e-3, 0.0, np.exp(-(t - 1e-3) / tau))
    rng = np.random.default_rng(1)
    noisy = clean + 0.01 * rng.standard_normal((200, len(t)))
    taus = trace_features(t, noisy, polarity=1)["decay_tau"]
    assert taus.shape == (200,)
    assert abs(taus.mean() - tau) < 4 * taus.std(ddof=1) / math.sqrt(len(taus))
    assert trace_features(t, clean)["decay_tau"] == pytest.approx(tau, rel=1e-9)


def test_t0_baseline_and_undefined_features():
    t, y = alpha(TAU / 20)
    f = trace_features(t + 0.5, y + 3.0, t0=0.5, baseline=3.0)
    assert f["time_to_peak"] == pytest.approx(TAU, rel=1e-3) and f["peak"] == pytest.approx(1.0, rel=1e-5)
    rising = trace_features(t[:10], y[:10])                # still rising at the end: no decay
    assert math.isnan(rising["decay_tau"])
    s = np.linspace(0.0, 1.0, 200)                         # a decay cut off before it halves: no estimate
    assert math.isnan(trace_features(s, np.exp(-s / 1.6))["decay_tau"])          # ends at 0.54 of the peak
    assert trace_features(s, np.exp(-s / 1.3))["decay_tau"] == pytest.approx(1.3, rel=1e-6)   # ends at 0.46
    flat = trace_features(t, np.zeros_like(t))
    assert flat["peak"] == 0.0 and math.isnan(flat["time_to_peak"])
    with pytest.raises(ValueError, match="polarity"):
        trace_features(t, y, polarity=2)
    with pytest.raises(ValueError, match="times must increase"):
        trace_features(t[::-1], y)


def test_late_traces_keep_their_precision():
    """The vertex is computed in time relative to the middle sample: a response 100 s into a run
    (t ≫ h) has the same features as at t = 0."""
    t, y = alpha(TAU / 10, 0.37)
    early = trace_features(t, y, t0=0.0)
    late = trace_features(t + 100.0, y, t0=100.0)
    for k in ("peak", "time_to_peak", "rise_10_90", "decay_tau"):
        assert late[k] == pytest.approx(early[k], rel=1e-6, nan_ok=True), k


def test_counts_report_the_sampled_maximum_and_continuous_traces_are_refined():
    """A count is a whole number between samples too: its peak is the largest count sampled (at
    its first sample), never a refined 17.2; a continuous trace keeps the parabola's vertex."""
    t = np.arange(0.0, 10.0, 1.0)
    counts = np.array([0, 3, 9, 15, 17, 16, 12, 8, 5, 3], dtype=float)
    f = trace_features(t, counts)
    assert f["peak"] == 17 and f["time_to_peak"] == 4.0
    both = trace_features(t, np.stack([counts, counts[::-1]]))
    assert np.array_equal(both["peak"], [17, 17])
    refined = trace_features(t, counts, refine=True)
    assert refined["peak"] > 17                                  # the vertex of the parabola lies above the sample
    smooth = trace_features(t, counts * 1e-12)                   # a current: continuous, refined
    assert smooth["peak"] == pytest.approx(refined["peak"] * 1e-12)
    assert trace_features(t, counts * 1e-12, refine=False)["peak"] == pytest.approx(17e-12)
    with pytest.raises(ValueError, match="refine must be True, False or 'auto'"):
        trace_features(t, counts, refine="yes")
