"""Kinetic schemes and concentration waveforms against the reference values of docs/reference.md.

Well-mixed responses are computed with schemes.well_mixed on a 1 µs grid (10 µs for NMDA) and
compared with the printed digits of docs/reference.md (§2.1, §2.2); peak times to ±0.01 ms (AMPA) and
±0.5 ms (NMDA, printed as "18 ms"). The integrator itself is checked against the closed forms of
docs/reference.md §1.4.
"""
import json
import math

import numpy as np
import pytest
from scipy import integrate

from cleftsim import Species
from cleftsim import waveforms as wf
from cleftsim.errors import UnitError
from cleftsim.schemes import (
    NMDAScheme,
    Scheme,
    SchemeError,
    ache_nmj,
    ampa_jonas1993,
    glutamate_transporter,
    mg_block,
    nachr_nmj,
    nmda,
    well_mixed,
)

US = 1e-6
MS = 1e-3
LIBRARY = [ampa_jonas1993, nmda, lambda: nmda(rates="destexhe1996"), nachr_nmj, ache_nmj, glutamate_transporter]


def peak(scheme, wave, t_end, dt=US, ligand="glu"):
    t = np.arange(0.0, t_end + dt / 2, dt)
    o = well_mixed(scheme, {ligand: wave}, t)["O"]
    i = int(o.argmax())
    return o[i], t[i], t, o


# -- AMPA, Jonas, Major & Sakmann 1993 (docs/reference.md §2.1) ----------------------------------
@pytest.fixture(scope="module")
def ampa_pulse():
    return peak(ampa_jonas1993(), wf.pulse("1 mM", duration="1 ms"), 10 * MS)


def test_ampa_pulse_peak(ampa_pulse):
    p, tp, _, _ = ampa_pulse                      # computed: 0.5949 at 1.052 ms
    assert p == pytest.approx(0.595, abs=5e-4)
    assert tp == pytest.approx(1.05 * MS, abs=0.01 * MS)


def test_ampa_deactivation_tau(ampa_pulse):
    # log-linear fit 2–7 ms after the end of the pulse, when the fast components have decayed
    _, _, t, o = ampa_pulse
    m = (t >= 3 * MS) & (t <= 8 * MS)
    tau = -1.0 / np.polyfit(t[m], np.log(o[m]), 1)[0]    # computed: 2.550 ms
    assert tau == pytest.approx(2.55 * MS, abs=0.005 * MS)


@pytest.mark.parametrize("c, p_ref, t_ref", [("1 mM", 0.610, 1.37 * MS), ("10 mM", 0.754, 0.93 * MS)])
def test_ampa_step_peaks(c, p_ref, t_ref):
    p, tp, _, _ = peak(ampa_jonas1993(), wf.step(c), 3 * MS)   # computed: 0.6103 at 1.367 ms; 0.7543 at 0.924 ms
    assert p == pytest.approx(p_ref, abs=5e-4)
    assert tp == pytest.approx(t_ref, abs=0.01 * MS)


def test_ampa_equilibrium():
    s = ampa_jonas1993()
    # stationary distribution of the rate matrix at 1 mM, independent of the integrator
    n, idx = len(s.states), {x: i for i, x in enumerate(s.states)}
    q = np.zeros((n, n))
    for tr in s.transitions():
        k = tr.k * (1e-3 if tr.ligand else 1.0)
        q[idx[tr.target], idx[tr.source]] += k
        q[idx[tr.source], idx[tr.source]] -= k
    w, v = np.linalg.eig(q)
    pi = np.real(v[:, np.argmin(abs(w))])
    pi /= pi.sum()
    assert pi[idx["O"]] == pytest.approx(0.0174, abs=5e-5)       # computed: 0.01738
    late = well_mixed(s, {"glu": "1 mM"}, [0.0, 200.0])
    assert late["O"][-1] == pytest.approx(pi[idx["O"]], rel=1e-6)


def test_ampa_detailed_balance():
    s = ampa_jonas1993()
    assert s.loop_ratio(["C1", "C2", "C4", "C3"]) == pytest.approx(1.006, abs=5e-4)    # 1.00599
    assert s.loop_ratio(["C2", "O", "C5", "C4"]) == pytest.approx(0.9986, abs=5e-5)    # 0.99862


def test_ampa_structure():
    s = ampa_jonas1993(ligand=Species("Glu", 330.0, 0), D="0.01 um^2/s")
    assert s.ligands == ("Glu",) and s.D == pytest.approx(0.01)
    assert s.sets["open"] == ("O",) and set(s.sets["desensitised"]) == {"C3", "C4", "C5"}
    assert set(s.sets["closed"]) == set(s.states) - {"O"}
    assert {k: v["Glu"] for k, v in s.bound.items()} == {"C1": 1, "C2": 2, "O": 2, "C3": 1, "C4": 2, "C5": 2}
    assert set(s.sets["bound"]) == {x for x in s.states if s.bound.get(x, {}).get("Glu", 0) >= 1}
    assert s.rate("C0", "C1") == 4.59e6 and s.rate("C5", "C4") == 190.4


# -- NMDA (docs/reference.md §2.2) ----------------------------------------------------------------
def test_nmda_lester_jahr_pulse():
    p, tp, _, _ = peak(nmda(), wf.pulse("1 mM", duration="1 ms"), 60 * MS, dt=10 * US)
    assert p == pytest.approx(0.382, abs=5e-4)                  # computed: 0.3815 at 17.95 ms
    assert tp == pytest.approx(18 * MS, abs=0.5 * MS)


def test_nmda_rate_sets():
    lj, dx = nmda(), nmda(rates="destexhe1996")
    assert lj.rate("C2", "C1") == lj.rate("C1", "C0") == 6.7      # Ru from both bound states
    assert (dx.rate("C2", "O"), dx.rate("O", "C2"), dx.rate("C2", "D")) == (46.5, 73.8, 8.4)
    custom = nmda(rates={"Ru": 1, "Rd": 2, "Rr": 3, "Ro": 4, "Rc": 5})
    assert custom.rate("D", "C2") == 3 and custom.rate("C0", "C1") == 5e6
    with pytest.raises(SchemeError, match="lester_jahr1992"):
        nmda(rates="jahr")
    with pytest.raises(SchemeError, match="missing"):
        nmda(rates={"Ru": 1})


def test_mg_block():
    def by_hand(v_mV, mg_mM):
        return 1.0 / (1.0 + mg_mM / 3.57 * math.exp(-0.062 * v_mV))

    assert mg_block(-0.070) == pytest.approx(by_hand(-70, 1.0), rel=1e-12)
    assert mg_block("-70 mV") == pytest.approx(0.044471, abs=1e-6)
    assert mg_block("40 mV", mg="2 mM") == pytest.approx(by_hand(40, 2.0), rel=1e-12)
    assert mg_block(0.0, mg=0.0) == 1.0
    v = np.array([-0.1, -0.04, 0.0, 0.02])
    np.testing.assert_allclose(mg_block(v, 1.2e-3), [by_hand(x * 1e3, 1.2) for x in v], rtol=1e-12)
    s = nmda(mg="1.5 mM")
    assert isinstance(s, NMDAScheme) and s.mg == pytest.approx(1.5e-3)
    assert s.mg_block("-60 mV") == pytest.approx(by_hand(-60, 1.5), rel=1e-12)
    with pytest.raises(UnitError, match="voltage"):
        mg_block("1 ms")
    with pytest.raises(UnitError, match="mg"):
        mg_block(-0.07, "-1 mM")


# -- NMJ and transporter --------------------------------------------------------------------------
def test_nmj_schemes():
    r, e = nachr_nmj(), ache_nmj()
    assert r.rate("C0", "C1a") == r.rate("C1b", "C2") == 1.35e8 and r.rate("O", "C2") == 1250
    ae = [tr for tr in e.transitions() if (tr.source, tr.target) == ("AE", "AcE")]
    assert len(ae) == 1 and ae[0].released == ("Ch",) and ae[0].k == 1.12e5
    assert e.rate("AAcE", "AE") == 1867 and e.rate("AcE", "AAcE") == 5e6
    assert e.ligands == ("ACh", "Ch") and e.sets["free"] == ("E",)


def test_transporter():
    s = glutamate_transporter()
    tr = [x for x in s.transitions() if x.source == "TG" and x.target == "Tstar"]
    assert tr[0].released == () and tr[0].ligand is None           # glutamate is carried away
    cycle = 1 / s.rate("TG", "Tstar") + 1 / s.rate("Tstar", "T")
    assert 12 * MS <= cycle <= 70 * MS


# -- every library scheme -------------------------------------------------------------------------
@pytest.mark.parametrize("make", LIBRARY)
def test_library_scheme_consistent(make):
    s = make()
    names = set(s.states) | set(s.ligands)
    for tr in s.transitions():
        assert {tr.source, tr.target} <= set(s.states)
        assert set(tr.equation.replace("->", " ").replace("+", " ").split()) <= names
        held = lambda state, lig: s.bound.get(state, {}).get(lig, 0)  # noqa: E731
        if tr.ligand:                                               # binding adds one molecule
            assert held(tr.target, tr.ligand) == held(tr.source, tr.ligand) + 1, tr
        for lig in tr.released:                                     # unbinding returns one
            if held(tr.source, lig):
                assert held(tr.target, lig) == held(tr.source, lig) - 1, tr
    assert s.initial in s.states and all(set(v) <= set(s.states) for v in s.sets.values())
    assert s.citation


@pytest.mark.parametrize("make", LIBRARY)
def test_occupancy_conserved(make):
    s = make()
    t = np.linspace(0, 30 * MS, 301)
    binding = {tr.ligand for tr in s.transitions() if tr.ligand}
    occ = well_mixed(s, {lig: wf.exponential("2 mM", tau="0.5 ms", start="0.25 ms") for lig in binding}, t)
    total = sum(occ.values())
    np.testing.assert_allclose(total, 1.0, atol=1e-8)
    assert all(np.all(v > -1e-9) for v in occ.values())
    assert occ[s.initial][0] == 1.0 and occ[s.initial][-1] < 1.0


# -- the integrator against closed forms (docs/reference.md §1.4) ---------------------------------
def test_well_mixed_two_state_closed_form():
    s = Scheme("X", ("A", "B"), "A", (("A <-> B", (30.0, 70.0)),), {}, (), {})
    t = np.linspace(0, 0.1, 51)
    occ = well_mixed(s, {}, t)
    np.testing.assert_allclose(occ["A"], 0.7 + 0.3 * np.exp(-100 * t), atol=1e-8)


def test_well_mixed_jumps_and_late_start():
    # L + R <-> RL under a pulse: pseudo-first order with k_on·c during the pulse only
    kon, koff, c = 1e7, 200.0, 1e-4
    s = Scheme("R", ("R", "RL"), "R", (("L + R <-> RL", (kon, koff)),), {"bound": ("RL",)}, ("L",), {"RL": {"L": 1}})
    w = wf.pulse(c, start="1 ms", duration="2 ms")
    t = np.arange(0, 6e-3 + 1e-12, 1e-4)
    occ = well_mixed(s, {"L": w}, t)["RL"]
    k = kon * c + koff
    eq = kon * c / k
    during = eq * (1 - np.exp(-k * (t - 1e-3)))
    end = eq * (1 - math.exp(-k * 2e-3))
    ref = np.where(t < 1e-3, 0.0, np.where(t < 3e-3, during, end * np.exp(-koff * (t - 3e-3))))
    np.testing.assert_allclose(occ, ref, atol=1e-8)
    late = well_mixed(s, {Species("L", 100.0, 0): w}, t[25:])["RL"]   # times from 2.5 ms: still from 0
    np.testing.assert_allclose(late, occ[25:], atol=1e-8)


def test_well_mixed_bad_input():
    s = ampa_jonas1993()
    with pytest.raises(SchemeError, match="concentration for ligand 'glu'"):
        well_mixed(s, {}, [0, 1e-3])
    with pytest.raises(SchemeError, match="not a ligand"):
        well_mixed(s, {"ACh": 1e-3}, [0, 1e-3])
    with pytest.raises(ValueError, match="increasing"):
        well_mixed(s, {"glu": 1e-3}, [0, 2e-3, 1e-3])
    with pytest.raises(ValueError, match="start at 0"):
        well_mixed(s, {"glu": 1e-3}, [-1e-3, 1e-3])
    with pytest.raises(SchemeError, match="sum to 1"):
        well_mixed(s, {"glu": 1e-3}, [0, 1e-3], initial={"C0": 0.5})
    with pytest.raises(UnitError, match="concentrations\\['glu'\\]"):
        well_mixed(s, {"glu": "1 ms"}, [0, 1e-3])
    occ = well_mixed(s, {"glu": 0.0}, [0, 1e-3], initial={"O": 1.0})
    assert occ["O"][0] == 1.0 and occ["O"][1] < 1.0


def test_bad_schemes():
    ok = dict(name="X", states=("A", "B"), initial="A", reactions=(("L + A <-> B", (1e6, 10.0)),),
              sets={"b": ("B",)}, ligands=("L",), bound={"B": {"L": 1}})
    Scheme(**ok)
    cases = [({"reactions": (("M + A -> B", 1e6),)}, "neither states"),
             ({"initial": "C"}, "initial state 'C'"),
             ({"sets": {"b": ("C",)}}, "set 'b'"),
             ({"ligands": ("L", "A")}, "both states and ligands"),
             ({"reactions": (("A + B -> B", 1.0),)}, "exactly one state"),
             ({"reactions": (("A -> B", (1.0, 2.0)),)}, "one rate"),
             ({"reactions": (("A -> B", -1.0),)}, ">= 0"),
             ({"reactions": (("A -> B",),)}, "pair"),
             ({"bound": {"B": {"L": 1.5}}}, "whole number"),
             ({"bound": {"B": {"Q": 1}}}, "not a ligand"),
             ({"states": ("A", "A", "B")}, "more than once"),
             ({"name": "2X"}, "not a valid name")]
    for change, message in cases:
        with pytest.raises(ValueError, match=message):
            Scheme(**{**ok, **change})
    assert Scheme(**ok, D="1 um^2/ms").D == pytest.approx(1000.0)


# -- waveforms --------------------------------------------------------------------------------------
WAVES = [wf.constant("10 uM"), wf.step("1 mM", start="2 ms"), wf.step(3e-3),
         wf.pulse("1 mM", duration="1 ms"), wf.pulse(2e-3, start=0.5e-3, duration="0.25 ms"),
         wf.exponential("3 mM", tau="1.2 ms"), wf.exponential(1e-3, tau=0.4e-3, start="1 ms")]
INTERVALS = [(0.0, 5e-3), (0.2e-3, 0.6e-3), (0.6e-3, 0.7e-3), (0.7e-3, 1.3e-3), (0.9e-3, 2.5e-3),
             (1.9e-3, 2.1e-3), (2.5e-3, 4e-3), (1e-3, 2e-3), (0.0, 0.5e-3)]


@pytest.mark.parametrize("w", WAVES, ids=repr)
def test_waveform_mean_matches_quadrature(w):
    for a, b in INTERVALS:
        edges = [x for x in w.breakpoints if a < x < b]
        num, _ = integrate.quad(lambda x: w(x), a, b, points=edges or None, epsabs=1e-16, epsrel=1e-12, limit=200)
        assert w.mean(a, b) == pytest.approx(num / (b - a), rel=1e-9, abs=1e-16), (a, b)


def test_waveform_values_and_edges():
    p = wf.pulse("1 mM", start="1 ms", duration="1 ms")
    assert p.breakpoints == pytest.approx((1e-3, 2e-3))
    np.testing.assert_allclose(p([0.999e-3, 1e-3, 1.999e-3, 2e-3]), [0, 1e-3, 1e-3, 0])   # [start, end)
    assert isinstance(p(1.5e-3), float) and p(1.5e-3) == 1e-3
    e = wf.exponential("2 mM", tau="1 ms", start="1 ms")
    assert e(0.5e-3) == 0.0 and e(1e-3) == 2e-3 and e(2e-3) == pytest.approx(2e-3 / math.e)
    assert wf.step(1e-3, start=1e-3).breakpoints == (1e-3,) and wf.constant(1).breakpoints == ()
    assert wf.as_waveform(p) is p and wf.as_waveform("5 uM")(0.3) == pytest.approx(5e-6)
    assert p.mean("1 ms", "3 ms") == pytest.approx(0.5e-3)


@pytest.mark.parametrize("w", WAVES, ids=repr)
def test_waveform_repr_and_describe(w):
    d = w.describe()
    assert json.loads(json.dumps(d)) == d and d["kind"] in repr(w)
    again = eval(repr(w), vars(wf))
    assert _close(again.describe(), d)


def _close(a, b):
    return a.keys() == b.keys() and all(
        a[k] == b[k] if isinstance(a[k], str) else math.isclose(a[k], b[k], rel_tol=1e-6) for k in a)


@pytest.mark.parametrize("call, message", [
    (lambda: wf.constant("-1 mM"), "concentration c must be >= 0"),
    (lambda: wf.constant(float("nan")), "not finite"),
    (lambda: wf.step("1 ms"), "not a concentration"),
    (lambda: wf.step(1e-3, start=-1e-3), "start must be >= 0"),
    (lambda: wf.pulse(1e-3), "duration="),
    (lambda: wf.pulse(1e-3, duration=0), "duration must be > 0"),
    (lambda: wf.pulse(1e-3, duration="1 mM"), "duration"),
    (lambda: wf.exponential(1e-3, tau="-1 ms"), "tau must be > 0"),
    (lambda: wf.exponential(float("inf"), tau=1e-3), "not finite"),
    (lambda: wf.constant(1e-3).mean(2e-3, 1e-3), "t1 > t0"),
    (lambda: wf.as_waveform(lambda t: t), "waveform"),
    (lambda: wf.as_waveform("abc"), "concentration"),
])
def test_waveform_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
