"""MCell's reaction-data files: one ``.dat`` file per observable, a line per sample."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cleftsim.results.result import Result


def write_reaction_data(result: Result, folder: str | os.PathLike) -> list[Path]:
    """Write every observable of ``result`` (one run) as ``<folder>/<name>.dat`` in MCell's
    reaction-data format: a line per sample, the time (s) and the value separated by a space, so
    scripts that read MCell's output read these. The folder is created if needed; returns the paths.
    """
    if not isinstance(result, Result):
        raise TypeError(f"write_reaction_data takes the Result of one run (model.run()), got "
                        f"{type(result).__name__}; for an ensemble write each trial to its own folder")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in result.names:
        values = np.asarray(result[name])
        value = "{:d}" if np.issubdtype(values.dtype, np.integer) else "{:.15g}"
        path = out / f"{name}.dat"
        tmp = path.with_name(path.name + ".part")
        tmp.write_text("".join(f"{t:.15g} {value.format(v.item())}\n" for t, v in zip(result.times, values)))
        tmp.replace(path)
        paths.append(path)
    return paths
