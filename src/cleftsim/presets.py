"""Ready-made synapse models: functions that build a :class:`~cleftsim.model.Model` with the
public API (the engine has no special cases for them).

Every parameter can be overridden by keyword (``ca1_synapse(n_ampa=40, height="15 nm")``), so a
geometry experiment is one loop. Each preset records the open count of each receptor type as
``"<RECEPTOR>_open"``, the total postsynaptic current as ``"current"`` (A, inward negative,
:mod:`cleftsim.currents`), the transmitter released so far (``"<T>_released"``), the free
transmitter (``"<T>"``), the transmitter inside the cleft
(``"<T>_cleft"``), the transmitter that left through the outer boundary (``"<T>_escaped"``) and,
where present, the transmitter taken up (``"<T>_uptake"``) or hydrolysed (``"<T>_hydrolysed"``).
``model.metadata`` holds the preset's name, its parameters and the :class:`~cleftsim.synapse.Synapse`.

Numbers are from docs physics.md with the sources named in each docstring; [?] marks a value
not checked against the primary paper.
"""
from __future__ import annotations

from typing import Any

from cleftsim import release, schemes, synapse
from cleftsim.currents import Channel
from cleftsim.model import Model, ModelError

_COMMON = {
    "dt": "1 us",                 # time step
    "seed": None,                 # Model seed
    "height": "20 nm",            # cleft height [P] EM literature, Savtchenko & Rusakov 2007 PNAS 104:1823
    "radius": "250 nm",           # radius of the apposed membranes [?] (a little beyond the PSD)
    "psd_radius": "150 nm",       # PSD area 0.069 µm² (median) [P] Bourne & Harris 2012
    "active_zone_radius": None,   # default: the PSD's radius, facing it
    "extracellular": "500 nm",    # extracellular space between the cells and the outer boundary
    "outer": "absorb",            # outer boundary: "absorb" (escape) or "reflect"
    "ap_times": (0.0,),           # action potentials (s)
    "release_probability": 1.0,   # per site and AP
    "quantal_cv": 0.0,            # CV of the vesicle content (gamma distributed)
    "release_position": "center",  # "center" of the active zone, "uniform" over it, or (x, y) µm
    "holding": "-70 mV",          # holding potential
}


def _settings(name: str, defaults: dict, overrides: dict) -> dict:
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ModelError(f"{name}: unknown parameter(s) {unknown}; the parameters are {sorted(defaults)}")
    return {**defaults, **overrides}


def _disc_synapse(name: str, p: dict, transmitter: str) -> tuple[Model, Any, synapse.Synapse, Any]:
    """The model, its geometry object, the synapse and the transmitter of a disc-synapse preset."""
    if p["outer"] not in ("absorb", "reflect"):
        raise ModelError(f"{name}: outer must be 'absorb' or 'reflect', got {p['outer']!r}")
    glia = None
    if p.get("glia_coverage", 0):
        glia = {"distance": p["glia_distance"], "coverage": p["glia_coverage"]}
    syn = synapse.cleft(height=p["height"], radius=p["radius"], psd_radius=p["psd_radius"],
                        active_zone_radius=p["active_zone_radius"], extracellular=p["extracellular"], glia=glia)
    m = Model(dt=p["dt"], seed=p["seed"])
    tx = m.add_species(transmitter, D=p["D"])
    obj = m.add_geometry(syn.mesh, "synapse")
    m.set_surface(tx, obj.region("outer"), p["outer"])
    stim = release.stimulus(p["ap_times"], p["release_probability"], n_sites=1,
                            quantal=release.quantal(p["n_" + transmitter.lower()], cv=p["quantal_cv"]))
    where = p["release_position"]
    if isinstance(where, str) and where == "uniform":
        m.release_vesicles(tx, stim, region=obj.region("active_zone"))
    elif isinstance(where, str) and where == "center":
        m.release_vesicles(tx, stim, at=syn.release_sites)
    else:
        try:
            x, y = where
        except (TypeError, ValueError):
            raise ModelError(f"{name}: release_position must be 'center', 'uniform' or (x, y) in µm, "
                             f"got {where!r}") from None
        m.release_vesicles(tx, stim, at=[(x, y, syn.release_sites[0][2])])
    m.count(tx)
    m.count_released(tx)
    m.count(tx, inside=syn.cleft, name=f"{transmitter}_cleft")
    m.count_absorbed(tx, obj.region("outer"), name=f"{transmitter}_escaped")
    m.metadata.update(preset=name, parameters=dict(p), synapse=syn)
    return m, obj, syn, tx


def ca1_synapse(**overrides: Any) -> Model:
    """CA1 glutamatergic synapse: one vesicle of glutamate released into a disc cleft with AMPA
    and NMDA receptors on the PSD and glutamate transporters on a glial sheath.

    Parameters and defaults (physics.md §2): ``n_glu`` 3000 glutamate per vesicle (3000–4000,
    Riveros et al. 1986 [P]); ``D`` 0.33 µm²/ms (0.2–0.33 in the cleft, Nielsen et al. 2004 [?];
    0.32 measured extracellular, Zheng et al. 2008 [P]); ``n_ampa`` 80 (Nusser et al. 1998: <3 to
    140 [P]; 80 is the usual model value) with the Jonas et al. 1993 scheme, ``g_ampa`` 10 pS [?];
    ``n_nmda`` 20 [?] with the Lester & Jahr 1992 rates, ``g_nmda`` 45 pS [?], ``mg`` 1 mM
    (Jahr & Stevens 1990 block); reversal 0 mV for both [?]; ``transporter_density`` 10 800 µm⁻²
    (GLT-1 8500 + GLAST 2300, Lehre & Danbolt 1998 [P]) on a glial ring ``glia_distance`` 50 nm
    beyond the rim [?] covering ``glia_coverage`` 0.43 of the circumference (astroglia reach
    about half of the CA1 synapse perimeter, Ventura & Harris 1999 [?]; 0 removes the glia);
    cleft height 20 nm, PSD radius 150 nm and the common parameters of this module.
    """
    defaults = {**_COMMON, "D": "0.33 um^2/ms", "n_glu": 3000, "n_ampa": 80, "n_nmda": 20,
                "g_ampa": "10 pS", "g_nmda": "45 pS", "reversal": "0 mV", "mg": "1 mM",
                "transporter_density": "10800 /um^2", "glia_distance": "50 nm", "glia_coverage": 0.43}
    p = _settings("ca1_synapse", defaults, overrides)
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


def gabaergic_synapse(**overrides: Any) -> Model:
    """GABAergic inhibitory synapse: one vesicle of GABA released into a disc cleft with GABA_A
    receptors (Busch & Sakmann 1990 scheme, Destexhe et al. 1998 rates: :func:`cleftsim.schemes.gabaa`)
    on the PSD; no transporters.

    Defaults: ``n_gaba`` 3000 per vesicle [?: "several thousand", physics.md §4]; ``D`` 0.33
    µm²/ms [?, taken equal to glutamate's]; ``n_gabaa`` 40 [?, tens of receptors per synapse];
    ``g_gabaa`` 25 pS [?]; ``reversal`` −70 mV (Cl⁻, physics.md §4 [?]); ``holding`` −40 mV, so the
    inhibitory current is outward (positive); at −70 mV it vanishes, below it turns inward.
    Geometry: the common disc-cleft parameters of this module.
    """
    defaults = {**_COMMON, "D": "0.33 um^2/ms", "n_gaba": 3000, "n_gabaa": 40, "g_gabaa": "25 pS",
                "reversal": "-70 mV", "holding": "-40 mV"}
    p = _settings("gabaergic_synapse", defaults, overrides)
    m, obj, syn, gaba = _disc_synapse("gabaergic_synapse", p, "GABA")
    gabaa = m.add_scheme(schemes.gabaa(ligand=gaba))
    m.place(gabaa, region=obj.region("psd"), n=p["n_gabaa"])
    m.count(gabaa.open, name="GABAA_open")
    m.observe_current(Channel(gabaa, p["g_gabaa"], p["reversal"]), holding=p["holding"])
    return m


def neuromuscular_junction(**overrides: Any) -> Model:
    """Cholinergic neuromuscular junction after the MCell rat NMJ model (Stiles & Bartol 2001;
    physics.md §3): a slab cleft over a muscle surface cut by junctional folds
    (:func:`cleftsim.synapse.neuromuscular_junction`), nAChR on the crests, AChE on the crests and
    in the folds, one quantum of ACh released through an expanding fusion pore above a fold.

    Defaults: ``n_ach`` 6200 per quantum (6000–10000; 6200 in the MCell model [P]); ``D`` 0.21
    µm²/ms for ACh and choline [P]; ``dt`` 0.25 µs (at 1 µs the dense, fast nAChR binding on hit
    falls short, see docs/algorithms.md); nAChR (:func:`cleftsim.schemes.nachr_nmj`) at
    ``achr_density`` 7250 µm⁻² on the crests [?]; AChE (:func:`cleftsim.schemes.ache_nmj`) at
    ``ache_density`` 2500 µm⁻² [?] on crests and folds (the basal lamina is not modelled);
    ``pore_tau`` 72 µs so half the quantum is out by 50 µs, with ``pore_expansion`` None (a
    constant pore) [?, physics.md §3: ~200 µs, half by ~50 µs]; ``release_site`` the fold whose
    opening the vesicle faces; ``g_achr`` 60 pS [?], ``reversal`` 0 mV [?], ``holding`` −80 mV [?].
    Geometry parameters as :func:`cleftsim.synapse.neuromuscular_junction`.
    """
    defaults = {"dt": "0.25 us", "seed": None, "height": "50 nm", "length": "2 um", "width": "1 um",
                "fold_depth": "1 um", "fold_width": "50 nm", "fold_spacing": "0.5 um", "extracellular": "300 nm",
                "outer": "absorb", "D": "0.21 um^2/ms", "n_ach": 6200, "achr_density": "7250 /um^2",
                "ache_density": "2500 /um^2", "ap_times": (0.0,), "release_probability": 1.0, "quantal_cv": 0.0,
                "pore_tau": "72 us", "pore_expansion": None, "release_site": 0, "g_achr": "60 pS",
                "reversal": "0 mV", "holding": "-80 mV"}
    p = _settings("neuromuscular_junction", defaults, overrides)
    if p["outer"] not in ("absorb", "reflect"):
        raise ModelError(f"neuromuscular_junction: outer must be 'absorb' or 'reflect', got {p['outer']!r}")
    syn = synapse.neuromuscular_junction(height=p["height"], length=p["length"], width=p["width"],
                                         fold_depth=p["fold_depth"], fold_width=p["fold_width"],
                                         fold_spacing=p["fold_spacing"], extracellular=p["extracellular"])
    site = p["release_site"]
    if not isinstance(site, int) or not 0 <= site < len(syn.release_sites):
        raise ModelError(f"neuromuscular_junction: release_site must be a fold index 0..{len(syn.release_sites) - 1}, "
                         f"got {site!r}")
    m = Model(dt=p["dt"], seed=p["seed"])
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
    stim = release.stimulus(p["ap_times"], p["release_probability"], n_sites=1,
                            quantal=release.quantal(p["n_ach"], cv=p["quantal_cv"]))
    m.release_vesicles(ach, stim, at=[syn.release_sites[site]],
                       pore=release.fusion_pore(p["pore_tau"], expansion=p["pore_expansion"]))
    m.count(ach)
    m.count_released(ach)
    m.count(ach, inside=syn.cleft, name="ACh_cleft")
    m.count_absorbed(ach, obj.region("outer"), name="ACh_escaped")
    m.count_events(ache.reaction("AE -> AcE + Ch"), name="ACh_hydrolysed")
    m.count(achr.open, name="AChR_open")
    m.observe_current(Channel(achr, p["g_achr"], p["reversal"]), holding=p["holding"])
    m.metadata.update(preset="neuromuscular_junction", parameters=dict(p), synapse=syn)
    return m
