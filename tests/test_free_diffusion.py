"""Free diffusion against exact results (docs/reference.md §1.1).

N molecules released at one point diffuse without boundaries; after time t each axis of the
displacement is Normal(0, 2Dt), independently, so

- ⟨r²⟩ = 6Dt and ⟨r⁴⟩/⟨r²⟩² = 5/3 (r² = 2Dt·χ²₃: moments 3, 15, 105, 945 × (2Dt)^k);
- per axis ⟨x⟩ = 0, ⟨x²⟩ = 2Dt, ⟨xy⟩ = 0, P(|x| > kσ_t) = erfc(k/√2), σ_t = √(2Dt);
- P(r < a) = erf(a/√(4Dt)) − (2a/√(4πDt)) exp(−a²/4Dt)  (cleftsim.physics.analytic.fraction_within).

Every comparison uses a tolerance of K = 4.5 standard errors, the standard error computed in the
test from the simulated sample (formula written next to each check), with a fixed seed. Molecules
are independent, so sample means of per-molecule quantities have SE = sd/√N exactly.

Two worlds are run: no geometry at all (the kernel's free-space branch) and a reflecting box
1000 µm wide that the molecules never reach (the full ray-tracing branch): both must give free
diffusion.
"""
import math

import numpy as np
import pytest
from helpers import D_GLU, P_MIN, check
from scipy import special, stats

import cleftsim as cs
from cleftsim.physics import analytic

D = D_GLU                      # µm²/s (0.33 µm²/ms, the "0.33 um^2/ms" below)
DT = 1e-6                      # s
N = 400_000
STEPS = (1, 10, 100)           # sample times t = k·Δt
P0 = np.array([0.1, -0.2, 0.3])   # release point (µm); not the origin, to catch offset errors


def run_free(world: str, seed: int = 2024) -> dict[int, np.ndarray]:
    """Displacements (N, 3) from P0 after each k in STEPS."""
    m = cs.Model(dt="1 us", seed=seed)
    sp = m.add_species("glu", D="0.33 um^2/ms")
    if world == "far_box":
        m.add_geometry(cs.geometry.box(1000.0, center=P0), name="far")
    m.release(sp, n=N, at=P0)
    sim = m.simulation()
    out, done = {}, 0
    for k in STEPS:
        sim.advance(k - done)
        done = k
        out[k] = sim.positions(sp) - P0
    assert sim.diagnostics["reflections"] == 0
    return out


@pytest.fixture(scope="module", params=["free_space", "far_box"])
def displacements(request):
    # different seeds: with one seed both worlds give the same numbers (no wall is ever hit)
    return run_free(request.param, seed={"free_space": 2024, "far_box": 2025}[request.param])


def test_units_of_the_model():
    m = cs.Model(dt="1 us")
    assert m.add_species("glu", D="0.33 um^2/ms").D == pytest.approx(D, rel=1e-12)
    assert m.dt == pytest.approx(DT, rel=1e-12)


def test_mean_squared_displacement_is_6Dt(displacements):
    for k, d in displacements.items():
        t = k * DT
        r2 = np.einsum("ij,ij->i", d, d)
        # SE of a sample mean of independent values: sd(r²)/√N (for Gaussian steps
        # sd(r²) = √6·2Dt, i.e. SE ≈ 0.82·6Dt/√N)
        check(r2.mean(), 6 * D * t, r2.std(ddof=1) / math.sqrt(N), f"<r^2>(t = {k} dt)")
        assert analytic.free_msd(D, t) == pytest.approx(6 * D * t, rel=1e-14)


def test_kurtosis_ratio_is_5_over_3(displacements):
    for k, d in displacements.items():
        r2 = np.einsum("ij,ij->i", d, d)
        m2, m4 = r2.mean(), (r2**2).mean()
        g = m4 / m2**2
        # delta method for g = m4/m2²: g − γ ≈ mean(ψ) with the influence function
        # ψ_i = r_i⁴/m2² − 2·m4·r_i²/m2³, so SE(g) = sd(ψ)/√N (≈ 2.6/√N for Gaussian steps)
        psi = r2**2 / m2**2 - 2 * m4 * r2 / m2**3
        check(g, 5 / 3, psi.std(ddof=1) / math.sqrt(N), f"<r^4>/<r^2>^2 (t = {k} dt)")


def test_each_axis_is_independent_normal_with_variance_2Dt(displacements):
    for k, d in displacements.items():
        var = 2 * D * k * DT
        s = math.sqrt(var)
        for ax in range(3):
            x = d[:, ax]
            check(x.mean(), 0.0, x.std(ddof=1) / math.sqrt(N), f"<x_{ax}> (t = {k} dt)")
            # SE of mean(x²) = sd(x²)/√N (√2·2Dt/√N for a normal)
            check((x**2).mean(), var, (x**2).std(ddof=1) / math.sqrt(N), f"<x_{ax}^2> (t = {k} dt)")
            y = d[:, (ax + 1) % 3]
            check((x * y).mean(), 0.0, (x * y).std(ddof=1) / math.sqrt(N), f"<x_{ax} x_{(ax + 1) % 3}>")
        # tails of the normal per axis, pooling the 3N independent axis values:
        # P(|x| > jσ) = erfc(j/√2), binomial SE √(p(1 − p)/(3N))
        a = np.abs(d).ravel()
        for j in (1, 2, 3, 4):
            p = special.erfc(j / math.sqrt(2))
            check(np.mean(a > j * s), p, math.sqrt(p * (1 - p) / a.size), f"P(|x| > {j} sigma) (t = {k} dt)")


def test_fraction_within_radius(displacements):
    for k, d in displacements.items():
        t = k * DT
        r = np.linalg.norm(d, axis=1)
        L = math.sqrt(4 * D * t)
        for a in (0.5 * L, L, 1.5 * L, 2.5 * L):
            p = analytic.fraction_within(a, D, t)
            # binomial: SE of a fraction = √(p(1 − p)/N)
            check(np.mean(r < a), p, math.sqrt(p * (1 - p) / N), f"P(r < {a / L:g}·sqrt(4Dt)) (t = {k} dt)")
        # the whole radial distribution: chi-square over 20 shells of equal probability
        edges = stats.chi(3).ppf(np.linspace(0, 1, 21)) * math.sqrt(2 * D * t)
        counts = np.histogram(r, bins=edges)[0]
        cdf = np.r_[analytic.fraction_within(edges[:-1], D, t), 1.0]     # edges[-1] = inf
        expected = N * np.diff(cdf)
        p = stats.chisquare(counts, expected).pvalue
        assert p > P_MIN, f"radial distribution at t = {k} dt: chi-square p = {p:.2e}"


def test_fraction_within_formula_is_the_chi_distribution():
    """The reference itself: r/√(2Dt) follows the chi distribution with 3 degrees of freedom."""
    t = np.array([1e-6, 3e-5, 1e-3])
    for a in (0.01, 0.05, 0.3, 1.0):
        expected = stats.chi(3).cdf(a / np.sqrt(2 * D * t))
        np.testing.assert_allclose(analytic.fraction_within(a, D, t), expected, rtol=1e-12, atol=1e-15)


def test_two_species_with_different_D_in_one_model():
    """Species keep their own D in one model; a species released later starts its clock then."""
    Da, Db = 330.0, 760.0          # 0.33 and 0.76 µm²/ms: glutamate in the cleft and free
    n, t_rel, n_steps = 200_000, 5, 40
    m = cs.Model(dt="1 us", seed=7)
    a = m.add_species("a", D="0.33 um^2/ms")
    b = m.add_species("b", D="0.76 um^2/ms")
    m.add_geometry(cs.geometry.box(1000.0, center=P0), name="far")
    m.release(a, n=n, at=P0)
    m.release(b, n=n, at=P0, t=f"{t_rel} us")
    sim = m.simulation()
    sim.advance(n_steps)
    for sp, Dsp, steps in ((a, Da, n_steps), (b, Db, n_steps - t_rel)):
        d = sim.positions(sp) - P0
        assert len(d) == n
        r2 = np.einsum("ij,ij->i", d, d)
        check(r2.mean(), 6 * Dsp * steps * DT, r2.std(ddof=1) / math.sqrt(n), f"<r^2> of {sp.name}")


def test_tracing_branch_moves_exactly_like_free_space_when_nothing_is_hit():
    """Same seed, no wall within reach: the ray-tracing branch must give bit-identical positions
    to the kernel's free-space branch."""
    runs = []
    for far in (False, True):
        m = cs.Model(dt="1 us", seed=9)
        sp = m.add_species("glu", D="0.33 um^2/ms")
        if far:
            m.add_geometry(cs.geometry.box(1000.0, center=P0), name="far")
        m.release(sp, n=10_000, at=P0)
        runs.append(m.simulation().run("20 us").positions(sp))
    assert np.array_equal(runs[0], runs[1])
