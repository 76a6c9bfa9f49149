"""The results of ensembles and sweeps: observables of many independent trials, with their
statistics (mean, SD, SEM, CV, confidence intervals) and the features of each trial's trace."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from cleftsim import units
from cleftsim.results.features import trace_features
from cleftsim.results.result import ENSEMBLE_RELEASE, RELEASE_EVENT

if TYPE_CHECKING:                # optional dependencies
    import pandas
    import xarray


class EnsembleResult:
    """Observables of ``trials`` independent runs sampled at the same ``times`` (s).

    ``ens["name"]`` is a (trials, times) array; ``mean``, ``sd``, ``sem``, ``cv`` and ``ci`` give
    statistics over the trials at every time, ``features(name)`` the features of each trial's
    trace (cleftsim.results.features). ``seed`` is the ensemble's seed, ``trials`` the trial indices,
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
        """Per-trial features of the observable's trace (arguments as cleftsim.results.features.trace_features)."""
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

    def to_pandas(self) -> pandas.DataFrame:
        """A long pandas DataFrame: one row per (trial, time), one column per observable."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        index = pd.MultiIndex.from_product([self.trials, self.times], names=["trial", "time (s)"])
        return pd.DataFrame({name: v.reshape(-1) for name, v in self._data.items()}, index=index)

    def to_xarray(self) -> xarray.Dataset:
        """An xarray Dataset with dimensions (trial, time) (needs xarray)."""
        try:
            import xarray as xr
        except ImportError:
            raise ImportError("to_xarray() needs xarray: pip install xarray") from None
        return xr.Dataset({name: (("trial", "time"), v) for name, v in self._data.items()},
                          coords={"trial": self.trials, "time": self.times}, attrs={"seed": self.seed})


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

    def to_pandas(self) -> pandas.DataFrame:
        """A long pandas DataFrame: the parameter columns, then trial, time and the observables."""
        import pandas as pd

        frames = []
        for point, ens in zip(self.points, self.ensembles):
            df = ens.to_pandas().reset_index()
            for k, v in point.items():
                df.insert(0, k, [v] * len(df))
            frames.append(df)
        return pd.concat(frames, ignore_index=True)
