"""Per-hit binding probability of a volume molecule meeting a surface molecule.

Derivation. A volume molecule takes per-axis Gaussian steps of variance 2DΔt. For a uniform
concentration c next to a flat membrane, the number of steps per unit area and time that cross
the membrane (counting every crossing of a reflected path, which in a narrow gap between two
membranes gives the same number) is c·E[max(Z, 0)]/Δt = c·√(D/(πΔt)), Z ~ N(0, 2DΔt). If each
crossing reacts with probability P, the reaction flux is P·c·√(D/(πΔt)) = κ·c: the Robin boundary
condition with κ = P·√(D/(πΔt)) (Erban & Chapman 2007, Phys Biol 4:16). A surface molecule
binding with rate constant k_on (M⁻¹s⁻¹) must react k_on·c times per unit time; spreading that
over its reactive disc of area A gives κ = k_pair/A with k_pair = k_on/(N_A·1e-15 L/µm³) in µm³/s.
The small-P relation P = κ·√(πΔt/D) undercounts as P grows, because reacting molecules deplete
the layer next to the membrane; Andrews (2009, Phys Biol 6:046015) fitted the exact relation for
this algorithm (reflect when no reaction):

    P = κ′·(√(2π) − 3.333 κ′ + 3.357 κ′² − 1.521 κ′³),   κ′ = κ·√(Δt/(2D)),   for κ′ ≤ 0.86,

which reduces to κ·√(πΔt/D) for small κ′. MCell's tile formula (Kerr et al. 2008, SIAM J Sci Comput
30:3126) is the same small-P relation with the tile as the reactive area. Several reactions of one
(ligand, state) pair share the total P in proportion to their rate constants.
"""
from __future__ import annotations

import math

from cleftsim.units import PER_UM3_PER_MOLAR

#: Largest κ′ for which Andrews' fit holds (P ≈ 0.994 there).
KAPPA_PRIME_MAX = 0.86
#: Default reactive disc: one surface molecule per tile of MCell's default grid, 10⁴ µm⁻².
DEFAULT_SITE_RADIUS = 1.0 / math.sqrt(math.pi * 1e4)


def kappa(k_on: float, site_area: float) -> float:
    """Robin coefficient κ (µm/s) of a reactive disc of area ``site_area`` (µm²), k_on in M⁻¹s⁻¹."""
    return k_on / PER_UM3_PER_MOLAR / site_area


def kappa_prime(k_on: float, site_area: float, D: float, dt: float) -> float:
    """Reduced adsorption coefficient κ′ = κ·√(Δt/(2D)) (dimensionless)."""
    return kappa(k_on, site_area) * math.sqrt(dt / (2.0 * D))


def hit_probability(k_on: float, site_area: float, D: float, dt: float) -> float:
    """Per-hit reaction probability for rate constant k_on (M⁻¹s⁻¹), disc area (µm²), the ligand's
    D (µm²/s) and time step dt (s). Raises ValueError beyond the range of the fit (κ′ > 0.86)."""
    kp = kappa_prime(k_on, site_area, D, dt)
    if kp > KAPPA_PRIME_MAX:
        raise ValueError(f"kappa' = {kp:.3g} exceeds {KAPPA_PRIME_MAX}")
    return kp * (math.sqrt(2.0 * math.pi) - 3.333 * kp + 3.357 * kp * kp - 1.521 * kp ** 3)


def largest_dt(k_on: float, site_area: float, D: float) -> float:
    """The largest time step (s) at which binding with k_on still has a per-hit probability ≤ 1."""
    return 2.0 * D * (KAPPA_PRIME_MAX / kappa(k_on, site_area)) ** 2


def site_radius_for(k_on: float, D: float, dt: float) -> float:
    """The smallest reactive-disc radius (µm) that keeps the per-hit probability ≤ 1 at this dt."""
    area = k_on / PER_UM3_PER_MOLAR * math.sqrt(dt / (2.0 * D)) / KAPPA_PRIME_MAX
    return math.sqrt(area / math.pi)
