"""Bad input to the library functions (cs.release, cs.schemes, cs.waveforms, cs.features,
cs.plot) is refused with a message that names the function, the argument, the value and the
fix, instead of passing silently or failing in Python's, numpy's or matplotlib's words; inputs
the rest of cleftsim accepts (time strings, one name where a list of names is expected, a
model's scheme handle) are accepted here too."""
import math
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cleftsim as cs  # noqa: E402
from cleftsim import release as rl  # noqa: E402
from cleftsim import waveforms as wf  # noqa: E402
from cleftsim.errors import SchemeError
from cleftsim.release import ReleaseError  # noqa: E402
from cleftsim.results.features import trace_features  # noqa: E402
from cleftsim.schemes import Scheme, ampa_jonas1993, well_mixed  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def model():
    m = cs.Model(dt="1 us", seed=1)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    m.add_geometry(cs.geometry.box(size=(0.2, 0.2, 0.05)), name="box")
    m.release(glu, n=20, at=(0, 0, 0))
    m.count(glu, name="glu")
    return m


@pytest.fixture(scope="module")
def result(model):
    return model.run(t_end="10 us", every="1 us")


@pytest.fixture
def fig():
    f = plt.figure()
    yield f
    plt.close(f)


# == release ======================================================================================
@pytest.mark.parametrize("call, match", [
    (lambda: rl.quantal(3000, cv=30), r"quantal: cv must be a coefficient of variation \(SD/mean\) from 0 to 2 .*"
                                      r"got 30; for an SD of 30 molecules give cv=30/3000 = 0.01"),
    (lambda: rl.fusion_pore(72), r"fusion_pore: tau is 72 s, longer than the 10 ms .*did you mean '72 us'\?"),
    (lambda: rl.fusion_pore("50 us", expansion=40), r"fusion_pore: expansion is 40 s.*did you mean '40 us'\?"),
    (lambda: rl.asynchronous(0.1, 5), r"asynchronous: tau is 5 s, longer than the 1 s .*did you mean '5 ms'\?"),
    (lambda: rl.asynchronous(0.1, "5 ms", delay=0.5), r"asynchronous: delay is 500 ms.*did you mean '0.5 ms'\?"),
])
def test_implausible_release_parameters_are_refused_with_the_fix(call, match):
    with pytest.raises(ReleaseError, match=match):
        call()


def test_release_ranges_are_those_of_the_presets():
    assert rl.quantal(100, cv=2).cv == 2 and rl.fusion_pore("10 ms").tau == pytest.approx(0.01)
    with pytest.raises(ReleaseError, match="from 0 to 2"):
        rl.quantal(100, cv=2.01)
    with pytest.raises(ReleaseError, match="fusion_pore: tau is 11 ms"):
        rl.fusion_pore("11 ms")
    with pytest.raises(cs.ModelError, match="quantal_cv=30"):
        cs.presets.ca1_synapse(quantal_cv=30)


def test_vesicle_content_is_at_most_1e5_molecules_so_every_count_fits():
    for call in (lambda: rl.quantal(1e19), lambda: rl.quantal(1e30, cv=0.3),
                 lambda: rl.quantal(1e5 + 1, cv=0.3, distribution="normal"), lambda: rl.stimulus(0, 1.0, quantal=1e19)):
        with pytest.raises(ReleaseError, match=r"must be at most 100000 molecules per vesicle \(a vesicle of 20 nm"):
            call()
    for q in (rl.quantal(1e5), rl.quantal(1e5, cv=2), rl.quantal(1e5, cv=2, distribution="normal"),
              rl.quantal(1e5, distribution="poisson")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            n = q.sample(np.random.default_rng(1), 1000)
        assert n.dtype == np.int64 and n.min() >= 0


@pytest.mark.parametrize("call, match", [
    (lambda: rl.realise(rl.stimulus(0, 0.5), 42),
     r"realise: rng must be a numpy Generator, e.g. rng = np.random.default_rng\(42\) .*got 42"),
    (lambda: rl.realise(0.5, RNG), r"realise: stim must come from stimulus\(...\), got 0.5"),
    (lambda: rl.molecule_times(np.zeros(0, rl.RELEASE_DTYPE), rl.instantaneous(), 7), "molecule_times: rng"),
    (lambda: rl.molecule_times([(0.0, 0, 0, 3)], rl.instantaneous(), RNG), "molecule_times: events must be the"),
    (lambda: rl.quantal(3000, cv=0.3).sample(None, 3), "Quantal.sample: rng must be a numpy Generator"),
    (lambda: rl.quantal(3000).sample(RNG, 2.5), r"Quantal.sample: the number of draws .* got 2.5"),
    (lambda: rl.fusion_pore("50 us").sample(RNG, -1), r"Pore.sample: the number of draws .* got -1"),
    (lambda: rl.asynchronous(0.2, "5 ms").sample(1, 3), "Latency.sample: rng"),
])
def test_generators_draws_and_events_are_checked(call, match):
    with pytest.raises(ReleaseError, match=match):
        call()


@pytest.mark.parametrize("ap_times, match", [
    ({"a": 0}, r"ap_times must be a time or a sequence of times .*not a dict: \{'a': 0\}"),
    ({0.0, 0.02}, "not a set"),
    ("a", r"ap_times\[0\]: 'a' is not a time; give e.g. '1 ms'"),      # pint reads 'a' as a year
    (["0 ms", "ms"], r"ap_times\[1\]: 'ms' is not a time"),
    ([True], r"ap_times\[0\]: True is not a time"),
])
def test_ap_times_must_be_times(ap_times, match):
    with pytest.raises(ReleaseError, match=match):
        rl.stimulus(ap_times, 0.5)


def test_distributions_take_time_strings_and_refuse_text_counts():
    pore, lat = rl.fusion_pore("50 us"), rl.asynchronous(0.3, "2 ms", delay="0.5 ms")
    assert pore.cdf("50 us") == pytest.approx(pore.cdf(50e-6), rel=1e-15)
    assert np.array_equal(lat.cdf(["1 ms", 3e-3]), lat.cdf([1e-3, 3e-3]))
    with pytest.raises(ReleaseError, match=r"Pore.cdf: t: '50 nm' is not a time"):
        pore.cdf("50 nm")
    with pytest.raises(ReleaseError, match=r"Quantal.pmf: n: expected a number, got '3000'"):
        rl.quantal(3000, cv=0.3).pmf("3000")


# == schemes =====================================================================================
def test_well_mixed_takes_time_strings_and_a_model_handle(model):
    s = ampa_jonas1993()
    ref = well_mixed(s, {"glu": "1 mM"}, [0.0, 1e-3])["O"]
    assert np.array_equal(well_mixed(s, {"glu": "1 mM"}, ["0 ms", "1 ms"])["O"], ref)
    assert np.array_equal(well_mixed(s, {"glu": "1 mM"}, "1 ms")["O"], ref[1:])
    m = cs.Model(dt="1 us")
    glu = m.add_species("glu", D=330)
    handle = m.add_scheme(ampa_jonas1993(ligand=glu))
    assert np.array_equal(well_mixed(handle, {glu: "1 mM"}, [0.0, 1e-3])["O"], ref)


@pytest.mark.parametrize("call, match", [
    (lambda s: well_mixed(s, "1 mM", [0, 1e-3]),
     r"well_mixed: concentrations must map each ligand to its concentration, e.g. \{'glu': '1 mM'\}; got '1 mM'"),
    (lambda s: well_mixed(s, ["1 mM"], [0, 1e-3]), r"concentrations must map .*; got \['1 mM'\]"),
    (lambda s: well_mixed(s, {"glu": "1 mM"}, [0, 1e-3], initial={"C0": "all"}),
     r"well_mixed: initial\['C0'\] must be a fraction from 0 to 1, got 'all'; .*give initial='C0'"),
    (lambda s: well_mixed("ampa", {"glu": "1 mM"}, [0, 1e-3]),
     r"well_mixed: scheme must be a Scheme, e.g. cs.schemes.ampa_jonas1993\(\), got 'ampa'"),
    (lambda s: well_mixed(ampa_jonas1993, {"glu": "1 mM"}, [0, 1e-3]),
     r"got the function ampa_jonas1993 \(call it: ampa_jonas1993\(\)\)"),
])
def test_well_mixed_refuses_what_it_cannot_read(call, match):
    with pytest.raises(SchemeError, match=match):
        call(ampa_jonas1993())


def test_well_mixed_names_a_bad_time():
    with pytest.raises(cs.UnitError, match=r"well_mixed: t\[1\]: '1 mM' is not a time"):
        well_mixed(ampa_jonas1993(), {"glu": 1e-3}, [0, "1 mM"])


@pytest.mark.parametrize("rates, match", [
    ([6.7, 15.2, 9.4, 83.8, 83.8], r"nmda: rates must be the name of a rate set \('lester_jahr1992', "
                                   r"'destexhe1996'\) or a mapping .*; for these values in the order Ru, Rd, Rr, Ro, "
                                   r"Rc give rates=dict\(Ru=6.7, Rd=15.2, Rr=9.4, Ro=83.8, Rc=83.8\)"),
    (None, r"nmda: rates must be the name of a rate set .*, got None$"),
])
def test_nmda_rates_are_a_set_name_or_a_mapping(rates, match):
    with pytest.raises(SchemeError, match=match):
        cs.schemes.nmda(rates=rates)


def test_mg_block_takes_a_list_of_voltage_strings():
    assert np.allclose(cs.schemes.mg_block(["-70 mV", "-40 mV"]), cs.schemes.mg_block(np.array([-0.07, -0.04])))
    with pytest.raises(cs.UnitError, match=r"mg_block: voltage\[1\]: '-40 mM' is not a voltage"):
        cs.schemes.mg_block(["-70 mV", "-40 mM"])


BINDING = dict(name="X", states=("A", "B"), initial="A", reactions=(("L + A -> B", 1e6), ("B -> A + L", 10.0)),
               sets={}, ligands=("L",), bound={"B": {"L": 1}})


@pytest.mark.parametrize("change, match", [
    ({"states": "AB"}, r"scheme 'X': states must be a sequence of names, e.g. .*, not the string 'AB'; for one "
                       r"name give \('AB',\)"),
    ({"ligands": "L"}, r"scheme 'X': ligands must be a sequence of names.*not the string 'L'"),
    ({"bound": {"B": 1}}, r"scheme 'X': bound\['B'\] \(ligand -> molecules held\) must be a mapping, e.g. "
                          r"bound=\{'B': \{'L': 1\}\}; got 1"),
    ({"bound": 3}, r"scheme 'X': bound must be a mapping"),
    ({"bound": {"B": {"L": 5}}}, r"scheme 'X': bound\['B'\] says state 'B' holds 5 'L', but reaction L \+ A -> B "
                                 r"makes it from 'A', which holds 0, and binds one; give bound\['B'\] = \{'L': 1\}"),
    ({"bound": {}}, r"state 'B' holds 0 'L', but reaction L \+ A -> B"),
    ({"reactions": (("A -> B", 1.0),)}, r"state 'B' holds 1 'L', but reaction A -> B makes it from 'A', which "
                                        r"holds 0, and binds none; give bound\['B'\] = \{'L': 0\}"),
    ({"states": ("A", "B", "C"), "reactions": (("L + A -> B", 1e6), ("B -> C + L", 10.0)),
      "bound": {"B": {"L": 1}, "C": {"L": 1}}}, r"state 'C' holds 1 'L', but reaction B -> C \+ L .*releases 1"),
])
def test_scheme_refuses_strings_for_names_and_bound_counts_the_reactions_contradict(change, match):
    with pytest.raises(SchemeError, match=match):
        Scheme(**{**BINDING, **change})


# == waveforms ===================================================================================
WAVES = [wf.constant("1 mM"), wf.step("1 mM", start="0.5 ms"), wf.pulse("1 mM", duration="2 ms"),
         wf.exponential("1 mM", tau="1 ms")]


@pytest.mark.parametrize("w", WAVES, ids=repr)
def test_a_waveform_takes_time_strings(w):
    assert w("1 ms") == w(1e-3)
    assert np.array_equal(w(["0.2 ms", 3e-3]), w(np.array([0.2e-3, 3e-3])))
    with pytest.raises(TypeError, match=r"t\[1\]: expected a number or a quantity string, got None"):
        w([0.0, None])


@pytest.mark.parametrize("w", WAVES, ids=repr)
def test_a_reversed_interval_is_refused_by_every_waveform(w):
    with pytest.raises(ValueError, match=r"\.integral\(t0, t1\) needs t1 >= t0, got t0 = '1 ms', t1 = '0 s'; swap"):
        w.integral("1 ms", "0 ms")
    with pytest.raises(ValueError, match=r"\.mean\(t0, t1\) needs t1 > t0"):
        w.mean("1 ms", "0 ms")
    assert w.integral("1 ms", "1 ms") == 0.0


# == features ====================================================================================
T, Y = [0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 2.0, 1.0, 0.0]


def test_features_take_time_strings():
    ms = [t * 1e-3 for t in T]
    ref = trace_features(ms, Y, t0=1e-3)
    assert trace_features([f"{t:g} ms" for t in T], Y, t0="1 ms") == ref
    assert ref["time_to_peak"] == pytest.approx(1e-3)


@pytest.mark.parametrize("kw, error, match", [
    (dict(trace=["a", "b", "c", "d", "e"]), TypeError, r"trace_features: trace\[0\]: expected a number, got 'a'"),
    (dict(baseline="x"), TypeError, r"trace_features: baseline must be a number in the trace's units, got 'x'"),
    (dict(trace=[0, 1, math.nan, 1, 0]), ValueError, r"trace_features: trace\[2\] is nan; features need finite"),
    (dict(trace=[0, math.inf, 1, 1, 0]), ValueError, r"trace_features: trace\[1\] is inf"),
    (dict(trace=[Y, [0, 1, 2, -math.inf, 0]]), ValueError, r"trace_features: trace\[1, 3\] is -inf"),
    (dict(times=[0, 1, 2, math.nan, 4]), ValueError, r"trace_features: times\[3\] is nan"),
    (dict(t0=10), ValueError, r"trace_features: t0 = 10 s is after the last sample \(4 s\)"),
])
def test_features_refuse_text_non_finite_samples_and_a_late_t0(kw, error, match):
    args = {"times": T, "trace": Y, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # no numpy RuntimeWarning on the way
        with pytest.raises(error, match=match):
            trace_features(args.pop("times"), args.pop("trace"), **args)


def test_a_peak_before_t0_has_no_time_to_peak():
    f = trace_features(T, Y, t0=3.0)
    assert math.isnan(f["time_to_peak"]) and f["peak"] == 2.0
    assert trace_features(T, Y, t0=4.0)["peak"] == 2.0        # t0 at the last sample is allowed


# == plot ========================================================================================
def test_geometry_needs_a_3d_axes_and_section_a_2d_one(model, fig):
    with pytest.raises(TypeError, match=r"geometry: ax is a 2D Axes, but geometry draws in 3D; create the Axes with "
                                        r"projection='3d': ax = fig.add_subplot\(projection='3d'\)"):
        cs.plot.geometry(fig.add_subplot(), model)
    with pytest.raises(TypeError, match=r"section: ax is a 3D Axes, but section draws in 2D; create the Axes "
                                        r"without projection='3d'"):
        cs.plot.section(fig.add_subplot(projection="3d"), model)


def test_geometry_takes_one_region_or_species_and_checks_the_molecule_limit(model, fig):
    ax = fig.add_subplot(projection="3d")
    cs.plot.geometry(ax, model, regions="box.top")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["top"]
    cs.plot.geometry(ax, model, sim=model.simulation(), species="glu", regions=("box.top",))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["top", "glu (n = 20)"]
    with pytest.raises(ValueError, match=r"geometry: max_molecules must be a whole number >= 0, got -1"):
        cs.plot.geometry(ax, model, sim=model.simulation(), max_molecules=-1)


def test_save_checks_every_format_first(fig, tmp_path):
    assert cs.plot.save(fig, tmp_path / "one", formats="png") == [tmp_path / "one.png"]
    with pytest.raises(ValueError, match=r"save: format 'docx' is not supported; choose from \[.*'png'.*\] "
                                         r"\(nothing was written\)"):
        cs.plot.save(fig, tmp_path / "two", formats=("png", "docx"))
    assert not list(tmp_path.glob("two.*"))
    with pytest.raises(TypeError, match=r"save: pass the Figure, ax.figure, not an Axes"):
        cs.plot.save(fig.add_subplot(), tmp_path / "three")


@pytest.mark.parametrize("call, error, match", [
    (lambda ax, r, sim: cs.plot.timecourse(ax, r, "glu", trials=2.5), ValueError,
     r"timecourse: trials must be a whole number >= 0, got 2.5"),
    (lambda ax, r, sim: cs.plot.timecourse(None, r, "glu"), TypeError,
     r"timecourse: ax must be a matplotlib 2D Axes \(fig, ax = plt.subplots\(\)\), got NoneType"),
    (lambda ax, r, sim: cs.plot.timecourse(r, ax, "glu"), TypeError,
     r"got Result; the Axes comes first: timecourse\(ax, ...\)"),
    (lambda ax, r, sim: cs.plot.timecourse(ax, sim, "glu"), TypeError,
     r"timecourse: data must be a Result \(model.run\(\)\) or an EnsembleResult .*got Simulation; .*sim.sample"),
    (lambda ax, r, sim: cs.plot.current(ax, sim), TypeError, r"current: data must be a Result"),
    (lambda ax, r, sim: cs.plot.timecourse(ax, r, "glu", band="ci", level=95), ValueError,
     r"timecourse: level must be a confidence level between 0 and 1, e.g. 0.95, got 95; for 95 % give level=0.95"),
    (lambda ax, r, sim: cs.plot.concentration(ax, [0, 1], [1, 2, 3]), ValueError,
     r"concentration: values has shape \(3,\) and times \(2,\); give one entry of values per time"),
    (lambda ax, r, sim: cs.plot.concentration(ax, [0, 1, 2], [1, 2, 3], exact=[1, 2]), ValueError,
     r"concentration: exact has shape \(2,\) and times \(3,\)"),
    (lambda ax, r, sim: cs.plot.concentration(ax, [0, 1, 2], [1, 2, 3], errors=[1, 2]), ValueError,
     r"concentration: errors has shape \(2,\) and values \(3,\); .* \(or one error for all\)"),
])
def test_time_course_arguments_are_checked(model, result, fig, call, error, match):
    with pytest.raises(error, match=match):
        call(fig.add_subplot(), result, model.simulation())
