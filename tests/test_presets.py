"""Presets: they build, run, conserve transmitter, and their current is count × γ × driving force."""
import numpy as np
import pytest

import cleftsim as cs
from cleftsim.schemes import mg_block

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
        v = cs.schemes._voltage(holding)
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
                                 glia_coverage=0).run(t_end="2 us")
    ev = res.releases
    assert (ev["x"][0], ev["y"][0]) == pytest.approx((0.05, -0.02))
    res = cs.presets.ca1_synapse(seed=1, release_position="uniform", n_ampa=0, n_nmda=0,
                                 glia_coverage=0, ap_times=[0.0, 1e-3, 2e-3]).run(t_end="2 us")
    r = np.hypot(res.releases["x"], res.releases["y"])
    assert len(r) == 3 and np.all(r < 0.15) and len(np.unique(r)) == 3
