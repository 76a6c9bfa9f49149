"""Bad input is refused (or warned about) when the model is built, with a message that names the
item, the value and the fix; nothing passes silently with wrong physics, and nothing runs for
days or allocates terabytes without a word."""
import re
import warnings

import numpy as np
import pytest

import cleftsim as cs


def box_model(**kw):
    m = cs.Model(dt=1e-6, seed=1, **kw)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    box = m.add_geometry(cs.geometry.box(0.5), "box")
    return m, glu, box


# -- plain numbers where the unit is easily mistaken ------------------------------------------------
@pytest.mark.parametrize("value, fix", [(-70, "did you mean '-70 mV'"), ("-70 V", "within ±0.5 V")])
def test_a_voltage_outside_the_membrane_range_is_refused(value, fix):
    with pytest.raises(cs.UnitError, match=f"holding potential: .*{fix}"):
        cs.Channel(None, "10 pS", "0 mV").unitary(value)
    with pytest.raises(cs.UnitError, match="reversal potential"):
        cs.Channel(None, "10 pS", value).unitary("-70 mV")
    with pytest.raises(cs.UnitError, match=fix):
        cs.schemes.mg_block(np.array([-0.07, value if isinstance(value, int) else -70.0]))


def test_a_conductance_must_be_a_plausible_conductance():
    with pytest.raises(cs.UnitError, match=r"10 is 10 S, .*did you mean '10 pS'"):
        cs.Channel(None, 10, "0 mV").unitary("-70 mV")
    parsecs = cs.units.registry().Quantity(10, "pc")
    with pytest.raises(cs.UnitError, match="channel conductance: .*is not a conductance"):
        cs.Channel(None, parsecs, "0 mV").unitary("-70 mV")
    assert cs.Channel(None, "10 pS", "0 mV").unitary("-70 mV") == pytest.approx(-7e-13)


def test_lengths_beyond_any_geometry_are_refused_by_name():
    with pytest.raises(cs.UnitError, match=r"size\[0\]: '1 pc' is 3.086e\+22 um, but cleftsim's geometry is at most 1 m"):
        cs.geometry.box(size=("1 pc", 1, 1))


def test_an_absurd_concentration_is_refused():
    m, glu, box = box_model()
    with pytest.raises(cs.ModelError, match="clamp of 'glu': .*1e6 M.*more concentrated than water"):
        m.clamp(glu, "1e6 M", inside=box)


# -- more than fits -------------------------------------------------------------------------------
def test_more_surface_molecules_than_fit_on_a_region_are_refused():
    """One molecule per tile (cleftsim.physics.binding): a region holds at most its number of tiles."""
    m, glu, box = box_model()
    s = m.add_surface_species("S")
    bottom = box.region("bottom")                          # 0.25 µm²: two triangles cut 36 ways, 2592 tiles
    assert m.surface_capacity(bottom) == 2 * 36 ** 2
    with pytest.raises(cs.ModelError, match=r"place 'S': 3000 molecules do not fit on region 'box.bottom' "
                                            r"\(0.25 um\^2\): it has 2592 tiles \(tile_density = 10000 /um\^2, one "
                                            r"molecule per tile\), so at most 2592 more fit; .* raise the model's "
                                            r"tile_density"):
        m.place(s, bottom, n=3000)
    m.place(s, bottom, n=2000)
    with pytest.raises(cs.ModelError, match="593 molecules besides the 2000 already placed .* at most 592 more fit"):
        m.place(s, bottom, density="2372 /um^2")           # 593 more: 2593 in all
    with pytest.raises(cs.ModelError, match="do not fit"):
        m.place(s, bottom, positions=[(0.0, 0.0, -0.25)] * 593)
    m.place(s, bottom, n=592)                              # exactly full
    m.simulation()                                         # every tile taken once
    with pytest.raises(cs.ModelError, match="ca1_synapse: .*do not fit on region 'synapse.psd'"):
        cs.presets.ca1_synapse(n_ampa=10**6)


def test_a_release_that_cannot_fit_in_memory_is_refused_before_allocating():
    m, glu, box = box_model()
    with pytest.raises(cs.ModelError, match=r"releasing 1e\+11 glu molecules would need about .* GiB of memory, "
                                            r"but this machine has .* GiB"):
        m.release(glu, n=10**11, at=(0, 0, 0))
    stim = cs.release.stimulus([k * 1e-3 for k in range(1000)], 1.0, n_sites=1000, quantal=10**5)   # 1e11
    with pytest.raises(cs.ModelError, match="release_vesicles of 'glu' .*GiB of memory"):
        m.release_vesicles(glu, stim, at=(0, 0, 0))


def test_a_run_that_cannot_fit_in_memory_or_time_is_refused_or_warned_about():
    m, glu, box = box_model()
    m.release(glu, n=10, at=(0, 0, 0))
    m.count(glu)
    with pytest.raises(cs.ModelError, match=r"sampling 1 observables 1e\+15 times would need about"):
        m.run(t_end=1e9)
    sim = m.simulation()
    with pytest.warns(cs.ModelWarning, match=r"this run is 1e\+15 time steps .* at least .* days; check t_end"):
        sim.sample_times(t_end=1e9, every=1e8)


# -- numbers that must be what they claim --------------------------------------------------------
def test_a_fixed_vesicle_content_is_a_whole_number():
    with pytest.raises(cs.release.ReleaseError, match="whole number of molecules, got 2999.5; give e.g. 3000"):
        cs.release.quantal(2999.5)
    with pytest.raises(cs.release.ReleaseError, match="whole number"):
        cs.release.stimulus(0.0, 1.0, quantal=2999.5)
    assert cs.release.quantal(2999.5, cv=0.2).mean == 2999.5          # the mean of a distribution


def test_a_transmitter_that_cannot_diffuse_is_refused():
    m = cs.Model(dt=1e-6)
    still = m.add_species("still", D=0)
    with pytest.raises(cs.ModelError, match="release_vesicles of 'still': its D is 0"):
        m.release_vesicles(still, cs.release.stimulus(0.0, 1.0), at=(0, 0, 0))


def test_rates_far_beyond_any_reaction_are_named_as_such():
    m, glu, box = box_model()
    m.add_species("B", D="0.33 um^2/ms")
    s = m.add_surface_species("S")
    for equation in ("glu + B -> 0", "glu + S -> 0"):
        with pytest.raises(cs.ModelError, match=f"reaction '{re.escape(equation)}' .* 1e\\+30 1/M/s, but diffusion "
                                                f"limits reactions in water to below about 1e11 /M/s"):
            m.add_reaction(equation, 1e30)
    # below that bound, but beyond what the model's molecules can reach: named at compile time
    m = cs.Model(dt=1.0, seed=1)
    box = m.add_geometry(cs.geometry.box(10.0), "box")
    glu = m.add_species("glu", D="0.33 um^2/ms")
    m.add_species("B", D="0.33 um^2/ms")
    m.add_reaction("glu + B -> 0", 1e11)
    m.release(glu, 10, inside=box)
    with pytest.raises(cs.ModelError, match=r"reaction 'glu \+ B -> 0': k = 1e\+11 .* far beyond molecular contact; "
                                            r"check the rate and its units"):
        m.simulation()
    m, glu, box = box_model()
    s = m.add_surface_species("S")
    m.add_reaction("glu + S -> 0", 1e11)
    m.place(s, box.region("bottom"), n=10)
    m.release(glu, 10, inside=box)
    with pytest.raises(cs.ModelError, match="k_on = 1e\\+11 /M/s is far above the diffusion limit of a receptor.s tile"):
        m.run(t_end="10 us")


# -- parts of a model that would have no effect ------------------------------------------------------
def test_a_release_after_the_end_of_the_run_is_warned_about():
    m, glu, box = box_model()
    m.release(glu, n=10, at=(0, 0, 0), t="1 ms")
    m.count(glu)
    with pytest.warns(cs.ModelWarning, match="ends at t = 0.0001 s, before the release of 10 glu at t = 0.001 s"):
        m.run(t_end="100 us", progress=False)
    stim = cs.release.stimulus([0.0, 2e-3], 1.0, quantal=10)
    m.release_vesicles(glu, stim, at=(0, 0, 0))
    with pytest.warns(cs.ModelWarning, match=r"the action potentials of release_vesicles\('glu'\) at \[0.002\] s"):
        cs.run_ensemble(m, trials=1, t_end="1 ms", executor="serial", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.run(t_end="2 ms", every="1 ms", progress=False)            # everything happens: no warning


@pytest.mark.parametrize("observe, rule", [("count_absorbed", "absorb"), ("count_crossings", "transparent")])
def test_counting_at_a_region_that_never_absorbs_or_passes_the_species_is_refused(observe, rule):
    m, glu, box = box_model()
    m.release(glu, n=10, at=(0, 0, 0))
    getattr(m, observe)(glu, box.region("top"))
    with pytest.raises(cs.ModelError, match=f"counts 'glu' at box.top, but no region there .* stay 0; make one "
                                            f"'{rule}'"):
        m.run(t_end="10 us")
    m.set_surface(glu, box.region("top"), rule)
    assert len(m.run(t_end="10 us", progress=False).times) == 11


def test_a_scheme_made_with_another_models_ligand_is_refused():
    a, glu_a, _ = box_model()
    b, _, _ = box_model()
    with pytest.raises(cs.ModelError, match="scheme 'AMPA': its ligand 'glu' is a species of another model"):
        b.add_scheme(cs.schemes.ampa_jonas1993(ligand=glu_a))
    assert a.add_scheme(cs.schemes.ampa_jonas1993(ligand=glu_a)).prefix == "AMPA"
    assert b.add_scheme(cs.schemes.ampa_jonas1993(ligand="glu")).prefix == "AMPA"


# -- long runs show progress -----------------------------------------------------------------------
def test_a_long_single_run_shows_a_progress_bar_unless_asked_not_to(monkeypatch, capsys):
    import cleftsim.engine.simulation

    m, glu, box = box_model()
    m.release(glu, n=10, at=(0, 0, 0))
    m.count(glu)
    monkeypatch.setattr(cleftsim.engine.simulation, "PROGRESS_DELAY", 0.0)
    m.run(t_end="2 ms", every="1 ms")
    assert "simulated" in capsys.readouterr().err
    m.run(t_end="2 ms", every="1 ms", progress=False)
    assert "simulated" not in capsys.readouterr().err


def test_a_ligand_that_only_comes_from_vesicles_binds_as_if_released_directly():
    """Binding tables once skipped ligands that come only from release_vesicles (no unbinding to
    bring them back): they never bound. The same molecules released at the same point at t = 0
    must bind the same way whichever call put them there."""
    def model(vesicle):
        m = cs.Model(dt=1e-6, seed=5)
        glu = m.add_species("glu", D="0.33 um^2/ms")
        box = m.add_geometry(cs.geometry.box((0.5, 0.5, 0.05)), "box")
        s = m.add_surface_species("S")
        m.add_surface_species("SL")
        m.add_reaction("glu + S -> SL", 1e7)                    # irreversible: no glu comes back
        m.place(s, box.region("bottom"), n=2000)
        if vesicle:
            m.release_vesicles(glu, cs.release.stimulus(0.0, 1.0, quantal=3000), at=(0, 0, 0))
        else:
            m.release(glu, n=3000, at=(0, 0, 0))
        m.count("SL")
        return m

    direct = model(False).run(t_end="200 us", every="20 us", progress=False)["SL"]
    vesicle = model(True).run(t_end="200 us", every="20 us", progress=False)["SL"]
    assert direct[-1] > 50
    np.testing.assert_array_equal(vesicle, direct)


# -- found by a survey of bad inputs ----------------------------------------------------------------
def test_a_simulation_refuses_to_go_on_after_its_model_changed():
    m, glu, box = box_model()
    m.release(glu, n=10, at=(0, 0, 0))
    m.count(glu)
    sim = m.simulation()
    sim.run("2 us")
    m.set_surface(glu, box, "absorb")                     # would silently not take effect
    with pytest.raises(cs.ModelError, match="changed after this simulation was compiled.*model.simulation()"):
        sim.run("2 us")
    with pytest.raises(cs.ModelError, match="changed after"):
        sim.observe()
    assert len(m.run(t_end="2 us", progress=False).times) == 3            # a new compile sees the change


def test_a_vesicle_depth_that_goes_through_the_facing_membrane_is_refused():
    syn = cs.synapse.cleft()
    m = cs.Model(dt=1e-6)
    glu = m.add_species("glu", D="0.33 um^2/ms")
    obj = m.add_geometry(syn.mesh, "synapse")
    m.release_vesicles(glu, cs.release.stimulus(0.0, 1.0, quantal=10), region=obj.region("active_zone"), depth="50 nm")
    with pytest.raises(cs.ModelError, match=r"depth 50 nm in front of synapse.active_zone goes through another "
                                            r"surface: .* the space there is 20 nm deep"):
        m.simulation()


def test_periodic_releases_must_lie_inside_the_box():
    m = cs.Model(dt=1e-6, periodic_box=(1, 1, 1))
    m.add_species("A", D=1.0)
    with pytest.raises(cs.ModelError, match="reaches outside the periodic box"):
        m.release("A", 10, box=((-0.4, -0.4, -0.4), (3, 3, 3)))
    with pytest.raises(cs.ModelError, match="reaches outside the periodic box"):
        m.release("A", 10, sphere=((0, 0, 0), 3))
    m.release("A", 10, sphere=((0, 0, 0), 0.4))


def test_placement_values_that_are_probably_mistakes():
    m, glu, box = box_model()
    s = m.add_surface_species("S")
    with pytest.raises(cs.ModelError, match=r"cluster radius 10 must be positive and at most the size of the region "
                                            r".*did you mean '10 nm'"):
        m.place(s, box.region("bottom"), n=10, clusters=(2, 10))
    with pytest.raises(cs.ModelError, match=r"clusters= must be \(number of clusters >= 1, radius\)"):
        m.place(s, box.region("bottom"), n=10, clusters=3)
    with pytest.warns(cs.ModelWarning, match="rounds to no molecules at all"):
        m.place(s, box.region("bottom"), density="1 /um^2")           # 0.25 molecules


def test_wrong_kinds_and_types_are_named():
    m, glu, box = box_model()
    s = m.add_surface_species("S")
    with pytest.raises(cs.ModelError, match="'S' is a surface species .* a volume species is needed here"):
        m.release(s, 10, at=(0, 0, 0))
    with pytest.raises(cs.ModelError, match="'glu' is a volume species; a surface species"):
        m.place(glu, box.region("bottom"), n=1)
    with pytest.raises(cs.ModelError, match=r"call the factory: cs.schemes.ampa_jonas1993\(ligand=glu\)"):
        m.add_scheme(cs.schemes.ampa_jonas1993)
    m.add_scheme(cs.schemes.ampa_jonas1993(ligand=glu))
    with pytest.raises(cs.ModelError, match="prefix 'AMPA' is already in the model.*prefix='AMPA2'"):
        m.add_scheme(cs.schemes.ampa_jonas1993(ligand=glu))
    with pytest.raises(cs.ModelError, match=r"box= must be \(lo, hi\)"):
        m.release(glu, 3, box=1)
    with pytest.raises(cs.ModelError, match="count_events needs at least one reaction"):
        m.count_events([])
    with pytest.raises(cs.ModelError, match="changes nothing: its products are its reactants"):
        m.add_reaction("glu -> glu", 1.0)
    with pytest.raises(cs.UnitError, match="dt: True is not a number"):
        cs.Model(dt=True)
    with pytest.raises(cs.ModelError, match="dt must be at least 1e-12 s, got '1 fs'"):
        cs.Model(dt="1 fs")
    with pytest.raises(cs.ModelError, match="grid_cell must be at least 1 nm"):
        cs.Model(dt=1e-6, grid_cell="1 pm")
    m.add_species("B", D=1.0)
    with pytest.raises(cs.ModelError, match=r"radius must be positive and at most 1 um .*'2 nm'"):
        m.add_reaction("glu + B -> 0", 1e6, radius=2)
    with pytest.raises(cs.ModelError, match="no molecular transition is faster than about 1e12 /s"):
        m.add_reaction("glu -> B", 1e30)
    with pytest.raises(cs.ModelError, match="must be single potentials"):
        m.observe_current(cs.Channel(m.schemes["AMPA"], "10 pS", "0 mV"), holding=[-0.07, -0.04])
    with pytest.raises(cs.UnitError, match="is negative; a conductance is >= 0"):
        cs.Channel(None, "-10 pS", "0 mV").unitary("-70 mV")


def test_simulation_arguments_are_checked():
    m, glu, box = box_model()
    m.release(glu, n=10, at=(0, 0, 0))
    assert np.array_equal(cs.Simulation(m, seed=5).run("3 us").positions(glu),
                          cs.Simulation(m, seed=np.random.SeedSequence(5)).run("3 us").positions(glu))
    with pytest.raises(cs.ModelError, match="Simulation needs a cleftsim Model or CompiledModel, got str"):
        cs.Simulation("model")
    with pytest.raises(cs.ModelError, match="seed must be a non-negative integer or a numpy SeedSequence"):
        cs.Simulation(m, seed=-1)
    sim = m.simulation()
    for bad in (-5, 2.7, "5 us"):
        with pytest.raises(cs.ModelError, match="advance takes a whole number of steps"):
            sim.advance(bad)


def test_a_production_that_cannot_fit_in_memory_is_refused_before_running():
    m, glu, box = box_model()
    m.add_reaction("0 -> glu", 1e6, inside=box)            # 7.5e13 molecules per second
    m.count(glu)
    with pytest.raises(cs.ModelError, match="zeroth-order productions .* GiB of memory"):
        m.run(t_end="1 ms")
    m2, glu2, box2 = box_model()
    m2.add_reaction("0 -> glu", 1e-6, inside=box2)          # 75 per second, each living 10 ms: ~0.75 at once
    m2.add_reaction("glu -> 0", 100.0)
    m2.count(glu2)
    sim = m2.simulation()
    assert len(sim.sample_times(t_end=10.0, every=1.0)) == 11          # 10 s: fits, nothing refused


def test_ensemble_arguments_and_statistics_of_too_few_trials():
    from cleftsim.results.ensemble import EnsembleResult

    one = EnsembleResult(np.arange(3.0), {"x": np.ones((1, 3))}, 1, np.array([0]), {})
    with pytest.raises(ValueError, match="needs at least 2 trials; this ensemble has 1"):
        one.sd("x")
    two = EnsembleResult(np.arange(3.0), {"x": np.ones((2, 3))}, 1, np.arange(2), {})
    for level in ("0.95", None, 95):
        with pytest.raises(ValueError, match="level must be a number between 0 and 1"):
            two.ci("x", level)
    m, glu, box = box_model()
    m.release(glu, n=10, at=(0, 0, 0))
    m.count(glu)
    with pytest.raises(cs.ModelError, match="parameters must be a dict"):
        cs.run_ensemble(m, trials=1, t_end="2 us", parameters="n_glu=3000", progress=False)
    with pytest.raises(TypeError, match="cs.load needs the path of a results file, got NoneType"):
        cs.load(None)


def test_a_sweep_over_the_seed_uses_each_points_seed_and_generators_work(tmp_path):
    def model(seed):
        m = cs.Model(dt=1e-6, seed=seed)
        glu = m.add_species("glu", D="0.33 um^2/ms")
        box = m.add_geometry(cs.geometry.box(0.5), "box")
        m.set_surface(glu, box.region("top"), "absorb")
        m.release(glu, n=200, inside=box)
        m.count_absorbed(glu, box.region("top"), name="gone")
        return m

    sw = cs.sweep(model, {"seed": (s for s in (1, 2))}, trials=2, t_end="50 us", every="10 us", executor="serial",
                  progress=False)
    assert [e.seed for e in sw.ensembles] == [1, 2]
    assert not np.array_equal(sw[0]["gone"], sw[1]["gone"])
    same = cs.sweep(model, {"seed": [1, 2]}, trials=2, t_end="50 us", every="10 us", seed=7, executor="serial",
                    progress=False)
    assert [e.seed for e in same.ensembles] == [7, 7]
    with pytest.raises(cs.ModelError, match="sweep out='' is empty; give a folder"):
        cs.sweep(model, {"seed": [1]}, trials=1, t_end="10 us", out="")


def test_model_settings_that_would_be_ignored_or_mistaken_are_refused():
    with pytest.raises(cs.ModelError, match="box_center and periodic_axes describe a periodic box"):
        cs.Model(dt=1e-6, box_center=(1, 0, 0))
    with pytest.raises(cs.ModelError, match="box_center and periodic_axes describe a periodic box"):
        cs.Model(dt=1e-6, periodic_axes="xy")
    with pytest.raises(cs.ModelError, match=r"tile_density=100000000.0 is 1e\+08 µm⁻², but it must be from 1 /µm\^2 to "
                                            r"1e6 /µm\^2 \(a tile holds one surface molecule"):
        cs.Model(dt=1e-6, tile_density=1e8)
    m, glu, box = box_model()
    ampa = m.add_scheme(cs.schemes.ampa_jonas1993(ligand=glu))
    with pytest.raises(cs.ModelError, match=r"not the state set 'AMPA.open'; e.g. place\(ampa, ...\)"):
        m.place(ampa.open, region=box.region("top"), n=5)
