"""Ready-made synapse models: functions that build a :class:`~cleftsim.model.Model` with the
public API (the engine has no special cases for them).

Every parameter can be overridden by keyword (``ca1_synapse(n_ampa=40, height="15 nm")``), so a
geometry experiment is one loop. Each preset's parameters live in one table
(:data:`CA1_PARAMETERS`, :data:`GABA_PARAMETERS`, :data:`NMJ_PARAMETERS`: :class:`Param`
records) that gives the defaults, the checks applied when the model is built (a wrong type,
sign, unit or range fails then, naming the preset, the parameter and the fix) and the parameter
list of the preset's docstring. The defaults include the run settings ``t_end`` and ``every``,
so ``ca1_synapse().run()`` and ``cs.run_ensemble(ca1_synapse(), trials=40)`` need no duration.

Each preset records the open count of each receptor type as ``"<RECEPTOR>_open"``, the total
postsynaptic current as ``"current"`` (A, inward negative, :mod:`cleftsim.model.currents`), the
transmitter released so far (``"<T>_released"``), the free transmitter (``"<T>"``), the
transmitter inside the cleft (``"<T>_cleft"``), the transmitter that left through the outer
boundary (``"<T>_escaped"``, when it absorbs) and, where present, the transmitter taken up
(``"<T>_uptake"``) or hydrolysed (``"<T>_hydrolysed"``).
``model.metadata`` holds the preset's name, its parameters and the :class:`~cleftsim.synapse.Synapse`.

Numbers are from docs/reference.md §2–4, with the sources named in the tables. Marks: [P] read
in the published source named; [C] computed from a formula with the parameters given; [?] not
confirmed against the primary paper, a plausible default.
"""
from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import numpy as np

from cleftsim import units
from cleftsim.biology import schemes, synapse
from cleftsim.errors import ModelError
from cleftsim.model import release
from cleftsim.model.currents import Channel
from cleftsim.model.model import Model

#: What the marks in the sources mean.
MARKS = ("[P] read in the published source named; [C] computed from a formula with the parameters "
         "given; [?] not confirmed against the primary paper, a plausible default")

@dataclass(frozen=True)
class Param:
    """One preset parameter: ``name``, ``default``, ``meaning`` (what it is, with its unit),
    ``source`` (where the default comes from, with its mark) and ``check(param, value, p,
    preset)``, which raises when ``value`` cannot be used (``p``: all the preset's values)."""

    name: str
    default: Any
    meaning: str
    source: str
    check: Callable[[Param, Any, dict, str], None] | None = None     # None: checked where it is used


def _fail(preset: str, prm: Param, value: Any, problem: str, fix: str | None = None) -> NoReturn:
    """Raise the error "<preset>: <name>=<value> <problem>; <fix>" (the fix defaults to the default)."""
    raise ModelError(f"{preset}: {prm.name}={value!r} {problem}; {fix or f'give e.g. {prm.name}={prm.default!r}'}")


def _whole(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# ---- checks ---------------------------------------------------------------------------------------
def _quantity(kind: str, low: str | None = None, high: str | None = None, why: str = "",
              plain: str | None = None, positive: bool = False, optional: bool = False):
    """Check: a quantity of ``kind`` within bounds (:func:`cleftsim.units.bounded`); None allowed
    if ``optional``."""

    def check(prm: Param, value: Any, p: dict, preset: str) -> None:
        if value is None and optional:
            return
        try:
            units.bounded(value, kind, f"{preset}: {prm.name}", low, high, why, plain, positive, prm.default)
        except units.UnitError as exc:
            raise ModelError(str(exc)) from None

    return check


def _length(high: str, why: str, optional: bool = False):
    return _quantity("length", high=high, why=why, plain="nm", positive=True, optional=optional)


def _time(high: str, why: str, plain: str, optional: bool = False):
    return _quantity("time", high=high, why=why, plain=plain, positive=True, optional=optional)


def _every(prm: Param, value: Any, p: dict, preset: str) -> None:
    _time("1 s", "a sampling interval", "us")(prm, value, p, preset)
    if units.time(value) > units.time(p["t_end"]):
        _fail(preset, prm, value, f"is longer than t_end={p['t_end']!r}")


def _count(prm: Param, value: Any, p: dict, preset: str) -> None:
    if not _whole(value) or value < 0:
        _fail(preset, prm, value, "must be a whole number >= 0 (an int)")


def _content(prm: Param, value: Any, p: dict, preset: str) -> None:
    """Molecules per vesicle: whole when every vesicle holds exactly that many (quantal_cv 0)."""
    if not units.is_number(value) or not 1 <= value <= release.MAX_VESICLE_CONTENT:        # NaN fails too
        _fail(preset, prm, value, f"must be a number of molecules per vesicle from 1 to {release.MAX_VESICLE_CONTENT:g} "
              f"(a vesicle of 20 nm inner radius holds about 2e4 per 1 M of content)",
              f"give e.g. {prm.name}={prm.default!r}; for no release give release_probability=0")
    if p["quantal_cv"] == 0 and value != math.floor(value):
        _fail(preset, prm, value, "is not a whole number, and with quantal_cv=0 every vesicle holds exactly "
              f"{prm.name} molecules", f"give {prm.name}={math.floor(value + 0.5)}, or a quantal_cv > 0 to "
              f"make it the mean of a distribution")


def _fraction(prm: Param, value: Any, p: dict, preset: str) -> None:
    if not units.is_number(value) or not 0 <= value <= 1:
        _fail(preset, prm, value, "must be a number from 0 to 1")


def _cv(prm: Param, value: Any, p: dict, preset: str) -> None:
    if not units.is_number(value) or not 0 <= value <= release.MAX_QUANTAL_CV:
        _fail(preset, prm, value, f"must be a coefficient of variation (SD/mean) from 0 to {release.MAX_QUANTAL_CV:g} "
              "(above it most "
              "vesicles would be nearly empty), not an SD in molecules",
              "give e.g. quantal_cv=0.3, or 0 for a fixed content")


def _choice(*options: str):
    def check(prm: Param, value: Any, p: dict, preset: str) -> None:
        if not isinstance(value, str) or value not in options:
            _fail(preset, prm, value, f"must be one of {', '.join(map(repr, options))}")

    return check


def _seed(prm: Param, value: Any, p: dict, preset: str) -> None:
    if value is not None and (not _whole(value) or value < 0):
        _fail(preset, prm, value, "must be a whole number >= 0 or None", "give e.g. seed=1")


def _ap_times(prm: Param, value: Any, p: dict, preset: str) -> None:
    """A time or a sequence of times (s or strings), increasing, from 0 to before t_end."""
    items = [value] if isinstance(value, str) or np.ndim(value) == 0 else list(value)
    if not items:
        _fail(preset, prm, value, "is empty", "give at least one AP time, e.g. ap_times=(0.0,)")
    t_end = units.time(p["t_end"])
    last = -math.inf
    for i, v in enumerate(items):
        if isinstance(v, bool):
            _fail(preset, prm, value, f"holds {v!r}, not a time")
        t = units.time(v, f"{preset}: ap_times[{i}]")
        if t < 0:
            _fail(preset, prm, value, f"has ap_times[{i}] = {t:g} s, before the run starts at 0")
        if not t > last:
            _fail(preset, prm, value, f"must increase, but ap_times[{i}] = {t:g} s is not after the one before",
                  "sort them and drop duplicates")
        if t >= t_end:
            plain = " (a plain number is in s)" if units.is_number(v) else ""
            _fail(preset, prm, value, f"has ap_times[{i}] = {t:g} s{plain}, not before t_end = {t_end:g} s",
                  "give times such as ('0 ms', '20 ms'), and a t_end after the last")
        last = t


def _position(prm: Param, value: Any, p: dict, preset: str) -> None:
    """'center', 'uniform' or a point (x, y) (µm or length strings) inside the cleft."""
    if isinstance(value, str):
        if value not in ("center", "uniform"):
            _fail(preset, prm, value, "must be 'center', 'uniform' or (x, y) in µm")
        return
    try:
        x, y = value
    except (TypeError, ValueError):
        _fail(preset, prm, value, "must be 'center', 'uniform' or (x, y) in µm")
    if isinstance(x, bool) or isinstance(y, bool):
        _fail(preset, prm, value, "must be (x, y) in µm")
    r = math.hypot(units.length(x, f"{preset}: {prm.name}[0]"), units.length(y, f"{preset}: {prm.name}[1]"))
    rim = units.length(p["radius"])
    if not r < rim:
        _fail(preset, prm, value, f"lies {r:g} µm from the axis, outside the cleft (radius {rim:g} µm; a plain "
              f"number is in µm)", "give e.g. (0.05, -0.02) or ('50 nm', '-20 nm')")


# ---- the tables -----------------------------------------------------------------------------------
#: The presets' sampling interval (made a whole number of steps when dt does not divide it).
DEFAULT_EVERY = "10 us"


def _run(dt: str, dt_source: str, t_end: str, t_end_source: str) -> tuple[Param, ...]:
    """Time step, default run settings, seed and tile density."""
    return (
        Param("dt", dt, "time step (s or a time string)", dt_source,
              _time("100 us", "synapse models step 0.1-10 µs", "us")),
        Param("t_end", t_end, "default duration of model.run() and cs.run_ensemble() (s or a time string; a "
              "whole number of dt and of every; a run can still be given its own)", t_end_source,
              _time("1 s", "the default run of a preset; pass a longer t_end to run()", "ms")),
        Param("every", DEFAULT_EVERY, "default sampling interval of those runs (a whole number of dt, at most t_end)",
              "fine enough for the sub-millisecond rise of the currents", _every),
        Param("seed", None, "seed of the random stream (a whole number >= 0; None: a fresh one)", "", _seed),
        Param("tile_density", None, "tiles per µm² of the membranes that hold receptors and transporters, one "
              "molecule per tile (density; None: the model's 1e4 /um^2, MCell's default)", "the binding rate does "
              "not depend on it (cleftsim.physics.binding), only the largest usable dt and the most molecules a region holds",
              _quantity("density", low="1 /um^2", high="1e6 /um^2",
                        why="a tile holds one surface molecule, a few nm across", optional=True)),
    )


_DISC = (
    Param("height", "20 nm", "cleft height, membrane to membrane (length)",
          "12-40 nm in EM; Savtchenko & Rusakov 2007 PNAS 104:1823 [P]"),
    Param("radius", "250 nm", "radius of the apposed membranes: the cleft's rim (length)",
          "a little beyond the PSD [?]"),
    Param("psd_radius", "150 nm", "radius of the postsynaptic density, which holds the receptors (length)",
          "a disc of the median PSD area 0.069 µm² (Bourne & Harris 2012 [P]): √(0.069 µm²/π) = 148 nm, "
          "rounded [C]"),
    Param("active_zone_radius", None, "radius of the presynaptic active zone (length; None: the PSD's, facing "
          "it)", ""),
    Param("extracellular", "500 nm", "extracellular space between the cells and the outer boundary (length)",
          "a model choice"),
)
_OUTER = Param("outer", "absorb", "outer boundary: 'absorb' (escape, counted as <T>_escaped) or 'reflect'", "",
               _choice("absorb", "reflect"))


def _release(key: str, what: str, n: int, n_source: str, D: str, D_source: str,
             D_of: str | None = None) -> tuple[Param, ...]:
    """The transmitter (``what``) and its release at one site, one vesicle per AP; ``key``: the
    parameter of its molecules per vesicle; ``D_of``: the species that have the transmitter's D."""
    return (
        Param("D", D, f"diffusion coefficient of {D_of or what} (µm²/s, or e.g. {D!r})", D_source,
              _quantity("diffusion", low="0.01 um^2/ms", high="3 um^2/ms", plain="um^2/ms",
                        why="a transmitter must diffuse to reach its receptors; small molecules diffuse at "
                            "0.2-0.8 µm²/ms in the cleft, water at 2.3")),
        Param("ap_times", (0.0,), "action-potential times (s or time strings), increasing, before t_end", "",
              _ap_times),
        Param("release_probability", 1.0, "probability that the site releases a vesicle at an AP (0 to 1)",
              "", _fraction),
        Param("quantal_cv", 0.0, f"coefficient of variation (SD/mean) of the vesicle content, gamma distributed "
              f"(0: every vesicle holds {key})", "", _cv),
        Param(key, n, f"{what} molecules per vesicle (the mean when quantal_cv > 0, else a whole number)",
              n_source, _content),
    )


_POSITION = Param("release_position", "center", "where the vesicle fuses: 'center' of the active zone, "
                  "'uniform' over it (a new point per vesicle), or (x, y) in µm inside the cleft", "", _position)
_HOLDING = Param("holding", "-70 mV", "holding potential of the current (V or e.g. '-70 mV')",
                 "a resting potential", _quantity("voltage"))


def _receptors(name: str, n: int, n_source: str, g: str, g_source: str, scheme: str) -> tuple[Param, ...]:
    return (Param(f"n_{name.lower()}", n, f"{name} receptors on the PSD ({scheme})", n_source, _count),
            Param(f"g_{name.lower()}", g, f"{name} unitary conductance (S or e.g. {g!r})", g_source,
                  _quantity("conductance")))


def _reversal(default: str, source: str, of: str) -> Param:
    return Param("reversal", default, f"reversal potential of {of} (V or e.g. '0 mV')", source,
                 _quantity("voltage"))


def _density(name: str, default: str, meaning: str, source: str) -> Param:
    return Param(name, default, meaning, source, _quantity("density", low="0 /um^2"))


CA1_PARAMETERS: tuple[Param, ...] = (
    *_run("1 us", "the usual step of MCell models of central synapses [?]", "5 ms",
          "covers the AMPA current (deactivation τ 2.55 ms, docs/reference.md §2.1); the NMDA current lasts "
          "~100 ms"),
    *_DISC,
    _OUTER,
    *_release("n_glu", "glutamate", 3000, "Riveros et al. 1986: 3000-4000, 3640 measured [P]", "0.33 um^2/ms",
              "0.2-0.33 µm²/ms in the cleft (Nielsen et al. 2004 [?]); 0.32 measured extracellular (Zheng et "
              "al. 2008 [P])"),
    _POSITION,
    *_receptors("AMPA", 80, "<3 to 140 per synapse (Nusser et al. 1998 [P]); 80 is the usual model value",
                "10 pS", "[?]", "Jonas, Major & Sakmann 1993 scheme: cleftsim.schemes.ampa_jonas1993"),
    *_receptors("NMDA", 20, "[?]", "45 pS", "45-50 pS [?]", "Lester & Jahr 1992 rates: cleftsim.schemes.nmda"),
    Param("mg", "1 mM", "extracellular Mg²⁺, which blocks the NMDA receptors (Jahr & Stevens 1990 form; M or "
          "e.g. '1 mM')", "physiological [?]",
          _quantity("concentration", low="0 M", high="100 mM", plain="mM",
                    why="extracellular Mg²⁺ is 0-10 mM in experiments")),
    _reversal("0 mV", "[?]", "the AMPA and NMDA currents"),
    _HOLDING,
    _density("transporter_density", "10800 /um^2", "density of glutamate transporters on the glial sheath (µm⁻²; "
             "cleftsim.schemes.glutamate_transporter)",
             "GLT-1 8500 + GLAST 2300 per µm² of CA1 astrocyte membrane (Lehre & Danbolt 1998 [P])"),
    Param("glia_distance", "50 nm", "gap from the cleft's rim to the glial sheath (length)", "[?]"),
    Param("glia_coverage", 0.43, "fraction of the perimeter covered by the sheath (0 to 1; 0: no glia)",
          "astroglia reach about half of the CA1 synapse perimeter (Ventura & Harris 1999 [?])", _fraction),
)

GABA_PARAMETERS: tuple[Param, ...] = (
    *_run("1 us", "as the CA1 synapse [?]", "5 ms", "covers the rise and early decay of the IPSC"),
    *_DISC,
    _OUTER,
    *_release("n_gaba", "GABA", 3000, "'several thousand' [?]", "0.33 um^2/ms", "taken equal to glutamate's [?]"),
    _POSITION,
    *_receptors("GABAA", 40, "tens per synapse [?]", "25 pS", "[?]",
                "Busch & Sakmann 1990 scheme, Destexhe et al. 1998 rates: cleftsim.schemes.gabaa"),
    _reversal("-70 mV", "Cl⁻ [?]", "the Cl⁻ current"),
    replace(_HOLDING, default="-40 mV", source="above the reversal, so the inhibitory current is outward "
            "(positive); at -70 mV it vanishes, below it turns inward"),
)

NMJ_PARAMETERS: tuple[Param, ...] = (
    *_run("1 us", "the MCell model steps 1 µs [P]; on tiles, bound AChR at 1 µs are within 3-4 % of 0.1 µs "
          "(docs/algorithms.md, tests/test_binding_dense.py)", "2 ms", "covers the release (~200 µs) and the endplate current"),
    Param("height", "50 nm", "primary cleft height (length)", "mammalian endplate, Stiles et al. 1996 PNAS "
          "93:5747 [?]"),
    Param("length", "2 um", "x extent of the patch of junction (length)", "a patch, not a whole endplate"),
    Param("width", "1 um", "y extent of the patch, along the folds (length)", ""),
    Param("fold_depth", "1 um", "depth of the junctional folds below the crests (length)", "0.5-1 µm [?]"),
    Param("fold_width", "50 nm", "width of the folds' openings (length)", "50-100 nm [?]"),
    Param("fold_spacing", "0.5 um", "centre-to-centre spacing of the folds (length; fold_width < fold_spacing "
          "<= length)", "0.5-1 µm [?]"),
    Param("extracellular", "300 nm", "extracellular space between the cells and the outer boundary (length)",
          "a model choice"),
    _OUTER,
    *_release("n_ach", "ACh", 6200, "6000-10000; 6200 in the MCell model [P]", "0.21 um^2/ms",
              "the MCell model [P]", D_of="ACh and of its product choline"),
    Param("pore_tau", "72 us", "time constant of the fusion pore: each molecule leaves after an independent "
          "delay (cleftsim.release.fusion_pore)", "50 µs/ln 2 [C], so half of the quantum is out by 50 µs "
          "(release over ~200 µs, half by ~50 µs [?])"),
    Param("pore_expansion", None, "expansion time of the pore (None: a pore of fixed size)", "[?]"),
    Param("release_site", 0, "index of the fold whose opening the vesicle faces (0 to n_folds - 1; 4 folds "
          "at the default size)", "", _count),
    _density("achr_density", "7250 /um^2", "density of nAChR on the crests (µm⁻²; cleftsim.schemes.nachr_nmj)", "[?]"),
    _density("ache_density", "2500 /um^2", "density of AChE on the crests and in the folds (µm⁻²; "
             "cleftsim.schemes.ache_nmj; the basal lamina is not modelled)", "[?]"),
    Param("g_achr", "60 pS", "unitary conductance of the nAChR (S or e.g. '60 pS')", "[?]", _quantity("conductance")),
    _reversal("0 mV", "[?]", "the endplate current"),
    replace(_HOLDING, default="-80 mV", source="[?]"),
)


# ---- building -------------------------------------------------------------------------------------
def _parameters(table: tuple[Param, ...]):
    """Decorator: append the parameter list of ``table`` (defaults, units, sources) to the docstring."""

    def document(fn):
        lines = ["Parameters (keywords; each is shown with its default)", "----------"]
        for prm in table:
            lines.append(f"{prm.name} = {prm.default!r}")
            text = prm.meaning[0].upper() + prm.meaning[1:] + "." + (f" Default: {prm.source}." if prm.source else "")
            lines += textwrap.wrap(text, 92, initial_indent="    ", subsequent_indent="    ", break_on_hyphens=False)
        lines += [""] + textwrap.wrap(f"Marks: {MARKS}. Sources and formulas: docs/reference.md.", 96)
        fn.__doc__ = (fn.__doc__ or "").rstrip() + "\n\n" + textwrap.indent("\n".join(lines), "    ") + "\n"
        return fn

    return document


def _settings(preset: str, table: tuple[Param, ...], overrides: dict) -> dict:
    """The preset's values (defaults, then ``overrides``), each checked."""
    names = [prm.name for prm in table]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ModelError(f"{preset}: unknown parameter(s) {unknown}; the parameters are {sorted(names)}")
    p = {prm.name: overrides.get(prm.name, prm.default) for prm in table}
    for prm in (prm for prm in table if prm.check is not None):
        prm.check(prm, p[prm.name], p, preset)
    return p


@contextmanager
def _building(preset: str):
    """Name the preset in the errors of what it builds (sizes that do not fit together, ...)."""
    try:
        yield
    except (ModelError, synapse.SynapseError, release.ReleaseError, units.UnitError) as exc:
        raise type(exc)(f"{preset}: {exc}") from None


def _model(p: dict) -> Model:
    """The preset's Model; with a dt that does not divide the default sampling interval, the
    interval becomes the nearest whole number of steps above it (and t_end a whole number of those)."""
    every, t_end = p["every"], p["t_end"]
    if every == DEFAULT_EVERY:
        dt, every_s = units.time(p["dt"]), units.time(every)
        steps = max(1, math.ceil(every_s / dt - 1e-9))
        every = steps * dt
        t_end = math.ceil(units.time(t_end) / every - 1e-9) * every
    return Model(p["dt"], seed=p["seed"], t_end=t_end, every=every, tile_density=p["tile_density"])


def _pore(p: dict) -> release.Pore:
    """The NMJ's fusion pore, its errors naming the preset's parameters."""
    try:
        return release.fusion_pore(p["pore_tau"], expansion=p["pore_expansion"])
    except release.ReleaseError as exc:
        raise release.ReleaseError(f"pore_tau={p['pore_tau']!r}, pore_expansion={p['pore_expansion']!r}: "
                                   f"{exc}") from None


def _stimulus(p: dict, n: Any) -> release.Stimulus:
    return release.stimulus(p["ap_times"], p["release_probability"], n_sites=1,
                            quantal=release.quantal(n, cv=p["quantal_cv"]))


def _disc_synapse(name: str, p: dict, transmitter: str) -> tuple[Model, Any, synapse.Synapse, Any]:
    """The model, its geometry object, the synapse and the transmitter of a disc-synapse preset."""
    glia = None
    if p.get("glia_coverage", 0):
        glia = {"distance": p["glia_distance"], "coverage": p["glia_coverage"]}
    syn = synapse.cleft(height=p["height"], radius=p["radius"], psd_radius=p["psd_radius"],
                        active_zone_radius=p["active_zone_radius"], extracellular=p["extracellular"], glia=glia)
    m = _model(p)
    tx = m.add_species(transmitter, D=p["D"])
    obj = m.add_geometry(syn.mesh, "synapse")
    m.set_surface(tx, obj.region("outer"), p["outer"])
    stim = _stimulus(p, p["n_" + transmitter.lower()])
    where = p["release_position"]
    if isinstance(where, str):
        if where == "uniform":
            m.release_vesicles(tx, stim, region=obj.region("active_zone"))
        else:
            m.release_vesicles(tx, stim, at=syn.release_sites)
    else:
        x, y = where
        m.release_vesicles(tx, stim, at=[(x, y, syn.release_sites[0][2])])
    m.count(tx)
    m.count_released(tx)
    m.count(tx, inside=syn.cleft, name=f"{transmitter}_cleft")
    if p["outer"] == "absorb":
        m.count_absorbed(tx, obj.region("outer"), name=f"{transmitter}_escaped")
    m.metadata.update(preset=name, parameters=dict(p), synapse=syn)
    return m, obj, syn, tx


@_parameters(CA1_PARAMETERS)
def ca1_synapse(**overrides: Any) -> Model:
    """CA1 glutamatergic synapse: one vesicle of glutamate released into a disc cleft with AMPA
    and NMDA receptors on the PSD and glutamate transporters on a glial sheath (docs/reference.md
    §2). Records ``"AMPA_open"``, ``"NMDA_open"``, ``"current"``, ``"glu_released"``, ``"glu"``,
    ``"glu_cleft"``, ``"glu_escaped"`` and, with glia, ``"glu_uptake"``.
    """
    p = _settings("ca1_synapse", CA1_PARAMETERS, overrides)
    with _building("ca1_synapse"):
        m, obj, syn, glu = _disc_synapse("ca1_synapse", p, "glu")
        ampa = m.add_scheme(schemes.ampa_jonas1993(ligand=glu))
        nmda = m.add_scheme(schemes.nmda(ligand=glu, mg=p["mg"]))
        m.place(ampa, region=obj.region("psd"), n=p["n_ampa"])
        m.place(nmda, region=obj.region("psd"), n=p["n_nmda"])
        if p["glia_coverage"]:
            glut = m.add_scheme(schemes.glutamate_transporter(ligand=glu))
            m.place(glut, region=obj.region("glia"), density=p["transporter_density"])
            m.count_events(glut.reaction("TG -> Tstar"), name="glu_uptake")
        m.count(ampa.open, name="AMPA_open")
        m.count(nmda.open, name="NMDA_open")
        m.observe_current(Channel(ampa, p["g_ampa"], p["reversal"]), Channel(nmda, p["g_nmda"], p["reversal"]),
                          holding=p["holding"])
    return m


@_parameters(GABA_PARAMETERS)
def gabaergic_synapse(**overrides: Any) -> Model:
    """GABAergic inhibitory synapse: one vesicle of GABA released into a disc cleft with GABA_A
    receptors (:func:`cleftsim.schemes.gabaa`) on the PSD; no transporters (docs/reference.md §4).
    Records ``"GABAA_open"``, ``"current"``, ``"GABA_released"``, ``"GABA"``, ``"GABA_cleft"``
    and ``"GABA_escaped"``.
    """
    p = _settings("gabaergic_synapse", GABA_PARAMETERS, overrides)
    with _building("gabaergic_synapse"):
        m, obj, syn, gaba = _disc_synapse("gabaergic_synapse", p, "GABA")
        gabaa = m.add_scheme(schemes.gabaa(ligand=gaba))
        m.place(gabaa, region=obj.region("psd"), n=p["n_gabaa"])
        m.count(gabaa.open, name="GABAA_open")
        m.observe_current(Channel(gabaa, p["g_gabaa"], p["reversal"]), holding=p["holding"])
    return m


@_parameters(NMJ_PARAMETERS)
def neuromuscular_junction(**overrides: Any) -> Model:
    """Cholinergic neuromuscular junction after the MCell rat NMJ model (Stiles & Bartol 2001;
    docs/reference.md §3): a slab cleft over a muscle surface cut by junctional folds
    (:func:`cleftsim.synapse.neuromuscular_junction`), nAChR on the crests, AChE on the crests and
    in the folds, one quantum of ACh released through a fusion pore above a fold. Records
    ``"AChR_open"``, ``"current"``, ``"ACh_released"``, ``"ACh"``, ``"ACh_cleft"``,
    ``"ACh_escaped"`` and ``"ACh_hydrolysed"``.
    """
    p = _settings("neuromuscular_junction", NMJ_PARAMETERS, overrides)
    with _building("neuromuscular_junction"):
        syn = synapse.neuromuscular_junction(height=p["height"], length=p["length"], width=p["width"],
                                             fold_depth=p["fold_depth"], fold_width=p["fold_width"],
                                             fold_spacing=p["fold_spacing"], extracellular=p["extracellular"])
        site = p["release_site"]
        if site >= len(syn.release_sites):
            raise ModelError(f"release_site={site!r} is not a fold of this junction, which has "
                             f"{len(syn.release_sites)}; give a fold index 0..{len(syn.release_sites) - 1}")
        m = _model(p)
        ach = m.add_species("ACh", D=p["D"])
        ch = m.add_species("Ch", D=p["D"])
        obj = m.add_geometry(syn.mesh, "nmj")
        for sp in (ach, ch):
            m.set_surface(sp, obj.region("outer"), p["outer"])
        achr = m.add_scheme(schemes.nachr_nmj(ligand=ach))
        ache = m.add_scheme(schemes.ache_nmj(substrate=ach, product=ch))
        m.place(achr, region=obj.region("post"), density=p["achr_density"])
        for region in ("post", "folds"):
            m.place(ache, region=obj.region(region), density=p["ache_density"])
        m.release_vesicles(ach, _stimulus(p, p["n_ach"]), at=[syn.release_sites[site]],
                           pore=_pore(p))
        m.count(ach)
        m.count_released(ach)
        m.count(ach, inside=syn.cleft, name="ACh_cleft")
        if p["outer"] == "absorb":
            m.count_absorbed(ach, obj.region("outer"), name="ACh_escaped")
        m.count_events(ache.reaction("AE -> AcE + Ch"), name="ACh_hydrolysed")
        m.count(achr.open, name="AChR_open")
        m.observe_current(Channel(achr, p["g_achr"], p["reversal"]), holding=p["holding"])
        m.metadata.update(preset="neuromuscular_junction", parameters=dict(p), synapse=syn)
    return m
