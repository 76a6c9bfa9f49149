"""Bimolecular reactions of volume molecules against the closed forms of docs/reference.md §1.4.

The binding radius comes from cleftsim.physics.bimolecular (steady-state rate = k at the time step);
the reactions start from a uniform mixture, so the rate is k within the first steps (the
transient of a Smoluchowski rate lasts ~σ_b²/D, far below a step here). Each count is compared
at every sample with the closed form, |z| < 5, with the binomial SD of the survivors.
"""
import re

import numpy as np
import pytest
from helpers import N_A

import cleftsim as cs
from cleftsim.errors import ModelError
from cleftsim.physics import bimolecular


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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    with pytest.warns(cs.AccuracyWarning, match="the walls cut about"):   # 40 nm in 200 nm boxes
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
    with pytest.raises(ModelError, match="never meet"):
        m2, _ = box_model(1e-5, 7, "AB", D=0.0)
        m2.add_reaction("A + B -> A", 1e6)
        m2.simulation()


# at 100 µs the walls of the 1 µm box cut ~2 % off the binding rate (AccuracyWarning), which is
# kinetics: dissociations near walls are redrawn the same way, and the equilibrium stays exact
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::cleftsim.AccuracyWarning")
@pytest.mark.parametrize("dt, seed, t_end", [(1e-4, 1, 40.0), (2.5e-5, 2, 20.0)])
def test_reversible_small_number_equilibrium(dt, seed, t_end):
    """A + B <-> C with A0 = B0 = 100 and K_D = 10 molecules in 1 µm³: the time average of C
    against the exact equilibrium distribution P(n) ∝ K^n/(n!(A0-n)!(B0-n)!) (docs/reference.md §1.4,
    ⟨C⟩ = 73.16, SD 3.38). Dissociated pairs start at the unbinding separation, which makes the
    equilibrium exact (detailed balance). SE from batch means over 2 s blocks (relaxation ~0.1 s)."""
    from scipy.special import gammaln

    kf, kd = 1e8, 10.0
    kr = kd * kf / (N_A * 1e-15)
    m, box = box_model(dt, seed)
    m.add_reaction("A + B <-> C", (kf, kr))
    m.release("A", n=100, inside=box)
    m.release("B", n=100, inside=box)
    m.count("C")
    res = m.run(t_end=t_end, every=0.1)
    c = res["C"][21:].astype(float)                      # after 2 s of equilibration
    n = np.arange(101)
    logp = -n * np.log(kd) - gammaln(n + 1) - 2 * gammaln(101 - n)
    p = np.exp(logp - logp.max())
    p /= p.sum()
    mean = float((n * p).sum())
    assert mean == pytest.approx(73.16, abs=0.005)
    blocks = c.reshape(-1, 20).mean(axis=1)
    se = blocks.std(ddof=1) / np.sqrt(len(blocks))
    assert abs(c.mean() - mean) < 5 * se, (c.mean(), mean, se)
    assert c.std() == pytest.approx(float(np.sqrt(((n - mean) ** 2 * p).sum())), rel=0.25)


@pytest.mark.slow
@pytest.mark.parametrize("dt", [1e-5, 1e-4])
def test_reversible_time_course_follows_the_riccati_solution(dt):
    """A + B <-> C from C = 0 (docs/reference.md §1.4): C(t) = x₊x₋(1 − e^{−γt})/(x₊ − x₋e^{−γt}),
    γ = k_f(x₊ − x₋), in molecule units (1 µm³). Tolerance: 5 SD per sample with the binomial SD
    sqrt(C(1 − C/A0)) of C, an upper bound of the equilibrium spread (1/(1/C + 1/(A−C) + 1/(B−C)))."""
    a0, b0, kf, kd = 2000, 3000, 3e7, 1000.0
    km = kf / (N_A * 1e-15)
    m, box = box_model(dt, 11)
    m.add_reaction("A + B <-> C", (kf, kd * km))
    m.release("A", n=a0, inside=box)
    m.release("B", n=b0, inside=box)
    m.count("C")
    res = m.run(t_end=0.02, every=0.001)
    s = a0 + b0 + kd
    root = np.sqrt(s * s - 4 * a0 * b0)
    xp, xm = (s + root) / 2, (s - root) / 2
    e = np.exp(-km * (xp - xm) * res.times)
    exact = xp * xm * (1 - e) / (xp - xm * e)
    sd = np.sqrt(np.maximum(exact * (1 - exact / a0), 1.0))
    z = (res["C"] - exact) / sd
    assert np.max(np.abs(z)) < 5, np.round(z, 2)


@pytest.mark.slow
@pytest.mark.parametrize("dt, radius, k, t_end", [(1e-5, "5 nm", 2e7, 4e-3), (1e-7, "10 nm", 1e9, 4e-5)])
def test_a_plus_b_with_a_given_radius_follows_the_closed_form(dt, radius, k, t_end):
    """radius= fixes the reaction radius; the probability per step of a pair within it is
    calibrated instead (b = σ/√(2DΔt) = 0.08 and 1.6: large and intermediate steps)."""
    a0, b0 = 4000, 40000
    m, box = box_model(dt, 4)
    rx = m.add_reaction("A + B -> C", k, radius=radius)
    m.release("A", n=a0, inside=box)
    m.release("B", n=b0, inside=box)
    m.count("A")
    res = m.run(t_end=t_end, every=t_end / 10)
    km = k / (N_A * 1e-15)
    exact = a0 * (b0 - a0) / (b0 * np.exp(km * (b0 - a0) * res.times) - a0)
    assert_close(res["A"], exact, a0, "A(t)")
    assert rx.radius == pytest.approx(float(radius.split()[0]) * 1e-3)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::cleftsim.AccuracyWarning")     # as above (a 20 nm radius)
def test_reversible_small_number_equilibrium_with_a_given_radius():
    """As test_reversible_small_number_equilibrium (exact ⟨C⟩ = 73.16) with radius = 20 nm: the
    probability is calibrated at equilibrium with the unbinding separation (detailed balance)."""
    kf, kd, dt = 1e8, 10.0, 1e-4
    m, box = box_model(dt, 6)
    m.add_reaction("A + B <-> C", (kf, kd * kf / (N_A * 1e-15)), radius="20 nm")
    m.release("A", n=100, inside=box)
    m.release("B", n=100, inside=box)
    m.count("C")
    res = m.run(t_end=20.0, every=0.1)
    c = res["C"][21:].astype(float)
    blocks = c[: len(c) // 20 * 20].reshape(-1, 20).mean(axis=1)
    se = blocks.std(ddof=1) / np.sqrt(len(blocks))
    assert abs(c.mean() - 73.16) < 5 * se, (c.mean(), se)


def test_a_rate_above_the_diffusion_limit_of_the_given_radius_is_refused():
    m, _ = box_model(1e-6, 1)
    with pytest.raises(ModelError) as exc:
        m.add_reaction("A + B -> C", 1e10, radius="0.5 nm")
    msg = str(exc.value)
    for part in ("'A + B -> C'", "above the diffusion limit of radius 0.5 nm", "dt = 1e-06 s",
                 "use radius >=", "omit radius="):
        assert part in msg, msg
    with pytest.raises(ModelError, match="radius= is for reactions of two volume molecules"):
        m.add_reaction("A -> C", 5.0, radius="1 nm")
    with pytest.raises(ModelError, match="radius must be positive"):
        m.add_reaction("A + B -> C", 1e6, radius=0.0)
    with pytest.raises(ModelError, match="radius of reaction"):
        m.add_reaction("A + B -> C", 1e6, radius="1 s")


@pytest.mark.slow
def test_reaction_volumes_that_do_not_fit_the_geometry():
    """A binding radius above half the narrowest gap is refused; an unbinding separation above it
    (here 0.67 µm in a 1 µm box at dt = 1 ms) gets an AccuracyWarning naming a dt that fits, and
    so does a binding radius that loses more than 1 % of its rate at the walls (34 nm here)."""
    m, box = box_model(1e-4, 1)
    m.add_reaction("A + B -> C", 1e6, radius="0.6 um")
    m.release("A", n=10, inside=box)
    with pytest.raises(ModelError, match=r"reaction radius 600 nm does not fit in the space of 1000 nm across"):
        m.simulation()
    m, box = box_model(1e-3, 1)
    m.add_reaction("A + B <-> C", (1e8, 1.66))
    m.release("C", n=10, inside=box)
    with pytest.warns(cs.AccuracyWarning) as warned:
        m.simulation()
    messages = [str(w.message) for w in warned]
    assert any(re.search(r"placed 666.6 nm apart.*space of 1000 nm across.*Use dt <= 0.000543 s", t) for t in messages)
    assert any(re.search(r"radius 34.1 nm is large.*cut about 3.8 % off its rate.*Use dt <= ", t)
               for t in messages), messages
    m, box = box_model(1e-5, 1)
    m.add_reaction("A + B <-> C", (1e8, 1.66))
    m.release("C", n=10, inside=box)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.simulation()


def test_the_pair_lists_are_kept_not_rebuilt():
    """The spatial hash of the second reactants is maintained from step to step: a molecule is
    moved between bucket lists only when its bucket changes. Here the second reactant is a static
    catalyst (A + B -> B, D_B = 0): after the first step only reactions change slots (at most 3
    list moves each), and A decays as A0·exp(−k·B0·t) (B0 molecules in 1 µm³)."""
    a0, b0, k, dt = 4000, 20000, 2e7, 1e-5
    m, box = box_model(dt, 7, species="A")
    m.add_species("B", D=0.0)
    m.add_reaction("A + B -> B", k)
    m.release("A", n=a0, inside=box)
    m.release("B", n=b0, inside=box)
    m.count("A")
    m.count("B")
    res = m.run(t_end=4e-3, every=4e-4)
    assert np.all(res["B"] == b0)
    km = k / (N_A * 1e-15)
    assert_close(res["A"], a0 * np.exp(-km * b0 * res.times), a0, "A(t)")
    moves = res.diagnostics["pair_list_moves"]
    assert b0 <= moves <= b0 + 3 * (a0 - res["A"][-1]), (moves, a0 - res["A"][-1])


@pytest.mark.slow
def test_rate_deficit_at_walls_is_warned_and_estimated_right():
    """A + B -> C in a 100 nm thin slab (4 × 4 × 0.1 µm) with σ_b = 10 nm at dt = 100 µs (large
    steps, s = 200 nm: positions uniform): the walls cut the reactive balls of molecules near
    them, and the rate falls short of k by wall_deficit = 0.375·σ_b/h per pair of walls (3.75 %
    for the slab, 0.09 % each for the side walls; the warning sums 1/chord over the axes). The model warns, and the measured effective
    rate, from A(t_end) = A0/(1 + k_eff·A0·t) over four seeds, matches the estimate within
    4 SE (binomial SD of A(t_end)) and is below k by more than 4 SE (7.6 SE expected)."""
    from cleftsim.compiler.volume import wall_deficit

    dt, D, h, L, n = 1e-4, 100.0, 0.1, 4.0, 40000
    k = 4 * np.pi / 3 * 0.010 ** 3 / dt * N_A * 1e-15       # σ_b ≈ 10 nm at this dt
    km = k / (N_A * 1e-15 * L * L * h)
    ratios, ses = [], []
    for seed in (1, 2, 3, 4):
        m = cs.Model(dt=dt, seed=seed)
        box = m.add_geometry(cs.geometry.box((L, L, h)), "box")
        for s in "ABC":
            m.add_species(s, D=D)
        m.add_reaction("A + B -> C", k)
        m.release("A", n=n, inside=box)
        m.release("B", n=n, inside=box)
        m.count("A")
        with pytest.warns(cs.AccuracyWarning, match=r"radius 10 nm is large for the space.*narrowest 100 nm.*"
                                                     r"cut about 3.8 % off its rate.*Use dt <= "):
            sim = m.simulation()
        res = sim.sample(t_end=40 * dt, every=40 * dt)
        a, t = float(res["A"][-1]), res.times[-1]
        ratios.append((n / a - 1) / (n * t) / km)
        ses.append(np.sqrt(a * (1 - a / n)) / (a * a * t) / km)
    mean, se = np.mean(ratios), np.sqrt(np.sum(np.square(ses))) / len(ratios)
    sigma_b = bimolecular.binding_radius(k, 2 * D, dt)
    predicted = 1 - wall_deficit(sigma_b, 1 / h + 2 / L)
    assert abs(mean - predicted) < 4 * se, (mean, predicted, se)
    assert mean < 1 - 4 * se


def test_pair_reactions_in_a_periodic_box_are_refused():
    m = cs.Model(dt=1e-5, seed=1, periodic_box=(1, 1, 1))
    for s in "ABC":
        m.add_species(s, D=100.0)
    m.add_reaction("A + B -> C", 1e7)
    with pytest.raises(ModelError, match="periodic box are not supported.*reflecting box"):
        m.simulation()
