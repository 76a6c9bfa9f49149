"""The reaction language: ``"A + B -> C"``, ``"C -> A + B"``, ``"A <-> B"``, ``"A -> 0"``, ``"0 -> A"``.

One syntax for every kind of reaction (volume + surface binding, surface transitions, and the
volume reactions). Species are names separated by ``+``; a repeated species is written twice
(``"A + A -> C"``) or with a count (``"2 A -> C"``); ``0`` or nothing stands for no product, or
for no reactant in a zeroth-order production (``"0 -> A"``, which needs a place: ``inside=``).
``->`` is one reaction with one rate; ``<->`` is a forward and a reverse reaction and takes a pair
of rates ``(k_forward, k_reverse)``.

Rates are plain numbers in base units or strings with units: zeroth order M/s (``"1 uM/s"``, or
molecules per volume per time, ``"100 /um^3/s"``), first order s⁻¹ (``"100 /s"``), second order
M⁻¹s⁻¹ (``"4.59e6 /M/s"``) or a volume per time per pair (``"0.01 um^3/s"``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cleftsim import units
from cleftsim.errors import ReactionSyntaxError

#: A species or state name: letters, digits, "_", "." and "-", not starting with a digit.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_TERM = re.compile(r"^\s*(?:(\d+)\s*\*?\s*)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*$")


@dataclass(frozen=True)
class Equation:
    """A parsed equation: reactant and product names (repeated for stoichiometry > 1)."""

    reactants: tuple[str, ...]
    products: tuple[str, ...]

    def __str__(self) -> str:
        return f"{' + '.join(self.reactants) or '0'} -> {' + '.join(self.products) or '0'}"


def _side(text: str, equation: str, which: str) -> tuple[str, ...]:
    text = text.strip()
    if text in ("", "0", "∅"):
        return ()
    names: list[str] = []
    for term in text.split("+"):
        m = _TERM.match(term)
        if not m:
            raise ReactionSyntaxError(
                f"reaction {equation!r}: cannot read {term.strip()!r} among the {which}; write species names "
                f"separated by '+', e.g. 'glu + AMPA_C0 -> AMPA_C1'")
        count = int(m.group(1) or 1)
        if count < 1:
            raise ReactionSyntaxError(f"reaction {equation!r}: stoichiometry must be at least 1 in {term.strip()!r}")
        names.extend([m.group(2)] * count)
    return tuple(names)


def parse(equation: str) -> tuple[Equation, ...]:
    """Parse an equation into one (``->``) or two (``<->``: forward, reverse) Equations."""
    if not isinstance(equation, str):
        raise ReactionSyntaxError(f"a reaction must be a string such as 'A + B -> C', got {equation!r}")
    if equation.count("<->") == 1 and "->" not in equation.replace("<->", ""):
        left, right = equation.split("<->")
        fwd = Equation(_side(left, equation, "reactants"), _side(right, equation, "products"))
        if not fwd.reactants or not fwd.products:
            raise ReactionSyntaxError(f"reaction {equation!r}: both sides of '<->' need species")
        return fwd, Equation(fwd.products, fwd.reactants)
    if equation.count("->") == 1 and "<" not in equation:
        left, right = equation.split("->")
        eq = Equation(_side(left, equation, "reactants"), _side(right, equation, "products"))
        if not eq.reactants and not eq.products:
            raise ReactionSyntaxError(f"reaction {equation!r} has neither reactants nor products")
        return (eq,)
    raise ReactionSyntaxError(f"reaction {equation!r} needs exactly one arrow: '->' or '<->'")


def rate(value: Any, order: int, what: str) -> float:
    """A rate constant of the given order in base units (M/s, s⁻¹ or M⁻¹s⁻¹); finite and >= 0."""
    if order not in (0, 1, 2):
        raise ReactionSyntaxError(f"{what}: at most two reactants are supported, this one has {order}")
    kind, hint = {0: ("production", "zeroth order: M/s or /um^3/s"), 1: ("rate", "first order: s^-1"),
                  2: ("bimolecular", "second order: M^-1 s^-1 or um^3/s")}[order]
    k = units.to_base(value, kind, f"rate of {what} ({hint})")
    if k < 0:
        raise units.UnitError(f"rate of {what} must be >= 0, got {value!r}")
    return k


def split_rates(equations: tuple[Equation, ...], rates: Any, equation: str) -> list[Any]:
    """The rate given for each parsed equation: one value for '->', a pair for '<->'."""
    if len(equations) == 1:
        if isinstance(rates, (tuple, list)):
            raise ReactionSyntaxError(f"reaction {equation!r} has one arrow '->' and takes one rate, got {rates!r}")
        return [rates]
    if not isinstance(rates, (tuple, list)) or len(rates) != 2:
        raise ReactionSyntaxError(f"reaction {equation!r} is reversible ('<->') and takes a pair of rates "
                                  f"(forward, reverse), got {rates!r}")
    return list(rates)
