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
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("cleftsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

from cleftsim import features, geometry, mcell, plot, release, schemes, synapse, units, waveforms
from cleftsim import presets
from cleftsim.currents import Channel
from cleftsim.model import AccuracyWarning, Model, ModelError, ModelWarning, Reaction, Region, GeometryObject, Species
from cleftsim.surface import SchemeHandle, StateSet, SurfaceSpecies
from cleftsim.result import Result
from cleftsim.simulation import Simulation, SimulationInterrupted
from cleftsim.ensemble import EnsembleInterrupted, EnsembleResult, SweepResult, run_ensemble, sweep, trial_seed
from cleftsim.store import ResultsFileError, load
from cleftsim.units import UnitError

__all__ = [
    "AccuracyWarning", "ModelWarning", "Channel", "EnsembleInterrupted", "EnsembleResult", "SweepResult", "Model", "ModelError", "Reaction", "Region", "GeometryObject", "Species", "SurfaceSpecies", "StateSet",
    "SchemeHandle", "Result", "Simulation", "SimulationInterrupted", "UnitError", "features", "geometry", "mcell", "plot", "presets", "release", "schemes", "synapse", "units",
    "waveforms", "run_ensemble", "sweep", "trial_seed", "load", "ResultsFileError", "__version__",
]
