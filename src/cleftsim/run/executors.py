"""Where the trials of an ensemble run: in this process, in a pool of local processes, or on a
Dask cluster. Every executor runs trial k with the same seed, so trial k gives the same result on
each, with any number of threads per trial. The compiled model is sent once to every worker, which
keeps it for its trials. Local processes and threads share the cores by
:func:`cleftsim.engine.threads.split_cores`."""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable

import numpy as np

from cleftsim.compiler.compiled import CompiledModel
from cleftsim.engine.simulation import Simulation
from cleftsim.engine.threads import check_threads, split_cores
from cleftsim.errors import AccuracyWarning, ModelError, ModelWarning

#: The compiled model of this pool worker's ensemble (set when the worker starts).
_WORKER: dict[str, CompiledModel] = {}


def trial_seed(seed: int, k: int) -> np.random.SeedSequence:
    """The SeedSequence of trial k of an ensemble with the given seed."""
    return np.random.SeedSequence(seed, spawn_key=(k,))


@contextlib.contextmanager
def shown_by_the_parent():
    """Silence the model's warnings in trials: the ensemble's own check of the model showed them once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        warnings.simplefilter("ignore", ModelWarning)
        yield


def run_trial(compiled: CompiledModel, seed: int, k: int, t_end: Any, every: Any, threads: int = 1) -> tuple:
    """(k, times, observables, release events) of trial k, its molecules moved by ``threads`` threads."""
    with shown_by_the_parent():
        res = Simulation(compiled, seed=trial_seed(seed, k), threads=threads).sample(t_end, every, progress=False)
    return k, res.times, {name: res[name] for name in res.names}, res.releases


def _init_worker(compiled: CompiledModel, threads: int) -> None:
    _WORKER["compiled"] = compiled
    _WORKER["threads"] = threads


def _pooled_trial(job: tuple) -> tuple:
    return run_trial(_WORKER["compiled"], *job, threads=_WORKER["threads"])


def dask_client(executor: Any, connect: bool = True):
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


def run_trials(compiled: CompiledModel, jobs: list[tuple], executor: Any, client,
               finished: Callable[[int, dict, np.ndarray], None], threads: int | None = None) -> None:
    """Run the jobs ((seed, k, t_end, every) each) on the executor, calling ``finished(k,
    observables, release events)`` in this process as each trial ends. ``threads`` per trial:
    default every core for the serial executor, the split of split_cores for the process pool,
    and 1 on Dask (whose workers run a trial per thread they have)."""
    if not jobs:
        return
    if executor == "serial":
        n = check_threads(threads)
        for job in jobs:
            k, _, values, events = run_trial(compiled, *job, threads=n)
            finished(k, values, events)
    elif client is not None:
        _run_on_dask(client, compiled, jobs, finished, check_threads(threads, default=1))
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed  # not needed by import cleftsim

        workers, n = split_cores(len(jobs), threads)
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                 initargs=(compiled, n)) as pool:
            futures = [pool.submit(_pooled_trial, job) for job in jobs]
            try:
                for fut in as_completed(futures):
                    k, _, values, events = fut.result()
                    finished(k, values, events)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise


def _run_on_dask(client, compiled: CompiledModel, jobs: list, finished, threads: int) -> None:
    """Run the jobs as Dask tasks (the compiled model sent once to every worker); a task whose
    worker dies is rerun elsewhere by the scheduler, with the same seed and so the same result."""
    from dask.distributed import as_completed as dask_completed

    shared = client.scatter(compiled, broadcast=True)
    futures = [client.submit(run_trial, shared, *job, threads, pure=False, retries=2) for job in jobs]
    try:
        for fut in dask_completed(futures):
            k, _, values, events = fut.result()
            finished(k, values, events)
    except BaseException:
        client.cancel(futures)
        raise
