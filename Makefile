# make demo: set up .venv (first time: a few minutes, ~5 GB for the torch stack) and run the demo.
# make test: set up .venv and run the full test suite (what CI runs).
# make test-fast: the suite without the tests marked slow (103 s on 2 cores: 1368 tests).
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: demo test test-fast bench setup

setup: $(STAMP)

$(STAMP): pyproject.toml plugins/scenedet-kissing/pyproject.toml plugins/scenedet-shots/pyproject.toml plugins/scenedet-cues/pyproject.toml plugins/scenedet-speech/pyproject.toml plugins/scenedet-text/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[test]' -e plugins/scenedet-kissing -e plugins/scenedet-shots -e plugins/scenedet-cues -e plugins/scenedet-speech -e plugins/scenedet-text
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/scenedet demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/segmentors.py
	$(BIN)/python benchmarks/decode.py
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/backbones.py
	$(BIN)/python benchmarks/suggest.py
