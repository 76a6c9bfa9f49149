"""Compiled kernels (built from cython_ext/cleftsim/_core by setup.py)."""
