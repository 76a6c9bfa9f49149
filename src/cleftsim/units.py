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
voltage            V
conductance        S
=================  ==========

Strings are parsed with pint (``"20 nm"``, ``"0.33 um^2/ms"``, ``"1 us"``, ``"4.59e6 /M/s"``);
``pint.Quantity`` objects are accepted too.

Quantities whose plain numbers are easily given in the wrong unit are held to a plausible range
(:data:`PLAUSIBLE`): ``holding=-70`` is -70 V, and is refused with the suggestion ``"-70 mV"``.

>>> from cleftsim import units
>>> units.length("20 nm"), units.diffusion("0.33 um^2/ms"), units.to_base("1 mM", "concentration")
(0.02, 330.0, 0.001)
>>> units.voltage(-70)
Traceback (most recent call last):
    ...
cleftsim.errors.UnitError: voltage: -70 is -70 V, but membrane potentials lie within ±0.5 V; a plain number is in V: did you mean '-70 mV'?
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Callable, NoReturn

import numpy as np

from cleftsim.errors import UnitError

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
    "voltage": "V",
    "conductance": "S",
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
    "voltage": "voltage",
    "conductance": "conductance",
}

#: kind → (lowest, highest plausible value in the base unit, the unit a plain number is likely
#: meant in, why). Membrane potentials stay well within ±0.5 V (membranes break down near
#: 0.3-0.5 V); unitary conductances are 0.1-300 pS (BK channels, the largest, about 250 pS);
#: nothing dissolved is denser than pure water (55.5 M); geometry is smaller than 1 m; no
#: molecular transition is faster than ~1e12 /s, no reaction in water than ~1e11 /M/s.
PLAUSIBLE = {
    "rate": (-math.inf, 1e12, None, "no molecular transition is faster than about 1e12 /s (a lifetime of 1 ps)"),
    "bimolecular": (-math.inf, 1e12, None, "diffusion limits reactions in water to below about 1e11 /M/s"),
    "voltage": (-0.5, 0.5, "mV", "membrane potentials lie within ±0.5 V"),
    "conductance": (0.0, 1e-9, "pS", "unitary conductances of ion channels are below 1 nS"),
    "concentration": (-math.inf, 55.5, None, "nothing in solution is more concentrated than water (55.5 M)"),
    "length": (-1e6, 1e6, None, "cleftsim's geometry is at most 1 m across"),
}


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
    if isinstance(value, bool):
        raise UnitError(f"{name}: {value!r} is not a number or a quantity string such as '1 {unit}'")
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
    _plausible(out, kind, name, value)
    return out


def is_whole(value: Any, low: int = 0) -> bool:
    """Whether ``value`` is a plain integer of at least ``low`` (booleans excluded)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= low


def is_number(value: Any) -> bool:
    """Whether ``value`` is a plain real number (booleans excluded: True would pass as 1)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _plain_hint(given: Any, kind: str, meant: str | None, fits) -> str:
    """"; a plain number is in <unit>: did you mean '<given> <meant>'?" when ``given`` is a plain
    number that, read in ``meant``, ``fits`` (a test on the base-unit value); else ""."""
    if meant is None or not is_number(given):
        return ""
    x = float(given) * registry().Quantity(1, meant).to(_BASE[kind]).magnitude
    return f"; a plain number is in {SHOWN[kind]}: did you mean '{float(given):g} {meant}'?" if fits(x) else ""


def _plausible(x: float, kind: str, name: str, given: Any) -> None:
    """Refuse a value outside the kind's plausible range (:data:`PLAUSIBLE`), suggesting the unit
    a plain number was probably meant in."""
    if kind not in PLAUSIBLE:
        return
    lo, hi, meant, why = PLAUSIBLE[kind]
    if lo <= x <= hi:
        return
    if x < lo == 0:
        raise UnitError(f"{name}: {given!r} is negative; a {_WHAT[kind]} is >= 0")
    hint = _plain_hint(given, kind, meant, lambda v: lo <= v <= hi)
    raise UnitError(f"{name}: {given!r} is {x:.4g} {_BASE[kind].replace('**', '^')}, but {why}{hint}")


def base_value(value: Any) -> tuple[float, str | None] | None:
    """(magnitude in cleftsim's base unit, kind) of a number (kind None) or a quantity string
    (``"20 nm"`` → (0.02, "length")); None for a string that is not a quantity."""
    if is_number(value):
        return float(value), None
    if not isinstance(value, str):
        return None
    import pint

    try:
        q = registry().Quantity(value)
    except Exception:                    # any text that pint cannot read is not a quantity
        return None
    if not hasattr(q, "dimensionality") or q.dimensionless:
        return float(getattr(q, "magnitude", q)), None
    for kind, unit in _BASE.items():
        try:
            return float(q.to(unit).magnitude), kind
        except pint.DimensionalityError:
            continue
    return float(q.to_base_units().magnitude), str(q.dimensionality)


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
        items = None if isinstance(value, (str, bytes, dict)) else list(value)
    except TypeError:
        items = None
    if items is None or len(items) != 3:
        raise UnitError(f"{name}: expected three coordinates (x, y, z), e.g. (0, 0, '10 nm'), got {value!r}")
    return np.array([length(v, f"{name}[{i}]") for i, v in enumerate(items)], dtype=np.float64)


def voltage(value: Any, name: str = "voltage") -> Any:
    """A membrane potential in V (a number, a string such as ``"-70 mV"``, or an array of V)."""
    if isinstance(value, str) or hasattr(value, "dimensionality") or np.ndim(value) == 0:
        return to_base(value, "voltage", name)
    v = np.asarray(value, dtype=np.float64)
    worst = v.ravel()[np.argmax(np.where(np.isfinite(v), np.abs(v), np.inf).ravel())] if v.size else 0.0
    to_base(float(worst), "voltage", name)         # the farthest from 0 (or a non-finite value) fails first
    return v


def conductance(value: Any, name: str = "conductance") -> float:
    """A unitary conductance in S (a number or a string such as ``"10 pS"``)."""
    return to_base(value, "conductance", name)


def format_time(t: float) -> str:
    """A time in s written in the unit that reads best: ``5e-3`` → ``"5 ms"``, ``1e-5`` → ``"10 µs"``."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(t) >= scale:
            return f"{t / scale:.4g} {unit}"
    return f"{t:.4g} s"


def format_sampling(times: Any) -> str:
    """What a series of sample times (s) covers: ``"501 samples, 0 to 5 ms every 10 µs"``."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) < 2:
        return f"{len(times)} sample{'' if len(times) == 1 else 's'}" + (
            f" at {format_time(times[0])}" if len(times) else "")
    start = "0" if times[0] == 0 else format_time(times[0])
    return f"{len(times)} samples, {start} to {format_time(times[-1])} every {format_time(times[1] - times[0])}"


def array(value: Any, convert: Callable[[Any, str], float] | None, name: str) -> np.ndarray:
    """``value`` (a number, a quantity string, or an array or sequence of either) as a float array
    in base units: strings are converted by ``convert(string, name)`` (e.g.
    :func:`cleftsim.units.time`), or refused when ``convert`` is None, as is anything else that is
    not a number (TypeError naming the entry)."""
    def refuse(item: Any, where: str) -> NoReturn:
        raise TypeError(f"{where}: expected a number{' or a quantity string' if convert else ''}, got {item!r}")

    if isinstance(value, str) or hasattr(value, "dimensionality"):
        return np.asarray(convert(value, name)) if convert else refuse(value, name)
    try:
        arr = np.asarray(value)
    except ValueError:
        raise TypeError(f"{name}: {value!r} is ragged; give a number or an array of numbers") from None
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    items = np.asarray(value, dtype=object)
    out = np.empty(items.shape)
    for index in np.ndindex(items.shape):
        item, where = items[index], f"{name}[{', '.join(map(str, index))}]" if index else name
        if is_number(item):
            out[index] = item
        elif convert and (isinstance(item, str) or hasattr(item, "dimensionality")):
            out[index] = convert(item, where)
        else:
            refuse(item, where)
    return out


#: How a base unit is written in messages.
SHOWN = {"length": "µm", "time": "s", "diffusion": "µm²/s", "rate": "s⁻¹", "bimolecular": "M⁻¹s⁻¹",
         "production": "M/s", "density": "µm⁻²", "concentration": "M", "voltage": "V", "conductance": "S"}


def bounded(value: Any, kind: str, name: str, low: Any = None, high: Any = None, why: str = "",
            plain: str | None = None, positive: bool = False, example: Any = None) -> float:
    """``value`` as a quantity of ``kind`` in base units, refused (UnitError) unless it is > 0
    (if ``positive``) and within [``low``, ``high``] (quantities of that kind) because ``why``.
    The message reads "<name>=<value> is <x> <unit>, but it must be ...; <fix>": the fix suggests
    ``plain`` as the unit of a plain number when that would fit, else ``name=example``."""
    lo = None if low is None else to_base(low, kind)
    hi = None if high is None else to_base(high, kind)

    def inside(x: float) -> bool:
        return (not positive or x > 0) and (lo is None or x >= lo) and (hi is None or x <= hi)

    example_fix = f"give e.g. {name.split(': ')[-1]}={example!r}" if example is not None else ""
    try:
        x = to_base(value, kind, name)
    except UnitError as exc:
        raise UnitError(f"{exc}; {example_fix}" if example_fix else str(exc)) from None
    if inside(x):
        return x
    show = lambda q: str(q).replace("um", "µm")
    if low is not None and high is not None:
        bounds = f"from {show(low)} to {show(high)}"
    else:
        bounds = " and ".join(b for b in ("positive" if positive else "", f"at least {show(low)}" if low is not None
                                          else "", f"at most {show(high)}" if high is not None else "") if b)
    problem = f"is {x:g} {SHOWN[kind]}, but it must be {bounds}" + (f" ({why})" if why else "")
    fix = _plain_hint(value, kind, plain, inside) or (f"; {example_fix}" if example_fix else "")
    raise UnitError(f"{name}={value!r} {problem}{fix}")
