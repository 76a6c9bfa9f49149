"""Binding radius of A + B at a finite time step (cleftsim.physics.bimolecular) against its limits.

- Large steps (b = σ_b/s ≪ 1): pairs land in the sphere as if uniformly placed, F = (4π/3) b³.
- Small steps (b ≫ 1): the sphere absorbs on contact, but a discrete walk only sees it at the
  ends of steps, which shifts an absorbing boundary by β·s with β = −ζ(1/2)/√(2π) = 0.5826
  (the overshoot constant of Gaussian random walks; docs/reference.md §1.3 quotes it for flat walls).
  For a sphere that gives k = 4πD(σ_b − β s), i.e. F = 2π(b − β) in reduced units, to O(1/b²).
- docs/reference.md §1.6: k = 1e7 M⁻¹s⁻¹, D = 1000 µm²/s, Δt = 1 µs gives σ_b ≈ 1.6 nm.
"""
import math

import pytest

from cleftsim.physics import bimolecular as bm

BETA = 1.4603545088095868 / math.sqrt(2 * math.pi)     # −ζ(1/2)/√(2π)


@pytest.mark.parametrize("b", [0.005, 0.02, 0.05])
def test_large_steps_reduce_to_uniform_placement(b):
    # corrections are O(b²) relative: the pair density within the sphere is depleted by ~b
    assert bm.reduced_flux(b) == pytest.approx(4 * math.pi / 3 * b ** 3, rel=2 * b)


@pytest.mark.parametrize("b", [5.0, 10.0, 20.0])
def test_small_steps_reduce_to_smoluchowski_with_the_boundary_shift(b):
    F = bm.reduced_flux(b)
    assert F == pytest.approx(2 * math.pi * (b - BETA), rel=1.0 / b ** 2)
    assert F < 2 * math.pi * b                           # never above Smoluchowski


@pytest.mark.slow
def test_flux_grows_with_the_radius_and_the_grid_is_converged():
    bs = [0.05, 0.2, 0.5, 1.0, 2.0, 4.0]
    fs = [bm.reduced_flux(b) for b in bs]
    assert all(f2 > f1 for f1, f2 in zip(fs, fs[1:]))
    for b, f in zip(bs, fs):
        assert bm.reduced_flux(b, grid=80, reach=12.0) == pytest.approx(f, rel=2e-3)


@pytest.mark.slow
def test_physics_md_example_and_inverse():
    r = bm.binding_radius(1e7, 1000.0, 1e-6)
    assert r == pytest.approx(1.6e-3, abs=0.05e-3)
    for k, D, dt in ((1e7, 1000.0, 1e-6), (1e9, 330.0, 1e-6), (6.02e6, 20.0, 1e-3)):
        sigma = bm.binding_radius(k, D, dt)
        assert bm.rate_of_radius(sigma, D, dt) == pytest.approx(k, rel=1e-8)


@pytest.mark.parametrize("b, lam_dt", [(20.0, 1e-3), (20.0, 1e-2), (40.0, 1e-3)])
def test_given_radius_with_small_steps_is_the_doi_model(b, lam_dt):
    """A pair within σ reacting with probability p per step is, for small steps, the Doi model
    with hazard λ = −ln(1 − p)/Δt: k = 4πDσ[1 − tanh(κσ)/(κσ)], κ = √(λ/D) (docs/reference.md §1.6,
    ReaDDy's reaction). Reduced units: s = 1, D = 1/2, Δt = 1; the corrections are O(1/b)."""
    p = 1 - math.exp(-lam_dt)
    kappa_sigma = math.sqrt(lam_dt / 0.5) * b
    doi = 4 * math.pi * 0.5 * b * (1 - math.tanh(kappa_sigma) / kappa_sigma)
    assert bm.reduced_flux(b, None, p) == pytest.approx(doi, rel=1.0 / b)
    assert bm.reduced_flux(b, None, p) == pytest.approx(doi, rel=5e-3)


@pytest.mark.slow
def test_probability_for_a_given_radius_inverts_the_rate_and_refuses_too_much():
    D, dt, sigma = 200.0, 1e-7, 0.01
    for k in (1e8, 1e9):
        p, sep = bm.probability_for_radius(k, sigma, D, dt)
        assert sep is None and 0 < p < 1
        assert bm.rate_of_radius(sigma, D, dt, p) == pytest.approx(k, rel=1e-8)
        p, sep = bm.probability_for_radius(k, sigma, D, dt, reversible=True)
        assert sep == pytest.approx(sigma + bm.UNBIND_GAP * math.sqrt(2 * D * dt))
        assert bm.rate_of_radius(sigma, D, dt, p, unbind=sep) == pytest.approx(k, rel=1e-8)
    k_max = bm.rate_of_radius(sigma, D, dt)
    with pytest.raises(bm.RateTooHigh) as exc:
        bm.probability_for_radius(1.01 * k_max, sigma, D, dt)
    assert exc.value.args[0] == pytest.approx(k_max)
    # the diffusion limit of a radius is below Smoluchowski's 4πDσ, and for small steps (b = 10)
    # it is 4πD(σ − βs), the Smoluchowski rate with the boundary shift, to O(1/b²)
    smol = 4 * math.pi * D * sigma * bm.PER_UM3_PER_MOLAR
    assert k_max < smol
    s = math.sqrt(2 * D * 2.5e-9)
    assert bm.rate_of_radius(sigma, D, 2.5e-9) == pytest.approx(smol * (1 - BETA * s / sigma), rel=(s / sigma) ** 2)


@pytest.mark.parametrize("b", [50.0, 330.0])
def test_very_small_steps_are_solved_and_reach_the_smoluchowski_limit(b):
    """Large b (the grid starts 8 s inside the sphere, the rest in closed form): 2π(b − β) up to
    the grid's discretisation (2e-4 relative at 40 points per s)."""
    assert bm.reduced_flux(b) == pytest.approx(2 * math.pi * (b - BETA), rel=5e-4)


def test_a_probability_at_very_large_b_is_refused_with_advice():
    with pytest.raises(ValueError, match="too large for the radial calculation.*use a larger dt"):
        bm.reduced_flux(200.0, None, 0.5)
