"""Ensembles of independent trials of one model, and their statistics.

Trial k of an ensemble with seed s runs with the SeedSequence (s, spawn_key=(k,)) (NumPy's
spawned children of s), so its result depends only on the model, s and k: the same whether it
runs alone (``Simulation(model, seed=trial_seed(s, k))``), in a serial loop or in a process pool,
with any number of workers.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from cleftsim import units
from cleftsim.features import trace_features
from cleftsim.model import AccuracyWarning, Model, ModelError, ModelWarning
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
        preset = self.metadata.get("model", {}).get("preset")
        lines = [f"EnsembleResult: {len(self)} trials{' of ' + preset if preset else ''}, "
                 f"{units.format_sampling(self.times)}, seed {self.seed}",
                 f"  observables: {', '.join(self.names)}"]
        if "file" in self.metadata:
            lines.append(f"  file: {self.metadata['file']}")
        return "\n".join(lines)

    def mean(self, name: str) -> np.ndarray:
        """Mean over trials at every time."""
        return self[name].mean(axis=0)

    def sd(self, name: str) -> np.ndarray:
        """Sample standard deviation (n − 1) over trials at every time (needs two trials or more)."""
        if len(self) < 2:
            raise ValueError(f"the SD over trials needs at least 2 trials; this ensemble has {len(self)}")
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
        if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
            raise ValueError(f"level must be a number between 0 and 1, e.g. 0.95, got {level!r}")
        from scipy import stats

        half = stats.t.ppf(0.5 + level / 2, len(self) - 1) * self.sem(name)
        return self.mean(name) - half, self.mean(name) + half

    def features(self, name: str, t0: Any = None, baseline: float = 0.0, polarity: Any = "auto",
                 refine: Any = "auto") -> dict[str, np.ndarray]:
        """Per-trial features of the observable's trace (arguments as cleftsim.features.trace_features)."""
        return trace_features(self.times, self[name], t0=t0, baseline=baseline, polarity=polarity, refine=refine)

    def summary(self, name: str, t0: Any = None, baseline: float = 0.0, polarity: Any = "auto",
                refine: Any = "auto") -> dict[str, dict[str, float]]:
        """Mean, SD and CV over trials of each feature of the observable's trace (NaN-free trials)."""
        out = {}
        for feature, values in self.features(name, t0, baseline, polarity, refine).items():
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


@contextlib.contextmanager
def _shown_by_the_parent():
    """Silence the model's warnings in trials: the ensemble's own check of the model showed them once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        warnings.simplefilter("ignore", ModelWarning)
        yield


def _quiet_simulation(model: Model) -> Simulation:
    with _shown_by_the_parent():
        return Simulation(model)


def _init_worker(model: Model) -> None:
    _WORKER.update(model=model, scene=_quiet_simulation(model).scene)


def _dask_scene(model: Model):
    scenes = _DASK.__dict__.setdefault("scenes", [])
    for m, scene in scenes:
        if m is model:
            return scene
    scenes.insert(0, (model, _quiet_simulation(model).scene))
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
    with _shown_by_the_parent():
        res = Simulation(model, seed=trial_seed(seed, k), scene=scene).sample(t_end, every, progress=False)
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


def _need_model(model: Any, caller: str) -> Model:
    if not isinstance(model, Model):
        hint = (" (a preset is a function: cs.presets.ca1_synapse() builds its model)"
                if isinstance(model, str) or callable(model) else "")
        raise ModelError(f"{caller} needs a cleftsim Model, got {type(model).__name__} {model!r}{hint}")
    return model


def _need_seed(seed: Any) -> int:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ModelError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _choose_seed(seed: Any, model: Model, recorded: int | None) -> int:
    """The ensemble's seed: the one given, else the model's, else the one recorded in its
    results file (so running the same command again resumes it), else a fresh one."""
    for s in (seed, model.seed, recorded):
        if s is not None:
            return _need_seed(s)
    return int(np.random.SeedSequence().entropy)


def _trials_bar(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="trials", unit="trial", smoothing=0.1)


def run_ensemble(model: Model, trials: int, t_end: Any = None, every: Any = None, seed: int | None = None,
                 executor: Any = None, out: str | os.PathLike | None = None,
                 progress: bool = True, parameters: dict | None = None) -> EnsembleResult:
    """Run ``trials`` independent trials of ``model`` from t = 0 to ``t_end``, sampling every
    ``every`` (defaults: the model's, as :meth:`Model.run`), and collect them in an
    :class:`EnsembleResult`.

    ``seed``: the ensemble's seed (default: the model's; else the one recorded in ``out`` if that
    file exists, so the same command resumes it; else a fresh one, recorded in the result and
    the file). ``executor``: ``None`` (a pool of processes on all local cores), ``"serial"``, a
    ``dask.distributed.Client`` or a Dask scheduler's address (``"tcp://host:8786"``; needs
    ``pip install 'cleftsim[distributed]'``); trial k gives the same result in every case.
    ``out``: an HDF5 results file (cleftsim.store) that receives each trial as it finishes; if it
    already holds some trials of this same ensemble, only the missing ones run, and asking for
    more trials than it holds adds them. ``progress``: a progress bar with ETA (tqdm).
    ``parameters``: values to record with the results (e.g. a sweep's point).
    Ctrl-C stops the run and raises :class:`EnsembleInterrupted` with the finished trials.

    >>> import cleftsim as cs
    >>> m = cs.Model(dt="10 us", seed=3, t_end="1 ms", every="0.5 ms")
    >>> box = m.add_geometry(cs.geometry.box(1.0), name="box")
    >>> a = m.add_species("A", D="0.1 um^2/ms")
    >>> m.add_reaction("A -> 0", "1000 /s")
    Reaction('A -> 0', k=1000)
    >>> m.release(a, n=1000, inside=box)
    >>> m.count(a)
    'A'
    >>> ens = cs.run_ensemble(m, trials=4, executor="serial", out="decay.h5", progress=False)
    >>> ens["A"].shape
    (4, 3)
    >>> bool((cs.load("decay.h5")["A"] == ens["A"]).all())
    True
    >>> more = cs.run_ensemble(m, trials=6, executor="serial", out="decay.h5", progress=False)  # 2 more
    >>> bool((more["A"][:4] == ens["A"]).all())
    True
    """
    bar = _trials_bar(_need_trials(trials)) if progress else None
    try:
        return _ensemble(model, trials, t_end, every, seed, executor, out, bar, parameters)
    finally:
        if bar is not None:
            bar.close()


def _need_trials(trials: Any) -> int:
    if not isinstance(trials, (int, np.integer)) or isinstance(trials, bool) or trials < 1:
        raise ModelError(f"trials must be a positive integer, got {trials!r}")
    return int(trials)


def _ensemble(model: Model, trials: int, t_end: Any, every: Any, seed: Any, executor: Any, out: Any, bar,
              parameters: dict | None) -> EnsembleResult:
    """run_ensemble, advancing ``bar`` (a tqdm bar or None) by one per trial."""
    from cleftsim import store as results_file

    _need_model(model, "run_ensemble")
    trials = _need_trials(trials)
    if parameters is not None and not isinstance(parameters, dict):
        raise ModelError(f"parameters must be a dict of values to record, e.g. {{'n_glu': 3000}}, got {parameters!r}")
    seed = _choose_seed(seed, model, None if out is None else results_file.recorded_seed(out))
    _dask_client(executor, connect=False)               # a bad executor fails before any work
    probe = Simulation(model)                         # validate and compile once here: errors surface now
    marks = probe.sample_times(t_end, every)
    names = [o.name for o in model.observables]
    settings = {"t_end": float(marks[-1]), "every": float(marks[1] - marks[0]) if len(marks) > 1 else None,
                "parameters": dict(parameters or {})}
    store = None
    if out is not None:
        store = results_file.EnsembleFile(out, model.describe(), settings, seed, trials, marks, names)
    have = set(store.done().tolist()) if store is not None else set()
    # with a results file the trials go straight to it (memory stays flat however many there are)
    data = {} if store is not None else {name: np.full((trials, len(marks)), np.nan) for name in names}
    jobs = [(seed, k, t_end, every) for k in range(trials) if k not in have]
    if bar is not None:
        bar.update(len(have))

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
    finally:
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

        return load(store.path)
    done = np.flatnonzero(~np.isnan(next(iter(data.values()))[:, 0])) if data else np.arange(trials)
    meta = {"seed": seed, "trials": trials, "model": model.describe(), "settings": settings}
    return EnsembleResult(marks, {name: v[done] for name, v in data.items()}, seed, done, meta,
                          trial_releases({k: releases[k] for k in done if k in releases}))


def _same_value(a: Any, b: Any) -> bool:
    """Whether two parameter values are equal, comparing quantities by value ("20 nm" equals
    "0.02 um" and the plain 0.02, plain numbers being in cleftsim's base units)."""
    if isinstance(a, (str, int, float)) and isinstance(b, (str, int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        qa, qb = units.base_value(a), units.base_value(b)
        if qa is not None and qb is not None:
            kinds_agree = qa[1] == qb[1] or None in (qa[1], qb[1])     # a plain number is in base units
            return kinds_agree and math.isclose(qa[0], qb[0], rel_tol=1e-9, abs_tol=0.0)
    try:
        return bool(a == b)
    except ValueError:                        # arrays: compare element by element
        return bool(np.array_equal(a, b))


def _label(point: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


class SweepResult:
    """Ensembles of a model built at several parameter points: ``points`` (a list of dicts of
    the parameter values, as given) and ``ensembles`` (an EnsembleResult per point, in order).
    ``sweep[i]`` is the i-th point's ensemble; ``sweep.at(name=value, ...)`` the one whose values
    match (quantities compare by value: ``at(height="0.02 um")`` finds the point "20 nm")."""

    def __init__(self, points: list[dict], ensembles: list[EnsembleResult]):
        self.points = points
        self.ensembles = ensembles

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i: int) -> EnsembleResult:
        return self.ensembles[i]

    def __repr__(self) -> str:
        trials = sorted({len(e) for e in self.ensembles})
        head = (f"SweepResult: {len(self)} points x {'/'.join(map(str, trials))} trials"
                f"{', observables ' + ', '.join(self.ensembles[0].names) if self.ensembles else ''}")
        return "\n".join([head] + [f"  [{i}] {_label(p)}" for i, p in enumerate(self.points)])

    def at(self, **values) -> EnsembleResult:
        """The ensemble of the one point whose parameters equal ``values``."""
        hits = [i for i, p in enumerate(self.points)
                if all(k in p and _same_value(p[k], v) for k, v in values.items())]
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
        if not keys:
            raise ModelError("sweep parameters are empty; give e.g. {'height': ['15 nm', '20 nm']}")
        bad = [k for k in keys if isinstance(params[k], (str, bytes)) or not hasattr(params[k], "__iter__")]
        if bad:
            raise ModelError(f"sweep parameters {bad} need a list of values, e.g. {{'{bad[0]}': [1, 2, 3]}}")
        values = {k: list(params[k]) for k in keys}          # a generator can be read only once
        empty = [k for k in keys if not values[k]]
        if empty:
            raise ModelError(f"sweep parameter {empty[0]!r} has no values; give at least one, e.g. "
                             f"{{{empty[0]!r}: [1, 2]}}")
        return [dict(zip(keys, combo)) for combo in itertools.product(*values.values())]
    if isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
        raise ModelError(f"sweep parameters must be a dict of value lists (a grid) or a list of dicts (points), "
                         f"got {params!r}")
    points = list(params)
    if not points or not all(isinstance(p, dict) for p in points):
        raise ModelError("sweep parameters must be a dict of value lists (a grid) or a list of dicts (points)")
    return [dict(p) for p in points]


def sweep(build_model, params: Any, trials: int, t_end: Any = None, every: Any = None, seed: int | None = None,
          executor: Any = None, out: str | os.PathLike | None = None, progress: bool = True) -> SweepResult:
    """Run an ensemble of ``build_model(**point)`` at every point of ``params`` (sweep_points).

    Trial k uses the same seed at every point (common random numbers: differences between points
    are not blurred by different noise): ``seed`` if given, else each point's model's own seed
    (the same at every point unless the sweep varies it), and for models without one the first
    model seed found, else the one recorded in ``out``'s files, else a fresh one. ``out``: a directory that receives one results
    file per point, ``point_<i>.h5`` (resumable like :func:`run_ensemble`'s). ``progress``: one
    bar over every trial of the sweep, labelled with the point being run. Other arguments as
    :func:`run_ensemble` (``t_end``, ``every``: defaults from each point's model).

    >>> import cleftsim as cs
    >>> def decay(k):
    ...     m = cs.Model(dt="10 us", seed=3, t_end="1 ms", every="0.5 ms")
    ...     box = m.add_geometry(cs.geometry.box(1.0), name="box")
    ...     m.add_species("A", D="0.1 um^2/ms")
    ...     m.add_reaction("A -> 0", k)
    ...     m.release("A", n=1000, inside=box)
    ...     m.count("A")
    ...     return m
    >>> sw = cs.sweep(decay, {"k": ["1 /ms", "2 /ms"]}, trials=3, executor="serial", progress=False)
    >>> sw
    SweepResult: 2 points x 3 trials, observables A
      [0] k=1 /ms
      [1] k=2 /ms
    >>> bool(sw.at(k="2000 /s").mean("A")[-1] < sw.at(k="1 /ms").mean("A")[-1])
    True
    """
    from cleftsim import store as results_file

    if not callable(build_model):
        raise ModelError(f"sweep needs a function that builds a Model from the parameters of a point, e.g. "
                         f"cs.presets.ca1_synapse; got {type(build_model).__name__} {build_model!r}")
    trials = _need_trials(trials)
    points = sweep_points(params)
    if out is not None and (not str(out) or Path(out).exists() and not Path(out).is_dir()):
        raise ModelError(f"sweep out={str(out)!r} is {'a file' if str(out) else 'empty'}; give a folder for the "
                         f"point files (it is created if missing)")
    files = [None if out is None else Path(out) / f"point_{i}.h5" for i in range(len(points))]
    models = []
    for point in points:
        m = build_model(**point)
        if not isinstance(m, Model):
            raise ModelError(f"build_model({_label(point)}) returned {type(m).__name__}, not a cleftsim Model")
        models.append(m)
    common = seed
    if common is None and out is not None:
        common = next((s for s in map(results_file.recorded_seed, filter(Path.exists, files)) if s is not None), None)
    common = _choose_seed(common, next((m for m in models if m.seed is not None), models[0]), None)
    # a seed given to sweep serves every point; else each point's model's own, or the common one
    seeds = [common if seed is not None or m.seed is None else _need_seed(m.seed) for m in models]
    if out is not None:
        os.makedirs(out, exist_ok=True)
    bar = _trials_bar(len(points) * trials) if progress else None
    ensembles = []
    try:
        for point, m, path, point_seed in zip(points, models, files, seeds):
            if bar is not None:
                bar.set_description(_label(point))
            ensembles.append(_ensemble(m, trials, t_end, every, point_seed, executor, path, bar, point))
    finally:
        if bar is not None:
            bar.close()
    return SweepResult(points, ensembles)
