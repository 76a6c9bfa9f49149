"""A library of kinetic schemes of membrane molecules (receptors, enzymes, transporters).

A :class:`Scheme` lists the states of one membrane molecule and the reactions between them in the
reaction language of :mod:`cleftsim.reactions`, using unprefixed state names and the names of
the volume species (ligands) involved. Rates are in base units: first order s⁻¹, binding
M⁻¹s⁻¹. Tags in the docstrings follow docs/reference.md: [P] read in the published source named,
[?] not confirmed against the primary paper.

:func:`well_mixed` integrates the mass-action equations of one molecule under a clamped ligand
concentration (a :mod:`cleftsim.waveforms` waveform): the deterministic reference that particle
simulations of the same scheme should approach.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from cleftsim import reactions, units
from cleftsim.surface import SchemeHandle
from cleftsim.waveforms import Waveform, as_waveform

__all__ = ["Scheme", "SchemeError", "Transition", "NMDAScheme", "ampa_jonas1993", "nmda", "mg_block", "gabaa",
           "nachr_nmj", "ache_nmj", "glutamate_transporter", "well_mixed"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class SchemeError(ValueError):
    """A kinetic scheme is inconsistent; the message names the item and the fix."""


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


def _name(value: Any, what: str) -> str:
    name = getattr(value, "name", value)
    if not isinstance(name, str) or not _NAME.match(name):
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

        name = _name(self.name, "scheme name")
        given = _names(self.ligands, f"scheme {name!r}: ligands", "('glu',)")
        put("states", tuple(_name(s, f"scheme {name!r}: state")
                            for s in _names(self.states, f"scheme {name!r}: states", "('C0', 'C1', 'O')")))
        put("ligand_species", {_name(s, f"scheme {name!r}: ligand"): s for s in given if not isinstance(s, str)})
        put("ligands", tuple(_name(s, f"scheme {name!r}: ligand") for s in given))
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
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
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


def mg_block(voltage: Any, mg: Any = "1 mM") -> Any:
    """Unblocked fraction of NMDA receptor conductance, Jahr & Stevens 1990 form:
    ``1 / (1 + [Mg] / 3.57 mM · exp(-0.062 · V / mV))``.

    ``voltage`` in V (a float, a string such as ``"-70 mV"``, or an array or sequence of either);
    ``mg`` in M or a string.
    """
    v = units.voltage(units.array(voltage, units.voltage, "mg_block: voltage"), "mg_block: voltage")
    c = units.to_base(mg, "concentration", "mg (extracellular Mg2+ concentration)")
    if c < 0:
        raise units.UnitError(f"mg must be >= 0, got {mg!r}")
    b = 1.0 / (1.0 + c / 3.57e-3 * np.exp(-0.062 * np.asarray(v) * 1e3))
    return float(b) if np.ndim(b) == 0 else b


@dataclass(frozen=True, eq=False)
class NMDAScheme(Scheme):
    """An NMDA receptor scheme with a voltage-dependent Mg²⁺ block of the open state.

    ``mg`` is the extracellular Mg²⁺ concentration (M); the conductance of an open receptor is
    multiplied by :meth:`mg_block` of the membrane voltage.
    """

    mg: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        mg = units.to_base(self.mg, "concentration", f"scheme {self.name!r}: mg")
        if mg < 0:
            raise SchemeError(f"scheme {self.name!r}: mg must be >= 0, got {self.mg!r}")
        object.__setattr__(self, "mg", mg)

    def mg_block(self, voltage: Any) -> Any:
        """Unblocked fraction at ``voltage`` (V or e.g. ``"-70 mV"``) with this scheme's ``mg``."""
        return mg_block(voltage, self.mg)


# -- library ---------------------------------------------------------------------------------------
def ampa_jonas1993(ligand: Any = "glu", D: Any = 0.0) -> Scheme:
    """AMPA receptor, 7 states, Jonas, Major & Sakmann 1993 (J Physiol 472:615–663), all rates [P]::

        C0 <-> C1 <-> C2 <-> O        two bindings, then opening
               |      |      |
               C3 <-> C4 <-> C5       desensitised (C3 <-> C4 binds a second glutamate)

    Rates (binding M⁻¹s⁻¹, others s⁻¹): C0→C1 4.59e6, C1→C0 4.26e3; C1→C2 2.84e7, C2→C1 3.26e3;
    C2→O 4.24e3, O→C2 900; C1→C3 2.89e3, C3→C1 39.2; C2→C4 172, C4→C2 0.727; O→C5 17.7,
    C5→O 4; C4→C5 16.8, C5→C4 190.4; C3→C4 1.27e6, C4→C3 45.7.

    Well-mixed responses (docs/reference.md §2.1 [C], reproduced in tests/test_schemes.py): 1 mM × 1 ms
    pulse → peak P_open 0.595 at 1.05 ms; 1 mM step → 0.610 at 1.37 ms; 10 mM step → 0.754.
    """
    g = _name(ligand, "ligand")
    return Scheme(
        name="AMPA", states=("C0", "C1", "C2", "O", "C3", "C4", "C5"), initial="C0",
        reactions=((f"{g} + C0 <-> C1", (4.59e6, 4.26e3)), (f"{g} + C1 <-> C2", (2.84e7, 3.26e3)),
                   ("C2 <-> O", (4.24e3, 900.0)), ("C1 <-> C3", (2.89e3, 39.2)), ("C2 <-> C4", (172.0, 0.727)),
                   ("O <-> C5", (17.7, 4.0)), (f"{g} + C3 <-> C4", (1.27e6, 45.7)), ("C4 <-> C5", (16.8, 190.4))),
        sets={"open": ("O",), "desensitised": ("C3", "C4", "C5"), "bound": ("C1", "C2", "O", "C3", "C4", "C5"),
              "closed": ("C0", "C1", "C2", "C3", "C4", "C5")},
        ligands=(ligand,), bound={"C1": {g: 1}, "C2": {g: 2}, "O": {g: 2}, "C3": {g: 1}, "C4": {g: 2}, "C5": {g: 2}},
        D=D, citation="Jonas P, Major G, Sakmann B (1993) J Physiol 472:615-663")


_NMDA_RATES = {   # Ru, Rd, Rr, Ro, Rc in s⁻¹
    "lester_jahr1992": ((6.7, 15.2, 9.4, 83.8, 83.8), "Lester RAJ, Jahr CE (1992) J Neurosci 12:635-643"),
    "destexhe1996": ((12.9, 8.4, 6.8, 46.5, 73.8),
                     "Destexhe A, Mainen ZF, Sejnowski TJ (1996/1998) Kinetic models of synaptic transmission, "
                     "in Methods in Neuronal Modeling (Koch & Segev, eds.), MIT Press"),
}


def nmda(ligand: Any = "glu", rates: str | Mapping[str, float] = "lester_jahr1992", mg: Any = "1 mM",
         D: Any = 0.0) -> NMDAScheme:
    """NMDA receptor, 5 states: C0 <-> C1 <-> C2 <-> O, C2 <-> D (desensitised).

    Binding Rb = 5e6 M⁻¹s⁻¹ for each of the two steps; unbinding Ru from C1 *and* from C2 (no
    statistical factors 2·Rb, 2·Ru), as in the public model code these rate sets come from.
    This convention reproduces docs/reference.md §2.2: 1 mM × 1 ms pulse with the Lester–Jahr set →
    peak P_open 0.382 at 18 ms (with 2·Ru from C2 the peak would be 0.363 at 16.3 ms).

    ``rates`` (s⁻¹: unbinding Ru, desensitisation Rd, resensitisation Rr, opening Ro, closing Rc),
    all [?, as implemented in public model code, not checked against the papers]:

    - ``"lester_jahr1992"``: Ru 6.7, Rd 15.2, Rr 9.4, Ro 83.8, Rc 83.8 (Lester & Jahr 1992);
    - ``"destexhe1996"``: Ru 12.9, Rd 8.4, Rr 6.8, Ro 46.5, Rc 73.8 (Destexhe, Mainen & Sejnowski);
    - or a mapping with keys Ru, Rd, Rr, Ro, Rc (and optionally Rb).

    The open state is blocked by Mg²⁺ (``mg``, M or string; Jahr & Stevens 1990 J Neurosci
    10:3178, see :func:`mg_block`); the returned :class:`NMDAScheme` carries ``mg`` and a
    ``mg_block(voltage)`` method.
    """
    g = _name(ligand, "ligand")
    keys = ("Ru", "Rd", "Rr", "Ro", "Rc")
    if not isinstance(rates, (str, Mapping)):
        fix = (f"; for these values in the order {', '.join(keys)} give rates=dict("
               f"{', '.join(f'{k}={v!r}' for k, v in zip(keys, rates))})"
               if isinstance(rates, Sequence) and len(rates) == len(keys) else "")
        raise SchemeError(f"nmda: rates must be the name of a rate set ({', '.join(map(repr, _NMDA_RATES))}) "
                          f"or a mapping with keys {', '.join(keys)} (s⁻¹; optional Rb, M⁻¹s⁻¹), "
                          f"got {rates!r}{fix}")
    if isinstance(rates, str):
        if rates not in _NMDA_RATES:
            raise SchemeError(f"nmda: unknown rate set {rates!r}; choose one of {sorted(_NMDA_RATES)} or give a "
                              f"mapping with keys Ru, Rd, Rr, Ro, Rc")
        (Ru, Rd, Rr, Ro, Rc), citation = _NMDA_RATES[rates]
        Rb = 5e6
    else:
        rates = dict(rates)
        missing = [k for k in keys if k not in rates]
        extra = [k for k in rates if k not in ("Rb", *keys)]
        if missing or extra:
            raise SchemeError(f"nmda: rates mapping needs keys Ru, Rd, Rr, Ro, Rc (optional Rb); missing {missing}, "
                              f"unknown {extra}")
        Rb = rates.get("Rb", 5e6)
        Ru, Rd, Rr, Ro, Rc = (rates[k] for k in keys)
        citation = "user-supplied rates"
    return NMDAScheme(
        name="NMDA", states=("C0", "C1", "C2", "O", "D"), initial="C0",
        reactions=((f"{g} + C0 <-> C1", (Rb, Ru)), (f"{g} + C1 <-> C2", (Rb, Ru)), ("C2 <-> O", (Ro, Rc)),
                   ("C2 <-> D", (Rd, Rr))),
        sets={"open": ("O",), "desensitised": ("D",), "bound": ("C1", "C2", "O", "D"),
              "closed": ("C0", "C1", "C2", "D")},
        ligands=(ligand,), bound={"C1": {g: 1}, "C2": {g: 2}, "O": {g: 2}, "D": {g: 2}},
        D=D, citation=citation + "; Mg2+ block: Jahr CE, Stevens CF (1990) J Neurosci 10:3178-3182", mg=mg)


def gabaa(ligand: Any = "GABA", D: Any = 0.0) -> Scheme:
    """GABA_A receptor, 5 states, the scheme of Busch & Sakmann 1990 (Cold Spring Harb Symp Quant
    Biol 55:69-80) with the rates Destexhe, Mainen & Sejnowski fitted to hippocampal IPSCs (Otis &
    Mody 1992), as given in Destexhe, Mainen & Sejnowski 1998 (Kinetic models of synaptic
    transmission, in Methods in Neuronal Modeling, Koch & Segev eds., MIT Press) [?, rates as
    implemented in public model code, not checked against the chapter]::

        C0 <-> C1 <-> C2         two bindings
               |      |
               O1     O2         an open state from each bound state

    Rates (binding M⁻¹s⁻¹, others s⁻¹): C0→C1 2e7, C1→C0 4600; C1→C2 1e7, C2→C1 9200;
    C1→O1 3300, O1→C1 9800; C2→O2 10600, O2→C2 410.
    """
    g = _name(ligand, "ligand")
    return Scheme(
        name="GABAA", states=("C0", "C1", "C2", "O1", "O2"), initial="C0",
        reactions=((f"{g} + C0 <-> C1", (2e7, 4600.0)), (f"{g} + C1 <-> C2", (1e7, 9200.0)),
                   ("C1 <-> O1", (3300.0, 9800.0)), ("C2 <-> O2", (10600.0, 410.0))),
        sets={"open": ("O1", "O2"), "bound": ("C1", "C2", "O1", "O2"), "closed": ("C0", "C1", "C2")},
        ligands=(ligand,), bound={"C1": {g: 1}, "C2": {g: 2}, "O1": {g: 1}, "O2": {g: 2}}, D=D,
        citation="Busch C, Sakmann B (1990) Cold Spring Harb Symp Quant Biol 55:69-80; rates: Destexhe A, Mainen ZF, "
                 "Sejnowski TJ (1998) in Methods in Neuronal Modeling, MIT Press")


def nachr_nmj(ligand: Any = "ACh", D: Any = 0.0) -> Scheme:
    """Nicotinic ACh receptor of the MCell rat neuromuscular-junction model (Stiles & Bartol 2001,
    in De Schutter (ed.) Computational Neuroscience: Realistic Modeling for Experimentalists,
    CRC Press), rates [P, model files]::

        C0 <-> C1a <-> C2 <-> O       (MCell names AChR0, AChR1, AChR2, AChR3, AChR4)
           <-> C1b <->                two distinct binding sites a and b

    Binding 1.35e8 M⁻¹s⁻¹ at each site; unbinding 64286 s⁻¹ from each site; opening C2→O
    48750 s⁻¹, closing O→C2 1250 s⁻¹. No unbinding from the open state.
    """
    a = _name(ligand, "ligand")
    return Scheme(
        name="AChR", states=("C0", "C1a", "C1b", "C2", "O"), initial="C0",
        reactions=((f"{a} + C0 <-> C1a", (1.35e8, 64286.0)), (f"{a} + C0 <-> C1b", (1.35e8, 64286.0)),
                   (f"{a} + C1a <-> C2", (1.35e8, 64286.0)), (f"{a} + C1b <-> C2", (1.35e8, 64286.0)),
                   ("C2 <-> O", (48750.0, 1250.0))),
        sets={"open": ("O",), "bound": ("C1a", "C1b", "C2", "O"), "closed": ("C0", "C1a", "C1b", "C2")},
        ligands=(ligand,), bound={"C1a": {a: 1}, "C1b": {a: 1}, "C2": {a: 2}, "O": {a: 2}},
        D=D, citation="Stiles JR, Bartol TM (2001), MCell rat NMJ model (AChR0..AChR4)")


def ache_nmj(substrate: Any = "ACh", product: Any = "Ch", D: Any = 0.0) -> Scheme:
    """Acetylcholinesterase of the MCell rat NMJ model (Stiles & Bartol 2001), with substrate
    inhibition, rates [P, model files] (binding M⁻¹s⁻¹, others s⁻¹)::

        E + ACh <-> AE            2e8, 1.4e4
        AE -> AcE + Ch            1.12e5   (acylation; choline released into the volume)
        AcE -> E                  18667    (deacetylation)
        AcE + ACh <-> AAcE        5e6, 21429   (substrate inhibition)
        AAcE -> AE                1867     (slow deacetylation of the doubly occupied enzyme)

    (MCell names: AChE, AChE.ACh, AChE.Ac, AChE.Ac.ACh.) Acetate is not tracked.
    """
    s, p = _name(substrate, "substrate"), _name(product, "product")
    return Scheme(
        name="AChE", states=("E", "AE", "AcE", "AAcE"), initial="E",
        reactions=((f"{s} + E <-> AE", (2e8, 1.4e4)), (f"AE -> AcE + {p}", 1.12e5), ("AcE -> E", 18667.0),
                   (f"{s} + AcE <-> AAcE", (5e6, 21429.0)), ("AAcE -> AE", 1867.0)),
        sets={"free": ("E",), "bound": ("AE", "AAcE"), "acetylated": ("AcE", "AAcE")},
        ligands=(substrate, product), bound={"AE": {s: 1}, "AAcE": {s: 1}},
        D=D, citation="Stiles JR, Bartol TM (2001), MCell rat NMJ model (AChE)")


def glutamate_transporter(ligand: Any = "glu", k_on: Any = 2e7, k_off: Any = 100.0, k_translocate: Any = 1000.0,
                          k_recover: Any = 1 / 11.6e-3, D: Any = 0.0) -> Scheme:
    """Glial glutamate transporter, reduced 3-state cycle (docs/reference.md §2.3)::

        T + glu <-> TG     k_on 2e7 M⁻¹s⁻¹, k_off 100 s⁻¹ [?]
        TG -> Tstar        k_translocate (glutamate carried inside: removed, no volume product)
        Tstar -> T         k_recover

    Defaults: k_recover = 1/11.6 ms ≈ 86.2 s⁻¹ from the recovery time constant measured at 36 °C
    (Bergles & Jahr; τ 11.6 ms [P]); k_translocate = 1000 s⁻¹ [?, chosen: currents activate within
    < 1 ms [P], and translocation is more likely than unbinding (Otis & Kavanaugh 2000), here
    1000/(1000+100) = 91 % of bound glutamate is taken up]. A full cycle then lasts
    1/k_translocate + 1/k_recover ≈ 12.6 ms, at the fast (physiological-temperature) end of the
    published 12–70 ms range; for the ≈70 ms cycle of Wadiche et al. 1995 (Neuron 14:1019, room
    temperature) use ``k_recover = 1 / 69e-3``.
    """
    g = _name(ligand, "ligand")
    return Scheme(
        name="GluT", states=("T", "TG", "Tstar"), initial="T",
        reactions=((f"{g} + T <-> TG", (k_on, k_off)), ("TG -> Tstar", k_translocate), ("Tstar -> T", k_recover)),
        sets={"free": ("T",), "bound": ("TG",), "cycling": ("Tstar",)},
        ligands=(ligand,), bound={"TG": {g: 1}}, D=D,
        citation="reduced cycle (docs/reference.md §2.3): Wadiche et al. 1995 Neuron 14:1019; Bergles & Jahr 1997/1998")


# -- well-mixed reference --------------------------------------------------------------------------
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
