"""Result: the sampled time series of one simulation run."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cleftsim import units

if TYPE_CHECKING:                # optional dependencies
    import pandas

#: One vesicle release of a run: fusion time (s), which release_vesicles call, action potential,
#: site, molecules, and where (µm).
RELEASE_EVENT = np.dtype([("time", "f8"), ("source", "i8"), ("ap", "i8"), ("site", "i8"), ("n", "i8"),
                          ("x", "f8"), ("y", "f8"), ("z", "f8")])
#: The same with the trial it happened in (EnsembleResult.releases).
ENSEMBLE_RELEASE = np.dtype(RELEASE_EVENT.descr + [("trial", "i8")])


class Result:
    """Observables sampled at ``times`` (s).

    ``result["name"]`` gives one observable as a numpy array aligned with ``times``;
    ``metadata`` holds the seed, time step, package version and the model description;
    ``diagnostics`` the engine's counters (reflections, Brownian-bridge absorptions, steps cut
    short by the bounce limit, periodic wraps); ``releases`` the run's vesicle releases (a
    structured array: time (s), source, ap, site, n, x, y, z (µm); see
    :meth:`~cleftsim.model.Model.release_vesicles`), all of them, including any after the last sample.
    """

    def __init__(self, times: np.ndarray, data: dict[str, np.ndarray], metadata: dict[str, Any],
                 diagnostics: dict[str, int], releases: np.ndarray | None = None):
        self.releases = np.zeros(0, dtype=RELEASE_EVENT) if releases is None else releases
        self.times = np.asarray(times, dtype=np.float64)
        self._data = {k: np.asarray(v) for k, v in data.items()}
        self.metadata = metadata
        self.diagnostics = diagnostics

    @property
    def names(self) -> list[str]:
        """Names of the observables."""
        return list(self._data)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._data[name]
        except KeyError:
            raise KeyError(f"no observable named {name!r}; this result has {self.names}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._data

    def __repr__(self) -> str:
        return f"Result: {units.format_sampling(self.times)}\n  observables: {', '.join(self.names)}"

    def to_pandas(self) -> pandas.DataFrame:
        """A pandas DataFrame indexed by time (s), one column per observable (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        return pd.DataFrame(self._data, index=pd.Index(self.times, name="time (s)"))
