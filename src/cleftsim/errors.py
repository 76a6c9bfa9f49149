"""Every exception and warning cleftsim raises. Each error names the item at fault and the fix.

All errors derive from :class:`CleftsimError` (and from ``ValueError``: bad input), all
warnings from :class:`CleftsimWarning`; an interrupted run raises a ``KeyboardInterrupt``
that carries what was computed before it.
"""
from __future__ import annotations

from typing import Any


class CleftsimError(ValueError):
    """Base of cleftsim's errors: an input or a combination of inputs that cannot be used."""


class UnitError(CleftsimError):
    """A quantity has the wrong dimension, cannot be parsed, or is not finite."""


class MeshError(CleftsimError):
    """A mesh is malformed or lacks a property that is required of it."""


class UnknownRegionError(MeshError, KeyError):
    """A region name that the mesh does not have."""

    __str__ = ValueError.__str__


class ModelError(CleftsimError):
    """The model is inconsistent or an input is invalid; the message names the item and the fix."""


class ReactionSyntaxError(CleftsimError):
    """An equation that does not follow the reaction language."""


class RateTooHigh(CleftsimError):
    """A rate that a given reaction radius cannot reach at the time step (args[0]: the largest)."""


class ReleaseError(CleftsimError):
    """A release parameter is invalid; the message names it and says how to fix it."""


class SchemeError(CleftsimError):
    """A kinetic scheme is inconsistent; the message names the item and the fix."""


class SynapseError(CleftsimError):
    """Synapse dimensions that cannot be built; the message names the parameter and the fix."""


class ResultsFileError(CleftsimError):
    """A results file that cannot be used for this ensemble (another model, settings, size)."""


class MDLError(CleftsimError):
    """An MDL construct cleftsim cannot read or does not support.

    ``str(err)`` is ``"<file>:<line>: <construct>: <message>"`` (the place omitted when unknown);
    the parts are the attributes ``where``, ``construct`` and ``message``.
    """

    def __init__(self, where: Any, construct: str, message: str):
        self.where, self.construct, self.message = where, construct, message
        place = f"{where}: " if where is not None else ""
        super().__init__(f"{place}{construct}: {message}")

    def __reduce__(self):
        return (type(self), (self.where, self.construct, self.message))


class CleftsimWarning(UserWarning):
    """Base of cleftsim's warnings."""


class AccuracyWarning(CleftsimWarning):
    """The model runs, but a setting makes a result less accurate than the algorithm allows."""


class ModelWarning(CleftsimWarning):
    """The model runs, but part of it has no effect or will cost far more than it seems to
    (a release after the end of the run, a run of years)."""


class SimulationInterrupted(KeyboardInterrupt):
    """Ctrl-C during :meth:`Simulation.sample`; ``.result`` holds every sample taken before it."""

    def __init__(self, result: Any):
        super().__init__(f"interrupted at t = {result.times[-1] if len(result.times) else 0.0:g} s; "
                         f"the samples taken so far are in .result")
        self.result = result


class EnsembleInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_ensemble`; ``.result`` holds the trials that finished."""

    def __init__(self, result: Any):
        super().__init__("ensemble interrupted; the finished trials are in .result")
        self.result = result
