"""cleftsim: particle-based Monte Carlo simulation of synaptic transmission.

Volume molecules random-walk through geometry made of triangle meshes; surfaces reflect, absorb
or pass them; surface molecules (receptors, transporters, enzymes) bind them on hits and step
through kinetic schemes. Units: µm, s, µm²/s (plain floats), or strings with units ("20 nm", "1 us").

>>> import cleftsim as cs
>>> model = cs.Model(dt="1 us", seed=1, t_end="50 us", every="10 us")
>>> glu = model.add_species("glu", D="0.33 um^2/ms")
>>> cleft = model.add_geometry(cs.geometry.cylinder(radius="200 nm", height="20 nm"), name="cleft")
>>> model.set_surface(glu, cleft.region("side"), "absorb")
>>> model.release(glu, n=1000, at=(0, 0, 0))
>>> model.count(glu, inside=cleft, name="in_cleft")
'in_cleft'
>>> result = model.run()
>>> result.times * 1e6
array([ 0., 10., 20., 30., 40., 50.])
>>> int(result["in_cleft"][0])
1000
"""
import importlib
import sys
from importlib.machinery import ModuleSpec

from cleftsim import geometry, units
from cleftsim.compiler.compiled import CompiledModel, compile
from cleftsim.engine.simulation import Simulation
from cleftsim.errors import (
    AccuracyWarning,
    CleftsimError,
    CleftsimWarning,
    EnsembleInterrupted,
    ModelError,
    ModelWarning,
    ResultsFileError,
    SimulationInterrupted,
    UnitError,
)
from cleftsim.model import GeometryObject, Model, Reaction, Region, SchemeHandle, Species, StateSet, SurfaceSpecies
from cleftsim.model.currents import Channel
from cleftsim.results.ensemble import EnsembleResult, SweepResult
from cleftsim.results.result import Result
from cleftsim.results.store import load
from cleftsim.run.ensemble import run_ensemble
from cleftsim.run.executors import trial_seed
from cleftsim.run.sweep import sweep
from cleftsim.version import version

#: Public modules under short names (``cs.schemes``, ``import cleftsim.schemes``): where they live.
ALIASES = {"schemes": "cleftsim.biology.schemes", "release": "cleftsim.model.release",
           "waveforms": "cleftsim.physics.waveforms", "synapse": "cleftsim.biology.synapse",
           "presets": "cleftsim.biology.presets", "features": "cleftsim.results.features"}
#: Modules loaded on first use, so that ``import cleftsim`` stays fast (matplotlib, lark, h5py wait).
LAZY = {"plot": "cleftsim.plot", "mcell": "cleftsim.mcell", **ALIASES}


class _Aliases:
    """Finder and loader (sys.meta_path) that import ``cleftsim.<alias>`` as the module it names."""

    def find_spec(self, fullname, path=None, target=None):
        short = fullname.removeprefix("cleftsim.")
        return ModuleSpec(fullname, self) if short in ALIASES and short != fullname else None

    def create_module(self, spec):
        return importlib.import_module(ALIASES[spec.name.removeprefix("cleftsim.")])

    def exec_module(self, module):
        pass


if not any(isinstance(f, _Aliases) for f in sys.meta_path):
    sys.meta_path.append(_Aliases())


def __getattr__(name: str):
    if name in LAZY:
        module = importlib.import_module(LAZY[name])
        globals()[name] = module
        return module
    if name == "__version__":
        return version()
    raise AttributeError(f"module 'cleftsim' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(LAZY) | {"__version__"})


__all__ = [
    "AccuracyWarning", "Channel", "CleftsimError", "CompiledModel", "CleftsimWarning", "EnsembleInterrupted", "EnsembleResult",
    "GeometryObject", "Model", "ModelError", "ModelWarning", "Reaction", "Region", "Result", "ResultsFileError",
    "SchemeHandle", "Simulation", "SimulationInterrupted", "Species", "StateSet", "SurfaceSpecies", "SweepResult",
    "UnitError", "compile", "features", "geometry", "load", "mcell", "plot", "presets", "release", "run_ensemble", "schemes",
    "sweep", "synapse", "trial_seed", "units", "waveforms", "__version__",
]
