# Every target sets up .venv on first use: only python3 (3.11+) and a C compiler are needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LINTED := src tests examples benchmarks validation
SOURCES := $(wildcard cython_ext/cleftsim/_core/*.pyx cython_ext/cleftsim/_core/*.pxd) setup.py pyproject.toml

.PHONY: demo lint test test-fast bench validate annotate clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

$(STAMP): $(PY) $(SOURCES)
	$(PY) -m pip install "setuptools>=77" "Cython>=3.0" "numpy>=2.0" wheel
	$(PY) -m pip install --no-build-isolation -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/ca1_demo.py --out out

lint: $(STAMP)
	$(VENV)/bin/ruff check --no-cache $(LINTED)

# everything, after the linter
test: $(STAMP)
	$(VENV)/bin/ruff check --no-cache $(LINTED)
	$(PY) -m pytest -q

# the suite without the long-running checks marked @pytest.mark.slow (about 90 s on 2 cores)
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/run.py

validate: $(STAMP)
	$(PY) validation/report.py docs/validation
	$(PY) validation/rat_nmj.py docs/validation

annotate: $(STAMP)
	$(VENV)/bin/cython -a -3 -I cython_ext -X boundscheck=False -X wraparound=False -X cdivision=True -X initializedcheck=False cython_ext/cleftsim/_core/*.pyx

clean:
	rm -rf $(VENV) build src/*.egg-info src/cleftsim/_core/*.so cython_ext/cleftsim/_core/*.c cython_ext/cleftsim/_core/*.html
