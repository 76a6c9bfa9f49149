"""Triangle-mesh geometry: the :class:`Mesh` with named regions, primitives and file IO.

Lengths are in µm; every length argument also accepts a unit string such as ``"200 nm"``.
"""
from .io import load, save
from .mesh import Mesh, MeshError, combine
from .primitives import box, cylinder, icosphere
from .shapes import Box, Cylinder

__all__ = ["Mesh", "MeshError", "combine", "Box", "Cylinder", "box", "icosphere", "cylinder", "load", "save"]
