"""Binding radius of A + B at a finite time step (cleftsim.bimolecular) against its limits.

- Large steps (b = σ_b/s ≪ 1): pairs land in the sphere as if uniformly placed, F = (4π/3) b³.
- Small steps (b ≫ 1): the sphere absorbs on contact, but a discrete walk only sees it at the
  ends of steps, which shifts an absorbing boundary by β·s with β = −ζ(1/2)/√(2π) = 0.5826
  (the overshoot constant of Gaussian random walks; physics.md §1.3 quotes it for flat walls).
  For a sphere that gives k = 4πD(σ_b − β s), i.e. F = 2π(b − β) in reduced units, to O(1/b²).
- physics.md §1.6: k = 1e7 M⁻¹s⁻¹, D = 1000 µm²/s, Δt = 1 µs gives σ_b ≈ 1.6 nm.
"""
import math

import pytest

from cleftsim import bimolecular as bm

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


def test_flux_grows_with_the_radius_and_the_grid_is_converged(monkeypatch):
    bs = [0.05, 0.2, 0.5, 1.0, 2.0, 4.0]
    fs = [bm.reduced_flux(b) for b in bs]
    assert all(f2 > f1 for f1, f2 in zip(fs, fs[1:]))
    monkeypatch.setattr(bm, "_GRID_PER_UNIT", 80)
    monkeypatch.setattr(bm, "_REACH", 12.0)
    bm.reduced_flux.cache_clear()
    try:
        for b, f in zip(bs, fs):
            assert bm.reduced_flux(b) == pytest.approx(f, rel=2e-3)
    finally:
        bm.reduced_flux.cache_clear()


def test_physics_md_example_and_inverse():
    r = bm.binding_radius(1e7, 1000.0, 1e-6)
    assert r == pytest.approx(1.6e-3, abs=0.05e-3)
    for k, D, dt in ((1e7, 1000.0, 1e-6), (1e9, 330.0, 1e-6), (6.02e6, 20.0, 1e-3)):
        sigma = bm.binding_radius(k, D, dt)
        assert bm.rate_of_radius(sigma, D, dt) == pytest.approx(k, rel=1e-8)
