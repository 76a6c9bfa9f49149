"""What a run records: one small class per kind of observable.

Each observable evaluates itself on the state of a running trial with ``evaluate(state, earlier)``
(``earlier``: the values of the observables recorded before it in the same sample, which a
combination sums). The state is read, never changed; it offers

- ``molecules(species_index)``: positions (n, 3) µm of that volume species now;
- ``inside(obj, points)``: which points lie inside a closed geometry object;
- ``surface_count(states, regions)``: surface molecules in the states, on the regions (None: all);
- ``released``, ``events`` (per species, per reaction) and ``absorbed``, ``crossed``
  ((regions, species) and (regions, species, in/out) counters), all since t = 0.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from cleftsim.geometry.shapes import SHAPES


@dataclass(frozen=True)
class Observable(ABC):
    """A quantity sampled during a run, under a unique ``name``."""

    name: str

    @abstractmethod
    def evaluate(self, state: Any, earlier: dict[str, float]) -> float:
        """The value now, read from ``state`` (see the module docstring)."""


@dataclass(frozen=True)
class Count(Observable):
    """Volume molecules of ``species`` in the world, or inside a closed object or a shape."""

    species: Any                 # Species
    inside: Any = None           # None, a GeometryObject or a shape of cleftsim.geometry.shapes

    def evaluate(self, state, earlier) -> int:
        pts = state.molecules(self.species.index)
        if self.inside is None:
            return len(pts)
        if isinstance(self.inside, SHAPES):
            return int(self.inside.contains(pts).sum())
        return int(state.inside(self.inside, pts).sum())


@dataclass(frozen=True)
class SurfaceCount(Observable):
    """Surface molecules in any of ``states``, on ``regions`` (None: everywhere)."""

    states: tuple                # SurfaceSpecies
    regions: tuple | None = None   # Region

    def evaluate(self, state, earlier) -> int:
        return state.surface_count(self.states, self.regions)


@dataclass(frozen=True)
class Current(Observable):
    """The current (A) through open receptors: Σ N(states)·i per (states, i per receptor) term."""

    terms: tuple                 # (states, A per open receptor)

    def evaluate(self, state, earlier) -> float:
        return float(sum(state.surface_count(states, None) * i for states, i in self.terms))


@dataclass(frozen=True)
class Events(Observable):
    """Events of ``reactions`` since t = 0."""

    reactions: tuple             # Reaction

    def evaluate(self, state, earlier) -> int:
        return int(sum(state.events[rx.index] for rx in self.reactions))


@dataclass(frozen=True)
class Released(Observable):
    """Molecules of ``species`` added by releases since t = 0."""

    species: Any

    def evaluate(self, state, earlier) -> int:
        return int(state.released[self.species.index])


@dataclass(frozen=True)
class Absorbed(Observable):
    """Molecules of ``species`` absorbed at ``regions`` since t = 0."""

    species: Any
    regions: tuple

    def evaluate(self, state, earlier) -> int:
        return int(sum(state.absorbed[r.index, self.species.index] for r in self.regions))


@dataclass(frozen=True)
class Crossings(Observable):
    """Crossings of transparent ``regions`` by ``species`` since t = 0: ``direction`` "out"
    (along the normals), "in", or "net" (out − in)."""

    species: Any
    regions: tuple
    direction: str = "net"

    def evaluate(self, state, earlier) -> int:
        s = self.species.index
        out = int(sum(state.crossed[r.index, s, 1] for r in self.regions))
        into = int(sum(state.crossed[r.index, s, 0] for r in self.regions))
        return {"out": out, "in": into, "net": out - into}[self.direction]


@dataclass(frozen=True)
class Combination(Observable):
    """A sum of observables recorded before it, each times a coefficient: (name, coefficient)
    terms; whole numbers stay integers."""

    terms: tuple

    def evaluate(self, state, earlier) -> float:
        total = sum(c * earlier[k] for k, c in self.terms)
        return int(total) if all(c.is_integer() for _, c in self.terms) else total
