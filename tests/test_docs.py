"""Every example in the README and in the package's docstrings runs as written.

README: each ```python block is a script, run in a fresh interpreter in an empty folder (so files
it writes, such as results files, start from nothing). Docstrings: every ``>>>`` example of every
module of the package, through doctest, also in an empty folder.
"""
import doctest
import importlib
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cleftsim

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
MODULES = ["cleftsim"] + sorted(m.name for m in pkgutil.walk_packages(cleftsim.__path__, "cleftsim.")
                 if not m.name.startswith("cleftsim._core"))


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("k", range(len(BLOCKS)), ids=lambda k: f"block{k + 1}")
def test_readme_example_runs_as_written(k, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-c", BLOCKS[k]], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"README block {k + 1} failed:\n{BLOCKS[k]}\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run_as_written(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False,
                             report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed"
