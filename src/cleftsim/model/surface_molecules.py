"""Surface molecules: species, state sets, kinetic schemes in a model, placements and clamps.

A surface molecule sits on a triangle of a region and faces one side of its membrane: ``"inside"``
(against the triangle normals, i.e. into a closed object, since cleftsim meshes have outward
normals) or ``"outside"``. It binds volume molecules only from the side it faces, and the volume
molecules it releases appear on that side. Its species is its state: a reaction such as
``"glu + AMPA_C0 -> AMPA_C1"`` changes the state of the molecule in place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cleftsim.model.model import Reaction
    from cleftsim.model.schemes import Scheme


#: Sides a surface molecule can face, and the orientation code stored per molecule.
FACING = {"inside": -1, "outside": 1}


@dataclass(frozen=True)
class SurfaceSpecies:
    """A surface species (one state of a membrane molecule): name, lateral D (µm²/s), index."""

    name: str
    D: float
    index: int

    def __repr__(self) -> str:
        return f"SurfaceSpecies({self.name!r}, D={self.D:g} um^2/s)"


@dataclass(frozen=True)
class StateSet:
    """A named set of surface species (e.g. the open states of a receptor), counted together."""

    name: str
    species: tuple[SurfaceSpecies, ...]

    def __repr__(self) -> str:
        return f"StateSet({self.name!r}, {[s.name for s in self.species]})"


class SchemeHandle:
    """A kinetic scheme added to a model: its states (``handle["C0"]`` or ``handle.C0``) and named
    state sets (``handle.open``, ``handle.bound``, ...), each a :class:`StateSet`."""

    def __init__(self, scheme: Scheme, prefix: str, states: dict[str, SurfaceSpecies], reactions: dict):
        self.scheme = scheme
        self.prefix = prefix
        self.states = dict(states)
        self.reactions = dict(reactions)
        self.initial = states[scheme.initial]
        self.sets = {name: StateSet(f"{prefix}.{name}", tuple(states[s] for s in members))
                     for name, members in scheme.sets.items()}

    def reaction(self, equation: str) -> Reaction:
        """The model's Reaction for one of the scheme's equations, written with the scheme's own
        state names (one direction of a '<->': e.g. ``"AE -> AcE + Ch"``), for count_events."""
        from cleftsim.model.reactions import parse

        key = str(parse(equation)[0])
        if key not in self.reactions:
            raise KeyError(f"scheme {self.prefix!r} has no reaction {equation!r}; its reactions are {list(self.reactions)}")
        return self.reactions[key]

    def __getitem__(self, state: str) -> SurfaceSpecies:
        if state not in self.states:
            raise KeyError(f"scheme {self.prefix!r} has no state {state!r}; its states are {list(self.states)}")
        return self.states[state]

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("scheme", "prefix", "states", "initial", "sets", "reactions"):
            raise AttributeError(name)
        if name in self.sets:
            return self.sets[name]
        if name in self.states:
            return self.states[name]
        raise AttributeError(f"scheme {self.prefix!r} has no state or state set {name!r}; "
                             f"sets: {list(self.sets)}, states: {list(self.states)}")

    @property
    def all(self) -> StateSet:
        """Every state of the scheme."""
        return StateSet(f"{self.prefix}.all", tuple(self.states.values()))

    def __repr__(self) -> str:
        return f"SchemeHandle({self.prefix!r}, states={list(self.states)}, sets={list(self.sets)})"


@dataclass(frozen=True)
class Placement:
    """Surface molecules of one species put on a region at t = 0."""

    species: SurfaceSpecies
    region: Any                    # model.Region
    orient: int                    # +1 faces along the normals ("outside"), -1 against ("inside")
    n: int
    kind: str                      # "uniform", "positions", "clusters"
    params: tuple = field(default=())


@dataclass(frozen=True)
class Clamp:
    """A volume species held at a concentration time course in a bath on one side of regions."""

    species: Any                   # model.Species
    waveform: Any                  # waveforms.Waveform
    contexts: tuple[tuple[int, int], ...]   # (region index, side: 1 along the normals, 0 against)
    label: str
