"""Results files (HDF5, through h5py): an ensemble written trial by trial.

Layout: attributes ``format``, ``version`` (cleftsim's), ``seed`` (decimal text: any size of
integer is kept exactly), ``trials``, ``model`` (the model description, JSON) and ``settings``
(t_end, every, JSON); datasets ``times`` (n_times,), ``done`` (trials,), ``data/<observable>``
(trials, n_times), float64, and ``releases/<trial>`` (the trial's vesicle releases,
cleftsim.results.result.RELEASE_EVENT).

A file is made complete or not at all: it is written under a temporary name beside its final
one and renamed into place. Every dataset has its space allocated then, and each trial writes
only raw values: its rows, a flush, then its ``done`` flag and a flush. So killing the process at
any moment leaves every trial whose flag is set complete and readable. The file is open only
while a trial is written, so processes started during a run never inherit it. Running the same
ensemble again with the same file runs only the missing trials (with the seed recorded in the
file when none is given); asking for more trials than the file holds adds them; a different
model, settings or seed is refused.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from cleftsim.errors import ResultsFileError
from cleftsim.results.ensemble import EnsembleResult, trial_releases
from cleftsim.version import version

FORMAT = "cleftsim-ensemble-1"
#: Attributes every complete results file has.
ATTRIBUTES = ("format", "version", "seed", "trials", "model", "settings")


def _early(fill: float):
    """Dataset creation properties: contiguous, space allocated now, filled with ``fill``."""
    import h5py

    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_ALLOC)
    dcpl.set_fill_value(np.array(fill, dtype=np.float64))
    return dcpl


def check_path(path: str | os.PathLike, name: str = "out") -> Path:
    """``path`` as a Path if it can hold a results file: not a folder, in a folder that exists,
    and either new or an HDF5 file; otherwise a ResultsFileError naming the fix."""
    p = Path(path)
    if p.is_dir():
        raise ResultsFileError(f"{name}={str(path)!r} is a folder; give a file name in it, e.g. "
                               f"{name}={str(p / 'ensemble.h5')!r}")
    if not p.parent.is_dir():
        raise ResultsFileError(f"{name}={str(path)!r}: the folder {str(p.parent)!r} does not exist; create it "
                               f"first or choose another path")
    if p.exists() and not _is_hdf5(p):
        raise ResultsFileError(f"{name}={str(path)!r} exists and is not an HDF5 results file; choose another "
                               f"name, or delete it to start again")
    return p


def _open(path: Path, mode: str):
    """The HDF5 file at ``path``, with a ResultsFileError for what is not a complete results file."""
    import h5py

    try:
        h5 = h5py.File(path, mode)
    except OSError as exc:
        raise ResultsFileError(f"cannot open {str(path)!r} as a results file ({exc}); is another program "
                               f"writing it?") from None
    missing = [a for a in ATTRIBUTES if a not in h5.attrs] + [d for d in ("done", "data") if d not in h5]
    fmt = h5.attrs.get("format")
    if fmt != FORMAT or missing:
        h5.close()
        what = (f"it is not a cleftsim ensemble file (format {fmt!r})" if fmt != FORMAT
                else f"it is incomplete (it has no {', '.join(missing)})")
        raise ResultsFileError(f"cannot use {str(path)!r}: {what}; choose another name, or delete it to start again")
    return h5


def recorded_seed(path: str | os.PathLike) -> int | None:
    """The seed of the ensemble in the results file at ``path``, or None if there is no file."""
    p = check_path(path)
    if not p.exists():
        return None
    with _open(p, "r") as h5:
        return int(h5.attrs["seed"])


class EnsembleFile:
    """The results file of one ensemble (see the module docstring): made, checked against the
    ensemble or enlarged to its trial count when created, then opened for each trial written."""

    def __init__(self, path: str | os.PathLike, description: dict, settings: dict, seed: int, trials: int,
                 times: np.ndarray, names: list[str]):
        self.path = check_path(path)
        bad = [n for n in names if "/" in n]
        if bad:
            raise ResultsFileError(f"observable names {bad} contain '/', which HDF5 reads as a path; rename them")
        self._head = {"model": json.dumps(description, sort_keys=True, default=str),
                      "settings": json.dumps(settings, sort_keys=True, default=str),
                      "seed": str(int(seed)), "trials": int(trials)}
        self._times = np.asarray(times, dtype=np.float64)
        self._names = list(names)
        if not self.path.exists():
            self._create({})
            return
        with _open(self.path, "r") as h5:
            held = int(h5.attrs["trials"])
            self._refuse_other(h5, held)
        if held < trials:
            self._create(self._contents())

    def _refuse_other(self, h5, held: int) -> None:
        """Refuse a file of another model, settings or seed, or with more trials than asked for."""
        attrs, want = h5.attrs, self._head
        why = None
        if attrs["model"] != want["model"]:
            why = "it holds trials of a different model"
        elif attrs["settings"] != want["settings"] or not np.array_equal(h5["times"][()], self._times):
            why = f"it was run with other settings ({attrs['settings']})"
        elif str(attrs["seed"]) != want["seed"]:
            why = f"it holds trials of seed {attrs['seed']}, not {want['seed']}"
        elif held > want["trials"]:
            why = (f"it holds {held} trials, more than the {want['trials']} asked for; ask for trials={held} "
                   f"(or more, to add trials)")
        if why is not None:
            raise ResultsFileError(f"cannot resume {str(self.path)!r}: {why}; use another file name or delete it "
                                   f"to start again")

    def _contents(self) -> dict:
        """The finished trials of the existing file: {trial: (rows by observable, releases)}."""
        with _open(self.path, "r") as h5:
            group = h5.get("releases", {})
            return {int(k): ({n: h5["data"][n][k] for n in self._names}, group[str(k)][()])
                    for k in np.flatnonzero(h5["done"][()])}

    def _create(self, trials: dict) -> None:
        """Write a complete file holding ``trials`` under a temporary name, then rename it into place."""
        import h5py

        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        try:
            with h5py.File(tmp, "w") as h5:
                h5["times"] = self._times
                n = self._head["trials"]
                h5py.h5d.create(h5.id, b"done", h5py.h5t.STD_U8LE, h5py.h5s.create_simple((n,)), _early(0)).close()
                group = h5.create_group("data")
                for name in self._names:
                    h5py.h5d.create(group.id, name.encode(), h5py.h5t.IEEE_F64LE,
                                    h5py.h5s.create_simple((n, len(self._times))), _early(np.nan)).close()
                for k, (rows, releases) in trials.items():
                    self._put(h5, k, rows, releases)
                h5.attrs.update(format=FORMAT, version=version(), **self._head)
            os.replace(tmp, self.path)
        finally:
            if tmp.exists():
                tmp.unlink()

    @staticmethod
    def _put(h5, k: int, rows: dict[str, np.ndarray], releases: np.ndarray) -> None:
        """Trial k's rows and release events, then its flag, each followed by a flush."""
        for name, values in rows.items():
            h5["data"][name][k, :] = values
        group = h5.require_group("releases")
        if str(k) in group:                      # left by a run killed before it set the flag
            del group[str(k)]
        group[str(k)] = releases
        h5.flush()
        h5["done"][k] = 1
        h5.flush()

    def done(self) -> np.ndarray:
        """Indices of the trials already in the file."""
        with _open(self.path, "r") as h5:
            return np.flatnonzero(h5["done"][()])

    def write(self, k: int, data: dict[str, np.ndarray], releases: np.ndarray) -> None:
        """Store trial k (the file is opened for it and closed again)."""
        with _open(self.path, "r+") as h5:
            self._put(h5, k, data, releases)


def load(path: str | os.PathLike) -> EnsembleResult:
    """Read a results file back into an :class:`~cleftsim.results.ensemble.EnsembleResult` holding the
    trials it completed."""

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"cs.load needs the path of a results file, got {type(path).__name__} {path!r}")
    p = Path(path)
    if not p.exists():
        where = "" if p.is_absolute() else f" (in {os.getcwd()!r})"
        raise FileNotFoundError(f"no results file {str(path)!r}{where}")
    if p.is_dir() or not _is_hdf5(p):
        raise ResultsFileError(f"{str(path)!r} is {'a folder' if p.is_dir() else 'not an HDF5 file'}, not a "
                               f"cleftsim results file (cs.load reads the files written by run_ensemble(out=...))")
    with _open(p, "r") as h5:
        done = np.flatnonzero(h5["done"][()])
        data = {name: h5["data"][name][()][done] for name in h5["data"]}
        meta: dict[str, Any] = {"seed": int(h5.attrs["seed"]), "trials": int(h5.attrs["trials"]),
                                "version": str(h5.attrs["version"]), "model": json.loads(h5.attrs["model"]),
                                "settings": json.loads(h5.attrs["settings"]), "file": str(path)}
        group = h5.get("releases", {})
        events = trial_releases({int(k): group[str(k)][()] for k in done if str(k) in group})
        return EnsembleResult(h5["times"][()], data, meta["seed"], done, meta, events)


def _is_hdf5(path: Path) -> bool:
    import h5py

    return bool(h5py.is_hdf5(path))
