"""Shared test set-up.

The helpers shared by several test files (tolerances, physical constants, z-score checks, exact
references) are plain functions in tests/helpers.py, imported by name; this folder is put on
sys.path here so that ``from helpers import ...`` works under any ``--import-mode`` and from any
working directory.
"""
import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
