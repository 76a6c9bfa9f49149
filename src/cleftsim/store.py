"""Results files (HDF5, through h5py): an ensemble written trial by trial.

Layout: attributes ``format``, ``version`` (cleftsim's), ``seed``, ``trials``, ``model`` (the
model description, JSON) and ``settings`` (t_end, every, JSON); datasets ``times`` (n_times,),
``done`` (trials,), ``data/<observable>`` (trials, n_times), float64, and ``releases/<trial>``
(the trial's vesicle releases, cleftsim.result.RELEASE_EVENT).

Every dataset is created, with its space allocated, before the first trial runs, and each trial
writes only raw values: its rows, a flush, then its ``done`` flag and a flush. So killing the
process at any moment leaves the file's structure intact and every trial whose flag is set
complete; running the same ensemble again with the same file runs only the missing trials, and a
different model or settings is refused.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "cleftsim-ensemble-1"


class ResultsFileError(ValueError):
    """A results file that cannot be used for this ensemble (another model, settings, size)."""


def _early(fill: float):
    """Dataset creation properties: contiguous, space allocated now, filled with ``fill``."""
    import h5py

    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_ALLOC)
    dcpl.set_fill_value(np.array(fill, dtype=np.float64))
    return dcpl


class EnsembleFile:
    """An open results file for one ensemble (see the module docstring)."""

    def __init__(self, path: str | Path, description: dict, settings: dict, seed: int, trials: int,
                 times: np.ndarray, names: list[str]):
        import h5py

        self.path = Path(path)
        model_json = json.dumps(description, sort_keys=True, default=str)
        settings_json = json.dumps(settings, sort_keys=True, default=str)
        bad = [n for n in names if "/" in n]
        if bad:
            raise ResultsFileError(f"observable names {bad} contain '/', which HDF5 reads as a path; rename them")
        if self.path.exists():
            self.h5 = h5py.File(self.path, "r+")
            attrs = self.h5.attrs
            why = None
            if attrs.get("format") != FORMAT:
                why = f"it is not a cleftsim ensemble file (format {attrs.get('format')!r})"
            elif attrs["model"] != model_json:
                why = "it holds trials of a different model"
            elif attrs["settings"] != settings_json or not np.array_equal(self.h5["times"][()], times):
                why = f"it was run with other settings ({attrs['settings']})"
            elif int(attrs["seed"]) != seed or int(attrs["trials"]) != trials:
                why = f"it holds {int(attrs['trials'])} trials of seed {int(attrs['seed'])}"
            if why is not None:
                self.h5.close()
                raise ResultsFileError(f"cannot resume {str(self.path)!r}: {why}; use another file name "
                                       f"or delete it to start again")
        else:
            from cleftsim import __version__

            self.h5 = h5py.File(self.path, "w")
            self.h5.attrs.update(format=FORMAT, version=__version__, seed=seed, trials=trials,
                                 model=model_json, settings=settings_json)
            self.h5["times"] = np.asarray(times, dtype=np.float64)
            done = h5py.h5d.create(self.h5.id, b"done", h5py.h5t.STD_U8LE, h5py.h5s.create_simple((trials,)),
                                   _early(0))
            done.close()
            group = self.h5.create_group("data")
            for name in names:
                shape = (trials, len(times))
                h5py.h5d.create(group.id, name.encode(), h5py.h5t.IEEE_F64LE, h5py.h5s.create_simple(shape),
                                _early(np.nan)).close()
            self.h5.flush()

    def done(self) -> np.ndarray:
        """Indices of the trials already in the file."""
        return np.flatnonzero(self.h5["done"][()])

    def write(self, k: int, data: dict[str, np.ndarray], releases: np.ndarray) -> None:
        """Store trial k: its rows and release events, then its flag, each followed by a flush."""
        for name, values in data.items():
            self.h5["data"][name][k, :] = values
        group = self.h5.require_group("releases")
        if str(k) in group:                      # left by a run killed before it set the flag
            del group[str(k)]
        group[str(k)] = releases
        self.h5.flush()
        self.h5["done"][k] = 1
        self.h5.flush()

    def close(self) -> None:
        if self.h5.id.valid:
            self.h5.close()


def load(path: str | Path):
    """Read a results file back into an :class:`~cleftsim.ensemble.EnsembleResult` holding the
    trials it completed."""
    import h5py

    from cleftsim.ensemble import EnsembleResult, trial_releases

    with h5py.File(path, "r") as h5:
        if h5.attrs.get("format") != FORMAT:
            raise ResultsFileError(f"{str(path)!r} is not a cleftsim ensemble file")
        done = np.flatnonzero(h5["done"][()])
        data = {name: h5["data"][name][()][done] for name in h5["data"]}
        meta: dict[str, Any] = {"seed": int(h5.attrs["seed"]), "trials": int(h5.attrs["trials"]),
                                "version": str(h5.attrs["version"]), "model": json.loads(h5.attrs["model"]),
                                "settings": json.loads(h5.attrs["settings"]), "file": str(path)}
        group = h5.get("releases", {})
        events = trial_releases({int(k): group[str(k)][()] for k in done if str(k) in group})
        return EnsembleResult(h5["times"][()], data, meta["seed"], done, meta, events)
