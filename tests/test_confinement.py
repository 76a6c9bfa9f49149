"""Diffusion confined by reflecting walls against exact results (docs/reference.md §1.2).

- Interval of width L between reflecting walls, uniform start (Neumann eigenfunctions
  cos(nπx/L); x − L/2 has coefficients −4L/(n²π²) on the odd ones):
      ⟨Δx²⟩(t) = L²/6 − (16L²/π⁴) Σ_{n odd} exp(−n²π²Dt/L²)/n⁴   → L²/6.
  Specular reflection of a straight Gaussian step is the method of images, so a box's axes are
  independent reflected Brownian motions and the formula holds at the sample times for ANY time
  step, including steps larger than the gap (the 20 nm cleft at Δt = 1 µs below).
- Uniform equilibrium density: a Gaussian step followed by specular reflection preserves the
  uniform density (billiard paths preserve volume and are reversible), at any step size.
- Two independent uniform points in a body: ⟨|Δr|²⟩ → 2(⟨|r|²⟩ − |⟨r⟩|²) = 6R²/5 for a ball.
  The icosphere is an inscribed polyhedron (2.3 % less for 2 subdivisions), so the test uses the
  polyhedron's exact moments (sum over the tetrahedra from an interior point to each face).
- Reflection law: in an axis-aligned box the end point of a displacement is the mirror fold of
  p0 + d into the box (exact), which aimed rays check to ~1e-9 µm per bounce.

Tolerances: 4.5 standard errors, SE = sd/√N of per-molecule values (molecules are independent);
chi-square tests must have p > 1e-4. Fixed seeds.
"""
import math

import numpy as np
import pytest
from helpers import D_GLU, P_MIN, check, fold
from scipy import stats

import cleftsim as cs
from cleftsim._core.step import displace


def interval_msd(L: float, D: float, t: float, terms: int = 400) -> float:
    """⟨(x(t) − x(0))²⟩ between reflecting walls L apart with a uniform start (series above)."""
    n = 2.0 * np.arange(terms) + 1.0
    return L**2 / 6 - 16 * L**2 / np.pi**4 * float(np.sum(np.exp(-(n**2) * np.pi**2 * D * t / L**2) / n**4))


def test_interval_series_limits():
    """The reference: 0 at t = 0 (Σ_{n odd} 1/n⁴ = π⁴/96), L²/6 at long times."""
    assert interval_msd(0.3, 330.0, 0.0, terms=100_000) == pytest.approx(0.0, abs=1e-12)
    assert interval_msd(0.3, 330.0, 1.0) == pytest.approx(0.3**2 / 6, rel=1e-14)


def polyhedron_moments(mesh) -> tuple[float, np.ndarray, float]:
    """Volume, centroid and ⟨|r − centroid|²⟩ of the solid bounded by a closed outward mesh.

    Split into tetrahedra (o, a, b, c) from an interior point o: signed volume
    V_t = a·(b × c)/6, ∫x dV = V_t (a + b + c)/4, ∫|x|² dV = V_t/10 (|a|² + |b|² + |c|² + a·b + b·c + c·a)
    (coordinates relative to o; from ∫x_i x_j dV = V/20 (Σ v_i v_j + Σv_i Σv_j) over the corners).
    """
    o = mesh.vertices.mean(axis=0)
    v = mesh.vertices[mesh.triangles] - o
    a, b, c = v[:, 0], v[:, 1], v[:, 2]
    vt = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6
    vol = vt.sum()
    mean = (vt[:, None] * (a + b + c)).sum(axis=0) / 4 / vol
    dot = lambda x, y: np.einsum("ij,ij->i", x, y)  # noqa: E731
    m2 = (vt * (dot(a, a) + dot(b, b) + dot(c, c) + dot(a, b) + dot(b, c) + dot(c, a))).sum() / 10 / vol
    return float(vol), mean + o, float(m2 - mean @ mean)


def test_polyhedron_moments_reference():
    _, c, m2 = polyhedron_moments(cs.geometry.box((0.3, 0.2, 0.1), center=(1.0, 2.0, 3.0)))
    np.testing.assert_allclose(c, [1.0, 2.0, 3.0], rtol=1e-13)
    assert m2 == pytest.approx((0.09 + 0.04 + 0.01) / 12, rel=1e-12)        # Σ L²/12
    vol, _, m2 = polyhedron_moments(cs.geometry.icosphere(1.0, 5))
    assert m2 == pytest.approx(3 / 5, rel=1e-3)                             # ball: 3R²/5
    assert vol == pytest.approx(cs.geometry.icosphere(1.0, 5).volume, rel=1e-12)


# -- slabs: ⟨Δx²⟩(t) ---------------------------------------------------------------------------
@pytest.mark.slow
def test_box_axes_follow_the_interval_series():
    """Three slabs at once: a 0.3 × 0.2 × 0.1 µm box, D = 0.33 µm²/ms, Δt = 1 µs (rms step per axis
    25.7 nm), uniform start; sampled from t = 1 µs (strong transient) to 200 µs (the limit)."""
    L = np.array([0.3, 0.2, 0.1])
    D, n = D_GLU, 100_000
    m = cs.Model(dt="1 us", seed=31)
    sp = m.add_species("glu", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(L, center=(0.02, -0.01, 0.03)), name="box")
    m.release(sp, n=n, inside=box)
    sim = m.simulation()
    p0 = sim.positions(sp)
    for k in (1, 2, 5, 10, 20, 50, 200):
        sim.advance(k - sim.step_index)
        d2 = (sim.positions(sp) - p0) ** 2
        for ax in range(3):
            exact = interval_msd(L[ax], D, k * 1e-6)
            se = d2[:, ax].std(ddof=1) / math.sqrt(n)
            check(d2[:, ax].mean(), exact, se, f"<dx_{ax}^2>, L = {L[ax]}, t = {k} us")
    # by 200 µs every axis is at its limit L²/6 (the series' first term is < 1e-3 of it for L = 0.3)
    assert interval_msd(L[0], D, 200e-6) == pytest.approx(L[0] ** 2 / 6, rel=1e-3)


@pytest.mark.parametrize("dt_us, samples", [(0.02, (1, 2, 5, 10, 20, 50)), (1.0, (1, 3, 10))])
def test_cleft_plates_give_the_slab_series(dt_us, samples):
    """The synaptic cleft (disc of radius 200 nm, h = 20 nm, 128 segments): the side wall is
    vertical, so z is a reflected Brownian motion between the plates. Δt = 0.02 µs resolves the
    transient (h²/π²D = 0.12 µs); Δt = 1 µs (rms step 25.7 nm > h) must sit at h²/6."""
    h, D, n = 0.02, D_GLU, 100_000
    m = cs.Model(dt=f"{dt_us} us", seed=32)
    sp = m.add_species("glu", D="0.33 um^2/ms")
    cleft = m.add_geometry(cs.geometry.cylinder("200 nm", "20 nm", segments=128), name="cleft")
    m.release(sp, n=n, inside=cleft)
    sim = m.simulation()
    z0 = sim.positions(sp)[:, 2]
    for k in samples:
        sim.advance(k - sim.step_index)
        z = sim.positions(sp)[:, 2]
        assert np.all(np.abs(z) <= h / 2)
        dz2 = (z - z0) ** 2
        t = k * dt_us * 1e-6
        check(dz2.mean(), interval_msd(h, D, t), dz2.std(ddof=1) / math.sqrt(n), f"cleft <dz^2>(t = {t * 1e6:g} us)")
    if dt_us == 1.0:
        check(dz2.mean(), h**2 / 6, dz2.std(ddof=1) / math.sqrt(n), "cleft <dz^2> limit h^2/6")


# -- uniform equilibrium density ---------------------------------------------------------------
def test_box_equilibrium_density_is_uniform():
    """Point release off-centre in a 0.3 × 0.2 × 0.25 µm box, rms step 0.1 µm per axis; after
    25 steps Dt = 0.125 µm², so the slowest mode has decayed by exp(−π²Dt/L²) = 1e-6. Chi-square
    over 10 × 10 × 10 cells and over 40 slabs per axis (expected counts: N × volume fraction)."""
    L = np.array([0.3, 0.2, 0.25])
    c = np.array([0.1, 0.0, -0.05])
    n = 300_000
    D = 0.1**2 / (2 * 1e-6)
    m = cs.Model(dt="1 us", seed=33)
    sp = m.add_species("a", D=D)
    m.add_geometry(cs.geometry.box(L, center=c), name="box")
    m.release(sp, n=n, at=c + np.array([0.11, -0.07, 0.1]))
    sim = m.simulation()
    sim.advance(25)
    u = (sim.positions(sp) - (c - L / 2)) / L                # in [0, 1]³
    assert len(u) == n and np.all((u >= 0) & (u <= 1))
    counts = np.histogramdd(u, bins=(10, 10, 10), range=[(0, 1)] * 3)[0].ravel()
    p = stats.chisquare(counts).pvalue
    assert p > P_MIN, f"box cells: chi-square p = {p:.2e}"
    for ax in range(3):
        counts = np.histogram(u[:, ax], bins=40, range=(0, 1))[0]
        p = stats.chisquare(counts).pvalue
        assert p > P_MIN, f"box slabs along axis {ax}: chi-square p = {p:.2e}"


@pytest.fixture(scope="module")
def sphere_run():
    """Icosphere R = 0.25 µm (2 subdivisions), rms step 0.25 µm per axis, 8 steps:
    Dt = 0.25 µm² = 4R², so the slowest Neumann mode (rate 4.33 D/R²) is down to exp(−17)."""
    R, n_point, n_uniform, steps = 0.25, 200_000, 300_000, 8
    mesh = cs.geometry.icosphere(R, 2, center=(0.05, -0.02, 0.01))
    m = cs.Model(dt="1 us", seed=34)
    a = m.add_species("a", D=0.25**2 / (2 * 1e-6))
    b = m.add_species("b", D=0.25**2 / (2 * 1e-6))
    obj = m.add_geometry(mesh, name="ball")
    m.release(a, n=n_point, at=(0.05, -0.02, 0.01))          # the centre
    m.release(b, n=n_uniform, inside=obj)
    sim = m.simulation()
    start = sim.positions(b)
    sim.advance(steps)
    return mesh, sim.positions(a), start, sim.positions(b)


@pytest.mark.slow
def test_sphere_equilibrium_density_is_uniform(sphere_run):
    """Bins of exactly known volume: the pyramid from the centre to each face, cut into shells at
    gauge u = max_f (n_f·x)/(n_f·v_f) ∈ [u1, u2): volume V_f (u2³ − u1³). 320 faces × 3 shells."""
    mesh, pos, _, _ = sphere_run
    o = np.array([0.05, -0.02, 0.01])
    v = mesh.vertices[mesh.triangles] - o
    nrm = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    off = np.einsum("ij,ij->i", nrm, v[:, 0])                 # n·x = off on face f (unnormalised n)
    vf = off / 6                                              # pyramid volume a·(b×c)/6
    g = (pos - o) @ nrm.T / off                               # gauge per face; max picks the pyramid
    face = np.argmax(g, axis=1)
    u = g[np.arange(len(g)), face]
    assert u.max() <= 1.0 + 1e-12, "molecules outside the sphere"
    shells = np.array([0.0, (1 / 3) ** (1 / 3), (2 / 3) ** (1 / 3), 1.0 + 1e-12])
    k = np.clip(np.searchsorted(shells, u, side="right") - 1, 0, 2)
    counts = np.bincount(face * 3 + k, minlength=3 * len(vf))
    expected = len(pos) * (vf[:, None] * np.diff(shells**3)[None, :]).ravel() / vf.sum()
    p = stats.chisquare(counts, expected * counts.sum() / expected.sum()).pvalue
    assert p > P_MIN, f"sphere pyramids x shells: chi-square p = {p:.2e}"
    # the radial profile alone, 20 equal-volume shells of the gauge
    edges = (np.arange(21) / 20) ** (1 / 3)
    counts = np.histogram(u, bins=edges)[0]
    p = stats.chisquare(counts).pvalue
    assert p > P_MIN, f"sphere radial shells: chi-square p = {p:.2e}"


@pytest.mark.slow
def test_sphere_msd_limit(sphere_run):
    mesh, _, start, end = sphere_run
    d2 = np.einsum("ij,ij->i", end - start, end - start)
    _, _, var = polyhedron_moments(mesh)
    # long-time limit for independent uniform start and end points: 2(<|r|²> − |<r>|²);
    # the ball's 6R²/5 is 2.3 % larger for this inscribed polyhedron.
    check(d2.mean(), 2 * var, d2.std(ddof=1) / math.sqrt(len(d2)), "sphere <|dr|^2> limit")
    assert 2 * var == pytest.approx(6 * 0.25**2 / 5, rel=0.03)


# -- reflection law ----------------------------------------------------------------------------
def test_box_reflection_is_the_exact_mirror_fold():
    L = np.array([0.3, 0.2, 0.25])
    c = np.array([0.1, 0.0, -0.05])
    m = cs.Model(dt="1 us", seed=1)
    m.add_species("a", D=1.0)
    m.add_geometry(cs.geometry.box(L, center=c), name="box")
    sim = m.simulation()
    rng = np.random.default_rng(35)
    k = 20_000
    lo, hi = c - L / 2, c + L / 2
    p0 = lo + L * (0.02 + 0.96 * rng.random((k, 3)))
    u = rng.normal(size=(k, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    keep = np.all(np.abs(u) > 0.05, axis=1)                  # no grazing: see the bound below
    p0, u = p0[keep], u[keep]
    d = u * (3.0 * rng.random((len(u), 1)))                   # up to 10 box sizes
    p = np.ascontiguousarray(p0.copy())
    fate = displace(sim.scene, p, np.ascontiguousarray(d), 0, sim.compiled.ddt[0], sim.compiled.rcut[0], sim._stream,
                    sim.counters)
    assert (fate == -1).all()
    exact = fold(p0 + d, lo, hi)
    # each bounce restarts 1e-9 µm (perpendicular) before the wall, i.e. 1e-9/|cos θ| along the ray:
    # bound the error by (bounces + 1) × 1e-9 / min|u_k|
    bounces = np.sum(np.abs(np.floor((p0 + d - lo) / L)), axis=1)
    tol = (bounces + 1) * 1e-9 / np.min(np.abs(u), axis=1) * 2
    err = np.max(np.abs(p - exact), axis=1)
    assert np.all(err <= tol), f"max error {err.max():.3g} µm (bounces up to {bounces.max():g})"
    assert sim.diagnostics["reflections"] == bounces.sum()
