"""Vesicle release: binomial release per AP, quantal sizes, pore and latency delays, validation."""
import math

import numpy as np
import pytest
from scipy import integrate, stats

from cleftsim import release as rl

P_MIN = 1e-3  # p-value below which a goodness-of-fit test fails


def equiprobable_bins(pmf: np.ndarray, n_bins: int) -> np.ndarray:
    """Integer bin edges splitting a pmf on 0..len-1 into about n_bins bins of similar mass."""
    cdf = np.cumsum(pmf)
    inner = np.searchsorted(cdf, np.arange(1, n_bins) / n_bins) + 1
    return np.unique(np.concatenate([[0], inner, [pmf.size]]))


def chi_square_p(samples: np.ndarray, pmf: np.ndarray, n_bins: int = 30) -> float:
    """p-value of samples (integers) against a pmf on 0..len-1 whose mass outside is negligible."""
    assert abs(pmf.sum() - 1) < 1e-9
    edges = equiprobable_bins(pmf, n_bins)
    observed = np.histogram(samples, bins=edges)[0]
    assert observed.sum() == samples.size       # nothing outside the support considered
    expected = samples.size * np.add.reduceat(pmf, edges[:-1])
    assert expected.min() >= 5
    return stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue


def assert_moments(samples: np.ndarray, pmf: np.ndarray) -> None:
    """Sample mean and SD within 5 standard errors of the pmf's (errors from its moments)."""
    k = np.arange(pmf.size)
    mean = np.sum(k * pmf)
    var = np.sum((k - mean) ** 2 * pmf)
    mu4 = np.sum((k - mean) ** 4 * pmf)
    n = samples.size
    assert abs(samples.mean() - mean) < 5 * math.sqrt(var / n)
    se_sd = math.sqrt((mu4 - var ** 2) / n) / (2 * math.sqrt(var))  # delta method on s²
    assert abs(samples.std(ddof=1) - math.sqrt(var)) < 5 * se_sd


# ---- release per AP -------------------------------------------------------------------------


def counts_per_ap(stim, trials, seed):
    rng = np.random.default_rng(seed)
    per_ap, per_site = [], np.zeros(stim.n_sites)
    for _ in range(trials):
        ev = rl.realise(stim, rng)
        per_ap.append(np.bincount(ev["ap"], minlength=len(stim.ap_times)))
        per_site += np.bincount(ev["site"], minlength=stim.n_sites)
    return np.concatenate(per_ap), per_site


def test_vesicles_per_ap_are_binomial():
    stim = rl.stimulus(["0 ms", "10 ms", "20 ms", "30 ms"], p=0.3, n_sites=5)
    counts, _ = counts_per_ap(stim, 5000, seed=11)             # 20000 APs
    observed = np.bincount(counts, minlength=6)
    assert observed.size == 6
    expected = counts.size * stats.binom.pmf(np.arange(6), 5, 0.3)
    assert stats.chisquare(observed, expected).pvalue > P_MIN


def test_per_site_probabilities():
    p = (0.0, 0.1, 0.5, 0.9, 1.0)
    stim = rl.stimulus([0.0, 0.01], p=p, n_sites=5)
    n_aps = 2 * 4000
    _, per_site = counts_per_ap(stim, 4000, seed=12)
    freq = per_site / n_aps
    se = np.sqrt(np.array(p) * (1 - np.array(p)) / n_aps)
    assert np.all(np.abs(freq - p) <= 5 * se)                  # exact for p = 0 and 1


def test_events_structure_and_times():
    lat = rl.asynchronous(0.5, tau="2 ms", delay="0.3 ms")
    stim = rl.stimulus(["1 ms", "3 ms"], p=0.6, n_sites=50, quantal=rl.quantal(100, cv=0.2), latency=lat)
    ev = rl.realise(stim, np.random.default_rng(13))
    assert ev.dtype == rl.RELEASE_DTYPE
    assert np.all(np.diff(ev["time"]) >= 0)
    assert np.unique(ev["ap"] * 50 + ev["site"]).size == ev.size   # one vesicle per site per AP
    assert np.all(ev["time"] >= np.array([1e-3, 3e-3])[ev["ap"]] + 0.3e-3)
    assert np.all((ev["site"] >= 0) & (ev["site"] < 50)) and np.all(ev["n"] > 0)
    # same seed, same trial
    assert np.array_equal(ev, rl.realise(stim, np.random.default_rng(13)))


def test_molecule_times():
    ev = np.array([(1e-3, 0, 0, 3), (2e-3, 0, 1, 0), (5e-3, 1, 0, 2)], dtype=rl.RELEASE_DTYPE)
    t, idx = rl.molecule_times(ev, rl.instantaneous(), np.random.default_rng(0))
    assert np.array_equal(idx, [0, 0, 0, 2, 2]) and np.array_equal(t, [1e-3] * 3 + [5e-3] * 2)
    pore = rl.fusion_pore("100 us")
    ev = np.array([(1e-3, 0, 0, 20000)], dtype=rl.RELEASE_DTYPE)
    t, idx = rl.molecule_times(ev, pore, np.random.default_rng(1))
    assert stats.kstest(t - 1e-3, pore.cdf).pvalue > P_MIN


# ---- quantal size ---------------------------------------------------------------------------


def test_fixed_quantal():
    rng = np.random.default_rng(0)
    assert np.all(rl.quantal(3000).sample(rng, 1000) == 3000)
    with pytest.raises(rl.ReleaseError, match="whole number of molecules, got 2.5; give e.g. 3"):
        rl.quantal(2.5, distribution="normal")                      # a fixed content is not rounded
    assert rl.as_quantal(250) == rl.quantal(250)
    assert rl.quantal(3000).pmf(3000) == 1.0 and rl.quantal(3000).pmf(2999) == 0.0
    q = rl.quantal(40, cv=0.5)
    assert rl.as_quantal(q) is q


@pytest.mark.parametrize("mean, cv", [(4.0, 0.5), (3000.0, 0.3)])
def test_gamma_quantal(mean, cv):
    q = rl.quantal(mean, cv=cv)
    k = np.arange(int(mean * (1 + 15 * cv)) + 20)
    pmf = q.pmf(k)
    # the pmf is that of round(G) (computed independently from scipy's gamma distribution)
    g = stats.gamma(a=cv ** -2, scale=mean * cv ** 2)
    assert np.allclose(pmf, g.cdf(k + 0.5) - g.cdf(np.maximum(k - 0.5, 0)), rtol=1e-8, atol=1e-15)
    samples = q.sample(np.random.default_rng(21), 20000)
    assert samples.dtype == np.int64
    assert chi_square_p(samples, pmf) > P_MIN
    assert_moments(samples, pmf)
    if mean > 100:  # rounding adds 1/12 to the variance and leaves the mean (Sheppard)
        assert np.sum(k * pmf) == pytest.approx(mean, rel=1e-9)
        assert np.sum((k - mean) ** 2 * pmf) == pytest.approx((cv * mean) ** 2 + 1 / 12, rel=1e-9)


@pytest.mark.parametrize("mean, cv", [(3.0, 0.6), (3000.0, 0.1)])   # truncation: heavy / negligible (10 SD)
def test_normal_quantal(mean, cv):
    q = rl.quantal(mean, cv=cv, distribution="normal")
    k = np.arange(int(mean * (1 + 10 * cv)) + 20)
    pmf = q.pmf(k)
    x = stats.norm(mean, cv * mean)
    assert pmf[0] == 0
    assert np.allclose(pmf[1:], (x.cdf(k[1:] + 0.5) - x.cdf(k[1:] - 0.5)) / x.sf(0.5), rtol=1e-8, atol=1e-15)
    samples = q.sample(np.random.default_rng(22), 20000)
    assert samples.min() >= 1
    assert chi_square_p(samples, pmf) > P_MIN
    assert_moments(samples, pmf)
    if mean > 100:
        assert np.sum(k * pmf) == pytest.approx(mean, rel=1e-9)
        assert np.sum((k - mean) ** 2 * pmf) == pytest.approx((cv * mean) ** 2 + 1 / 12, rel=1e-9)


def test_poisson_quantal():
    q = rl.quantal(6.5, distribution="poisson")
    assert q.cv == pytest.approx(1 / math.sqrt(6.5))
    k = np.arange(40)
    pmf = stats.poisson.pmf(k, 6.5)
    assert np.allclose(q.pmf(k), pmf, rtol=1e-10)
    samples = q.sample(np.random.default_rng(23), 20000)
    assert chi_square_p(samples, pmf, n_bins=12) > P_MIN
    assert_moments(samples, pmf)


def test_pmf_off_support():
    for q in (rl.quantal(5, cv=0.4), rl.quantal(5, cv=0.4, distribution="normal"),
              rl.quantal(5, distribution="poisson")):
        assert np.array_equal(q.pmf(np.array([-1, 2.5])), [0.0, 0.0])


# ---- pore and latency -----------------------------------------------------------------------


@pytest.mark.parametrize("expansion", [None, "40 us"])
def test_pore_delays(expansion):
    pore = rl.fusion_pore("100 us", expansion=expansion)
    a = math.inf if expansion is None else 40e-6
    # cdf = 1 - exp(-∫ g) with g(t) = (1 + t/a)² / tau, by quadrature
    for t in (1e-6, 30e-6, 1e-4, 4e-4):
        h = integrate.quad(lambda s: (1 + s / a) ** 2 / 100e-6, 0, t, epsabs=0, epsrel=1e-12)[0]
        assert pore.cdf(t) == pytest.approx(-math.expm1(-h), rel=1e-10)
    assert pore.cdf(-1e-6) == 0.0
    assert pore.cdf(pore.median()) == pytest.approx(0.5, rel=1e-12)
    if expansion is None:
        assert pore.median() == pytest.approx(100e-6 * math.log(2))
    d = pore.sample(np.random.default_rng(31), 20000)
    assert d.min() >= 0
    assert stats.kstest(d, pore.cdf).pvalue > P_MIN


def test_instantaneous_pore():
    pore = rl.instantaneous()
    assert np.all(pore.sample(np.random.default_rng(0), 10) == 0)
    assert pore.median() == 0 and pore.cdf(0.0) == 1.0 and pore.cdf(-1e-9) == 0.0
    assert pore.describe() == {"kind": "instantaneous"}


def test_asynchronous_latency():
    f, tau, delay = 0.3, 5e-3, 0.5e-3
    lat = rl.asynchronous(f, tau="5 ms", delay="0.5 ms")
    n = 100000
    d = lat.sample(np.random.default_rng(41), n)
    late = d > delay
    assert np.all(d[~late] == delay)
    assert abs(late.mean() - f) < 5 * math.sqrt(f * (1 - f) / n)
    tail = d[late] - delay
    assert stats.kstest(tail, "expon", args=(0, tau)).pvalue > P_MIN
    assert abs(tail.mean() - tau) < 5 * tau / math.sqrt(tail.size)   # the SD of Exp(tau) is tau
    assert lat.cdf(delay) == pytest.approx(1 - f) and lat.cdf(0.0) == 0.0
    assert lat.cdf(delay + tau) == pytest.approx(1 - f * math.exp(-1))
    assert np.all(rl.synchronous().sample(np.random.default_rng(0), 5) == 0)
    assert rl.synchronous().cdf(0.0) == 1.0


def test_describe():
    stim = rl.stimulus("2 ms", p=[0.2, 0.4], n_sites=2, quantal=rl.quantal(9, distribution="poisson"),
                       latency=rl.asynchronous(0.1, "4 ms"))
    assert stim.describe() == {
        "kind": "stimulus", "ap_times": [0.002], "p": [0.2, 0.4], "n_sites": 2,
        "quantal": {"kind": "quantal", "distribution": "poisson", "mean": 9.0},
        "latency": {"kind": "asynchronous", "fraction": 0.1, "tau": 0.004, "delay": 0.0}}
    assert rl.fusion_pore("50 us", "40 us").describe() == {"kind": "fusion_pore", "tau": pytest.approx(5e-5),
                                                           "expansion": pytest.approx(4e-5)}
    assert rl.quantal(3000, cv=0.3).describe() == {"kind": "quantal", "distribution": "gamma",
                                                   "mean": 3000.0, "cv": 0.3}


# ---- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda: rl.quantal(0.5), "quantal: mean must be >= 1"),
    (lambda: rl.quantal("3000"), "quantal: mean: expected a number"),
    (lambda: rl.quantal(math.nan), "quantal: mean: nan is not finite"),
    (lambda: rl.quantal(3000, cv=-0.1), "quantal: cv must be >= 0"),
    (lambda: rl.quantal(3000, cv=math.inf), "quantal: cv: inf is not finite"),
    (lambda: rl.quantal(3000, distribution="lognormal"), "quantal: distribution must be one of"),
    (lambda: rl.quantal(30, cv=0.2, distribution="poisson"), "quantal: cv=0.2 with distribution='poisson'"),
    (lambda: rl.as_quantal(None), "quantal: expected a number"),
    (lambda: rl.fusion_pore(0), "fusion_pore: tau must be > 0"),
    (lambda: rl.fusion_pore("50 um"), "fusion_pore: tau: '50 um' is not a time"),
    (lambda: rl.fusion_pore("50 us", expansion=-1e-6), "fusion_pore: expansion must be > 0"),
    (lambda: rl.asynchronous(1.2, "5 ms"), r"asynchronous: fraction must lie in \[0, 1\]"),
    (lambda: rl.asynchronous(0.2, 0), "asynchronous: tau must be > 0"),
    (lambda: rl.asynchronous(0.2, "5 ms", delay="-1 ms"), "asynchronous: delay must be >= 0"),
    (lambda: rl.stimulus([], p=0.3), "stimulus: ap_times is empty"),
    (lambda: rl.stimulus(["-1 ms"], p=0.3), r"stimulus: ap_times\[0\] must be >= 0"),
    (lambda: rl.stimulus([0.0, math.inf], p=0.3), r"stimulus: ap_times\[1\]: inf is not finite"),
    (lambda: rl.stimulus([0.002, 0.001], p=0.3), r"stimulus: ap_times must increase, but ap_times\[1\]"),
    (lambda: rl.stimulus(0.0, p=1.5), r"stimulus: p must lie in \[0, 1\]"),
    (lambda: rl.stimulus(0.0, p=[0.1, -0.1], n_sites=2), r"stimulus: p\[1\] must lie in \[0, 1\]"),
    (lambda: rl.stimulus(0.0, p=[0.1, 0.2], n_sites=3), "stimulus: p has 2 entries but n_sites = 3"),
    (lambda: rl.stimulus(0.0, p=0.3, n_sites=0), "stimulus: n_sites must be >= 1"),
    (lambda: rl.stimulus(0.0, p=0.3, n_sites=2.5), "stimulus: n_sites must be a whole number"),
    (lambda: rl.stimulus(0.0, p=0.3, quantal=0), "stimulus: quantal must be >= 1"),
    (lambda: rl.stimulus(0.0, p=0.3, latency="5 ms"), "stimulus: latency must come from"),
    (lambda: rl.molecule_times(np.zeros(0, rl.RELEASE_DTYPE), None, None), "molecule_times: pore must come from"),
])
def test_validation(call, match):
    with pytest.raises(rl.ReleaseError, match=match):
        call()
