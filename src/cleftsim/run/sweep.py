"""Parameter sweeps: an ensemble of a model built at every point of a grid or list of points,
with common random numbers across the points."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from cleftsim.errors import ModelError
from cleftsim.model.model import Model
from cleftsim.results.ensemble import SweepResult, _label
from cleftsim.run.ensemble import _choose_seed, _ensemble, _need_seed, _need_trials, _trials_bar


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


def sweep(build_model: Callable[..., Model], params: Any, trials: int, t_end: Any = None, every: Any = None, seed: int | None = None,
          executor: Any = None, out: str | os.PathLike | None = None, progress: bool = True,
          threads: int | None = None) -> SweepResult:
    """Run an ensemble of ``build_model(**point)`` at every point of ``params`` (sweep_points).

    Trial k uses the same seed at every point (common random numbers: differences between points
    are not blurred by different noise): ``seed`` if given, else each point's model's own seed
    (the same at every point unless the sweep varies it), and for models without one the first
    model seed found, else the one recorded in ``out``'s files, else a fresh one. ``out``: a directory that receives one results
    file per point, ``point_<i>.h5`` (resumable like :func:`run_ensemble`'s). ``progress``: one
    bar over every trial of the sweep, labelled with the point being run. Other arguments as
    :func:`run_ensemble` (``t_end``, ``every``: defaults from each point's model; ``threads``).

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
    from cleftsim.results import store as results_file

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
            ensembles.append(_ensemble(m, trials, t_end, every, point_seed, executor, path, bar, point, threads))
    finally:
        if bar is not None:
            bar.close()
    return SweepResult(points, ensembles)
