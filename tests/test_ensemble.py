"""Ensembles (cleftsim.ensemble): trial k is the same whether run alone, in a serial loop or in
a process pool; statistics over trials against numpy/scipy on known arrays."""
import numpy as np
import pytest
from scipy import stats

import cleftsim as cs
from cleftsim.ensemble import EnsembleResult


def small_model(seed=7):
    m = cs.Model(dt=1e-5, seed=seed)
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
