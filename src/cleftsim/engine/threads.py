"""How many threads a trial's step kernel uses, and how an ensemble splits the cores.

The numbers of a trial do not depend on its thread count (cleftsim._core.step), so these choices
only change the speed.
"""
from __future__ import annotations

import os
from typing import Any

from cleftsim import units
from cleftsim.errors import ModelError


def available_cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                 # not on Linux
        return os.cpu_count() or 1


def check_threads(threads: Any, default: int | None = None) -> int:
    """``threads`` as a positive int (None: ``default``, else every available core)."""
    if threads is None:
        return default if default is not None else available_cores()
    if not units.is_whole(threads, 1):
        raise ModelError(f"threads must be a positive integer (or None: every core), got {threads!r}")
    return int(threads)


def split_cores(trials: int, threads: Any, cores: int | None = None) -> tuple[int, int]:
    """(processes, threads per trial) for ``trials`` trials on ``cores`` local cores.

    The rule: processes first, since separate trials share nothing; threads take the cores left.
    With threads=None, min(trials, cores) processes run at once and each trial gets
    cores // processes threads (an ensemble of at least as many trials as cores runs one thread
    per trial; 2 trials on 8 cores run 4 threads each). With threads=N, each trial gets N threads
    and max(1, min(trials, cores // N)) processes run at once.
    """
    cores = available_cores() if cores is None else cores
    if threads is None:
        processes = max(1, min(trials, cores))
        return processes, max(1, cores // processes)
    n = check_threads(threads)
    return max(1, min(trials, cores // n)), n
