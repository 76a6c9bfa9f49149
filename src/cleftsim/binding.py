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

Discrete sites. In cleftsim each surface molecule owns a reactive disc of area A = π r_s²
(κ_disc = k_pair/A, k_pair = k_on in µm³/s per pair), and a hit inside the discs of molecules j
reacts with the sum of their linear probabilities √(2π)·κ′_j times the depletion factor

    f(κ′_loc) = P_Andrews(κ′_loc) / (√(2π)·κ′_loc),

where κ′_loc is the reactivity for this ligand averaged over a disc of radius ρ = max(r_s,
√(4DΔt)) around the hit: the lateral reach of the molecule's next crossings, over which the
depletion is shared. Sparse small sites (κ′_loc ≪ κ′_disc) get the linear probability (a molecule
rarely meets the same disc twice); dense or overlapping sites, and discs larger than the step, get
Andrews' uniform-surface relation. The mean flux per surface molecule is then k_on·c at any Δt.
MCell's tile formula (Kerr et al. 2008, SIAM J Sci Comput 30:3126) is the linear relation with
the tile as reactive area. Several reactions of one (ligand, state) pair share the probability in
proportion to their rate constants.
"""
from __future__ import annotations

import math

from cleftsim.units import PER_UM3_PER_MOLAR

#: Largest κ′ for which Andrews' fit holds (P ≈ 0.994 there).
KAPPA_PRIME_MAX = 0.86
#: Largest κ′ of one disc: its linear probability √(2π)κ′ must not exceed 1.
KAPPA_DISC_MAX = 1.0 / math.sqrt(2.0 * math.pi)
#: Default reactive disc: one surface molecule per tile of MCell's default grid, 10⁴ µm⁻².
DEFAULT_SITE_RADIUS = 1.0 / math.sqrt(math.pi * 1e4)
#: Coefficients of Andrews' fit divided by √(2π): f(κ′) = 1 − a1 κ′ + a2 κ′² − a3 κ′³.
_SQRT_2PI = math.sqrt(2.0 * math.pi)
DEPLETION_COEFFICIENTS = (3.333 / _SQRT_2PI, 3.357 / _SQRT_2PI, 1.521 / _SQRT_2PI)


def kappa(k_on: float, site_area: float) -> float:
    """Robin coefficient κ (µm/s) of one molecule's reactive disc of area ``site_area`` (µm²),
    k_on in M⁻¹s⁻¹."""
    return k_on / PER_UM3_PER_MOLAR / site_area


def kappa_prime(k_on: float, site_area: float, D: float, dt: float) -> float:
    """Reduced adsorption coefficient κ′ = κ·√(Δt/(2D)) (dimensionless)."""
    return kappa(k_on, site_area) * math.sqrt(dt / (2.0 * D))


def disc_probability(k_on: float, site_area: float, D: float, dt: float) -> float:
    """Linear per-hit probability √(2π)·κ′ of one disc (before the depletion factor). Raises
    ValueError when it exceeds 1."""
    p = _SQRT_2PI * kappa_prime(k_on, site_area, D, dt)
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


def reach(D: float, dt: float, site_radius: float) -> float:
    """Radius ρ (µm) over which the local reactivity is averaged for the depletion factor."""
    return max(site_radius, math.sqrt(4.0 * D * dt))


def largest_dt(k_on: float, site_area: float, D: float) -> float:
    """The largest time step (s) at which one disc's per-hit probability stays ≤ 1."""
    return 2.0 * D * (KAPPA_DISC_MAX / kappa(k_on, site_area)) ** 2


def site_radius_for(k_on: float, D: float, dt: float) -> float:
    """The smallest reactive-disc radius (µm) that keeps the per-hit probability ≤ 1 at this dt."""
    area = k_on / PER_UM3_PER_MOLAR * math.sqrt(dt / (2.0 * D)) / KAPPA_DISC_MAX
    return math.sqrt(area / math.pi)
