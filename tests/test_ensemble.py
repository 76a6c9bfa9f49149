"""Ensembles (cleftsim.run.ensemble): trial k is the same whether run alone, in a serial loop or in
a process pool; statistics over trials against numpy/scipy on known arrays."""
import numpy as np
import pytest
from scipy import stats

import cleftsim as cs
from cleftsim.results.ensemble import EnsembleResult


def small_model(seed=7, **settings):
    m = cs.Model(dt=1e-5, seed=seed, **settings)
    box = m.add_geometry(cs.geometry.box(1.0), "box")
    m.add_species("A", D=100.0)
    m.add_species("B", D=100.0)
    m.add_reaction("A + B -> 0", 5e7)
    m.add_reaction("A -> B", 200.0)
    m.release("A", n=300, inside=box)
    m.release("B", n=300, inside=box)
    m.count("A")
    m.count("B")
    return m


def test_trials_are_the_same_alone_serial_and_in_a_pool():
    m = small_model()
    serial = cs.run_ensemble(m, trials=4, t_end=1e-3, every=1e-4, executor="serial")
    pooled = cs.run_ensemble(m, trials=4, t_end=1e-3, every=1e-4)
    for name in ("A", "B"):
        assert serial[name].shape == (4, 11)
        assert np.array_equal(serial[name], pooled[name])
    alone = cs.Simulation(m, seed=cs.trial_seed(7, 2)).sample(1e-3, 1e-4)
    assert np.array_equal(alone["A"], serial["A"][2])
    assert len({tuple(row) for row in serial["A"]}) == 4          # the trials differ
    other = cs.run_ensemble(m, trials=2, t_end=1e-3, every=1e-4, seed=8, executor="serial")
    assert not np.array_equal(other["A"][0], serial["A"][0])
    assert serial.seed == 7 and other.seed == 8


def test_statistics_against_numpy_and_scipy():
    rng = np.random.default_rng(3)
    data = rng.normal(5.0, 2.0, size=(12, 7))
    ens = EnsembleResult(np.arange(7) * 1e-3, {"x": data}, seed=1, trials=np.arange(12), metadata={})
    assert np.allclose(ens.mean("x"), data.mean(axis=0))
    assert np.allclose(ens.sd("x"), data.std(axis=0, ddof=1))
    assert np.allclose(ens.sem("x"), stats.sem(data, axis=0))
    assert np.allclose(ens.cv("x"), data.std(axis=0, ddof=1) / data.mean(axis=0))
    low, high = ens.ci("x", 0.9)
    ref = stats.t.interval(0.9, 11, loc=data.mean(axis=0), scale=stats.sem(data, axis=0))
    assert np.allclose(low, ref[0]) and np.allclose(high, ref[1])
    zero = EnsembleResult(np.arange(2.0), {"z": np.zeros((3, 2))}, 1, np.arange(3), {})
    assert np.all(np.isnan(zero.cv("z")))
    with pytest.raises(ValueError, match="level"):
        ens.ci("x", 1.5)
    with pytest.raises(KeyError, match="no observable named 'y'"):
        ens["y"]


def test_features_per_trial():
    t = np.linspace(0, 10e-3, 501)
    base = (t / 1e-3) * np.exp(1 - t / 1e-3)
    data = np.stack([a * base for a in (1.0, 2.0, 3.0)])
    ens = EnsembleResult(t, {"x": data}, 1, np.arange(3), {})
    f = ens.features("x")
    assert np.allclose(f["peak"], [1.0, 2.0, 3.0], rtol=1e-5)
    assert np.allclose(f["time_to_peak"], 1e-3, rtol=1e-3)


def test_bad_arguments():
    m = small_model()
    with pytest.raises(cs.ModelError, match="trials must be a positive integer"):
        cs.run_ensemble(m, trials=0, t_end=1e-3)
    with pytest.raises(cs.ModelError, match="executor"):
        cs.run_ensemble(m, trials=1, t_end=1e-3, executor="threads")
    with pytest.raises(cs.ModelError, match="seed"):
        cs.run_ensemble(m, trials=1, t_end=1e-3, seed=-1)
    with pytest.raises(cs.ModelError, match=r"needs a cleftsim Model, got str 'model'.*cs.presets.ca1_synapse\(\)"):
        cs.run_ensemble("model", trials=1, t_end=1e-3)
    with pytest.raises(cs.ModelError, match="no t_end given and the model has no default duration"):
        cs.run_ensemble(m, trials=1)


def test_the_models_default_duration_and_sampling_are_used_and_explicit_ones_win():
    m = small_model()
    m2 = small_model(t_end="1 ms", every="0.1 ms")
    assert (m2.t_end, m2.every) == pytest.approx((1e-3, 1e-4))
    default = cs.run_ensemble(m2, trials=2, executor="serial", progress=False)
    given = cs.run_ensemble(m, trials=2, t_end=1e-3, every=1e-4, executor="serial", progress=False)
    assert np.array_equal(default.times, given.times) and np.array_equal(default["A"], given["A"])
    assert np.array_equal(m2.run(progress=False)["A"], m.run(1e-3, 1e-4, progress=False)["A"])
    assert len(cs.run_ensemble(m2, trials=1, t_end=2e-4, executor="serial", progress=False).times) == 3
    with pytest.raises(cs.ModelError, match="t_end = 0.00105 is not a whole number of sampling intervals"):
        cs.Model(dt=1e-5, t_end=1.05e-3, every=1e-4)
    with pytest.raises(cs.ModelError, match="t_end must be positive"):
        cs.Model(dt=1e-5, t_end=0)


def build(n_a=300, k="200 /s"):
    m = cs.Model(dt=1e-5, seed=5)
    box = m.add_geometry(cs.geometry.box(1.0), "box")
    m.add_species("A", D=100.0)
    m.add_reaction("A -> 0", k)
    m.release("A", n=n_a, inside=box)
    m.count("A")
    return m


def test_sweep_grid_points_indexing_and_common_random_numbers(tmp_path):
    sw = cs.sweep(build, {"n_a": [100, 200], "k": ["100 /s", "300 /s"]}, trials=3, t_end=2e-3, every=1e-3,
                  executor="serial", progress=False, out=tmp_path / "sweep")
    assert sw.points == [{"n_a": 100, "k": "100 /s"}, {"n_a": 100, "k": "300 /s"},
                         {"n_a": 200, "k": "100 /s"}, {"n_a": 200, "k": "300 /s"}]
    ens = sw.at(n_a=200, k="300 /s")
    assert ens is sw[3] and ens["A"].shape == (3, 3) and np.all(ens["A"][:, 0] == 200)
    alone = cs.run_ensemble(build(200, "300 /s"), trials=3, t_end=2e-3, every=1e-3, executor="serial",
                            progress=False)
    assert np.array_equal(alone["A"], ens["A"])                     # the same seeds at every point
    back = cs.load(tmp_path / "sweep" / "point_3.h5")
    assert back.metadata["settings"]["parameters"] == {"n_a": 200, "k": "300 /s"}
    assert np.array_equal(back["A"], ens["A"])
    points = cs.sweep(build, [{"n_a": 50}, {"n_a": 60, "k": "1 /s"}], trials=2, t_end=1e-3, every=1e-3,
                      executor="serial", progress=False)
    assert len(points) == 2 and np.all(points.at(n_a=60)["A"][:, 0] == 60)
    with pytest.raises(KeyError, match="0 points match"):
        points.at(n_a=7)
    with pytest.raises(cs.ModelError, match="need a list of values"):
        cs.sweep(build, {"n_a": 5}, trials=1, t_end=1e-3)


def test_sweep_refuses_what_cannot_be_swept():
    with pytest.raises(cs.ModelError, match="sweep parameter 'n_a' has no values"):
        cs.sweep(build, {"n_a": []}, trials=1, t_end=1e-3)
    with pytest.raises(cs.ModelError, match="sweep needs a function that builds a Model.*got str 'ca1'"):
        cs.sweep("ca1", {"n_a": [1]}, trials=1, t_end=1e-3)
    with pytest.raises(cs.ModelError, match="trials must be a positive integer"):
        cs.sweep(build, {"n_a": [1]}, trials=0, t_end=1e-3)


def test_sweep_out_must_be_a_folder(tmp_path):
    f = tmp_path / "results.h5"
    f.write_text("")
    with pytest.raises(cs.ModelError, match="sweep out=.*results.h5' is a file; give a folder"):
        cs.sweep(build, {"n_a": [1]}, trials=1, t_end=1e-3, out=f)


def test_points_are_found_by_the_value_of_their_quantities():
    sw = cs.SweepResult([{"h": "15 nm", "k": 2}, {"h": "20 nm", "k": 2}, {"h": "20 nm", "k": 3}],
                        ["a", "b", "c"])
    assert sw.at(h="0.02 um", k=2) == "b" and sw.at(h=0.015) == "a" and sw.at(h="20 nm", k=3.0) == "c"
    with pytest.raises(KeyError, match="2 points match"):
        sw.at(h="20e-9 m")
    with pytest.raises(KeyError, match="0 points match"):
        sw.at(h="20 ms")                                        # a time is not a length


def test_sweep_has_one_progress_bar_labelled_with_the_point(monkeypatch, tmp_path):
    import cleftsim.run.sweep as ensemble

    bars = []
    real = ensemble._trials_bar

    def recording(total):
        bar = real(total)
        bars.append((total, bar))
        labels = []
        bar.set_description = lambda text, refresh=True: labels.append(text)
        bar.labels = labels
        return bar

    monkeypatch.setattr(ensemble, "_trials_bar", recording)
    cs.sweep(build, {"n_a": [10, 20], "k": ["1 /s"]}, trials=2, t_end=1e-4, every=1e-4, executor="serial")
    assert len(bars) == 1 and bars[0][0] == 4 and bars[0][1].n == 4
    assert bars[0][1].labels == ["n_a=10, k=1 /s", "n_a=20, k=1 /s"]


def test_an_unseeded_sweep_resumes_with_the_seed_in_its_files(tmp_path):
    def unseeded(n_a):
        m = build(n_a)
        m.seed = None
        return m

    first = cs.sweep(unseeded, {"n_a": [40, 50]}, trials=2, t_end=2e-4, every=1e-4, executor="serial",
                     progress=False, out=tmp_path / "sw")
    again = cs.sweep(unseeded, {"n_a": [40, 50]}, trials=3, t_end=2e-4, every=1e-4, executor="serial",
                     progress=False, out=tmp_path / "sw")
    assert first[0].seed == again[1].seed and first[0].seed > 2**32
    assert np.array_equal(again[1]["A"][:2], first[1]["A"])


def test_reprs_say_what_is_inside():
    ens = EnsembleResult(np.arange(501) * 1e-5, {"AMPA_open": np.zeros((3, 501)), "current": np.zeros((3, 501))},
                         5, np.arange(3), {"model": {"preset": "ca1_synapse"}, "file": "ca1.h5"})
    text = repr(ens)
    for part in ("3 trials of ca1_synapse", "501 samples, 0 to 5 ms every 10 µs", "seed 5", "AMPA_open, current",
                 "file: ca1.h5"):
        assert part in text, text
    sw = cs.SweepResult([{"height": "15 nm"}, {"height": "20 nm"}], [ens, ens])
    assert "2 points x 3 trials" in repr(sw) and "[1] height=20 nm" in repr(sw)


def test_tables():
    pd = pytest.importorskip("pandas")
    data = np.arange(6.0).reshape(2, 3)
    ens = EnsembleResult(np.array([0.0, 1.0, 2.0]), {"x": data}, 1, np.array([0, 1]), {})
    df = ens.to_pandas()
    assert list(df.index.names) == ["trial", "time (s)"] and df.loc[(1, 2.0), "x"] == 5.0
    sw = cs.SweepResult([{"p": 1}, {"p": 2}], [ens, ens])
    long = sw.to_pandas()
    assert len(long) == 12 and set(long.columns) == {"p", "trial", "time (s)", "x"}
    assert isinstance(long, pd.DataFrame)


def test_xarray():
    pytest.importorskip("xarray")
    data = np.arange(6.0).reshape(2, 3)
    ds = EnsembleResult(np.array([0.0, 1.0, 2.0]), {"x": data}, 4, np.array([0, 1]), {}).to_xarray()
    assert ds["x"].dims == ("trial", "time") and float(ds["x"].sel(trial=1, time=2.0)) == 5.0
    assert ds.attrs["seed"] == 4


def test_summary_of_features():
    t = np.linspace(0, 10e-3, 501)
    base = (t / 1e-3) * np.exp(1 - t / 1e-3)
    ens = EnsembleResult(t, {"x": np.stack([a * base for a in (1.0, 2.0, 3.0)])}, 1, np.arange(3), {})
    s = ens.summary("x")
    assert s["peak"]["mean"] == pytest.approx(2.0, rel=1e-5) and s["peak"]["sd"] == pytest.approx(1.0, rel=1e-5)
    assert s["peak"]["cv"] == pytest.approx(0.5, rel=1e-5) and s["peak"]["n"] == 3
