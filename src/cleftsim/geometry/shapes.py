"""Analytic volumes of space (not surfaces: molecules pass through them), for counting molecules
in part of a geometry, e.g. the cleft of a synapse (``model.count(glu, inside=syn.cleft)``).

Their lengths are in µm or unit strings (``Cylinder((0, 0, 0), "250 nm", "20 nm")``), converted
to floats in µm when the shape is made."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import units
from .primitives import _positive


def _point(value, name: str) -> tuple[float, ...]:
    """A 3-vector of lengths as a tuple of floats (µm)."""
    return tuple(float(x) for x in units.point(value, name))


@dataclass(frozen=True)
class Cylinder:
    """The solid cylinder along z with ``center`` (3 lengths), ``radius`` and ``height`` (> 0),
    stored in µm."""

    center: tuple
    radius: float
    height: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "center", _point(self.center, "center"))
        object.__setattr__(self, "radius", _positive(self.radius, "radius"))
        object.__setattr__(self, "height", _positive(self.height, "height"))

    @property
    def volume(self) -> float:
        """Volume (µm³)."""
        return float(np.pi * self.radius**2 * self.height)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounding box ``(lo, hi)`` in µm."""
        half = np.array([self.radius, self.radius, self.height / 2])
        return np.asarray(self.center) - half, np.asarray(self.center) + half

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each of the (n, 3) points (µm) lies inside."""
        d = np.asarray(points, dtype=np.float64).reshape(-1, 3) - np.asarray(self.center)
        return (d[:, 0] ** 2 + d[:, 1] ** 2 <= self.radius**2) & (np.abs(d[:, 2]) <= self.height / 2)

    def describe(self) -> dict:
        return {"shape": "cylinder", "center": list(self.center), "radius": self.radius, "height": self.height}


@dataclass(frozen=True)
class Box:
    """The solid axis-aligned box between the corners ``lo`` and ``hi`` (3 lengths each, lo < hi on
    every axis), stored in µm."""

    lo: tuple
    hi: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "lo", _point(self.lo, "lo"))
        object.__setattr__(self, "hi", _point(self.hi, "hi"))
        if not np.all(np.asarray(self.hi) > np.asarray(self.lo)):
            raise ValueError(f"Box corners must satisfy lo < hi on every axis, got lo={self.lo}, hi={self.hi}")

    @property
    def volume(self) -> float:
        """Volume (µm³)."""
        return float(np.prod(np.asarray(self.hi) - np.asarray(self.lo)))

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The corners ``(lo, hi)`` as arrays (µm)."""
        return np.asarray(self.lo), np.asarray(self.hi)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each of the (n, 3) points (µm) lies inside (faces included)."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return np.all((p >= np.asarray(self.lo)) & (p <= np.asarray(self.hi)), axis=1)

    def describe(self) -> dict:
        return {"shape": "box", "lo": list(self.lo), "hi": list(self.hi)}


#: The shape classes (``isinstance(x, SHAPES)``).
SHAPES = (Cylinder, Box)


@dataclass(frozen=True)
class Periodic:
    """A periodic box: positions wrap on the axes flagged in ``axes`` (lo, hi in µm)."""

    lo: np.ndarray
    hi: np.ndarray
    axes: tuple[bool, bool, bool]
