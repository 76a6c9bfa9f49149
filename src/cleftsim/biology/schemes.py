"""A library of published kinetic schemes of membrane molecules: AMPA, NMDA (with its Mg²⁺
block), GABA_A and nicotinic ACh receptors, acetylcholinesterase and a glutamate transporter.

Rates are in base units: first order s⁻¹, binding M⁻¹s⁻¹. Tags in the docstrings follow
docs/reference.md: [P] read in the published source named, [?] not confirmed against the
primary paper. The machinery (:class:`Scheme`, :func:`well_mixed`) is cleftsim.model.schemes,
available here too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from cleftsim import units
from cleftsim.errors import SchemeError
from cleftsim.model.schemes import Scheme, Transition, name_of, well_mixed

__all__ = ["Scheme", "SchemeError", "Transition", "NMDAScheme", "ampa_jonas1993", "nmda", "mg_block", "gabaa",
           "nachr_nmj", "ache_nmj", "glutamate_transporter", "well_mixed"]


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
    g = name_of(ligand, "ligand")
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
    g = name_of(ligand, "ligand")
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
    g = name_of(ligand, "ligand")
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
    a = name_of(ligand, "ligand")
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
    s, p = name_of(substrate, "substrate"), name_of(product, "product")
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
    g = name_of(ligand, "ligand")
    return Scheme(
        name="GluT", states=("T", "TG", "Tstar"), initial="T",
        reactions=((f"{g} + T <-> TG", (k_on, k_off)), ("TG -> Tstar", k_translocate), ("Tstar -> T", k_recover)),
        sets={"free": ("T",), "bound": ("TG",), "cycling": ("Tstar",)},
        ligands=(ligand,), bound={"TG": {g: 1}}, D=D,
        citation="reduced cycle (docs/reference.md §2.3): Wadiche et al. 1995 Neuron 14:1019; Bergles & Jahr 1997/1998")


# -- well-mixed reference --------------------------------------------------------------------------
