"""Ensembles of independent trials of one model, and their statistics.

Trial k of an ensemble with seed s runs with the SeedSequence (s, spawn_key=(k,)) (NumPy's
spawned children of s), so its result depends only on the model, s and k: the same whether it
runs alone (``Simulation(model, seed=trial_seed(s, k))``), in a serial loop or in a process pool,
with any number of workers.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
from scipy import stats

from cleftsim.features import trace_features
from cleftsim.model import Model, ModelError
from cleftsim.result import ENSEMBLE_RELEASE, RELEASE_EVENT
from cleftsim.simulation import Simulation


def trial_seed(seed: int, k: int) -> np.random.SeedSequence:
    """The SeedSequence of trial k of an ensemble with the given seed."""
    return np.random.SeedSequence(seed, spawn_key=(k,))


class EnsembleResult:
    """Observables of ``trials`` independent runs sampled at the same ``times`` (s).

    ``ens["name"]`` is a (trials, times) array; ``mean``, ``sd``, ``sem``, ``cv`` and ``ci`` give
    statistics over the trials at every time, ``features(name)`` the features of each trial's
    trace (cleftsim.features). ``seed`` is the ensemble's seed, ``trials`` the trial indices,
    ``releases`` the vesicle releases of every trial (``Result.releases`` with a ``trial`` field).
    """

    def __init__(self, times: np.ndarray, data: dict[str, np.ndarray], seed: int, trials: np.ndarray,
                 metadata: dict[str, Any], releases: np.ndarray | None = None):
        self.releases = trial_releases({}) if releases is None else releases
        self.times = np.asarray(times, dtype=np.float64)
        self._data = {k: np.asarray(v) for k, v in data.items()}
        self.seed = seed
        self.trials = np.asarray(trials)
        self.metadata = metadata

    @property
    def names(self) -> list[str]:
        """Names of the observables."""
        return list(self._data)

    def __len__(self) -> int:
        return len(self.trials)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._data[name]
        except KeyError:
            raise KeyError(f"no observable named {name!r}; this ensemble has {self.names}") from None

    def __repr__(self) -> str:
        return f"EnsembleResult({len(self)} trials, {len(self.times)} samples, observables={self.names})"

    def mean(self, name: str) -> np.ndarray:
        """Mean over trials at every time."""
        return self[name].mean(axis=0)

    def sd(self, name: str) -> np.ndarray:
        """Sample standard deviation (n − 1) over trials at every time."""
        return self[name].std(axis=0, ddof=1)

    def sem(self, name: str) -> np.ndarray:
        """Standard error of the mean, sd/√n."""
        return self.sd(name) / np.sqrt(len(self))

    def cv(self, name: str) -> np.ndarray:
        """Coefficient of variation sd/mean (NaN where the mean is 0)."""
        mean = self.mean(name)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(mean != 0, self.sd(name) / np.abs(mean), np.nan)

    def ci(self, name: str, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) confidence interval of the mean at every time (Student's t, n − 1 dof)."""
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, got {level!r}")
        half = stats.t.ppf(0.5 + level / 2, len(self) - 1) * self.sem(name)
        return self.mean(name) - half, self.mean(name) + half

    def features(self, name: str, **options) -> dict[str, np.ndarray]:
        """Per-trial features of the observable's trace (cleftsim.features.trace_features)."""
        return trace_features(self.times, self[name], **options)

    def summary(self, name: str, **options) -> dict[str, dict[str, float]]:
        """Mean, SD and CV over trials of each feature of the observable's trace (NaN-free trials)."""
        out = {}
        for feature, values in self.features(name, **options).items():
            v = values[np.isfinite(values)]
            mean = float(v.mean()) if len(v) else np.nan
            sd = float(v.std(ddof=1)) if len(v) > 1 else np.nan
            out[feature] = {"mean": mean, "sd": sd, "cv": sd / abs(mean) if mean else np.nan, "n": len(v)}
        return out

    def to_pandas(self):
        """A long pandas DataFrame: one row per (trial, time), one column per observable."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        index = pd.MultiIndex.from_product([self.trials, self.times], names=["trial", "time (s)"])
        return pd.DataFrame({name: v.reshape(-1) for name, v in self._data.items()}, index=index)

    def to_xarray(self):
        """An xarray Dataset with dimensions (trial, time) (needs xarray)."""
        try:
            import xarray as xr
        except ImportError:
            raise ImportError("to_xarray() needs xarray: pip install xarray") from None
        return xr.Dataset({name: (("trial", "time"), v) for name, v in self._data.items()},
                          coords={"trial": self.trials, "time": self.times}, attrs={"seed": self.seed})


# Trials only read the compiled geometry (apart from the tracer's scratch marks, so one thread at a
# time), so it is compiled once per ensemble and process: the serial loop uses the parent's, a pool
# worker compiles it when it starts, and each thread of a Dask worker keeps the latest few models
# it was sent (each ensemble scatters its own copy) with their geometry.
_WORKER: dict[str, Any] = {}
_DASK = threading.local()


def _init_worker(model: Model) -> None:
    _WORKER.update(model=model, scene=Simulation(model).scene)


def _dask_scene(model: Model):
    scenes = _DASK.__dict__.setdefault("scenes", [])
    for m, scene in scenes:
        if m is model:
            return scene
    scenes.insert(0, (model, Simulation(model).scene))
    del scenes[4:]
    return scenes[0][1]


def trial_releases(per_trial: dict[int, np.ndarray]) -> np.ndarray:
    """The release events of several trials (trial → Result.releases) in one array with a
    ``trial`` field, ordered by trial."""
    out = [np.zeros(0, dtype=ENSEMBLE_RELEASE)]
    for k in sorted(per_trial):
        rows = np.zeros(len(per_trial[k]), dtype=ENSEMBLE_RELEASE)
        for f in RELEASE_EVENT.names:
            rows[f] = per_trial[k][f]
        rows["trial"] = k
        out.append(rows)
    return np.concatenate(out)


def _run_trial(model: Model, scene, seed: int, k: int, t_end: Any, every: Any) -> tuple:
    res = Simulation(model, seed=trial_seed(seed, k), scene=scene).sample(t_end, every)
    return k, res.times, {name: res[name] for name in res.names}, res.releases


def _pooled_trial(args: tuple) -> tuple:
    return _run_trial(_WORKER["model"], _WORKER["scene"], *args)


def _dask_trial(model: Model, *args) -> tuple:
    return _run_trial(model, _dask_scene(model), *args)


class EnsembleInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_ensemble`; ``.result`` holds the trials that finished."""

    def __init__(self, result: EnsembleResult | None):
        super().__init__("ensemble interrupted; the finished trials are in .result")
        self.result = result


def run_ensemble(model: Model, trials: int, t_end: Any, every: Any = None, seed: int | None = None,
                 executor: Any = None, out: str | os.PathLike | None = None,
                 progress: bool = True, parameters: dict | None = None) -> EnsembleResult:
    """Run ``trials`` independent trials of ``model`` from t = 0 to ``t_end``, sampling every
    ``every`` (as :meth:`Model.run`), and collect them in an :class:`EnsembleResult`.

    ``seed``: the ensemble's seed (default: the model's; a fresh one, recorded in the result, if
    neither is set). ``executor``: ``None`` (a pool of processes on all local cores),
    ``"serial"``, a ``dask.distributed.Client`` or a Dask scheduler's address
    (``"tcp://host:8786"``; needs ``pip install 'cleftsim[distributed]'``); trial k gives the same
    result in every case. ``out``: an HDF5 results file
    (cleftsim.store) that receives each trial as it finishes; if it already holds some trials of
    this same ensemble, only the missing ones run. ``progress``: a progress bar with ETA (tqdm).
    ``parameters``: values to record with the results (e.g. a sweep's point).
    Ctrl-C stops the run and raises :class:`EnsembleInterrupted` with the finished trials.
    """
    if not isinstance(trials, (int, np.integer)) or isinstance(trials, bool) or trials < 1:
        raise ModelError(f"trials must be a positive integer, got {trials!r}")
    if seed is None:
        seed = model.seed if model.seed is not None else int(np.random.SeedSequence().entropy)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ModelError(f"seed must be a non-negative integer, got {seed!r}")
    _dask_client(executor, connect=False)               # a bad executor fails before any work
    seed = int(seed)
    probe = Simulation(model)                         # validate and compile once here: errors surface now
    marks = probe.sample_times(t_end, every)
    names = [o.name for o in model.observables]
    settings = {"t_end": float(marks[-1]), "every": float(marks[1] - marks[0]) if len(marks) > 1 else None,
                "parameters": dict(parameters or {})}
    store = None
    if out is not None:
        from cleftsim.store import EnsembleFile

        store = EnsembleFile(out, model.describe(), settings, seed, trials, marks, names)
    have = set(store.done().tolist()) if store is not None else set()
    # with a results file the trials go straight to it (memory stays flat however many there are)
    data = {} if store is not None else {name: np.full((trials, len(marks)), np.nan) for name in names}
    jobs = [(seed, k, t_end, every) for k in range(trials) if k not in have]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=trials, initial=len(have), desc="trials", unit="trial", smoothing=0.1)

    releases: dict[int, np.ndarray] = {}

    def finished(k: int, values: dict, events: np.ndarray) -> None:
        if store is not None:
            store.write(k, values, events)
        else:
            for name in names:
                data[name][k] = values[name]
            releases[k] = events
        if bar is not None:
            bar.update(1)

    client = None
    try:
        client = _dask_client(executor)
        if executor == "serial":
            for job in jobs:
                k, _, values, events = _run_trial(model, probe.scene, *job)
                finished(k, values, events)
        elif client is not None and jobs:
            _run_on_dask(client, model, jobs, finished)
        elif jobs:
            workers = min(len(jobs), os.cpu_count() or 1)
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(model,)) as pool:
                futures = [pool.submit(_pooled_trial, job) for job in jobs]
                try:
                    for fut in as_completed(futures):
                        k, _, values, events = fut.result()
                        finished(k, values, events)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    except KeyboardInterrupt:
        raise EnsembleInterrupted(_collect(marks, data, releases, seed, trials, model, store, settings)) from None
    except BaseException:
        if store is not None:
            store.close()                                      # every finished trial is in it
        raise
    finally:
        if bar is not None:
            bar.close()
        if client is not None and client is not executor:      # a client made here from an address
            client.close()
    return _collect(marks, data, releases, seed, trials, model, store, settings)


def _dask_client(executor: Any, connect: bool = True):
    """The dask.distributed Client for ``executor`` (a Client, or a scheduler address such as
    ``"tcp://host:8786"``, connected to unless ``connect`` is False), or None for the local
    executors; anything else is refused."""
    if executor is None or executor == "serial":
        return None
    try:
        from dask.distributed import Client
    except ImportError:
        Client = None
    if Client is not None and isinstance(executor, Client):
        return executor
    if isinstance(executor, str) and "://" in executor:
        if Client is None:
            raise ModelError("running on a Dask cluster needs dask.distributed: pip install 'cleftsim[distributed]'")
        return Client(executor) if connect else None
    raise ModelError(f"executor must be None (local processes), 'serial', a dask.distributed.Client or a "
                     f"scheduler address such as 'tcp://host:8786', got {executor!r}")


def _run_on_dask(client, model: Model, jobs: list, finished) -> None:
    """Run the jobs as Dask tasks (the model sent once to every worker); a task whose worker dies
    is rerun elsewhere by the scheduler, with the same seed and so the same result."""
    from dask.distributed import as_completed as dask_completed

    shared = client.scatter(model, broadcast=True)
    futures = [client.submit(_dask_trial, shared, *job, pure=False, retries=2) for job in jobs]
    try:
        for fut in dask_completed(futures):
            k, _, values, events = fut.result()
            finished(k, values, events)
    except BaseException:
        client.cancel(futures)
        raise


def _collect(marks, data, releases, seed, trials, model, store, settings) -> EnsembleResult:
    """The finished trials (those in the results file, or those run here) as an EnsembleResult."""
    if store is not None:
        from cleftsim.store import load

        store.close()
        return load(store.path)
    done = np.flatnonzero(~np.isnan(next(iter(data.values()))[:, 0])) if data else np.arange(trials)
    meta = {"seed": seed, "trials": trials, "model": model.describe(), "settings": settings}
    return EnsembleResult(marks, {name: v[done] for name, v in data.items()}, seed, done, meta,
                          trial_releases({k: releases[k] for k in done if k in releases}))


class SweepResult:
    """Ensembles of a model built at several parameter points: ``points`` (a list of dicts of
    the parameter values, as given) and ``ensembles`` (an EnsembleResult per point, in order).
    ``sweep[i]`` is the i-th point's ensemble; ``sweep.at(name=value, ...)`` the one whose values
    match."""

    def __init__(self, points: list[dict], ensembles: list[EnsembleResult]):
        self.points = points
        self.ensembles = ensembles

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i: int) -> EnsembleResult:
        return self.ensembles[i]

    def at(self, **values) -> EnsembleResult:
        hits = [i for i, p in enumerate(self.points) if all(k in p and p[k] == v for k, v in values.items())]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} points match {values}; the points are {self.points}")
        return self.ensembles[hits[0]]

    def to_pandas(self):
        """A long pandas DataFrame: the parameter columns, then trial, time and the observables."""
        import pandas as pd

        frames = []
        for point, ens in zip(self.points, self.ensembles):
            df = ens.to_pandas().reset_index()
            for k, v in point.items():
                df.insert(0, k, [v] * len(df))
            frames.append(df)
        return pd.concat(frames, ignore_index=True)


def sweep_points(params: Any) -> list[dict]:
    """The points of a sweep: a dict of value lists is a grid (every combination, the first key
    varying slowest); a list of dicts is taken as the points themselves."""
    import itertools

    if isinstance(params, dict):
        keys = list(params)
        bad = [k for k in keys if isinstance(params[k], (str, bytes)) or not hasattr(params[k], "__iter__")]
        if bad:
            raise ModelError(f"sweep parameters {bad} need a list of values, e.g. {{'{bad[0]}': [1, 2, 3]}}")
        return [dict(zip(keys, combo)) for combo in itertools.product(*(list(params[k]) for k in keys))]
    points = list(params)
    if not points or not all(isinstance(p, dict) for p in points):
        raise ModelError("sweep parameters must be a dict of value lists (a grid) or a list of dicts (points)")
    return [dict(p) for p in points]


def sweep(build_model, params: Any, trials: int, t_end: Any, every: Any = None, seed: int | None = None,
          executor: Any = None, out: str | os.PathLike | None = None, progress: bool = True) -> SweepResult:
    """Run an ensemble of ``build_model(**point)`` at every point of ``params`` (sweep_points).

    Trial k uses the same seed at every point (common random numbers: differences between points
    are not blurred by different noise), from ``seed`` or else the first model's seed. ``out``: a
    directory that receives one results file per point, ``point_<i>.h5`` (resumable like
    :func:`run_ensemble`'s). Other arguments as :func:`run_ensemble`.
    """
    points = sweep_points(params)
    models = []
    for point in points:
        m = build_model(**point)
        if not isinstance(m, Model):
            raise ModelError(f"build_model({point}) returned {type(m).__name__}, not a cleftsim Model")
        models.append(m)
    if seed is None:
        seed = models[0].seed if models[0].seed is not None else int(np.random.SeedSequence().entropy)
    if out is not None:
        os.makedirs(out, exist_ok=True)
    ensembles = [run_ensemble(m, trials, t_end, every, seed=seed, executor=executor, progress=progress,
                              out=None if out is None else os.path.join(out, f"point_{i}.h5"), parameters=point)
                 for i, (point, m) in enumerate(zip(points, models))]
    return SweepResult(points, ensembles)
