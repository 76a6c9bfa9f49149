"""The running state of one trial (Simulation): molecule arrays, surface molecules, random
streams and schedule position, advanced by the Cython kernels of cleftsim._core."""
