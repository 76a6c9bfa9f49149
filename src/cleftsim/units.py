"""Unit conversion: the one place where quantities with units become plain floats.

Plain floats are taken to be in cleftsim's base units already:

=================  ==========
quantity           base unit
=================  ==========
length             µm
time               s
diffusion coeff.   µm²/s
first-order rate   s⁻¹
bimolecular rate   M⁻¹s⁻¹ (a volume per time per pair, e.g. ``"0.01 um^3/s"``, is converted)
production rate    M/s (molecules per volume per time, e.g. ``"100 /um^3/s"``, is converted)
surface density    µm⁻²
concentration      M
=================  ==========

Strings are parsed with pint (``"20 nm"``, ``"0.33 um^2/ms"``, ``"1 us"``, ``"4.59e6 /M/s"``);
``pint.Quantity`` objects are accepted too.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

#: Avogadro's number (mol⁻¹).
AVOGADRO = 6.02214076e23
#: Molecules per µm³ in a 1 M solution (1 L = 1e15 µm³).
PER_UM3_PER_MOLAR = AVOGADRO / 1e15

_BASE = {
    "length": "um",
    "time": "s",
    "diffusion": "um**2/s",
    "rate": "1/s",
    "bimolecular": "1/M/s",
    "production": "M/s",
    "density": "1/um**2",
    "concentration": "M",
}


_WHAT = {
    "length": "length",
    "time": "time",
    "diffusion": "diffusion coefficient",
    "rate": "first-order rate",
    "bimolecular": "bimolecular rate",
    "production": "production rate",
    "density": "surface density",
    "concentration": "concentration",
}


class UnitError(ValueError):
    """A quantity has the wrong dimension, cannot be parsed, or is not finite."""


@lru_cache(maxsize=1)
def registry():
    """The package's pint UnitRegistry (created on first use)."""
    import pint

    return pint.UnitRegistry()


def to_base(value: Any, kind: str, name: str = "value") -> float:
    """Convert ``value`` to a float in the base unit of ``kind`` (see module docstring).

    ``name`` is used in error messages so the user knows which argument to fix.
    """
    unit = _BASE[kind]
    if isinstance(value, str) or hasattr(value, "dimensionality"):
        import pint

        ureg = registry()
        try:
            q = ureg.Quantity(value) if isinstance(value, str) else value
            if not hasattr(q, "to"):
                raise UnitError(f"{name}: {value!r} has no unit; give e.g. a number in {unit}")
            out = float(q.to(unit).magnitude)
        except pint.DimensionalityError:
            # a rate per pair (volume / time -> M⁻¹s⁻¹); molecules per volume per time (-> M/s)
            alt = {"bimolecular": ("um**3/s", PER_UM3_PER_MOLAR), "production": ("1/um**3/s", 1 / PER_UM3_PER_MOLAR)}
            if kind in alt:
                try:
                    return to_base(q.to(alt[kind][0]).magnitude * alt[kind][1], kind, name)
                except pint.DimensionalityError:
                    pass
            raise UnitError(
                f"{name}: {value!r} is not a {_WHAT[kind]} (expected units convertible to {unit})"
            ) from None
        except (pint.UndefinedUnitError, AttributeError, TypeError, ValueError) as exc:
            if isinstance(exc, UnitError):
                raise
            raise UnitError(f"{name}: cannot read {value!r} as a {kind} ({exc})") from None
    else:
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise UnitError(
                f"{name}: {value!r} is not a number or a quantity string such as '1 {unit}'"
            ) from None
    if not math.isfinite(out):
        raise UnitError(f"{name}: {value!r} is not finite")
    return out


def length(value: Any, name: str = "length") -> float:
    """A length in µm."""
    return to_base(value, "length", name)


def time(value: Any, name: str = "time") -> float:
    """A time in s."""
    return to_base(value, "time", name)


def diffusion(value: Any, name: str = "D") -> float:
    """A diffusion coefficient in µm²/s."""
    return to_base(value, "diffusion", name)


def point(value: Any, name: str = "point") -> np.ndarray:
    """A 3-vector of lengths in µm (each entry a float or a length string)."""
    try:
        items = list(value)
    except TypeError:
        raise UnitError(f"{name}: expected three coordinates (x, y, z), got {value!r}") from None
    if len(items) != 3:
        raise UnitError(f"{name}: expected three coordinates (x, y, z), got {len(items)}")
    return np.array([length(v, f"{name}[{i}]") for i, v in enumerate(items)], dtype=np.float64)
