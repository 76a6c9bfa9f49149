"""Per-hit binding probability of a volume molecule meeting a surface molecule.

Crossings. A volume molecule takes per-axis Gaussian steps of variance 2DΔt. For a uniform
concentration c next to a flat membrane, the number of steps per unit area and time that cross
the membrane (counting every crossing of a reflected path, which in a gap narrower than the step
gives the same total) is c·E[max(Z, 0)]/Δt = c·√(D/(πΔt)), Z ~ N(0, 2DΔt). If each crossing reacts
with probability P, the flux is P·c·√(D/(πΔt)) = κ·c: a Robin boundary with κ = P·√(D/(πΔt)), i.e.
P = √(2π)·κ′ with κ′ = κ·√(Δt/(2D)) (Erban & Chapman 2007, Phys Biol 4:16).

Depletion. That linear relation assumes the concentration next to the membrane is c. A molecule
that crossed and was reflected is likely to cross again within a step or two, near the same
place; on a surface that reacts everywhere, the reactions therefore thin out the layer next to
it and the flux falls below P·c·√(D/(πΔt)). Andrews (2009, Phys Biol 6:046015) fitted the exact
relation for this reflect-unless-reacted algorithm on a uniform surface:

    P = κ′·(√(2π) − 3.333 κ′ + 3.357 κ′² − 1.521 κ′³),   valid for κ′ ≤ 0.86.

Tiles. As in MCell (Kerr et al. 2008, SIAM J Sci Comput 30:3126), every triangle of a region that
holds surface molecules is divided into n_t² equal tiles (a barycentric grid, n_t =
ceil(√(A_t·ρ_tile)), so every tile has area A_tile ≤ 1/ρ_tile), and every surface molecule
occupies one tile. A hit on a tile reacts with the molecule(s) there that face the incoming side,
with the linear probability √(2π)·κ′_tile, κ_tile = k_on/(N_A·A_tile) (the actual area of that
triangle's tiles, so the flux per molecule is k_on·c at any tile size), times the depletion factor

    f(κ′_loc) = P_Andrews(κ′_loc) / (√(2π)·κ′_loc),

where κ′_loc = κ_loc·√(Δt/(2D)) and κ_loc is the local reactivity for this ligand around the hit:
the mean κ of the tiles under 8 points drawn from where the molecule's further contacts with the
membrane fall during a step (contacts accumulate as ds/√s, so a contact's time is s = ΔtU² with
U uniform, and the lateral position at s is a Gaussian of variance 2Ds per axis, followed along
the mesh across region borders where the membrane goes on and reflected where it folds). Sparse receptors (κ′_loc ≪ κ′_tile) get nearly the linear
probability; a surface whose tiles are all occupied is a uniform surface and gets Andrews' exact
relation. Tiles do not overlap, so a hit
never sums the probabilities of several molecules (only two mobile molecules that moved onto one
tile do), and nothing saturates while κ′_tile ≤ 1/√(2π). Several reactions of one (ligand, state,
side) share the probability in proportion to their rate constants.

What k_on means. A receptor alone on its tile is a partially absorbing patch of radius a ≈ r_tile
with the intrinsic rate k_on; diffusion to it limits its rate to the Collins–Kimball value
k_on/(1 + k_on/k_D), k_D = 4·D·a·N_A (Collins & Kimball 1949, J Colloid Sci 4:425; Shoup & Szabo
1982, Biophys J 40:33). The simulation resolves that at every Δt measured (0.02–1 µs): nAChR-like
binding (k_on = 2.7e8 M⁻¹s⁻¹, D = 210 µm²/s, k_on/k_D = 0.095) of an isolated receptor runs at
0.89–0.92 (SE 0.015) of k_on against 0.914 predicted (docs/algorithms.md has the table). k_on is
thus the intrinsic rate constant: with it a fully covered surface is the Robin boundary
κ = σ·k_on/N_A and a reversible receptor's equilibrium follows mass action with k_on/k_off
(tests/test_binding_dense.py). For a rate k_eff measured on isolated receptors, give
:func:`intrinsic_k_on` of it (valid while k_eff < k_D, the patch being far from diffusion limited).

Released ligand (geminate rebinding). A ligand released at the membrane starts at height 0,
where a step-wise test is worst (a Gaussian step from there crosses back at its start, on the
releasing tile, with probability 1/2, against contacts spread over √(2Dτ) in continuous time).
A volume product of a surface molecule therefore moves for the rest of its step τ (from the
event's exact time) without binding within 2√(4Dτ) of its source on membranes facing the same
way, and then reacts with the exact probability of a partially reflecting boundary given the
heights y0 and y (unfolded: |y0 + normal step|) where it started and ended over the source's
plane (the ratio of the Robin and reflecting half-line propagators; Carslaw & Jaeger 1959, §14.2):

    P = 2√(2π)κ′·erfcx((y + y0)/√(4Dτ) + √2·κ′) / (1 + exp(y·y0/(Dτ))),   κ′ = κ_loc·√(τ/(2D)),

with κ_loc drawn as above around the point below it, the partner one of the molecules on those
tiles in proportion to its κ. The molecule keeps this test on its later steps while it stays
within 2√(4DΔt) of the source's plane and twice that of the source along it, while the point
below it still lies on a triangle of that plane (on a curved membrane the plane is only local),
and while nothing closer than √(4DΔt) across the plane turned it back. It is exact for a uniform surface at any Δt,
and to first order in κ for any pattern (membrane.pyx, Membrane.geminate; step.pyx,
move_near_source). A molecule that binds during a step has its first-order events in that step
over a uniform part of what is left of it, as it bound at a uniform time of the step.
"""
from __future__ import annotations

import math

from cleftsim.units import PER_UM3_PER_MOLAR

#: Largest κ′ for which Andrews' fit holds (P ≈ 0.994 there).
KAPPA_PRIME_MAX = 0.86
#: Largest κ′ of one tile: its linear probability √(2π)κ′ must not exceed 1.
KAPPA_TILE_MAX = 1.0 / math.sqrt(2.0 * math.pi)
#: Default tile density (µm⁻²): MCell's SURFACE_GRID_DENSITY default, tiles of at most 100 nm².
DEFAULT_TILE_DENSITY = 1e4
#: Coefficients of Andrews' fit divided by √(2π): f(κ′) = 1 − a1 κ′ + a2 κ′² − a3 κ′³.
_SQRT_2PI = math.sqrt(2.0 * math.pi)
DEPLETION_COEFFICIENTS = (3.333 / _SQRT_2PI, 3.357 / _SQRT_2PI, 1.521 / _SQRT_2PI)


def kappa(k_on: float, tile_area: float) -> float:
    """Robin coefficient κ (µm/s) of one molecule on a tile of area ``tile_area`` (µm²), k_on in
    M⁻¹s⁻¹."""
    return k_on / PER_UM3_PER_MOLAR / tile_area


def kappa_prime(k_on: float, tile_area: float, D: float, dt: float) -> float:
    """Reduced adsorption coefficient κ′ = κ·√(Δt/(2D)) (dimensionless)."""
    return kappa(k_on, tile_area) * math.sqrt(dt / (2.0 * D))


def tile_probability(k_on: float, tile_area: float, D: float, dt: float) -> float:
    """Linear per-hit probability √(2π)·κ′ of one tile (before the depletion factor). Raises
    ValueError when it exceeds 1."""
    p = _SQRT_2PI * kappa_prime(k_on, tile_area, D, dt)
    if p > 1.0:
        raise ValueError(f"per-hit probability {p:.3g} > 1")
    return p


def depletion_factor(kp: float) -> float:
    """f(κ′) = P_Andrews(κ′)/(√(2π)κ′) (1 at κ′ = 0); beyond the fit's range it keeps the surface
    at P_Andrews(0.86) ≈ 0.994 per crossing."""
    a1, a2, a3 = DEPLETION_COEFFICIENTS
    if kp > KAPPA_PRIME_MAX:
        return depletion_factor(KAPPA_PRIME_MAX) * KAPPA_PRIME_MAX / kp
    return 1.0 - a1 * kp + a2 * kp * kp - a3 * kp ** 3


def andrews_probability(kp: float) -> float:
    """Per-crossing probability of a uniform surface with reduced coefficient κ′ (Andrews 2009)."""
    return _SQRT_2PI * kp * depletion_factor(kp)


def tile_radius(tile_density: float) -> float:
    """Radius (µm) of a disc of the nominal tile area 1/tile_density."""
    return 1.0 / math.sqrt(math.pi * tile_density)


def largest_dt(k_on: float, tile_area: float, D: float) -> float:
    """The largest time step (s) at which one tile's per-hit probability stays ≤ 1."""
    return 2.0 * D * (KAPPA_TILE_MAX / kappa(k_on, tile_area)) ** 2


def tile_area_for(k_on: float, D: float, dt: float) -> float:
    """The smallest tile area (µm²) that keeps the per-hit probability ≤ 1 at this dt."""
    return k_on / PER_UM3_PER_MOLAR * math.sqrt(dt / (2.0 * D)) / KAPPA_TILE_MAX


def tile_density_for(k_on: float, D: float, dt: float, triangle_areas) -> float:
    """The largest tile density (µm⁻²) at which every tile of triangles of these areas (µm²) is
    at least tile_area_for(k_on, D, dt); 0 if a triangle is smaller than that."""
    need = tile_area_for(k_on, D, dt)
    best = math.inf
    for a in triangle_areas:
        n = math.floor(math.sqrt(a / need))
        if n < 1:
            return 0.0
        best = min(best, n * n / a)
    return best


def intrinsic_k_on(k_eff: float, D: float, tile_density: float = DEFAULT_TILE_DENSITY) -> float:
    """The k_on (M⁻¹s⁻¹) to give a receptor on one tile so that, alone, it binds at the measured
    k_eff: k_on = k_eff/(1 − k_eff/k_D), k_D = 4·D·a·N_A with a = tile_radius (Collins–Kimball;
    module docstring). D in µm²/s. Raises ValueError if k_eff ≥ k_D."""
    k_d = 4.0 * D * tile_radius(tile_density) * PER_UM3_PER_MOLAR
    if k_eff >= k_d:
        raise ValueError(f"k_eff = {k_eff:.4g} /M/s is at or above the diffusion limit {k_d:.4g} /M/s of a tile")
    return k_eff / (1.0 - k_eff / k_d)
