"""Declares the Cython extension modules; all metadata lives in pyproject.toml.

Set CLEFTSIM_DEBUG=1 to build with bounds checks and wraparound enabled. The step kernel is built
with OpenMP when the C compiler supports it (-fopenmp); otherwise it runs one thread, with the
same results. Set CLEFTSIM_NO_OPENMP=1 to build without it.
"""
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("CLEFTSIM_DEBUG", "") not in ("", "0")



def openmp_flags() -> list[str]:
    """["-fopenmp"] if the C compiler builds and links an OpenMP program with it, else []."""
    if os.environ.get("CLEFTSIM_NO_OPENMP", "") not in ("", "0"):
        return []
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "omp.c"
        src.write_text("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        try:
            ok = subprocess.run(cc.split() + ["-fopenmp", str(src), "-o", str(Path(tmp) / "omp")],
                                capture_output=True).returncode == 0
        except OSError:
            ok = False
    if not ok:
        print("cleftsim: the C compiler has no OpenMP; the step kernel will run one thread", file=sys.stderr)
    return ["-fopenmp"] if ok else []


OPENMP = openmp_flags()
ext_dir = Path("cython_ext")
extensions = [
    Extension(
        "cleftsim._core." + pyx.stem,
        [str(pyx)],
        include_dirs=[str(ext_dir / "cleftsim" / "_core")],
        extra_compile_args=["-O3", "-fno-math-errno"] + ([] if DEBUG else ["-DNDEBUG"])
        + (OPENMP if pyx.stem == "step" else []),
        extra_link_args=OPENMP if pyx.stem == "step" else [],
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
