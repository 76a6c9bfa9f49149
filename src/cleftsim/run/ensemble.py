"""Ensembles of independent trials of one model, and their statistics.

Trial k of an ensemble with seed s runs with the SeedSequence (s, spawn_key=(k,)) (NumPy's
spawned children of s), so its result depends only on the model, s and k: the same whether it
runs alone (``Simulation(model, seed=trial_seed(s, k))``), in a serial loop or in a process pool,
with any number of workers.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from cleftsim import units
from cleftsim.compiler.compiled import compile
from cleftsim.engine.simulation import Simulation
from cleftsim.engine.threads import check_threads
from cleftsim.errors import EnsembleInterrupted, ModelError
from cleftsim.model.model import Model
from cleftsim.results.ensemble import EnsembleResult, trial_releases
from cleftsim.run.executors import dask_client, run_trials


def _need_model(model: Any, caller: str) -> Model:
    if not isinstance(model, Model):
        hint = (" (a preset is a function: cs.presets.ca1_synapse() builds its model)"
                if isinstance(model, str) or callable(model) else "")
        raise ModelError(f"{caller} needs a cleftsim Model, got {type(model).__name__} {model!r}{hint}")
    return model


def _need_seed(seed: Any) -> int:
    if not units.is_whole(seed):
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
                 progress: bool = True, parameters: dict | None = None, threads: int | None = None) -> EnsembleResult:
    """Run ``trials`` independent trials of ``model`` from t = 0 to ``t_end``, sampling every
    ``every`` (defaults: the model's, as :meth:`Model.run`), and collect them in an
    :class:`EnsembleResult`.

    ``seed``: the ensemble's seed (default: the model's; else the one recorded in ``out`` if that
    file exists, so the same command resumes it; else a fresh one, recorded in the result and
    the file). ``executor``: ``None`` (a pool of processes on all local cores), ``"serial"``, a
    ``dask.distributed.Client`` or a Dask scheduler's address (``"tcp://host:8786"``; needs
    ``pip install 'cleftsim[distributed]'``); trial k gives the same result in every case.
    ``out``: an HDF5 results file (cleftsim.results.store) that receives each trial as it finishes; if it
    already holds some trials of this same ensemble, only the missing ones run, and asking for
    more trials than it holds adds them. ``progress``: a progress bar with ETA (tqdm).
    ``parameters``: values to record with the results (e.g. a sweep's point).
    ``threads``: threads per trial; by default the local process pool runs min(trials, cores)
    trials at once with cores // that many threads each, the serial executor gives each trial
    every core, and Dask one thread (:func:`cleftsim.engine.threads.split_cores`). The results
    do not depend on it.
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
        return _ensemble(model, trials, t_end, every, seed, executor, out, bar, parameters, threads)
    finally:
        if bar is not None:
            bar.close()


def _need_trials(trials: Any) -> int:
    if not units.is_whole(trials, 1):
        raise ModelError(f"trials must be a positive integer, got {trials!r}")
    return int(trials)


def _ensemble(model: Model, trials: int, t_end: Any, every: Any, seed: Any, executor: Any, out: Any, bar,
              parameters: dict | None, threads: Any = None) -> EnsembleResult:
    """run_ensemble, advancing ``bar`` (a tqdm bar or None) by one per trial."""
    from cleftsim.results import store as results_file

    _need_model(model, "run_ensemble")
    trials = _need_trials(trials)
    if parameters is not None and not isinstance(parameters, dict):
        raise ModelError(f"parameters must be a dict of values to record, e.g. {{'n_glu': 3000}}, got {parameters!r}")
    seed = _choose_seed(seed, model, None if out is None else results_file.recorded_seed(out))
    dask_client(executor, connect=False)               # a bad executor fails before any work
    if threads is not None:
        check_threads(threads)
    compiled = compile(model)                          # once, here: errors and warnings surface now
    marks = Simulation(compiled).sample_times(t_end, every)
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
        client = dask_client(executor)
        run_trials(compiled, jobs, executor, client, finished, threads)
    except KeyboardInterrupt:
        raise EnsembleInterrupted(_collect(marks, data, releases, seed, trials, model, store, settings)) from None
    finally:
        if client is not None and client is not executor:      # a client made here from an address
            client.close()
    return _collect(marks, data, releases, seed, trials, model, store, settings)


def _collect(marks, data, releases, seed, trials, model, store, settings) -> EnsembleResult:
    """The finished trials (those in the results file, or those run here) as an EnsembleResult."""
    if store is not None:
        from cleftsim.results.store import load

        return load(store.path)
    done = np.flatnonzero(~np.isnan(next(iter(data.values()))[:, 0])) if data else np.arange(trials)
    meta = {"seed": seed, "trials": trials, "model": model.describe(), "settings": settings}
    return EnsembleResult(marks, {name: v[done] for name, v in data.items()}, seed, done, meta,
                          trial_releases({k: releases[k] for k in done if k in releases}))

