"""Postsynaptic currents from receptor states.

A :class:`Channel` names the conducting states of a receptor type, its unitary conductance γ and
reversal potential E. At a holding potential V the current is

    I(t) = Σ_types N_open(t) · γ · (V − E) · B(V)

(amperes), with B the fraction not blocked (the Mg²⁺ block of NMDA receptors, Jahr & Stevens 1990,
taken from the scheme; 1 otherwise). Sign convention: positive charge flowing out of the cell is
positive, so the excitatory current at V = −70 mV, E = 0 mV is inward and negative; an inhibitory
(Cl⁻) current with E = −70 mV is outward (positive) at V = −40 mV and zero at −70 mV.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cleftsim import units
from cleftsim.model.surface_molecules import SchemeHandle


@dataclass(frozen=True, eq=False)
class Channel:
    """A receptor type as a channel: ``receptor`` is a scheme handle (its ``open`` states conduct)
    or a state set; ``conductance`` (S or e.g. ``"10 pS"``) is the unitary conductance of one
    open receptor; ``reversal`` (V or e.g. ``"0 mV"``). A scheme with a ``mg_block(V)`` method
    (:func:`cleftsim.schemes.nmda`) scales the current by it."""

    receptor: Any
    conductance: Any
    reversal: Any

    def states(self) -> Any:
        """The conducting states (a state set)."""
        return self.receptor.open if isinstance(self.receptor, SchemeHandle) else self.receptor

    def unitary(self, holding: Any) -> float:
        """Current (A) through one open receptor at ``holding`` (V or string), block included."""
        g = units.conductance(self.conductance, "channel conductance")
        v, e = units.voltage(holding, "holding potential"), units.voltage(self.reversal, "reversal potential")
        scheme = getattr(self.receptor, "scheme", None)
        block = scheme.mg_block(v) if hasattr(scheme, "mg_block") else 1.0
        return g * (v - e) * block
