"""Concentration time courses for the concentration clamp.

A :class:`Waveform` is a ligand concentration (M) as a function of time (s). It can be evaluated
(vectorised), averaged exactly over an interval, and it lists the times where it jumps
(:attr:`Waveform.breakpoints`): a simulation needs each edge on a whole time step, and an ODE
integrator must restart there.

Make waveforms with the factory functions, which take plain floats (M, s) or strings with units::

    constant("10 uM")                          # 10 µM at all times
    step("1 mM", start="2 ms")                 # 0 before 2 ms, 1 mM from then on
    pulse("1 mM", duration="1 ms")             # 1 mM in [0, 1 ms), 0 otherwise
    exponential("3 mM", tau="1.2 ms")          # 3 mM · exp(-t / 1.2 ms) from t = 0

Every waveform is 0 before its start and takes its new value *at* an edge (intervals are
half-open, [start, end)).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from cleftsim import units

__all__ = ["Waveform", "constant", "step", "pulse", "exponential", "as_waveform"]


def _fmt(value: float, unit: str, prefixes: tuple[tuple[str, float], ...]) -> str:
    """'1 mM', '250 us': a quantity string with the largest prefix giving a mantissa >= 1."""
    if value == 0:
        return f"0 {unit}"
    for prefix, scale in prefixes:
        if abs(value) >= scale * (1 - 1e-12):
            return f"{value / scale:.6g} {prefix}{unit}"
    prefix, scale = prefixes[-1]
    return f"{value / scale:.6g} {prefix}{unit}"


def _conc_str(c: float) -> str:
    return _fmt(c, "M", (("", 1.0), ("m", 1e-3), ("u", 1e-6), ("n", 1e-9), ("p", 1e-12)))


def _time_str(t: float) -> str:
    return _fmt(t, "s", (("", 1.0), ("m", 1e-3), ("u", 1e-6), ("n", 1e-9)))


def _concentration(value: Any, name: str) -> float:
    c = units.to_base(value, "concentration", name)
    if c < 0:
        raise units.UnitError(f"{name} must be >= 0, got {value!r}; give a concentration such as '1 mM'")
    return c


def _start(value: Any, name: str) -> float:
    s = units.time(value, name)
    if s < 0:
        raise units.UnitError(f"{name} must be >= 0 (time 0 is the start of the simulation), got {value!r}")
    return s


def _interval(wave: Waveform, method: str, t0: Any, t1: Any, strict: bool = False) -> tuple[float, float]:
    """(t0, t1) in s for ``wave.method`` over [t0, t1]: t1 must not be before t0 (nor equal if ``strict``)."""
    a, b = units.time(t0, f"{wave.kind}.{method}: t0"), units.time(t1, f"{wave.kind}.{method}: t1")
    if b < a or (strict and b == a):
        fix = ("swap them" if b < a else
               f"for the concentration at one time call the waveform, w({_time_str(a)!r})")
        raise ValueError(f"{wave!r}.{method}(t0, t1) needs t1 {'>' if strict else '>='} t0, got t0 = "
                         f"{_time_str(a)!r}, t1 = {_time_str(b)!r}; {fix}")
    return a, b


def _positive_time(value: Any, name: str, example: str) -> float:
    v = units.time(value, name)
    if v <= 0:
        raise units.UnitError(f"{name} must be > 0, got {value!r}; give e.g. {name.split()[-1]}={example!r}")
    return v


class Waveform(ABC):
    """A concentration time course c(t) in M; subclasses define the shape.

    Subclasses implement :meth:`_value` (with a ``left`` flag selecting the left limit at an
    edge) and :meth:`integral`.
    """

    kind = "waveform"

    @property
    def breakpoints(self) -> tuple[float, ...]:
        """Times (s) where the concentration jumps, in increasing order."""
        return ()

    @abstractmethod
    def _value(self, t: np.ndarray, left: bool = False) -> np.ndarray:
        """Concentration (M) at the times t (s); the left limit at an edge when ``left``."""

    def __call__(self, t: Any) -> Any:
        """Concentration (M) at time(s) ``t`` (s or time strings); a float for a scalar, an array for
        an array."""
        arr = units.array(t, units.time, f"{self.kind}: t")
        out = self._value(arr)
        return float(out) if arr.ndim == 0 else out

    @abstractmethod
    def integral(self, t0: Any, t1: Any) -> float:
        """Exact ∫ c(t) dt over [t0, t1] in M·s (t0, t1 in s; ``t1`` must not be before ``t0``)."""

    def mean(self, t0: Any, t1: Any) -> float:
        """Exact average concentration (M) over [t0, t1) (s); ``t1`` must be later than ``t0``."""
        a, b = _interval(self, "mean", t0, t1, strict=True)
        return self.integral(a, b) / (b - a)

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description: ``kind`` and the parameters in M and s."""
        return {"kind": self.kind}

    def __repr__(self) -> str:
        d = self.describe()
        args = []
        for key, value in d.items():
            if key == "kind":
                continue
            text = repr(_conc_str(value) if key in ("c", "c0") else _time_str(value))
            args.append(text if key in ("c", "c0") else f"{key}={text}")
        return f"{d['kind']}({', '.join(args)})"


class _Constant(Waveform):
    kind = "constant"

    def __init__(self, c: float):
        self.c = c

    def _value(self, t, left=False):
        return np.full(np.shape(t), self.c)

    def integral(self, t0, t1):
        a, b = _interval(self, "integral", t0, t1)
        return self.c * (b - a)

    def describe(self):
        return {"kind": self.kind, "c": self.c}


class _Pulse(Waveform):
    """c in [start, end), 0 elsewhere; end = inf makes a step."""

    kind = "pulse"

    def __init__(self, c: float, start: float, duration: float):
        self.c, self.start, self.duration = c, start, duration
        self.end = start + duration

    @property
    def breakpoints(self):
        return (self.start,) if math.isinf(self.end) else (self.start, self.end)

    def _value(self, t, left=False):
        inside = (t > self.start) & (t <= self.end) if left else (t >= self.start) & (t < self.end)
        return np.where(inside, self.c, 0.0)

    def integral(self, t0, t1):
        a, b = _interval(self, "integral", t0, t1)
        return self.c * max(0.0, min(b, self.end) - max(a, self.start))

    def describe(self):
        return {"kind": self.kind, "c": self.c, "start": self.start, "duration": self.duration}


class _Step(_Pulse):
    kind = "step"

    def __init__(self, c: float, start: float):
        super().__init__(c, start, math.inf)

    def describe(self):
        return {"kind": self.kind, "c": self.c, "start": self.start}


class _Exponential(Waveform):
    kind = "exponential"

    def __init__(self, c0: float, tau: float, start: float):
        self.c0, self.tau, self.start = c0, tau, start

    @property
    def breakpoints(self):
        return (self.start,)

    def _value(self, t, left=False):
        after = t > self.start if left else t >= self.start
        return np.where(after, self.c0 * np.exp(-np.maximum(t - self.start, 0.0) / self.tau), 0.0)

    def integral(self, t0, t1):
        a, b = _interval(self, "integral", t0, t1)
        a, b = max(a, self.start), max(b, self.start)
        if b <= a:
            return 0.0
        # c0·tau·(e^{-x_a} - e^{-x_b}) written with expm1 to stay exact for short intervals
        xa, xb = (a - self.start) / self.tau, (b - self.start) / self.tau
        return -self.c0 * self.tau * math.exp(-xa) * math.expm1(-(xb - xa))

    def describe(self):
        return {"kind": self.kind, "c0": self.c0, "tau": self.tau, "start": self.start}


def constant(c: Any) -> Waveform:
    """Concentration ``c`` (M or e.g. ``"10 uM"``) at all times."""
    return _Constant(_concentration(c, "constant: concentration c"))


def step(c: Any, start: Any = 0.0) -> Waveform:
    """0 before ``start`` (s), ``c`` (M) from ``start`` on."""
    return _Step(_concentration(c, "step: concentration c"), _start(start, "step: start"))


def pulse(c: Any, start: Any = 0.0, duration: Any = None) -> Waveform:
    """Concentration ``c`` (M) during [start, start + duration) (s), 0 otherwise."""
    if duration is None:
        raise ValueError("pulse: give the length of the pulse, e.g. pulse('1 mM', duration='1 ms')")
    return _Pulse(_concentration(c, "pulse: concentration c"), _start(start, "pulse: start"),
                  _positive_time(duration, "pulse: duration", "1 ms"))


def exponential(c0: Any, tau: Any, start: Any = 0.0) -> Waveform:
    """0 before ``start``, then ``c0 · exp(-(t - start) / tau)`` (c0 in M, tau and start in s)."""
    return _Exponential(_concentration(c0, "exponential: initial concentration c0"),
                        _positive_time(tau, "exponential: time constant tau", "1 ms"),
                        _start(start, "exponential: start"))


def as_waveform(value: Any, name: str = "concentration") -> Waveform:
    """``value`` if it is a Waveform, else a constant waveform of that concentration (M or string)."""
    if isinstance(value, Waveform):
        return value
    if callable(value):
        raise ValueError(f"{name}: {value!r} is a function; use a waveform from cleftsim.physics.waveforms "
                        f"(constant, step, pulse, exponential) so that it can be averaged exactly")
    return _Constant(_concentration(value, name))
