"""Declares the Cython extension modules; all metadata lives in pyproject.toml.

Set CLEFTSIM_DEBUG=1 to build with bounds checks and wraparound enabled.
"""
import os
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("CLEFTSIM_DEBUG", "") not in ("", "0")

ext_dir = Path("cython_ext")
extensions = [
    Extension(
        "cleftsim._core." + pyx.stem,
        [str(pyx)],
        include_dirs=[str(ext_dir / "cleftsim" / "_core")],
        extra_compile_args=["-O3", "-fno-math-errno"] + ([] if DEBUG else ["-DNDEBUG"]),
    )
    for pyx in sorted((ext_dir / "cleftsim" / "_core").glob("*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        include_path=[str(ext_dir)],
        compiler_directives={
            "boundscheck": DEBUG,
            "wraparound": DEBUG,
            "cdivision": True,
            "initializedcheck": DEBUG,
        },
    ),
)
