"""Presets: they build, run, conserve transmitter, and their current is count × γ × driving force;
their docstrings list every parameter with its default; bad parameters fail when they are built."""
import math
from pathlib import Path

import numpy as np
import pytest

import cleftsim as cs
from cleftsim.physics.binding import DEFAULT_TILE_DENSITY
from cleftsim.schemes import mg_block

ROOT = Path(__file__).resolve().parents[1]
MARKS = ("[P] read in the published source named", "[C] computed from a formula with the parameters given",
         "[?] not confirmed against the primary paper")

PRESETS = {
    "ca1_synapse": ("glu", dict()),
    "gabaergic_synapse": ("GABA", dict()),
    "neuromuscular_junction": ("ACh", dict()),
}


def _bound_observables(model):
    """Count every state of every scheme; return [(observable, {ligand: molecules bound})]."""
    out = []
    for prefix, handle in model.schemes.items():
        for state, sp in handle.states.items():
            held = handle.scheme.bound.get(state, {})
            if held:
                out.append((model.count(sp, name=f"_{sp.name}"), held))
    return out


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_conserves_transmitter_at_every_sample(preset):
    tx, extra = PRESETS[preset]
    model = getattr(cs.presets, preset)(seed=3, **extra)
    bound = _bound_observables(model)
    res = model.run(t_end="300 us", every="10 us")
    assert len(res.releases) == 1
    n = res.releases["n"].sum()
    if preset == "neuromuscular_junction":    # the fusion pore (τ 72 µs) has let out 1 − e^(−300/72) by 300 µs
        assert abs(res[f"{tx}_released"][-1] - n * (1 - np.exp(-300 / 72))) < 5 * np.sqrt(n * 0.015)
    else:
        assert res[f"{tx}_released"][-1] == n > 0
    total = res[tx] + res[f"{tx}_escaped"] + sum(res[o] * h.get(tx, 0) for o, h in bound)
    for removed in (f"{tx}_uptake", f"{tx}_hydrolysed"):
        if removed in res:
            total = total + res[removed]
    np.testing.assert_array_equal(total, res[f"{tx}_released"])
    open_name = [n for n in res.names if n.endswith("_open")]
    assert open_name and max(res[n].max() for n in open_name) > 0      # the synapse responds
    assert res[f"{tx}_escaped"][-1] > 0


def test_ca1_current_is_count_times_conductance_times_driving_force():
    model = cs.presets.ca1_synapse(seed=5, holding="-60 mV", g_ampa="12 pS", g_nmda="40 pS", mg="1.2 mM")
    res = model.run(t_end="1 ms", every="10 us")
    v = -0.060
    expected = res["AMPA_open"] * 12e-12 * (v - 0.0) + res["NMDA_open"] * 40e-12 * (v - 0.0) * mg_block(v, 1.2e-3)
    np.testing.assert_allclose(res["current"], expected, rtol=1e-12, atol=0)
    assert res["AMPA_open"].max() > 0
    assert res["current"].min() < 0 and res["current"].max() <= 0           # excitatory: inward, negative


def test_gabaergic_current_is_outward_above_reversal_and_inward_below():
    for holding, sign in (("-40 mV", 1.0), ("-90 mV", -1.0)):
        model = cs.presets.gabaergic_synapse(seed=2, holding=holding)
        res = model.run(t_end="500 us", every="10 us")
        v = cs.units.voltage(holding)
        np.testing.assert_allclose(res["current"], res["GABAA_open"] * 25e-12 * (v + 0.070), rtol=1e-12)
        assert res["GABAA_open"].max() > 0
        assert sign * res["current"].max() > 0 if sign > 0 else res["current"].min() < 0


def test_preset_overrides_reach_the_model_and_unknown_ones_are_refused():
    model = cs.presets.ca1_synapse(n_ampa=17, n_nmda=3, height="30 nm", psd_radius="120 nm",
                                   D="0.2 um^2/ms", glia_coverage=0)
    sim = model.simulation()
    assert sim.observe()["AMPA_open"] == 0
    counts = {name: len(sim.surface_molecules(h.all)["positions"]) for name, h in model.schemes.items()}
    assert counts["AMPA"] == 17 and counts["NMDA"] == 3 and "GluT" not in counts
    syn = model.metadata["synapse"]
    assert syn.cleft.height == pytest.approx(0.03)
    assert syn.area("psd") == pytest.approx(np.pi * 0.12**2, rel=0.01)
    assert model.species[0].D == pytest.approx(200.0)
    with pytest.raises(cs.ModelError, match="n_ampa"):
        cs.presets.ca1_synapse(n_ampaa=3)
    with pytest.raises(cs.ModelError, match="release_position"):
        cs.presets.ca1_synapse(release_position="edge")


def test_release_position_override_moves_the_vesicle():
    res = cs.presets.ca1_synapse(seed=1, release_position=(0.05, -0.02), n_ampa=0, n_nmda=0,
                                 glia_coverage=0).run(t_end="2 us", every="1 us")
    ev = res.releases
    assert (ev["x"][0], ev["y"][0]) == pytest.approx((0.05, -0.02))
    res = cs.presets.ca1_synapse(seed=1, release_position="uniform", n_ampa=0, n_nmda=0,
                                 glia_coverage=0, ap_times=[0.0, 1e-3, 2e-3]).run(t_end="2 us", every="1 us")
    r = np.hypot(res.releases["x"], res.releases["y"])
    assert len(r) == 3 and np.all(r < 0.15) and len(np.unique(r)) == 3


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_docstring_lists_every_parameter_with_its_default_and_explains_the_marks(preset):
    build = getattr(cs.presets, preset)
    accepted = build().metadata["parameters"]          # the defaults, one per accepted keyword
    doc = build.__doc__
    missing = [key for key, default in accepted.items() if f"{key} = {default!r}" not in doc]
    assert not missing, missing
    with pytest.raises(cs.ModelError) as err:
        build(no_such_parameter=1)
    assert all(f"'{key}'" in str(err.value) for key in accepted)
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    for text in (doc, cs.presets.__doc__, reference):
        for mark in MARKS:
            assert mark in " ".join(text.split()), mark


RUN_SETTINGS = {"ca1_synapse": (5e-3, 1e-5), "gabaergic_synapse": (5e-3, 1e-5),
                "neuromuscular_junction": (2e-3, 1e-5)}


@pytest.mark.slow
def test_presets_carry_their_run_settings_and_explicit_arguments_win():
    for preset, (t_end, every) in RUN_SETTINGS.items():
        model = getattr(cs.presets, preset)()
        assert (model.t_end, model.every) == pytest.approx((t_end, every))
    model = cs.presets.ca1_synapse(seed=2, t_end="60 us", every="20 us", n_ampa=10, n_nmda=0, glia_coverage=0)
    np.testing.assert_allclose(model.run(progress=False).times, np.arange(4) * 20e-6, atol=1e-12)
    np.testing.assert_allclose(model.run(t_end="30 us", every="5 us", progress=False).times,
                               np.arange(7) * 5e-6, atol=1e-12)
    ens = cs.run_ensemble(model, trials=2, executor="serial", progress=False)
    assert len(ens) == 2
    np.testing.assert_allclose(ens.times, np.arange(4) * 20e-6, atol=1e-12)


def test_tile_density_is_a_parameter_and_the_ca1_transporters_fit():
    model = cs.presets.ca1_synapse()
    glia = model.metadata["synapse"].area("glia")
    assert 10800 * glia <= model.surface_capacity(model.objects[0].region("glia"))
    assert cs.presets.ca1_synapse(tile_density="2e4 /um^2").tile_density == pytest.approx(2e4)
    for preset in ("ca1_synapse", "gabaergic_synapse", "neuromuscular_junction"):
        assert getattr(cs.presets, preset)().tile_density == DEFAULT_TILE_DENSITY


BAD = [  # preset, parameters, what the message must say besides "<preset>: <parameter>"
    ("ca1_synapse", {"D": 0}, "D=0 is 0"),
    ("ca1_synapse", {"D": 0.33}, "did you mean '0.33 um^2/ms'"),
    ("ca1_synapse", {"D": True}, "True is not a number"),
    ("ca1_synapse", {"D": "0.33 ms"}, "not a diffusion coefficient"),
    ("ca1_synapse", {"n_glu": 2999.5}, "with quantal_cv=0 every vesicle holds exactly n_glu"),
    ("ca1_synapse", {"n_glu": 0}, "release_probability=0"),
    ("ca1_synapse", {"n_glu": math.nan}, "molecules per vesicle"),
    ("ca1_synapse", {"n_ampa": 2.5}, "whole number"),
    ("ca1_synapse", {"n_nmda": -1}, "whole number"),
    ("ca1_synapse", {"n_nmda": True}, "whole number"),
    ("gabaergic_synapse", {"n_gabaa": 40.0}, "whole number"),
    ("ca1_synapse", {"release_probability": 1.5}, "from 0 to 1"),
    ("ca1_synapse", {"release_probability": math.nan}, "from 0 to 1"),
    ("ca1_synapse", {"glia_coverage": 1.2}, "from 0 to 1"),
    ("ca1_synapse", {"glia_coverage": None}, "from 0 to 1"),
    ("ca1_synapse", {"outer": "open"}, "'absorb', 'reflect'"),
    ("ca1_synapse", {"quantal_cv": 900}, "not an SD"),
    ("ca1_synapse", {"seed": 1.5}, "whole number"),
    ("ca1_synapse", {"height": 20}, "did you mean '20 nm'"),
    ("ca1_synapse", {"radius": -0.25}, "must be from 1 nm"),
    ("ca1_synapse", {"psd_radius": "300 nm"}, "must not exceed the cleft radius"),
    ("ca1_synapse", {"tile_density": 1e8}, "must be from 1 /µm^2 to 1e6 /µm^2"),
    ("ca1_synapse", {"mg": 1}, "did you mean '1 mM'"),
    ("ca1_synapse", {"dt": 1}, "did you mean '1 us'"),
    ("ca1_synapse", {"t_end": 5}, "did you mean '5 ms'"),
    ("ca1_synapse", {"every": "7 us"}, "whole number of sampling intervals"),
    ("ca1_synapse", {"ap_times": (0, 20)}, "not before t_end"),
    ("ca1_synapse", {"ap_times": ("2 ms", "1 ms")}, "must increase"),
    ("ca1_synapse", {"release_position": (50, -20)}, "outside the cleft"),
    ("ca1_synapse", {"holding": -70}, "did you mean '-70 mV'"),
    ("ca1_synapse", {"holding": ["-70 mV"]}, "holding"),
    ("ca1_synapse", {"g_ampa": 10}, "did you mean '10 pS'"),
    ("ca1_synapse", {"transporter_density": -1}, "must be at least 0"),
    ("neuromuscular_junction", {"release_site": 9}, "give a fold index 0..3"),
    ("neuromuscular_junction", {"pore_tau": 72}, "did you mean '72 us'"),
    ("neuromuscular_junction", {"fold_width": "0.6 um"}, "smaller than fold_spacing"),
]


@pytest.mark.parametrize("preset, bad, says", BAD, ids=[f"{p}-{next(iter(b))}" for p, b, _ in BAD])
def test_bad_parameters_fail_at_build_naming_the_preset_the_parameter_and_the_fix(preset, bad, says):
    with pytest.raises(ValueError) as err:
        getattr(cs.presets, preset)(**bad)
    message = str(err.value)
    assert message.startswith(f"{preset}: ") and next(iter(bad)) in message and says in message, message


def test_a_fractional_vesicle_content_is_a_mean_when_the_content_varies():
    model = cs.presets.ca1_synapse(n_glu=2999.5, quantal_cv=0.3)
    assert model.vesicle_releases[0].stimulus.quantal.mean == 2999.5
