"""Surface molecules and their reactions against exact results.

Statistics. Surface molecules that do not compete for ligand (first-order reactions, or binding
driven by a concentration clamp, which is never depleted) change state independently of each
other, so the number of N molecules in a state at time t is exactly Binomial(N, p(t)), p the
single-molecule occupancy of the master equation (the closed forms below, or
cleftsim.schemes.well_mixed). Each sampled count is therefore checked with its exact binomial
tail, expressed as an equivalent normal deviate z (two-sided); a test makes up to 3500 such
comparisons and asserts max |z| < 5 (false alarm ≤ 3500 × 5.7e-7 ≈ 2e-3 per test, Bonferroni).
Single derived estimates (peak of a fitted curve, time averages, net fluxes) are held to
|z| < 4.5, with standard errors from the exact covariance of the Markov chain (propagators
expm(Q·τ)) or its tilted generator, never from the data. Each test was checked to fail when a
rate in its expectation is changed by 3 % (or the bookkeeping identity is broken).

Bookkeeping checks (conservation of ligand, event counts) are exact at every sample.
"""
import math

import numpy as np
import pytest
from scipy import linalg, stats

import cleftsim as cs
from cleftsim.compiler import scene as world
from cleftsim.schemes import well_mixed

US, MS = 1e-6, 1e-3
ZMAX = 5.0                     # bound on |z| over all the comparisons of one test
ZONE = 4.5                     # bound on |z| of a single estimate (two-sided p ≈ 7e-6)


# -- helpers -----------------------------------------------------------------------------------
def binom_z(k, n, p):
    """Signed normal deviate equivalent to the exact two-sided binomial tail of count k,
    k ~ Binomial(n, p): 0 when k is the most likely value, inf when k is impossible."""
    k = np.asarray(k, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    n = np.broadcast_to(np.asarray(n, dtype=float), k.shape)
    lo = stats.binom.cdf(k, n, p)
    hi = stats.binom.sf(k - 1, n, p)
    tail = np.minimum(1.0, 2.0 * np.minimum(lo, hi))
    return np.sign(k - n * p) * stats.norm.isf(tail / 2)


def assert_binomial(counts, n, p, what, zmax=ZMAX):
    """Every count is a plausible draw of Binomial(n, p): max |z| < zmax."""
    z = binom_z(counts, n, p)
    i = int(np.argmax(np.abs(z)))
    n_i = np.ravel(np.broadcast_to(n, z.shape))[i]
    assert abs(z.flat[i]) < zmax, (f"{what}: sample {i}: count {np.ravel(counts)[i]} of {n_i}, "
                                   f"expected fraction {np.ravel(p)[i]:.6g}, z = {z.flat[i]:+.2f}")
    return float(np.abs(z).max())


def surface_model(dt, seed, size=(2.0, 2.0, 0.1)):
    """A model for surface-only kinetics: a box to hold the molecules (a 4 µm² face holds the
    4e5 of the largest tests at a tile density of 2e5 µm⁻², one molecule per tile) and one
    (unused) volume species, which Simulation requires."""
    m = cs.Model(dt=dt, seed=seed, tile_density=2e5)
    m.add_species("X", D=0.0)
    box = m.add_geometry(cs.geometry.box(size=size), name="box")
    return m, box


def generator(scheme, c):
    """Rate matrix Q (dp/dt = Q p, columns = source state) of a scheme at ligand concentration c (M)."""
    idx = {s: i for i, s in enumerate(scheme.states)}
    q = np.zeros((len(idx), len(idx)))
    for tr in scheme.transitions():
        k = tr.k * (c if tr.ligand else 1.0)
        q[idx[tr.target], idx[tr.source]] += k
        q[idx[tr.source], idx[tr.source]] -= k
    return q


def stationary(q):
    w, v = np.linalg.eig(q)
    pi = np.real(v[:, np.argmin(np.abs(w))])
    return pi / pi.sum()


def time_average_se(q, pi, state, spacing, m, n):
    """Exact SE of the mean over m samples (``spacing`` apart) of the fraction of n independent
    stationary molecules in ``state``: Var = (1/(n m)) [C(0) + 2 Σ_l (1 - l/m) C(l·spacing)],
    C(τ) = π_s (P(τ)_ss − π_s)."""
    step = linalg.expm(q * spacing)
    col = np.zeros(len(pi))
    col[state] = 1.0
    cov = np.empty(m)
    for lag in range(m):
        cov[lag] = pi[state] * (col[state] - pi[state])
        col = step @ col
    w = 1.0 - np.arange(m) / m
    var = (cov[0] + 2.0 * np.sum(w[1:] * cov[1:])) / (n * m)
    return math.sqrt(var)


# == 1. Jonas AMPA receptors in a concentration clamp (docs/reference.md §2.1) ===================
AMPA_N = 100000
SAMPLE = 10 * US


def ampa_clamp_run(wave, seed, dt="1 us", n=AMPA_N, t_end="5 ms"):
    """N receptors on the bottom of a box, facing its inside, where glutamate is clamped; a
    control group of 1000 on the top face faces the outside and must never bind."""
    m = cs.Model(dt=dt, seed=seed, tile_density=4e4)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(2.0, 2.0, 0.1)), name="box")
    scheme = cs.schemes.ampa_jonas1993(ligand=glu)
    ampa = m.add_scheme(scheme)
    m.place(ampa, region=box.region("bottom"), n=n)
    m.place(ampa, region=box.region("top"), n=1000, facing="outside")
    m.clamp(glu, inside=box, concentration=wave)
    for st in scheme.states:
        m.count(ampa[st], region=box.region("bottom"), name=st)
    m.count(ampa.C0, region=box.region("top"), name="C0_facing_away")
    res = m.run(t_end, every=SAMPLE)
    assert np.all(res["C0_facing_away"] == 1000)
    assert clamp_only(res)
    return scheme, res


def clamp_only(res):
    """A clamp run moves no volume molecule (released glutamate joins the bath) and has no
    saturated hit or deferred event."""
    d = res.diagnostics
    return d["reflections"] == 0 and d["saturated_hits"] == 0 and d["deferred_events"] == 0


def assert_matches_well_mixed(scheme, res, wave, n, what):
    ref = well_mixed(scheme, {"glu": wave}, res.times)
    zs = {}
    for st in scheme.states:
        zs[st] = assert_binomial(res[st], n, ref[st], f"{what}, state {st}")
    total = sum(res[st] for st in scheme.states)
    assert np.all(total == n)
    return ref, zs


def peak_estimate(t, y, a, b, deg):
    """Maximum of a degree-``deg`` polynomial fitted to the samples in [a, b]: (value, time)."""
    w = (t >= a - 1e-9) & (t <= b + 1e-9)
    tc, sc = 0.5 * (a + b), 0.5 * (b - a)
    coef = np.polyfit((t[w] - tc) / sc, y[..., w].T if y.ndim > 1 else y[w], deg)
    u = np.linspace(-1.0, 1.0, 4001)
    v = np.polynomial.polynomial.polyvander(u, deg)[:, ::-1] @ coef
    i = np.argmax(v, axis=0)
    return v[i, np.arange(v.shape[1])] if v.ndim > 1 else v[i], tc + sc * u[i]


def peak_se(scheme, c_window, t, p_open, a, b, deg, n, draws=4000):
    """SE of peak_estimate over N receptors from the exact covariance of the sampled open
    fractions: Cov(P̂(s), P̂(t)) = [p(s)·P(t−s)_OO − p(s)p(t)]/N with the propagator
    P = expm(Q·τ) of the (constant) concentration in the window; by Monte Carlo of the
    estimator on Gaussian draws with that covariance."""
    w = (t >= a - 1e-9) & (t <= b + 1e-9)
    tw, pw = t[w], p_open[w]
    q = generator(scheme, c_window)
    o = list(scheme.states).index("O")
    step = linalg.expm(q * (tw[1] - tw[0]))
    m = len(tw)
    poo = np.empty(m)                          # P(O at lag·Δ | O at 0)
    col = np.zeros(len(scheme.states))
    col[o] = 1.0
    for lag in range(m):
        poo[lag] = col[o]
        col = step @ col
    lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
    first = np.minimum.outer(np.arange(m), np.arange(m))
    cov = (pw[first] * poo[lag] - np.outer(pw, pw)) / n
    noise = np.random.default_rng(12345).multivariate_normal(np.zeros(m), cov, size=draws, method="cholesky")
    y = np.zeros((draws, len(t)))
    y[:, w] = pw + noise
    v, tp = peak_estimate(t, y, a, b, deg)
    return float(v.std()), float(tp.std())


@pytest.mark.slow
@pytest.mark.parametrize("kind, wave, window, deg, c_window, ref_peak, seed", [
    ("1 mM step", cs.waveforms.step("1 mM"), (1.0 * MS, 1.8 * MS), 4, 1e-3, (0.610, 1.37 * MS), 11),
    ("1 mM x 1 ms pulse", cs.waveforms.pulse("1 mM", duration="1 ms"), (1.0 * MS, 1.5 * MS), 4, 0.0,
     (0.595, 1.05 * MS), 13),
], ids=["step", "pulse"])
def test_ampa_clamp_matches_well_mixed(kind, wave, window, deg, c_window, ref_peak, seed):
    """Every state at every 10 µs sample against well_mixed (exact binomial, max |z| < 5); the
    peak of P_open (degree-4 fit around it; SE from the exact covariance) against the same fit
    of the exact curve and against docs/reference.md §2.1."""
    scheme, res = ampa_clamp_run(wave, seed=seed)
    ref, zs = assert_matches_well_mixed(scheme, res, wave, AMPA_N, f"AMPA, {kind}")
    t = res.times
    p_sim = res["O"] / AMPA_N
    # the peak: a polynomial fitted around it, from the simulation and from the exact curve
    a, b = window
    v_sim, t_sim = peak_estimate(t, p_sim, a, b, deg)
    v_ode, t_ode = peak_estimate(t, ref["O"], a, b, deg)
    se_v, se_t = peak_se(scheme, c_window, t, ref["O"], a, b, deg, AMPA_N)
    z_v, z_t = (v_sim - v_ode) / se_v, (t_sim - t_ode) / se_t
    assert abs(z_v) < ZONE and abs(z_t) < ZONE, (
        f"{kind}: peak {v_sim:.4f} at {t_sim / MS:.4f} ms, exact curve {v_ode:.4f} at {t_ode / MS:.4f} ms "
        f"(SE {se_v:.4f}, {se_t / MS:.4f} ms): z = {z_v:+.2f}, {z_t:+.2f}")
    # against the printed values of docs/reference.md §2.1: statistics + half a unit of the last printed digit
    # + the estimator's own offset on the exact curve (fine grid)
    tf = np.arange(0.0, 2.0 * MS, 0.1 * US)
    of = well_mixed(scheme, {"glu": wave}, tf)["O"]
    p_true, t_true = of.max(), tf[of.argmax()]
    p_ref, t_ref = ref_peak
    assert abs(v_sim - p_ref) < ZONE * se_v + 0.0005 + abs(v_ode - p_true), (kind, v_sim, p_ref, se_v)
    assert abs(t_sim - t_ref) < ZONE * se_t + 0.005 * MS + abs(t_ode - t_true), (kind, t_sim, t_ref, se_t)


@pytest.mark.slow
def test_ampa_exponential_clamp_matches_well_mixed():
    wave = cs.waveforms.exponential("3 mM", tau="1 ms")
    scheme, res = ampa_clamp_run(wave, seed=12, dt="5 us", n=40000)
    assert_matches_well_mixed(scheme, res, wave, 40000, "AMPA, 3 mM exp(-t/1 ms)")
    assert res["O"].max() > 0.3 * 40000          # the comparison covers a real response


def test_clamp_on_one_side_of_a_region_drives_only_molecules_facing_it():
    """clamp(region=top, side="outside"): S on the top facing outside binds at exactly k_on·c,
    SL(t) ~ Binomial(N, 1 − exp(−k_on·c·t)); S facing outside on another face, and R facing the
    other way on the same face, never bind."""
    k_on, c, n = 1e7, 1e-3, 100000
    m = cs.Model(dt="10 us", seed=14, tile_density=2e5)
    lig = m.add_species("L", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(2.0, 2.0, 0.1)), name="box")
    for sp in ("S", "SL", "R", "RL"):
        m.add_surface_species(sp)
    m.add_reaction("L + S -> SL", k_on)
    m.add_reaction("L + R -> RL", k_on)
    m.place("S", box.region("top"), n=n, facing="outside")
    m.place("S", box.region("bottom"), n=1000, facing="outside")
    m.place("R", box.region("top"), n=1000, facing="inside")
    m.clamp(lig, c, region=box.region("top"), side="outside")
    m.count("SL", region=box.region("top"), name="SL_top")
    m.count("SL", region=box.region("bottom"), name="SL_bottom")
    m.count("RL")
    res = m.run("400 us", every="10 us")
    assert_binomial(res["SL_top"], n, 1 - np.exp(-k_on * c * res.times), "binding in a clamp on one side")
    assert np.all(res["SL_bottom"] == 0) and np.all(res["RL"] == 0)
    assert clamp_only(res)


# == 2. First-order kinetics: exact in time, any number of events per step =====================
N_FIRST = 400000


@pytest.mark.parametrize("k, dt, seed", [(5e5, 1 * US, 21), (5e5, 6 * US, 25), (3e6, 1 * US, 26)])   # k·dt = 0.5, 3, 3
def test_decay_is_exponential_at_any_dt(k, dt, seed):
    m, box = surface_model(dt, seed=seed)
    m.add_surface_species("A")
    m.add_surface_species("B")
    rx = m.add_reaction("A -> B", k)
    m.place("A", box.region("bottom"), n=N_FIRST)
    m.count("A")
    m.count("B")
    m.count_events(rx, name="ev")
    n_steps = int(math.ceil(12.0 / (k * dt)))
    res = m.run(n_steps * dt, every=dt)
    t = res.times
    assert_binomial(res["A"], N_FIRST, np.exp(-k * t), f"A -> B, k·dt = {k * dt:g}")
    assert np.all(res["A"] + res["B"] == N_FIRST)
    assert np.all(res["ev"] == res["B"])
    assert res.diagnostics["surface_events"] == N_FIRST - res["A"][-1]


def test_reversible_relaxation_matches_closed_form():
    kf, kr, dt = 3e5, 1e5, 10 * US                 # kf·dt = 3, kr·dt = 1
    m, box = surface_model(dt, seed=22)
    m.add_surface_species("A")
    m.add_surface_species("B")
    fwd, rev = m.add_reaction("A <-> B", (kf, kr))
    m.place("A", box.region("bottom"), n=N_FIRST)
    m.count("A")
    m.count_events(fwd, name="fwd")
    m.count_events(rev, name="rev")
    res = m.run(30 * dt, every=dt)
    t = res.times
    p_a = kr / (kf + kr) + kf / (kf + kr) * np.exp(-(kf + kr) * t)      # docs/reference.md §1.4
    assert_binomial(res["A"], N_FIRST, p_a, "A <-> B relaxation")
    assert np.all(res["fwd"] - res["rev"] == N_FIRST - res["A"])
    assert res["fwd"][-1] + res["rev"][-1] > 1.2 * N_FIRST * 30     # ≈ 1.5 events per molecule per step


def test_competing_channels_split_by_rate():
    k1, k2, dt = 2e5, 6e5, 5 * US                   # (k1 + k2)·dt = 4
    m, box = surface_model(dt, seed=23)
    for s in "ABC":
        m.add_surface_species(s)
    m.add_reaction("A -> B", k1)
    m.add_reaction("A -> C", k2)
    m.place("A", box.region("bottom"), n=N_FIRST)
    for s in "ABC":
        m.count(s)
    res = m.run(10 * dt, every=dt)
    t, kt = res.times, k1 + k2
    assert_binomial(res["A"], N_FIRST, np.exp(-kt * t), "A decays at k1 + k2")
    assert_binomial(res["B"], N_FIRST, k1 / kt * (1 - np.exp(-kt * t)), "A -> B share")
    assert_binomial(res["C"], N_FIRST, k2 / kt * (1 - np.exp(-kt * t)), "A -> C share")
    # the split among the decayed ones: B/(B + C) = k1/(k1 + k2)
    done = res["B"][-1] + res["C"][-1]
    assert_binomial(res["B"][-1:], done, [k1 / kt], "B/(B + C)")


@pytest.mark.parametrize("dt", [1 * US, 5 * US])
def test_chain_matches_bateman(dt):
    k1, k2 = 4e5, 1e6                               # at 5 µs: k1·dt = 2, k2·dt = 5
    m, box = surface_model(dt, seed=24)
    for s in "ABC":
        m.add_surface_species(s)
    r1 = m.add_reaction("A -> B", k1)
    r2 = m.add_reaction("B -> C", k2)
    m.place("A", box.region("bottom"), n=N_FIRST)
    for s in "ABC":
        m.count(s)
    m.count_events(r1, name="e1")
    m.count_events(r2, name="e2")
    res = m.run(50 * US, every=dt)
    t = res.times
    a = np.exp(-k1 * t)
    b = k1 / (k2 - k1) * (np.exp(-k1 * t) - np.exp(-k2 * t))
    assert_binomial(res["A"], N_FIRST, a, f"chain A, dt = {dt:g}")
    assert_binomial(res["B"], N_FIRST, b, f"chain B, dt = {dt:g}")
    assert_binomial(res["C"], N_FIRST, 1 - a - b, f"chain C, dt = {dt:g}")
    assert np.all(res["e1"] == N_FIRST - res["A"]) and np.all(res["e2"] == res["C"])


# == 3. Detailed balance ========================================================================
LOOP = {("A", "B"): 1000.0, ("B", "A"): 500.0, ("B", "C"): 2000.0, ("C", "B"): 1000.0,
        ("C", "A"): 300.0, ("A", "C"): 1200.0}      # 1000·2000·300 = 500·1000·1200
LOOP_PI = np.array([1.0, 2.0, 4.0]) / 7.0


def loop_generator(rates):
    idx = {"A": 0, "B": 1, "C": 2}
    q = np.zeros((3, 3))
    for (a, b), k in rates.items():
        q[idx[b], idx[a]] += k
        q[idx[a], idx[a]] -= k
    return q


def current_variance_rate(rates, edge):
    """Long-time variance per unit time, per molecule, of the net number of transitions
    a -> b minus b -> a: the second derivative at s = 0 of the top eigenvalue of the tilted
    generator (a -> b weighted e^s, b -> a weighted e^-s)."""
    a, b = edge

    idx = {"A": 0, "B": 1, "C": 2}

    def top(s):
        q = loop_generator(rates)
        q[idx[b], idx[a]] *= math.exp(s)
        q[idx[a], idx[b]] *= math.exp(-s)
        return np.max(np.linalg.eigvals(q).real)

    h = 1e-3
    return (top(h) - 2 * top(0.0) + top(-h)) / h**2


def run_loop(rates, seed, n=2000, dt="1 ms", relax=0.05, window=5.0, every=0.01):
    """N molecules start in A, relax for 50 ms (the loop relaxes at 2500 and 3500 /s), then
    are sampled over the window, with the cumulative events of each of the six reactions.
    At dt = 1 ms a molecule makes up to ≈ 2.5 transitions per step."""
    m, box = surface_model(dt, seed=seed)
    for s in "ABC":
        m.add_surface_species(s)
    for (a, b), k in rates.items():
        m.count_events(m.add_reaction(f"{a} -> {b}", k), name=f"{a}{b}")
    m.place("A", box.region("bottom"), n=n)
    for s in "ABC":
        m.count(s)
    sim = m.simulation()
    sim.run(relax)
    return sim.sample(window, every)


def net_cycle_fluxes(res, n, window, rates):
    """(net count, SE) of a -> b minus b -> a over the window for the three edges of the loop."""
    out = {}
    for a, b in (("A", "B"), ("B", "C"), ("C", "A")):
        net = (res[a + b][-1] - res[a + b][0]) - (res[b + a][-1] - res[b + a][0])
        out[(a, b)] = (net, math.sqrt(n * window * current_variance_rate(rates, (a, b))))
    return out


def test_loop_in_detailed_balance_has_no_net_cycle_flux():
    """A <-> B <-> C <-> A with k_AB·k_BC·k_CA = k_BA·k_CB·k_AC: the net number of transitions
    across each edge over 5 s is zero within its SE (√(N·T·σ²), σ² from the tilted generator;
    equal to the 'resistors in series' value 2/Σ(1/j_e) for the equilibrium one-way fluxes j_e),
    and the time-averaged occupancies are (1, 2, 4)/7."""
    n, window = 2000, 5.0
    res = run_loop(LOOP, seed=31, n=n, window=window)
    one_way = (res["AB"][-1] - res["AB"][0])
    assert one_way > 1e6                             # ≈ N·T·π_A·k_AB = 1.43e6 transitions
    for edge, (net, se) in net_cycle_fluxes(res, n, window, LOOP).items():
        assert abs(net / se) < ZONE, f"net flux {edge}: {net} transitions (SE {se:.0f}) out of {one_way}"
    # occupancies: time averages against the detailed-balance equilibrium, exact SE
    q = loop_generator(LOOP)
    m = len(res.times)
    for i, s in enumerate("ABC"):
        est = res[s].mean() / n
        se = time_average_se(q, LOOP_PI, i, 0.01, m, n)
        assert abs(est - LOOP_PI[i]) < ZONE * se, f"occupancy of {s}: {est:.5f} vs {LOOP_PI[i]:.5f} (SE {se:.2g})"


def test_loop_flux_test_detects_a_driven_cycle():
    """The same measurement on a loop 3 % off detailed balance finds the cycle flux."""
    driven = dict(LOOP)
    driven[("A", "C")] = LOOP[("A", "C")] * 1.03
    n, window = 2000, 5.0
    res = run_loop(driven, seed=32, n=n, window=window)
    nets = net_cycle_fluxes(res, n, window, driven)
    net, se = nets[("C", "A")]
    assert net / se < -ZMAX                     # C -> A runs backwards: the cycle goes A -> C -> B -> A


def test_ampa_equilibrium_in_constant_clamp():
    """Jonas AMPA receptors in a constant 1 mM clamp relax to the ODE's equilibrium (the slowest
    mode has rate 90 /s); first-order events, clamp bindings included, are exact at dt = 0.5 ms."""
    n, dt, every = 20000, 0.5 * MS, 2 * MS
    m = cs.Model(dt=dt, seed=33, tile_density=2e5)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(2.0, 2.0, 0.1)), name="box")
    scheme = cs.schemes.ampa_jonas1993(ligand=glu)
    ampa = m.add_scheme(scheme)
    m.place(ampa, region=box.region("bottom"), n=n)
    m.clamp(glu, inside=box, concentration="1 mM")
    for st in scheme.states:
        m.count(ampa[st], name=st)
    sim = m.simulation()
    sim.run("200 ms")                               # 18 slowest time constants
    res = sim.sample("1 s", every)
    q = generator(scheme, 1e-3)
    pi = stationary(q)
    assert pi[scheme.states.index("O")] == pytest.approx(0.0174, abs=5e-5)     # docs/reference.md §2.1
    for i, st in enumerate(scheme.states):
        est = res[st].mean() / n
        se = time_average_se(q, pi, i, every, len(res.times), n)
        assert abs(est - pi[i]) < ZONE * se, f"AMPA {st}: {est:.5f} vs equilibrium {pi[i]:.5f} (SE {se:.2g})"


# == 4. Event counts ============================================================================
def unbinding_model(seed, reversible):
    m = cs.Model(dt="2 us", seed=seed, tile_density=2e4)        # 3000 molecules on 0.25 µm²: 5184 tiles
    lig = m.add_species("L", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(0.5, 0.5, 0.05)), name="box")
    m.add_surface_species("S")
    m.add_surface_species("SL")
    if reversible:
        on, off = m.add_reaction("L + S <-> SL", (1e8, 2e5))
    else:
        on, off = None, m.add_reaction("SL -> S + L", 2e5)        # k·dt = 0.4
    m.place("SL", box.region("bottom"), n=3000)
    m.count(lig, name="L")
    m.count("SL")
    m.count_events(off, name="off")
    if on is not None:
        m.count_events(on, name="on")
    return m


def test_unbinding_events_equal_ligands_returned():
    res = unbinding_model(41, reversible=False).run("40 us", every="2 us")
    assert np.all(res["L"] == res["off"])
    assert np.all(res["SL"] + res["L"] == 3000)
    assert res["off"][-1] > 2900
    assert_binomial(res["SL"], 3000, np.exp(-2e5 * res.times), "SL -> S + L")


def test_reversible_binding_event_bookkeeping():
    res = unbinding_model(42, reversible=True).run("500 us", every="10 us")
    assert np.all(res["L"] == res["off"] - res["on"])
    assert np.all(res["SL"] + res["L"] == 3000)
    assert res["on"][-1] > 500                       # ligands do rebind: the test sees both kinds


@pytest.mark.slow
def test_removal_and_release_into_the_volume():
    """A -> 0 removes the molecule; B -> L turns it into a volume molecule (one per event)."""
    k, n = 1e5, 200000
    m, box = surface_model("5 us", seed=43)
    lig = m.add_species("L", D="0.33 um^2/ms")
    m.add_surface_species("A")
    m.add_surface_species("B")
    gone = m.add_reaction("A -> 0", k)
    out = m.add_reaction("B -> L", k)
    m.place("A", box.region("bottom"), n=n)
    m.place("B", box.region("top"), n=n)
    m.count("A")
    m.count("B")
    m.count(lig, name="L")
    m.count(["A", "B"], region=box.region("bottom"), name="on_bottom")
    m.count_events(gone, name="gone")
    m.count_events(out, name="out")
    res = m.run("40 us", every="5 us")
    assert_binomial(res["A"], n, np.exp(-k * res.times), "A -> 0")
    assert_binomial(res["B"], n, np.exp(-k * res.times), "B -> L")
    assert np.all(res["A"] + res["gone"] == n) and np.all(res["on_bottom"] == res["A"])
    assert np.all(res["L"] == res["out"]) and np.all(res["B"] + res["L"] == n)
    assert len(m.simulation().surface_molecules("A")["positions"]) == n


def test_source_with_several_products_per_event_keeps_its_rate():
    """S -> S + 2 L at k·dt = 3: events are Poisson with mean N·k·t, each releasing two L."""
    k, n = 3e6, 1000
    m, box = surface_model("1 us", seed=44)
    lig = m.add_species("L", D="0.33 um^2/ms")
    m.add_surface_species("S")
    rx = m.add_reaction("S -> S + 2 L", k)
    m.place("S", box.region("bottom"), n=n)
    m.count(lig, name="L")
    m.count_events(rx, name="ev")
    res = m.run("20 us", every="10 us")
    assert np.all(res["L"] == 2 * res["ev"])
    mean = n * k * res.times[-1]
    assert abs(res["ev"][-1] - mean) < ZONE * math.sqrt(mean)
    assert res.diagnostics["deferred_events"] == 0


@pytest.mark.slow
def test_event_releasing_many_molecules_fires():
    m, box = surface_model("1 us", seed=45)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    m.add_surface_species("V")                                  # a docked vesicle
    m.add_reaction("V -> 3000 glu", "1 /ms")                    # fuses, releasing 3000 glutamate
    m.place("V", box.region("top"), n=1)
    m.count(glu)
    res = m.run("20 ms", every="20 ms")                         # P(not fused) = e^-20
    assert res["glu"][-1] == 3000


# == 5. Glutamate transporters ==================================================================
def test_transporter_conserves_glutamate_and_cycles():
    n_glu, n_t = 3000, 4000
    m = cs.Model(dt="1 us", seed=51, tile_density=2e4)          # 4000 transporters on 0.25 µm²
    glu = m.add_species("glu", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(0.5, 0.5, 0.05)), name="box")
    scheme = cs.schemes.glutamate_transporter(ligand=glu, k_translocate=5000.0, k_recover=2000.0)
    gt = m.add_scheme(scheme)
    m.place(gt, region=box.region("bottom"), n=n_t)
    m.release(glu, n_glu, inside=box)
    translocate = next(rx for rx in m.reactions if rx.equation == "GluT_TG -> GluT_Tstar")
    recover = next(rx for rx in m.reactions if rx.equation == "GluT_Tstar -> GluT_T")
    m.count(glu, name="free")
    for st in scheme.states:
        m.count(gt[st], name=st)
    m.count_events(translocate, name="taken_up")
    m.count_events(recover, name="recovered")
    res = m.run("3 ms", every="10 us")
    bound = sum(res[s] * scheme.bound.get(s, {}).get("glu", 0) for s in scheme.states)
    assert np.all(res["free"] + bound + res["taken_up"] == n_glu)
    assert np.all(res["T"] + res["TG"] + res["Tstar"] == n_t)
    assert np.all(res["Tstar"] == res["taken_up"] - res["recovered"])
    # the run covers the interesting range: most glutamate taken up, transporters busy cycling
    assert res["taken_up"][-1] > 0.5 * n_glu and res["recovered"][-1] > 100 and res["Tstar"].max() > 300


# == 6. Acetylcholinesterase ====================================================================
def test_ache_conserves_acetylcholine_and_releases_choline():
    n_ach, n_e = 4000, 3000
    m = cs.Model(dt="1 us", seed=61, tile_density=2e4)          # 3000 AChE on 0.25 µm²
    ach = m.add_species("ACh", D="0.21 um^2/ms")
    ch = m.add_species("Ch", D="0.21 um^2/ms")
    box = m.add_geometry(cs.geometry.box(size=(0.5, 0.5, 0.05)), name="box")
    scheme = cs.schemes.ache_nmj(substrate=ach, product=ch)
    e = m.add_scheme(scheme)
    m.place(e, region=box.region("bottom"), n=n_e)
    m.release(ach, n_ach, inside=box)
    hydrolysis = next(rx for rx in m.reactions if rx.equation == "AChE_AE -> AChE_AcE + Ch")
    m.count(ach, name="ACh")
    m.count(ch, name="Ch")
    for st in scheme.states:
        m.count(e[st], name=st)
    m.count_events(hydrolysis, name="hydrolysed")
    res = m.run("1 ms", every="5 us")
    held = sum(res[s] * scheme.bound.get(s, {}).get("ACh", 0) for s in scheme.states)
    assert np.all(res["ACh"] + held + res["hydrolysed"] == n_ach)
    assert np.all(res["Ch"] == res["hydrolysed"])
    assert np.all(sum(res[s] for s in scheme.states) == n_e)
    assert res["hydrolysed"][-1] > 0.5 * n_ach and res["AAcE"].max() > 0   # substrate inhibition seen too


# == 7. Unbinding puts the ligand on the side the molecule faces ================================
UNDER_INNER = ((-0.15, -0.15, -0.145), (0.15, 0.15, -0.055))       # between the boxes, below the inner one


@pytest.mark.slow
@pytest.mark.parametrize("facing", ["outside", "inside"])
def test_unbinding_never_puts_a_ligand_on_the_wrong_side(facing):
    """Receptors on the bottom of an inner box (reflecting) inside a larger box, facing one side.
    L is released on the side they face and binds and unbinds thousands of times: it must never
    appear on the other side. M, released on the side they turn their back to, binds them just
    as readily, so it must never bind (and never cross)."""
    m = cs.Model(dt="1 us", seed=71)
    lig = m.add_species("L", D="0.33 um^2/ms")
    other = m.add_species("M", D="0.33 um^2/ms")
    m.add_geometry(cs.geometry.box(size=(0.6, 0.6, 0.3)), name="outer")
    inner = m.add_geometry(cs.geometry.box(size=(0.3, 0.3, 0.1)), name="inner")
    for s in ("S", "SL", "SM"):
        m.add_surface_species(s)
    on, off = m.add_reaction("L + S <-> SL", (3e8, 1e5))
    m_on, _ = m.add_reaction("M + S <-> SM", (3e8, 1e5))
    m.place("S", inner.region("bottom"), n=800, facing=facing)       # ≈ 8900 per µm²
    near, far = (dict(box=UNDER_INNER), dict(inside=inner)) if facing == "outside" else \
                (dict(inside=inner), dict(box=UNDER_INNER))
    m.release(lig, 2000, **near)
    m.release(other, 2000, **far)
    m.count_events(on, name="on")
    m.count_events(off, name="off")
    m.count_events(m_on, name="M_bound")
    sim = m.simulation()
    half = np.array([0.15, 0.15, 0.05])
    for _ in range(1000):
        sim.advance(1)
        obs = sim.observe()
        for sp, want_inside in ((lig, facing == "inside"), (other, facing == "outside")):
            p = sim.positions(sp)
            in_inner = world.contains(sim.scene, inner.index, inner.mesh, p)
            assert np.array_equal(in_inner, np.all(np.abs(p) < half, axis=1))
            wrong = in_inner != want_inside
            assert not wrong.any(), (f"t = {sim.time:g} s: {int(wrong.sum())} {sp.name} on the wrong side of "
                                     f"receptors facing {facing}, e.g. at {p[wrong][0]}")
        assert sim.count(lig) + obs["on"] - obs["off"] == 2000 and sim.count(other) == 2000
    assert obs["M_bound"] == 0
    assert obs["on"] > 2000 and obs["off"] > 2000, obs


# == 8. Counts per region =======================================================================
def test_counts_per_region_sum_to_total():
    m, box = surface_model("10 us", seed=81)
    m.add_surface_species("A")
    m.add_surface_species("B")
    m.add_reaction("A <-> B", (2e4, 1e4))
    m.place("A", box.region("bottom"), n=3000)
    m.place("A", box.region("top"), n=1000)
    m.place("B", box.region("left"), n=500)
    for s in "AB":
        m.count(s)
        for face in ("bottom", "top", "left"):
            m.count(s, region=box.region(face), name=f"{s}_{face}")
        m.count(s, region=box, name=f"{s}_box")
    m.count(["A", "B"], region="box.bottom", name="AB_bottom")
    res = m.run("1 ms", every="50 us")
    for s in "AB":
        assert np.all(res[f"{s}_bottom"] + res[f"{s}_top"] + res[f"{s}_left"] == res[s])
        assert np.all(res[f"{s}_box"] == res[s])
    assert np.all(res["AB_bottom"] == 3000)
    assert np.all(res["A_top"] + res["B_top"] == 1000) and np.all(res["A_left"] + res["B_left"] == 500)
    assert (res["A_bottom"][0], res["A_top"][0], res["B_left"][0]) == (3000, 1000, 500)
    assert res["B_bottom"][-1] > 500                 # the states did change
