"""Kinetic schemes of membrane molecules (receptors, enzymes, transporters).

A :class:`Scheme` lists the states of one membrane molecule and the reactions between them in the
reaction language of :mod:`cleftsim.model.reactions`, using unprefixed state names and the names of
the volume species (ligands) involved. Rates are in base units: first order s⁻¹, binding
M⁻¹s⁻¹. Tags in the docstrings follow docs/reference.md: [P] read in the published source named,
[?] not confirmed against the primary paper.

:func:`well_mixed` integrates the mass-action equations of one molecule under a clamped ligand
concentration (a :mod:`cleftsim.waveforms` waveform): the deterministic reference that particle
simulations of the same scheme should approach.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from cleftsim import units
from cleftsim.errors import SchemeError
from cleftsim.model import reactions
from cleftsim.model.surface_molecules import SchemeHandle
from cleftsim.physics.waveforms import Waveform, as_waveform

__all__ = ["Scheme", "SchemeError", "Transition", "well_mixed"]



class Transition(NamedTuple):
    """One elementary reaction of a scheme: ``source [+ ligand] -> target [+ released]``.

    ``k`` is in s⁻¹ (no ligand) or M⁻¹s⁻¹ (binding a ligand).
    """

    source: str
    target: str
    ligand: str | None
    released: tuple[str, ...]
    k: float
    equation: str


def name_of(value: Any, what: str) -> str:
    name = getattr(value, "name", value)
    if not isinstance(name, str) or not reactions.NAME.match(name):
        raise SchemeError(f"{what}: {value!r} is not a valid name (letters, digits, '_', '.', '-'; "
                          f"not starting with a digit)")
    return name


def _names(value: Any, what: str, example: str) -> tuple:
    """The items of a sequence of names; a string is refused (it would be read letter by letter)."""
    if isinstance(value, str):
        raise SchemeError(f"{what} must be a sequence of names, e.g. {example}, not the string {value!r}; "
                          f"for one name give ({value!r},)")
    try:
        return tuple(value)
    except TypeError:
        raise SchemeError(f"{what} must be a sequence of names, e.g. {example}; got {value!r}") from None


def _mapping(value: Any, what: str, example: str) -> dict:
    """``value`` as a dict (a mapping, or a sequence of (key, value) pairs)."""
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError
        return dict(value)
    except (TypeError, ValueError):
        raise SchemeError(f"{what} must be a mapping, e.g. {example}; got {value!r}") from None


@dataclass(frozen=True, eq=False)
class Scheme:
    """A kinetic scheme of a membrane molecule: its states and the reactions between them.

    Attributes:
        name: default prefix of the state names when the scheme is added to a model
            (``"AMPA"`` makes ``"AMPA_C0"``, ...).
        states: unprefixed state names, e.g. ``("C0", "C1", "C2", "O", "C3", "C4", "C5")``.
        initial: the state new molecules are placed in.
        reactions: ``(equation, rate)`` or ``(equation, (k_forward, k_reverse))`` pairs in the
            reaction language, with unprefixed state names and ligand names, e.g.
            ``("glu + C0 <-> C1", (4.59e6, 4.26e3))``. Rates: s⁻¹ (first order), M⁻¹s⁻¹
            (binding), or strings with units. Each reaction turns exactly one state into one
            state; it may consume one ligand molecule and release volume species.
        sets: named groups of states, e.g. ``{"open": ("O",), "desensitised": (...)}``.
        ligands: the volume species that appear in the reactions, by name or as the model's
            Species (normalised to names; the Species given are kept in ``ligand_species`` so that
            :meth:`~cleftsim.model.Model.add_scheme` refuses a ligand of another model).
        bound: number of molecules of each ligand held in each state,
            ``{"C2": {"glu": 2}, ...}``; states holding none may be omitted.
        D: lateral diffusion coefficient of every state (µm²/s or a string with units).
        citation: the source of the scheme and its rates.

    The constructor checks that every name in every equation is a state or a ligand, that
    ``initial``, the sets and ``bound`` name only states, that no state is named like a ligand,
    and that ``bound`` agrees with the reactions: binding adds one molecule of the ligand,
    releasing a bound one removes it, and no other step adds any (it may use them up, as a
    transporter that carries its ligand inside). ``states`` and ``ligands`` are sequences of
    names, not a string.
    """

    name: str
    states: tuple[str, ...]
    initial: str
    reactions: tuple[tuple[str, Any], ...]
    sets: Mapping[str, tuple[str, ...]]
    ligands: tuple[str, ...]
    bound: Mapping[str, Mapping[str, int]]
    D: float = 0.0
    citation: str = ""

    def __post_init__(self) -> None:
        def put(key: str, value: Any) -> None:         # normalise a field of the frozen instance
            object.__setattr__(self, key, value)

        name = name_of(self.name, "scheme name")
        given = _names(self.ligands, f"scheme {name!r}: ligands", "('glu',)")
        put("states", tuple(name_of(s, f"scheme {name!r}: state")
                            for s in _names(self.states, f"scheme {name!r}: states", "('C0', 'C1', 'O')")))
        put("ligand_species", {name_of(s, f"scheme {name!r}: ligand"): s for s in given if not isinstance(s, str)})
        put("ligands", tuple(name_of(s, f"scheme {name!r}: ligand") for s in given))
        states, ligands = set(self.states), set(self.ligands)
        for kind, names in (("state", self.states), ("ligand", self.ligands)):
            dup = sorted({s for s in names if names.count(s) > 1})
            if dup:
                raise SchemeError(f"scheme {name!r}: {kind} name(s) {dup} appear more than once")
        if not self.states:
            raise SchemeError(f"scheme {name!r} has no states")
        clash = sorted(states & ligands)
        if clash:
            raise SchemeError(f"scheme {name!r}: {clash} are both states and ligands; rename the state(s)")
        if self.initial not in states:
            raise SchemeError(f"scheme {name!r}: initial state {self.initial!r} is not one of the states "
                              f"{list(self.states)}")
        pairs = []
        for item in self.reactions:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise SchemeError(f"scheme {name!r}: each reaction is a pair (equation, rate), e.g. "
                                  f"('glu + C0 <-> C1', (4.59e6, 4.26e3)); got {item!r}")
            pairs.append((item[0], tuple(item[1]) if isinstance(item[1], list) else item[1]))
        put("reactions", tuple(pairs))
        put("sets", {str(key): ((members,) if isinstance(members, str) else tuple(members))
                     for key, members in _mapping(self.sets, f"scheme {name!r}: sets", "{'open': ('O',)}").items()})
        for key, members in self.sets.items():
            unknown = [s for s in members if s not in states]
            if unknown:
                raise SchemeError(f"scheme {name!r}: set {key!r} names {unknown}, which are not states "
                                  f"(states: {list(self.states)})")
        bound: dict[str, dict[str, int]] = {}
        for state, counts in _mapping(self.bound, f"scheme {name!r}: bound", "{'C1': {'glu': 1}}").items():
            if state not in states:
                raise SchemeError(f"scheme {name!r}: bound[{state!r}]: {state!r} is not a state")
            example = {state: {(self.ligands or ("glu",))[0]: counts if isinstance(counts, int) else 1}}
            counts = _mapping(counts, f"scheme {name!r}: bound[{state!r}] (ligand -> molecules held)",
                              f"bound={example}")
            for lig, n in counts.items():
                if lig not in ligands:
                    raise SchemeError(f"scheme {name!r}: bound[{state!r}] names {lig!r}, which is not a ligand "
                                      f"{list(self.ligands)}")
                if not units.is_whole(n):
                    raise SchemeError(f"scheme {name!r}: bound[{state!r}][{lig!r}] must be a whole number "
                                      f">= 0, got {n!r}")
            bound[state] = {lig: int(n) for lig, n in counts.items()}
        put("bound", bound)
        D = units.diffusion(self.D, f"scheme {name!r}: D")
        if D < 0:
            raise SchemeError(f"scheme {name!r}: D must be >= 0, got {self.D!r}")
        put("D", D)
        self._check_bound(self.transitions())    # (transitions() checks every reaction)

    def _check_bound(self, transitions: tuple[Transition, ...]) -> None:
        """Refuse ``bound`` counts that the reactions contradict: binding adds one molecule of the
        ligand, unbinding (releasing a ligand the source holds) removes one, and any other step may
        use bound molecules up (translocation, hydrolysis) but never adds any."""
        def held(state: str, lig: str) -> int:
            return self.bound.get(state, {}).get(lig, 0)

        for tr in transitions:
            for lig in self.ligands:
                source, target = held(tr.source, lig), held(tr.target, lig)
                gain, loss = int(tr.ligand == lig), min(tr.released.count(lig), source)
                exact = source + gain - loss
                wrong = target != exact if gain or loss else target > source
                if wrong:
                    how = "binds one" if gain else f"releases {loss}" if loss else "binds none"
                    fix = {**self.bound.get(tr.target, {}), lig: exact}
                    raise SchemeError(f"scheme {self.name!r}: bound[{tr.target!r}] says state {tr.target!r} holds "
                                      f"{target} {lig!r}, but reaction {tr.equation} makes it from {tr.source!r}, "
                                      f"which holds {source}, and {how}; give bound[{tr.target!r}] = {fix}")

    def transitions(self) -> tuple[Transition, ...]:
        """The elementary reactions with their rate constants in base units (s⁻¹, M⁻¹s⁻¹)."""
        states, ligands = set(self.states), set(self.ligands)
        out = []
        for text, rates in self.reactions:
            equations = reactions.parse(text)
            for eq, k in zip(equations, reactions.split_rates(equations, rates, text)):
                what = f"{eq} in scheme {self.name!r}"
                unknown = [s for s in eq.reactants + eq.products if s not in states | ligands]
                if unknown:
                    raise SchemeError(f"reaction {what}: {unknown} are neither states {list(self.states)} nor "
                                      f"ligands {list(self.ligands)}; add them to 'ligands' or fix the spelling")
                src = [s for s in eq.reactants if s in states]
                dst = [s for s in eq.products if s in states]
                if len(src) != 1 or len(dst) != 1:
                    raise SchemeError(f"reaction {what}: a reaction of a membrane molecule turns exactly one "
                                      f"state into one state (found {src} -> {dst})")
                consumed = [s for s in eq.reactants if s in ligands]
                out.append(Transition(src[0], dst[0], consumed[0] if consumed else None,
                                      tuple(s for s in eq.products if s in ligands),
                                      reactions.rate(k, len(eq.reactants), what), str(eq)))
        return tuple(out)

    def rate(self, source: str, target: str) -> float:
        """Rate constant (s⁻¹ or M⁻¹s⁻¹) of the reaction ``source -> target`` (summed if several)."""
        ks = [tr.k for tr in self.transitions() if tr.source == source and tr.target == target]
        if not ks:
            raise SchemeError(f"scheme {self.name!r} has no reaction {source} -> {target}")
        return float(sum(ks))

    def loop_ratio(self, cycle: Sequence[str]) -> float:
        """Product of the rate constants around ``cycle`` (states in order, closing back to the first)
        divided by the product in the reverse direction: 1 under detailed balance."""
        pairs = list(zip(cycle, list(cycle[1:]) + [cycle[0]]))
        return math.prod(self.rate(a, b) for a, b in pairs) / math.prod(self.rate(b, a) for a, b in pairs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, states={list(self.states)}, ligands={list(self.ligands)})"


def _initial(scheme: Scheme, initial: Any) -> np.ndarray:
    p = np.zeros(len(scheme.states))
    index = {s: i for i, s in enumerate(scheme.states)}
    if initial is None:
        initial = scheme.initial
    if isinstance(initial, str):
        initial = {initial: 1.0}
    if not isinstance(initial, Mapping):
        raise SchemeError(f"well_mixed: initial must be a state name or a mapping state -> fraction, got {initial!r}")
    for state, frac in initial.items():
        if state not in index:
            raise SchemeError(f"well_mixed: initial names {state!r}, which is not a state of {scheme.name!r} "
                              f"{list(scheme.states)}")
        if (isinstance(frac, bool) or not isinstance(frac, (int, float, np.integer, np.floating))
                or not (math.isfinite(frac) and frac >= 0)):
            raise SchemeError(f"well_mixed: initial[{state!r}] must be a fraction from 0 to 1, got {frac!r}"
                              + (f"; to start with every molecule in {state!r} give initial={state!r}"
                                 if isinstance(frac, str) else ""))
        p[index[state]] = frac
    if abs(p.sum() - 1.0) > 1e-9:
        raise SchemeError(f"well_mixed: the initial fractions must sum to 1, they sum to {p.sum():g}")
    return p


def well_mixed(scheme: Scheme | SchemeHandle, concentrations: Mapping[Any, Any], t: Any,
               initial: str | Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Occupancy of each state of one molecule of ``scheme`` under clamped ligand concentrations.

    Integrates dp/dt = Q(c(t))·p (mass action; the clamp is not depleted by binding, released
    volume products are ignored) from time 0 to ``t[-1]`` with scipy's Radau solver (rtol 1e-8,
    atol 1e-10), restarting at every breakpoint of the waveforms so jumps are exact.

    Args:
        scheme: the kinetic scheme (or the handle :meth:`~cleftsim.model.Model.add_scheme` returned).
        concentrations: a mapping ligand name (or Species) → waveform, concentration in M, or string
            such as ``"1 mM"``; every ligand that binds must be given (use 0 for none).
        t: increasing times (s or time strings), t[0] >= 0, at which to report the occupancies.
        initial: occupancy at time 0: a state name (all molecules there), a mapping
            state → fraction summing to 1, or None for ``scheme.initial``.

    Returns:
        state name → array of occupancy probabilities at the times ``t``.
    """
    from scipy.integrate import solve_ivp

    if isinstance(scheme, SchemeHandle):
        scheme = scheme.scheme
    elif not isinstance(scheme, Scheme):
        fn = getattr(scheme, "__name__", None)
        given = f"the function {fn} (call it: {fn}())" if callable(scheme) and fn else repr(scheme)
        raise SchemeError(f"well_mixed: scheme must be a Scheme, e.g. cs.schemes.ampa_jonas1993(), got {given}")
    if not isinstance(concentrations, Mapping):
        value = concentrations if isinstance(concentrations, (str, int, float, Waveform)) else "1 mM"
        example = {tr.ligand: value for tr in scheme.transitions() if tr.ligand} or {"glu": value}
        raise SchemeError(f"well_mixed: concentrations must map each ligand to its concentration, e.g. "
                          f"{example}; got {concentrations!r}")
    times = np.atleast_1d(units.array(t, units.time, "well_mixed: t"))
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)):
        raise ValueError(f"well_mixed: t must be a non-empty 1-D array of finite times in s, got shape {times.shape}")
    if times[0] < 0 or np.any(np.diff(times) <= 0):
        raise ValueError("well_mixed: t must be strictly increasing and start at 0 or later (s)")
    waves = {}
    for key, value in concentrations.items():
        lig = getattr(key, "name", key)
        if lig not in scheme.ligands:
            raise SchemeError(f"well_mixed: {lig!r} is not a ligand of scheme {scheme.name!r} {list(scheme.ligands)}")
        waves[lig] = as_waveform(value, f"concentrations[{lig!r}]")
    n = len(scheme.states)
    index = {s: i for i, s in enumerate(scheme.states)}
    base = np.zeros((n, n))
    per_ligand: dict[str, np.ndarray] = {}
    for tr in scheme.transitions():
        if tr.ligand is None:
            m = base
        else:
            if tr.ligand not in waves:
                raise SchemeError(f"well_mixed: give a concentration for ligand {tr.ligand!r} (it binds in "
                                  f"{tr.equation}), e.g. concentrations={{{tr.ligand!r}: '1 mM'}} or 0")
            m = per_ligand.setdefault(tr.ligand, np.zeros((n, n)))
        i, j = index[tr.source], index[tr.target]
        m[j, i] += tr.k
        m[i, i] -= tr.k
    edges = sorted({0.0, float(times[-1])} | {b for w in waves.values() for b in w.breakpoints if 0 < b < times[-1]})
    p = _initial(scheme, initial)
    out = np.empty((times.size, n))
    out[times == 0.0] = p                     # all of t if t == [0]
    segments = list(zip(edges[:-1], edges[1:]))
    for k, (a, b) in enumerate(segments):
        mid = 0.5 * (a + b)

        def matrix(tt: float, mid=mid) -> np.ndarray:
            q = base.copy()                   # past mid, take the left limit: a jump at b waits for b
            for lig, m in per_ligand.items():
                q += float(waves[lig]._value(np.asarray(tt), tt > mid)) * m
            return q

        want = (times >= a) & ((times <= b) if k == len(segments) - 1 else (times < b))
        t_eval = times[want]
        if not (t_eval.size and t_eval[-1] == b):
            t_eval = np.append(t_eval, b)
        sol = solve_ivp(lambda tt, y: matrix(tt) @ y, (a, b), p, method="Radau", t_eval=t_eval,
                        jac=lambda tt, y: matrix(tt), rtol=1e-8, atol=1e-10)
        if not sol.success:
            raise RuntimeError(f"well_mixed: the ODE solver failed between {a} s and {b} s: {sol.message}")
        out[want] = sol.y[:, :int(want.sum())].T
        p = sol.y[:, -1]
    return {s: out[:, i].copy() for i, s in enumerate(scheme.states)}
