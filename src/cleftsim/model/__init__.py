"""The declarative model: species, geometry objects, surface rules, reactions and kinetic
schemes, sources (releases, vesicle releases, productions, clamps), surface molecules and their
placement, and the observables to record. Everything is checked as it is added."""
from cleftsim.model.model import GeometryObject, Model, Reaction, Region, Release, Species, VesicleRelease
from cleftsim.model.surface_molecules import SchemeHandle, StateSet, SurfaceSpecies

__all__ = ["GeometryObject", "Model", "Reaction", "Region", "Release", "SchemeHandle", "Species", "StateSet",
           "SurfaceSpecies", "VesicleRelease"]
