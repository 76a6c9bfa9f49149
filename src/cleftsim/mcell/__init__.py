"""MCell models: import MDL files (as written by CellBlender and MCell's test suite) into cleftsim,
and write MCell's reaction-data files.

:func:`load` reads an MDL file and its includes (:func:`cleftsim.mcell.parser.read`: evaluated
variables, molecules, reactions, surface classes, instantiated meshes in world coordinates, release
sites and patterns, count outputs) and builds a :class:`~cleftsim.model.Model` of it
(:mod:`cleftsim.mcell.build`); :func:`write_reaction_data` writes a run's observables as MCell's
``.dat`` files. Constructs outside the supported subset raise :class:`MDLError` naming the file,
the line and the construct. What is read and how it maps onto cleftsim: docs/mcell.md.
"""
from __future__ import annotations

import os
from typing import Any

from cleftsim.errors import MDLError
from cleftsim.mcell.output import write_reaction_data
from cleftsim.model.model import Model

__all__ = ["MDLError", "load", "write_reaction_data"]


def load(path: str | os.PathLike, seed: int | None = None, dt: Any = None) -> Model:
    """The Model of an MCell model file ``path`` (and every file it includes).

    ``seed`` seeds the model's runs and is MCell's SEED in the file (1 when not given); ``dt``
    (s or a time string) overrides the file's TIME_STEP, keeping its duration (ITERATIONS ×
    TIME_STEP) and output step, the model's default ``t_end`` and ``every``.
    """
    from cleftsim.mcell.build import build
    from cleftsim.mcell.parser import read

    return build(read(os.fspath(path), seed=1 if seed is None else seed), seed=seed, dt=dt)
