"""Analytic volumes of space (not surfaces: molecules pass through them), for counting molecules
in part of a geometry, e.g. the cleft of a synapse (``model.count(glu, inside=syn.cleft)``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Cylinder:
    """The solid cylinder along z with ``center`` (µm), ``radius`` and ``height`` (µm)."""

    center: tuple
    radius: float
    height: float

    @property
    def volume(self) -> float:
        """Volume (µm³)."""
        return float(np.pi * self.radius**2 * self.height)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each of the (n, 3) points (µm) lies inside."""
        d = np.asarray(points, dtype=np.float64).reshape(-1, 3) - np.asarray(self.center)
        return (d[:, 0] ** 2 + d[:, 1] ** 2 <= self.radius**2) & (np.abs(d[:, 2]) <= self.height / 2)

    def describe(self) -> dict:
        return {"shape": "cylinder", "center": [float(c) for c in self.center], "radius": self.radius,
                "height": self.height}


@dataclass(frozen=True)
class Box:
    """The solid axis-aligned box between the corners ``lo`` and ``hi`` (µm, lo < hi on every axis)."""

    lo: tuple
    hi: tuple

    def __post_init__(self) -> None:
        if not np.all(np.asarray(self.hi, dtype=np.float64) > np.asarray(self.lo, dtype=np.float64)):
            raise ValueError(f"Box corners must satisfy lo < hi on every axis, got lo={self.lo}, hi={self.hi}")

    @property
    def volume(self) -> float:
        """Volume (µm³)."""
        return float(np.prod(np.asarray(self.hi, dtype=np.float64) - np.asarray(self.lo, dtype=np.float64)))

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each of the (n, 3) points (µm) lies inside (faces included)."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return np.all((p >= np.asarray(self.lo)) & (p <= np.asarray(self.hi)), axis=1)

    def describe(self) -> dict:
        return {"shape": "box", "lo": [float(c) for c in self.lo], "hi": [float(c) for c in self.hi]}


#: The shape classes (``isinstance(x, SHAPES)``).
SHAPES = (Cylinder, Box)
