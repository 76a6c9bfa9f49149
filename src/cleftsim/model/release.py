"""Vesicle release: which sites release after each action potential, when, and how much.

A :class:`Stimulus` lists action-potential (AP) times and the release sites. :func:`realise` draws
one trial of it: every site releases at most one vesicle per AP, with probability ``p`` of that
site, independently of the other sites and of earlier APs, so the number of vesicles released by an
AP is Binomial(n_sites, p) when all sites have the same ``p`` (del Castillo & Katz 1954, J Physiol
124:560). There is no depletion and no refilling: a site that released is just as ready at the next
AP. A released vesicle fuses after a :class:`Latency` (synchronous, or partly asynchronous), holds a
:class:`Quantal` number of molecules, and lets them out through a :class:`Pore`
(:func:`molecule_times`)::

    stim = stimulus(["0 ms", "20 ms"], p=0.3, n_sites=5,
                    quantal=quantal(3000, cv=0.3), latency=asynchronous(0.1, tau="5 ms"))
    events = realise(stim, rng)                                  # RELEASE_DTYPE records
    t, which = molecule_times(events, fusion_pore("50 us"), rng)

Times are in s (plain floats, or strings such as ``"50 us"``); molecule counts are plain numbers.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

import numpy as np

from cleftsim import units
from cleftsim.errors import ReleaseError

__all__ = [
    "ReleaseError", "RELEASE_DTYPE", "MAX_VESICLE_CONTENT", "MAX_QUANTAL_CV", "Quantal", "quantal", "as_quantal",
    "Pore", "instantaneous", "fusion_pore", "Latency", "synchronous", "asynchronous", "Stimulus", "stimulus",
    "realise", "molecule_times",
]

#: One release event: fusion time (s), index of the AP, index of the site, molecules in the vesicle.
RELEASE_DTYPE = np.dtype([("time", "f8"), ("ap", "i8"), ("site", "i8"), ("n", "i8")])

_DISTRIBUTIONS = ("gamma", "normal", "poisson")

#: Most molecules one synaptic vesicle can hold: a vesicle of 20 nm inner radius (3.4e-5 µm³) holds
#: about 2·10⁴ molecules per 1 M of content, so 10⁵ is a content of 5 M, beyond any transmitter.
MAX_VESICLE_CONTENT = 1e5
#: Largest coefficient of variation of the vesicle content: above 2 most vesicles would be nearly
#: empty (the gamma distribution's mode is at 0 from a CV of 1 on).
MAX_QUANTAL_CV = 2.0


def _number(value: Any, name: str, hint: str) -> float:
    """``value`` as a finite float (strings and booleans refused)."""
    if isinstance(value, (str, bool)):
        raise ReleaseError(f"{name}: expected a number, got {value!r}; {hint}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ReleaseError(f"{name}: expected a number, got {value!r}; {hint}") from None
    if not math.isfinite(x):
        raise ReleaseError(f"{name}: {value!r} is not finite; {hint}")
    return x


def _time(value: Any, name: str, example: str, positive: bool,
          most: tuple[float, str, str] | None = None) -> float:
    """A time in s that is > 0 (``positive``) or >= 0 and, with ``most`` = (longest plausible time
    in s, why, the unit a plain number is likely meant in), at most that; a plain number that is
    too long is suggested in that unit when it then lies within 3 decades below the longest."""
    if isinstance(value, bool) or (isinstance(value, str) and not any(c.isdigit() for c in value)):
        raise ReleaseError(f"{name}: {value!r} is not a time; give e.g. {example!r}")
    try:
        t = units.time(value, name)
    except units.UnitError as exc:
        raise ReleaseError(f"{exc}; give e.g. {example!r}") from None
    if t < 0 or (positive and t == 0):
        raise ReleaseError(f"{name} must be {'>' if positive else '>='} 0, got {value!r}; give e.g. {example!r}")
    if most is not None and t > most[0]:
        longest, why, meant = most
        plain = not isinstance(value, str) and not hasattr(value, "dimensionality")
        guess = f"{value:g} {meant}" if plain else ""        # the number, typed in the unit `meant`
        fix = (f"a plain number is in s: did you mean {guess!r}?"
               if plain and 1e-3 * longest <= units.time(guess) <= longest else f"give e.g. {example!r}")
        raise ReleaseError(f"{name} is {units.format_time(t)}, longer than the {units.format_time(longest)} that is "
                           f"plausible ({why}); {fix}")
    return t


def _probability(value: Any, name: str) -> float:
    p = _number(value, name, "give a probability between 0 and 1")
    if not 0.0 <= p <= 1.0:
        raise ReleaseError(f"{name} must lie in [0, 1], got {value!r}")
    return p


def _mean(value: Any, name: str) -> float:
    m = _number(value, name, "give the mean number of molecules per vesicle, e.g. 3000")
    if m < 1:
        raise ReleaseError(f"{name} must be >= 1 molecule, got {value!r}; give e.g. 3000")
    if m > MAX_VESICLE_CONTENT:
        raise ReleaseError(f"{name} must be at most {MAX_VESICLE_CONTENT:g} molecules per vesicle (a vesicle of 20 nm "
                           f"inner radius holds about 2e4 per 1 M of content), got {value!r}; give e.g. 3000")
    return m


def _generator(rng: Any, name: str) -> None:
    if not isinstance(rng, np.random.Generator):
        raise ReleaseError(f"{name}: rng must be a numpy Generator, e.g. rng = np.random.default_rng(42) made once "
                           f"and passed to every call, got {rng!r}")


def _draws(rng: Any, n: Any, name: str) -> int:
    """The number of draws ``n`` (a whole number >= 0) of ``name``, after checking its generator."""
    _generator(rng, name)
    try:
        count = -1 if isinstance(n, bool) else operator.index(n)
    except TypeError:
        count = -1
    if count < 0:
        raise ReleaseError(f"{name}: the number of draws must be a whole number >= 0, got {n!r}")
    return count


def _values(value: Any, convert: Any, name: str) -> np.ndarray:
    """:func:`cleftsim.units.array`, raising ReleaseError."""
    try:
        return units.array(value, convert, name)
    except (TypeError, units.UnitError) as exc:
        raise ReleaseError(str(exc)) from None


def _like(values: np.ndarray, arg: Any) -> Any:
    """A float when ``arg`` was a scalar, else the array."""
    return float(values) if np.ndim(arg) == 0 else values


def _tail_safe(cdf, sf, lo: np.ndarray, hi: np.ndarray, middle: float) -> np.ndarray:
    """P(lo < X <= hi) as a difference of whichever tail is small there (keeps relative precision)."""
    return np.where(hi <= middle, cdf(hi) - cdf(lo), sf(lo) - sf(hi))


@dataclass(frozen=True)
class Quantal:
    """The number of molecules in one vesicle; make it with :func:`quantal`.

    ``mean`` and ``cv`` describe the distribution before rounding (and, for ``"normal"``, before
    truncation); for ``"poisson"`` the CV is the implied 1/sqrt(mean).
    """

    distribution: str
    mean: float
    cv: float

    @property
    def _fixed(self) -> bool:
        return self.cv == 0.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent molecule counts (int64, >= 0; >= 1 for ``"normal"``)."""
        size = _draws(rng, size, "Quantal.sample")
        if self._fixed:
            return np.full(size, int(self.mean), dtype=np.int64)
        if self.distribution == "poisson":
            return rng.poisson(self.mean, size).astype(np.int64)
        if self.distribution == "gamma":
            k = self.cv ** -2
            return np.floor(rng.gamma(k, self.mean / k, size) + 0.5).astype(np.int64)
        sd = self.cv * self.mean
        n = np.floor(rng.normal(self.mean, sd, size) + 0.5)
        bad = np.flatnonzero(n < 1)
        while bad.size:  # redraw: the normal is truncated to N >= 1 (acceptance > 1/2 as mean >= 1)
            n[bad] = np.floor(rng.normal(self.mean, sd, bad.size) + 0.5)
            bad = bad[n[bad] < 1]
        return n.astype(np.int64)

    def pmf(self, n: Any) -> Any:
        """Exact P(N = n) of the sampled counts (0 for non-integers); a float for a scalar ``n``."""
        from scipy import special

        x = _values(n, None, "Quantal.pmf: n")
        whole = (x == np.floor(x)) & (x >= (1 if self.distribution == "normal" and not self._fixed else 0))
        k = np.where(whole, x, 0.0)
        if self._fixed:
            p = (k == self.mean).astype(np.float64)
        elif self.distribution == "poisson":
            p = np.exp(special.xlogy(k, self.mean) - self.mean - special.gammaln(k + 1))
        elif self.distribution == "gamma":  # N = round(G): P = F(n + 1/2) - F(n - 1/2)
            shape = self.cv ** -2
            scale = self.mean / shape
            p = _tail_safe(lambda v: special.gammainc(shape, v / scale),
                           lambda v: special.gammaincc(shape, v / scale),
                           np.maximum(k - 0.5, 0.0), k + 0.5, self.mean)
        else:  # round of a normal, conditioned on N >= 1, i.e. on X >= 1/2
            sd = self.cv * self.mean
            p = _tail_safe(lambda v: special.ndtr((v - self.mean) / sd),
                           lambda v: special.ndtr((self.mean - v) / sd),
                           k - 0.5, k + 0.5, self.mean) / special.ndtr((self.mean - 0.5) / sd)
        return _like(np.where(whole, p, 0.0), n)

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description: the arguments of :func:`quantal`."""
        d = {"kind": "quantal", "distribution": self.distribution, "mean": self.mean}
        if self.distribution != "poisson":
            d["cv"] = self.cv
        return d


def quantal(mean: Any, cv: Any = 0.0, distribution: str = "gamma") -> Quantal:
    """Molecules per vesicle: ``mean`` (1 to :data:`MAX_VESICLE_CONTENT`) with coefficient of
    variation ``cv`` (0 to :data:`MAX_QUANTAL_CV`).

    ``cv = 0``: every vesicle holds ``mean`` molecules, a whole number. Otherwise N = round(X) with X
    ``"gamma"`` (shape 1/cv², scale mean·cv²) or ``"normal"`` (SD cv·mean, redrawn until N >= 1);
    ``"poisson"``: N ~ Poisson(mean), whose CV is fixed at 1/sqrt(mean), so ``cv`` must stay 0.
    Variable vesicle content is a main source of quantal variability in Monte Carlo models of
    central synapses (Franks, Stevens & Sejnowski 2003, J Neurosci 23:3186).
    """
    if distribution not in _DISTRIBUTIONS:
        raise ReleaseError(f"quantal: distribution must be one of {', '.join(map(repr, _DISTRIBUTIONS))}, "
                           f"got {distribution!r}")
    m = _mean(mean, "quantal: mean")
    c = _number(cv, "quantal: cv", "give the coefficient of variation, e.g. cv=0.3 (0 for a fixed size)")
    if c < 0:
        raise ReleaseError(f"quantal: cv must be >= 0, got {cv!r}; use cv=0 for a fixed size")
    if c > MAX_QUANTAL_CV:
        fix = (f"for an SD of {cv!r} molecules give cv={cv!r}/{mean!r} = {c / m:.3g}" if c / m <= MAX_QUANTAL_CV
               else "give e.g. cv=0.3, or 0 for a fixed content")
        raise ReleaseError(f"quantal: cv must be a coefficient of variation (SD/mean) from 0 to {MAX_QUANTAL_CV:g} "
                           f"(above {MAX_QUANTAL_CV:g} most vesicles would be nearly empty), not an SD in molecules, "
                           f"got {cv!r}; {fix}")
    if distribution == "poisson":
        if c != 0:
            raise ReleaseError(f"quantal: cv={cv!r} with distribution='poisson', whose CV is 1/sqrt(mean); "
                               f"leave cv=0, or use distribution='gamma' to set the CV")
        c = 1.0 / math.sqrt(m)
    if c == 0:
        _whole(m, mean, "quantal: mean")
    return Quantal(distribution, m, c)


def _whole(m: float, given: Any, name: str) -> None:
    """Refuse a fixed number of molecules that is not a whole number."""
    if m != math.floor(m):
        raise ReleaseError(f"{name}: a vesicle of fixed content holds a whole number of molecules, got {given!r}; "
                           f"give e.g. {math.floor(m + 0.5)}, or a cv > 0 to make {given!r} the mean of a distribution")


def as_quantal(value: Any, name: str = "quantal") -> Quantal:
    """``value`` if it is a Quantal, else a fixed size of that many molecules (a number >= 1)."""
    if isinstance(value, Quantal):
        return value
    m = _mean(value, name)
    _whole(m, value, name)
    return Quantal("gamma", m, 0.0)


@dataclass(frozen=True)
class Pore:
    """How a fused vesicle empties: each molecule leaves after an independent delay (s).

    Make it with :func:`instantaneous` (``tau`` None) or :func:`fusion_pore`.
    """

    tau: float | None = None
    expansion: float | None = None

    def _hazard_integral(self, t: np.ndarray) -> np.ndarray:
        """H(t) = ∫₀ᵗ g(s) ds for t >= 0, written without cancellation."""
        if self.expansion is None:
            return t / self.tau
        x = t / self.expansion
        return t / self.tau * (1.0 + x + x * x / 3.0)

    def _inverse(self, h: np.ndarray) -> np.ndarray:
        """The t with H(t) = h."""
        if self.expansion is None:
            return self.tau * h
        a = self.expansion
        return a * np.expm1(np.log1p(3.0 * self.tau * h / a) / 3.0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent delays (s) after the fusion time."""
        n = _draws(rng, n, "Pore.sample")
        if self.tau is None:
            return np.zeros(n)
        return self._inverse(rng.standard_exponential(n))

    def cdf(self, t: Any) -> Any:
        """Exact P(delay <= t), t in s or a time string; a float for a scalar ``t``."""
        x = _values(t, units.time, "Pore.cdf: t")
        if self.tau is None:
            return _like((x >= 0).astype(np.float64), t)
        return _like(np.where(x >= 0, -np.expm1(-self._hazard_integral(np.maximum(x, 0.0))), 0.0), t)

    def median(self) -> float:
        """The delay (s) by which half of the molecules have left."""
        return 0.0 if self.tau is None else float(self._inverse(np.float64(math.log(2.0))))

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description (times in s)."""
        if self.tau is None:
            return {"kind": "instantaneous"}
        return {"kind": "fusion_pore", "tau": self.tau, "expansion": self.expansion}


def instantaneous() -> Pore:
    """All of a vesicle's molecules appear at its fusion time."""
    return Pore()


def fusion_pore(tau: Any, expansion: Any = None) -> Pore:
    """Molecules leave through a fusion pore; ``tau`` and ``expansion`` in s (or e.g. ``"50 us"``).

    With the vesicle well mixed, diffusion through the pore (Fick) gives every molecule the same
    hazard g(t) ∝ pore area / vesicle volume, so delays are independent with survival
    S(t) = exp(-∫₀ᵗ g). A pore of fixed size has g = 1/tau: exponential delays, median tau·ln 2.
    An ``expansion`` time ``a`` makes the radius grow linearly, r(t) = r₀(1 + t/a), so
    g(t) = (1 + t/a)²/tau and ∫₀ᵗ g = (a/(3 tau))[(1 + t/a)³ - 1], inverted in closed form for
    sampling. Stiles et al. (1996, PNAS 93:5747) modelled acetylcholine leaving a vesicle by passive
    diffusion through a pore widening radially at 25 nm/ms (so a = r₀ / 25 nm/ms) and reproduced
    endplate-current rise times below 100 µs. Both times are at most 10 ms.
    """
    t = _time(tau, "fusion_pore: tau", "50 us", True, (10e-3, "fusion pores empty a vesicle in 0.1-1 ms", "us"))
    a = None if expansion is None else _time(expansion, "fusion_pore: expansion", "40 us", True,
                                             (10e-3, "pores widen within milliseconds", "us"))
    return Pore(t, a)


@dataclass(frozen=True)
class Latency:
    """The delay (s) from an AP to the fusion of a vesicle it releases.

    A fraction ``fraction`` of vesicles fuses at ``delay`` + Exp(``tau``), the rest at ``delay``.
    Make it with :func:`synchronous` or :func:`asynchronous`.
    """

    fraction: float = 0.0
    tau: float | None = None
    delay: float = 0.0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent delays (s) after the AP."""
        n = _draws(rng, n, "Latency.sample")
        out = np.full(n, self.delay)
        if self.fraction > 0:
            late = rng.random(n) < self.fraction
            out[late] += rng.exponential(self.tau, np.count_nonzero(late))
        return out

    def cdf(self, t: Any) -> Any:
        """Exact P(latency <= t), t in s or a time string; a float for a scalar ``t``."""
        x = _values(t, units.time, "Latency.cdf: t") - self.delay
        tail = 0.0 if self.fraction == 0 else self.fraction * np.exp(-np.maximum(x, 0.0) / self.tau)
        return _like(np.where(x >= 0, 1.0 - tail, 0.0), t)

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description (times in s)."""
        if self.tau is None:
            return {"kind": "synchronous"}
        return {"kind": "asynchronous", "fraction": self.fraction, "tau": self.tau, "delay": self.delay}


def synchronous() -> Latency:
    """Vesicles fuse at the time of the AP."""
    return Latency()


def asynchronous(fraction: Any, tau: Any, delay: Any = 0.0) -> Latency:
    """A ``fraction`` of vesicles fuses ``delay`` + Exp(``tau``) after the AP, the rest at ``delay``.

    Asynchronous release follows the AP with a roughly exponential delay, in addition to the
    synchronous component (Goda & Stevens 1994, PNAS 91:12942). ``tau`` (> 0, at most 1 s) and
    ``delay`` (>= 0, at most 10 ms) in s.
    """
    return Latency(_probability(fraction, "asynchronous: fraction"),
                   _time(tau, "asynchronous: tau", "5 ms", True,
                         (1.0, "asynchronous release decays within tens to hundreds of ms", "ms")),
                   _time(delay, "asynchronous: delay", "0.5 ms", False,
                         (10e-3, "synaptic delays are 0.2-5 ms", "ms")))


@dataclass(frozen=True)
class Stimulus:
    """APs at ``ap_times`` (s, increasing) on ``n_sites`` release sites; make it with :func:`stimulus`.

    ``p`` is the release probability of every site, or a tuple with one per site.
    """

    ap_times: tuple[float, ...]
    p: float | tuple[float, ...]
    n_sites: int
    quantal: Quantal
    latency: Latency

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description (times in s)."""
        return {"kind": "stimulus", "ap_times": list(self.ap_times),
                "p": list(self.p) if isinstance(self.p, tuple) else self.p, "n_sites": self.n_sites,
                "quantal": self.quantal.describe(), "latency": self.latency.describe()}


def stimulus(ap_times: Any, p: Any, n_sites: int = 1, quantal: Any = 3000,
             latency: Latency | None = None) -> Stimulus:
    """APs at ``ap_times`` (a time or a sequence of times >= 0 in s, strictly increasing).

    Each of the ``n_sites`` sites releases one vesicle per AP with probability ``p`` (a number in
    [0, 1], or a sequence with one per site). ``quantal`` is a :class:`Quantal` or a fixed number of
    molecules; ``latency`` defaults to :func:`synchronous`.
    """
    if isinstance(ap_times, (Mapping, Set)):
        raise ReleaseError(f"stimulus: ap_times must be a time or a sequence of times (e.g. ['0 ms', '20 ms']), not "
                           f"a {type(ap_times).__name__}: {ap_times!r}")
    if isinstance(ap_times, str):
        items = [ap_times]
    else:
        try:
            items = list(ap_times)
        except TypeError:
            items = [ap_times]
    if not items:
        raise ReleaseError("stimulus: ap_times is empty; give at least one AP time, e.g. ap_times=['0 ms']")
    times = tuple(_time(v, f"stimulus: ap_times[{i}]", "1 ms", positive=False) for i, v in enumerate(items))
    for i in range(1, len(times)):
        if not times[i] > times[i - 1]:
            raise ReleaseError(f"stimulus: ap_times must increase, but ap_times[{i}] = {times[i]!r} s "
                               f"follows {times[i - 1]!r} s; sort them and drop duplicates")
    try:
        if isinstance(n_sites, bool):
            raise TypeError
        sites = operator.index(n_sites)
    except TypeError:
        raise ReleaseError(f"stimulus: n_sites must be a whole number >= 1, got {n_sites!r}") from None
    if sites < 1:
        raise ReleaseError(f"stimulus: n_sites must be >= 1, got {n_sites!r}")
    if isinstance(p, str) or np.ndim(p) == 0:
        prob: float | tuple[float, ...] = _probability(p, "stimulus: p")
    else:
        prob = tuple(_probability(v, f"stimulus: p[{i}]") for i, v in enumerate(p))
        if len(prob) != sites:
            raise ReleaseError(f"stimulus: p has {len(prob)} entries but n_sites = {sites}; "
                               f"give one probability per site or a single number")
    if latency is None:
        latency = synchronous()
    elif not isinstance(latency, Latency):
        raise ReleaseError(f"stimulus: latency must come from synchronous() or asynchronous(...), got {latency!r}")
    return Stimulus(times, prob, sites, as_quantal(quantal, "stimulus: quantal"), latency)


def realise(stim: Stimulus, rng: np.random.Generator) -> np.ndarray:
    """One trial's release events (:data:`RELEASE_DTYPE`), sorted by fusion time.

    Site s releases a vesicle after AP k with probability p_s, independently for every (k, s); the
    vesicle fuses at ap_times[k] + latency and holds a quantal number of molecules.
    """
    if not isinstance(stim, Stimulus):
        raise ReleaseError(f"realise: stim must come from stimulus(...), got {stim!r}")
    _generator(rng, "realise")
    ap_times = np.asarray(stim.ap_times, dtype=np.float64)
    p = np.broadcast_to(np.asarray(stim.p, dtype=np.float64), (stim.n_sites,))
    ap, site = np.nonzero(rng.random((ap_times.size, stim.n_sites)) < p)
    events = np.empty(ap.size, dtype=RELEASE_DTYPE)
    events["time"] = ap_times[ap] + stim.latency.sample(rng, ap.size)
    events["ap"] = ap
    events["site"] = site
    events["n"] = stim.quantal.sample(rng, ap.size)
    return events[np.argsort(events["time"], kind="stable")]


def molecule_times(events: np.ndarray, pore: Pore, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Release time (s) of every molecule of ``events``, and the index of the event it came from.

    Event i contributes events["n"][i] molecules at events["time"][i] + independent pore delays;
    the molecules are grouped by event, in the order of ``events``.
    """
    if not isinstance(pore, Pore):
        raise ReleaseError(f"molecule_times: pore must come from instantaneous() or fusion_pore(...), got {pore!r}")
    if not (isinstance(events, np.ndarray) and events.dtype == RELEASE_DTYPE):
        raise ReleaseError(f"molecule_times: events must be the RELEASE_DTYPE records that realise() returns, "
                           f"got {events!r}")
    _generator(rng, "molecule_times")
    index = np.repeat(np.arange(events.size, dtype=np.int64), events["n"])
    return events["time"][index] + pore.sample(rng, index.size), index
