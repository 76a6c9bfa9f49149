"""Exact solutions used to validate the engine (see docs/validation and the tests).

Lengths in µm, times in s, D in µm²/s, concentrations in molecules/µm³ (divide by
:data:`cleftsim.units.PER_UM3_PER_MOLAR` for mol/L).

Disc-shaped cleft of radius R and height h with reflecting plates and an absorbing rim, N
molecules released on the axis at t = 0: the areal density obeys 2D diffusion in a disc with
an absorbing boundary, solved by a Fourier–Bessel series over the zeros α_n of J0 (Carslaw &
Jaeger, Conduction of Heat in Solids, 2nd ed., 1959, §7.x; Crank, The Mathematics of Diffusion,
1975, ch. 5).
"""
from __future__ import annotations

import numpy as np
from scipy import special

#: Number of Bessel terms used by default; enough for t >= R²/(1e4 D).
TERMS = 400


def free_msd(D: float, t, dim: int = 3):
    """Mean squared displacement 2·dim·D·t (µm²) of free diffusion."""
    return 2.0 * dim * D * np.asarray(t, dtype=float)


def fraction_within(a: float, D: float, t):
    """Fraction of molecules released at a point that lie within radius a after t (3D)."""
    t = np.asarray(t, dtype=float)
    s = np.sqrt(4.0 * D * t)
    return special.erf(a / s) - 2.0 * a / (np.sqrt(np.pi) * s) * np.exp(-(a / s) ** 2)


def _bessel_terms(t, R: float, D: float, terms: int):
    alpha = special.jn_zeros(0, terms)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    decay = np.exp(-np.outer(t, alpha**2) * D / R**2)
    return alpha, decay


def disc_survival(t, R: float, D: float, r0: float = 0.0, terms: int = TERMS):
    """Fraction S(t) of molecules still inside a disc with absorbing rim, started at radius r0."""
    alpha, decay = _bessel_terms(t, R, D, terms)
    coef = 2.0 * special.j0(alpha * r0 / R) / (alpha * special.j1(alpha))
    out = decay @ coef
    return out if np.ndim(t) else float(out[0])


def disc_center_concentration(t, N: float, R: float, h: float, D: float, terms: int = TERMS):
    """Concentration c(0, t) (molecules/µm³) on the axis of a disc cleft with absorbing rim."""
    alpha, decay = _bessel_terms(t, R, D, terms)
    out = N / (np.pi * R**2 * h) * (decay @ (1.0 / special.j1(alpha) ** 2))
    return out if np.ndim(t) else float(out[0])


def disc_mean_concentration(t, N: float, R: float, h: float, D: float, a: float, terms: int = TERMS):
    """Mean concentration (molecules/µm³) over the central disc of radius a ≤ R."""
    alpha, decay = _bessel_terms(t, R, D, terms)
    coef = special.j1(alpha * a / R) / (alpha * special.j1(alpha) ** 2)
    out = 2.0 * N / (np.pi * R * a * h) * (decay @ coef)
    return out if np.ndim(t) else float(out[0])


def disc_mean_escape_time(R: float, D: float, r0: float = 0.0) -> float:
    """Mean time (s) to reach the absorbing rim of a disc from radius r0: (R² − r0²)/(4D)."""
    return (R**2 - r0**2) / (4.0 * D)


def slab_msd_limit(h: float) -> float:
    """Long-time ⟨Δz²⟩ (µm²) between reflecting plates h apart, uniform start: h²/6."""
    return h**2 / 6.0
