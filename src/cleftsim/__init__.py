"""cleftsim: particle-based Monte Carlo simulation of synaptic transmission.

Volume molecules random-walk through geometry made of triangle meshes; surfaces reflect, absorb
or pass them; surface molecules (receptors, transporters, enzymes) bind them on hits and step
through kinetic schemes. Units: µm, s, µm²/s (plain floats), or strings with units ("20 nm", "1 us").
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("cleftsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

from cleftsim import features, geometry, plot, release, schemes, synapse, units, waveforms
from cleftsim import presets
from cleftsim.currents import Channel
from cleftsim.model import AccuracyWarning, Model, ModelError, Reaction, Region, GeometryObject, Species
from cleftsim.surface import SchemeHandle, StateSet, SurfaceSpecies
from cleftsim.result import Result
from cleftsim.simulation import Simulation, SimulationInterrupted
from cleftsim.ensemble import EnsembleInterrupted, EnsembleResult, SweepResult, run_ensemble, sweep, trial_seed
from cleftsim.store import ResultsFileError, load
from cleftsim.units import UnitError

__all__ = [
    "AccuracyWarning", "Channel", "EnsembleInterrupted", "EnsembleResult", "SweepResult", "Model", "ModelError", "Reaction", "Region", "GeometryObject", "Species", "SurfaceSpecies", "StateSet",
    "SchemeHandle", "Result", "Simulation", "SimulationInterrupted", "UnitError", "features", "geometry", "plot", "presets", "release", "schemes", "synapse", "units",
    "waveforms", "run_ensemble", "sweep", "trial_seed", "load", "ResultsFileError", "__version__",
]
