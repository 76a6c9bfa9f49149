"""Ensembles of independent trials of one model, and their statistics.

Trial k of an ensemble with seed s runs with the SeedSequence (s, spawn_key=(k,)) (NumPy's
spawned children of s), so its result depends only on the model, s and k: the same whether it
runs alone (``Simulation(model, seed=trial_seed(s, k))``), in a serial loop or in a process pool,
with any number of workers.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy import stats

from cleftsim.features import trace_features
from cleftsim.model import Model, ModelError
from cleftsim.simulation import Simulation


def trial_seed(seed: int, k: int) -> np.random.SeedSequence:
    """The SeedSequence of trial k of an ensemble with the given seed."""
    return np.random.SeedSequence(seed, spawn_key=(k,))


class EnsembleResult:
    """Observables of ``trials`` independent runs sampled at the same ``times`` (s).

    ``ens["name"]`` is a (trials, times) array; ``mean``, ``sd``, ``sem``, ``cv`` and ``ci`` give
    statistics over the trials at every time, ``features(name)`` the features of each trial's
    trace (cleftsim.features). ``seed`` is the ensemble's seed, ``trials`` the trial indices.
    """

    def __init__(self, times: np.ndarray, data: dict[str, np.ndarray], seed: int, trials: np.ndarray,
                 metadata: dict[str, Any]):
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


_WORKER_MODEL: Model | None = None


def _init_worker(model: Model) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = model


def _run_trial(model: Model, seed: int, k: int, t_end: Any, every: Any) -> tuple[int, np.ndarray, dict]:
    res = Simulation(model, seed=trial_seed(seed, k)).sample(t_end, every)
    return k, res.times, {name: res[name] for name in res.names}


def _pooled_trial(args: tuple) -> tuple[int, np.ndarray, dict]:
    return _run_trial(_WORKER_MODEL, *args)


def run_ensemble(model: Model, trials: int, t_end: Any, every: Any = None, seed: int | None = None,
                 executor: Any = None) -> EnsembleResult:
    """Run ``trials`` independent trials of ``model`` from t = 0 to ``t_end``, sampling every
    ``every`` (as :meth:`Model.run`), and collect them in an :class:`EnsembleResult`.

    ``seed``: the ensemble's seed (default: the model's; a fresh one, recorded in the result, if
    neither is set). ``executor``: ``None`` (a pool of processes on all local cores) or
    ``"serial"``. Trial k gives the same result either way.
    """
    if not isinstance(trials, (int, np.integer)) or isinstance(trials, bool) or trials < 1:
        raise ModelError(f"trials must be a positive integer, got {trials!r}")
    if seed is None:
        seed = model.seed if model.seed is not None else int(np.random.SeedSequence().entropy)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ModelError(f"seed must be a non-negative integer, got {seed!r}")
    Simulation(model)                                  # validate and compile once here: errors surface now
    jobs = [(int(seed), k, t_end, every) for k in range(trials)]
    if executor == "serial":
        done = [_run_trial(model, *job) for job in jobs]
    elif executor is None:
        workers = min(trials, os.cpu_count() or 1)
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(model,)) as pool:
            done = list(pool.map(_pooled_trial, jobs))
    else:
        raise ModelError(f"executor must be None (local processes) or 'serial', got {executor!r}")
    done.sort(key=lambda r: r[0])
    times = done[0][1]
    data = {name: np.stack([r[2][name] for r in done]) for name in done[0][2]}
    meta = {"seed": int(seed), "trials": trials, "model": model.describe()}
    return EnsembleResult(times, data, int(seed), np.arange(trials), meta)
