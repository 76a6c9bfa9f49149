"""Binding radius of a bimolecular volume reaction A + B at a finite time step.

The algorithm (Andrews & Bray 2004, Phys Biol 1:137): each step both molecules take their
Gaussian steps, and a pair whose separation at the end of the step is below the binding radius
σ_b reacts. The relative position of a pair diffuses with D = D_A + D_B, so per step it moves by a
Gaussian of variance s² = 2DΔt per axis. The rate constant this produces depends on the reduced
radius b = σ_b/s:

- b ≫ 1 (small steps): the pair cannot jump over the reactive sphere, it is absorbed on contact
  and k → 4πDσ_b (Smoluchowski);
- b ≪ 1 (large steps): pairs land inside the sphere as if uniformly placed, k → (4π/3)σ_b³/Δt.

Between the two there is no closed form; we compute it (our own numerics, the same idea as
Andrews & Bray's tables): the pair correlation g(r) of a steady state, in which each step convolves
g with the radial Gaussian propagator and then empties the sphere r < σ_b. With u = 1 − g and
x = r/s, one step is

    u'(x) = ∫₀^∞ u(y) (y/x) [φ(x − y) − φ(x + y)] dy,   then u' = 1 for x < b,

with φ the standard normal density. The pairs that reacted in a step are F = ∫_{x<b} (1 − u'(x))
4πx² dx (in units of c s³), so k = F s³/Δt. Far from the sink the steady depletion is
u = F/(2πx) (the 1/r profile of a sink of rate k: k/(4πDr) in reduced units), which closes the
integral beyond the grid exactly. The steady state is the fixed point of this linear step, solved
directly as one linear system (the grid starts 8 s inside the sphere when all of the sphere reacts,
so large b costs nothing more).

With a given reaction radius σ (``radius=`` of a reaction) a pair within σ at the end of a step
reacts with probability p per step, and p is what is calibrated: the inside of the sphere keeps
a fraction 1 − p of its pairs, F = p ∫_{x<b} (1 − u') 4πx² dx. For small steps this is the Doi
model with hazard λ = −ln(1 − p)/Δt, whose rate is 4πDσ[1 − tanh(κσ)/(κσ)], κ = √(λ/D)
(Doi 1975; Erban & Chapman 2009, Phys Biol 6:046001), and p = 1 gives the largest rate a radius
allows at that Δt (the diffusion limit: 4πDσ for small steps, (4π/3)σ³/Δt for large ones).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from cleftsim.errors import ModelError, RateTooHigh
from cleftsim.units import PER_UM3_PER_MOLAR

GRID_PER_UNIT = 40           # grid points per reduced length unit (s), at least
_MIN_POINTS_INSIDE = 40      # grid points inside the reactive sphere, at least
REACH = 8.0                  # the grid extends 8 s beyond the sphere (the Gaussian is negligible there)
_MAX_POINTS_INSIDE = 4000    # a bound on the grid inside the sphere when all of it matters (b <= 100)
#: Largest binding radius (µm) accepted: molecules react at contact (nm), and a radius beyond a
#: micrometre means a rate (or k·Δt) that no pair of molecules has.
MAX_BINDING_RADIUS = 1.0


def _root(f, lo: float, hi: float, **tolerance) -> float:
    """The root of f between lo and hi (Brent's method; scipy is imported when first needed)."""
    from scipy.optimize import brentq

    return brentq(f, lo, hi, **tolerance)


@lru_cache(maxsize=1024)
def reduced_flux(b: float, unbind: float | None = None, p: float = 1.0, *, grid: int = GRID_PER_UNIT,
                 reach: float = REACH) -> float:
    """F(b): pairs reacting per step, in units of c·s³, for reduced binding radius b = σ_b/s and
    reaction probability p per step of a pair within it. ``grid`` (points per reduced length)
    and ``reach`` (how far the grid extends beyond the sphere) set the resolution of the solution.

    With ``unbind`` (the reduced unbinding separation u > b), the steady state is the equilibrium
    of a reversible reaction: the pairs that react in a step come back as a shell at u, there is no
    net flux and no far-field depletion."""
    if not b > 0:
        raise ValueError(f"reduced binding radius must be positive, got {b!r}")
    if not 0 < p <= 1:
        raise ValueError(f"reaction probability must be in (0, 1], got {p!r}")
    if unbind is not None and not unbind > b:
        raise ValueError(f"the unbinding separation {unbind!r} must exceed the binding radius {b!r}")
    # midpoint grid: cells of h_in inside the sphere, of h_out (1/40 of a step) outside it. An
    # irreversible sphere that always reacts (p = 1) is empty (u = 1) below core = b − reach,
    # which no pair from outside reaches: the grid starts there, and the core's share of each
    # step's integral, ∫_0^core (y/x)[φ(x − y) − φ(x + y)] dy
    #   = [φ(core + x) − φ(core − x)]/x + Φ(core − x) + Φ(core + x) − 1,
    # is added in closed form (so large b costs no more than b = reach)
    core = max(0.0, b - reach) if unbind is None and p == 1.0 else 0.0
    h_out = 1.0 / grid
    n_in = max(_MIN_POINTS_INSIDE, int(math.ceil((b - core) / h_out)))
    if n_in > _MAX_POINTS_INSIDE:
        raise ValueError(f"reduced radius b = {b:.4g} is too large for the radial calculation with a reaction "
                         f"probability or an unbinding separation (at most {_MAX_POINTS_INSIDE / grid:g}); "
                         f"use a larger dt")
    h_in = (b - core) / n_in
    n_out = int(math.ceil(reach / h_out))
    x = np.concatenate([core + (np.arange(n_in) + 0.5) * h_in, b + (np.arange(n_out) + 0.5) * h_out])
    w = np.concatenate([np.full(n_in, h_in), np.full(n_out, h_out)])
    X = b + n_out * h_out
    # kernel K[i, j] = (y_j/x_i)[φ(x_i − y_j) − φ(x_i + y_j)] w_j
    d = x[:, None] - x[None, :]
    s = x[:, None] + x[None, :]
    K = (x[None, :] / x[:, None]) * (np.exp(-0.5 * d * d) - np.exp(-0.5 * s * s)) / math.sqrt(2 * math.pi) * w
    # beyond the grid u = a/y: ∫_X^∞ (a/y)(y/x)[φ(x − y) − φ(x + y)] dy = (a/x)[Q(X − x) − Q(X + x)]
    from scipy.special import ndtr

    tail = (ndtr(x - X) - ndtr(-X - x)) / x          # Q(X − x) − Q(X + x) = Φ(x − X) − Φ(−X − x)
    if core > 0:
        tail_core = ((ndtr(core - x) + ndtr(core + x) - 1.0)
                     + (np.exp(-0.5 * (core + x) ** 2) - np.exp(-0.5 * (core - x) ** 2)) / (math.sqrt(2 * math.pi) * x))
    else:
        tail_core = np.zeros_like(x)
    inside = x < b
    shell = 4 * math.pi * x * x * w
    # the fixed point of the step is linear in (u, F): with r = K u + c·F·tail + tail_core,
    # c = 1/(2π) (far field of a sink) or 0 (reversible: no net flux),
    #   inside:  u = 1 − (1 − p)(1 − r);   outside: u = r, less F/shell at the unbinding shell;
    #   F = p Σ_inside (1 − r)·shell.
    # Solved directly (an iteration of the step converges slowly, or not at all, for large b).
    n = len(x)
    c = 0.0 if unbind is not None else 1.0 / (2 * math.pi)
    q = np.where(inside, 1.0 - p, 1.0)                                # weight of r in each row
    A = np.zeros((n + 1, n + 1))
    A[:n, :n] = np.eye(n) - q[:, None] * K
    A[:n, n] = -q * c * tail
    rhs = np.empty(n + 1)
    rhs[:n] = np.where(inside, p, 0.0) + q * tail_core
    if unbind is not None:
        A[int(np.argmin(np.abs(x - unbind))), n] += 1.0 / shell[int(np.argmin(np.abs(x - unbind)))]
    ws = p * shell * inside
    A[n, :n] = ws @ K
    A[n, n] = 1.0 + c * float(ws @ tail)
    rhs[n] = float(ws @ (1.0 - tail_core))
    return float(np.linalg.solve(A, rhs)[n])


def rate_of_radius(sigma_b: float, D: float, dt: float, p: float = 1.0, unbind: float | None = None) -> float:
    """Rate constant (M⁻¹s⁻¹) produced by binding radius sigma_b (µm) with reaction probability p
    per step, D = D_A + D_B (µm²/s), dt (s); at equilibrium with dissociated pairs placed
    ``unbind`` (µm) apart if given."""
    s = math.sqrt(2 * D * dt)
    u = None if unbind is None else unbind / s
    return reduced_flux(sigma_b / s, u, p) * s ** 3 / dt * PER_UM3_PER_MOLAR


def binding_radius(k: float, D: float, dt: float) -> float:
    """The binding radius σ_b (µm) for which the reaction A + B with rate constant k (M⁻¹s⁻¹)
    proceeds at rate k at time step dt (s), D = D_A + D_B (µm²/s)."""
    if not (k > 0 and D > 0 and dt > 0):
        raise ValueError(f"binding_radius needs k, D, dt > 0, got k={k!r}, D={D!r}, dt={dt!r}")
    s = math.sqrt(2 * D * dt)
    F = k / PER_UM3_PER_MOLAR * dt / s ** 3                          # target pairs per step (reduced)
    # bracket between the large-step (uniform) and small-step (Smoluchowski) radii
    lo = min((3 * F / (4 * math.pi)) ** (1 / 3), F / (2 * math.pi)) * 0.5
    hi = max((3 * F / (4 * math.pi)) ** (1 / 3), F / (2 * math.pi)) * 2.0
    if hi / 2 * s > MAX_BINDING_RADIUS:
        contact = 4 * math.pi * D * 1e-3 * PER_UM3_PER_MOLAR
        raise ValueError(f"k = {k:.4g} M^-1 s^-1 would need a binding radius of about {hi / 2 * s:.3g} um at dt = "
                         f"{dt:.4g} s (D_A + D_B = {D:.4g} um^2/s), far beyond molecular contact; check the rate and "
                         f"its units (the diffusion limit of a 1 nm contact is 4 pi (D_A + D_B) 1 nm = {contact:.3g} "
                         f"M^-1 s^-1), or use a smaller dt")
    b = _root(lambda q: reduced_flux(q) - F, lo, hi, rtol=1e-10)
    return b * s


#: Unbinding separation of reversible reactions: the irreversible binding radius plus this many
#: rms steps (s = √(2DΔt)), so that most dissociated pairs separate before they can rebind.
UNBIND_GAP = 1.0


def reversible_radii(k: float, D: float, dt: float) -> tuple[float, float]:
    """(σ_b, σ_u) in µm for A + B <-> C with forward rate constant k (M⁻¹s⁻¹): dissociation puts
    A and B σ_u apart, and σ_b is chosen so that the forward rate at equilibrium, where the
    dissociated pairs come back next to the sink, is k. Then the equilibrium obeys
    [C]/([A][B]) = k_f/k_r exactly (detailed balance; Andrews & Bray 2004)."""
    s = math.sqrt(2 * D * dt)
    F = k / PER_UM3_PER_MOLAR * dt / s ** 3
    u = binding_radius(k, D, dt) / s + UNBIND_GAP
    b = _root(lambda q: reduced_flux(q, u) - F, 1e-6 * u, u * (1 - 1e-9), rtol=1e-10)
    return b * s, u * s


def probability_for_radius(k: float, sigma: float, D: float, dt: float,
                           reversible: bool = False) -> tuple[float, float | None]:
    """(p, σ_u): the reaction probability per step of a pair within the given radius sigma (µm)
    for which A + B proceeds at rate k (M⁻¹s⁻¹), and for a reversible reaction the unbinding
    separation σ_u = σ + UNBIND_GAP·s at which p is calibrated at equilibrium (detailed balance).
    Raises RateTooHigh, naming the largest rate (p = 1), when k is above it."""
    s = math.sqrt(2 * D * dt)
    F = k / PER_UM3_PER_MOLAR * dt / s ** 3
    b = sigma / s
    u = b + UNBIND_GAP if reversible else None
    top = reduced_flux(b, u, 1.0)
    if F > top * (1 + 1e-9):
        raise RateTooHigh(top * s ** 3 / dt * PER_UM3_PER_MOLAR)
    if F >= top:
        return 1.0, None if u is None else u * s
    p = _root(lambda q: reduced_flux(b, u, q) - F, 1e-12, 1.0, rtol=1e-10)
    return p, None if u is None else u * s


def pair_rate(rx) -> float:
    """The rate constant per pair (M⁻¹s⁻¹) of a pair reaction: k for A + B; 2k for A + A, whose
    k is defined by d[products]/dt = k[A]²."""
    a, b = rx.reactants
    return 2 * rx.k if a.index == b.index else rx.k


def pair_radius(rx, dt: float, reversible: bool) -> tuple[float, float, float | None]:
    """(σ_b µm, p, σ_u µm or None) of a pair reaction: the binding radius, the reaction
    probability per step of a pair within it, and the unbinding separation of its reverse.
    Without a given radius, p = 1 and σ_b is computed (cleftsim.physics.bimolecular); with one, p is."""

    a, b = rx.reactants
    D = a.D + b.D
    if D <= 0:
        raise ModelError(f"reaction {rx.equation!r}: both reactants have D = 0, so they never meet")
    k = pair_rate(rx)
    if k <= 0:
        return 0.0, 1.0, None
    try:
        if rx.radius is None:
            if reversible:
                sigma, s_u = reversible_radii(k, D, dt)
                return sigma, 1.0, s_u
            return binding_radius(k, D, dt), 1.0, None
        p, sep = probability_for_radius(k, rx.radius, D, dt, reversible)
    except RateTooHigh as exc:
        k_max = exc.args[0] / (2 if a.index == b.index else 1)
        need = binding_radius(k, D, dt)
        hint = f"use radius >= {need * 1e3:.4g} nm (the radius computed for this k and dt"
        hint += ", a little more for a reversible reaction)" if reversible else ")"
        raise ModelError(
            f"reaction {rx.equation!r}: k = {rx.k:.4g} M^-1 s^-1 is above the diffusion limit of radius "
            f"{rx.radius * 1e3:.4g} nm at dt = {dt:.4g} s (D_A + D_B = {D:.4g} um^2/s): at most {k_max:.4g} "
            f"M^-1 s^-1{' at equilibrium' if reversible else ''}; {hint}, or omit radius= to have it computed"
        ) from None
    except ValueError as exc:                            # a radius the radial calculation cannot handle
        raise ModelError(f"reaction {rx.equation!r}: {exc}") from None
    return rx.radius, p, sep
