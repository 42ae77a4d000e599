# Quick start: `make run` (web chat on the offline default) and `make test` (whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run chat slack test lint format eval eval-citations bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/assistant web

chat: $(STAMP)
	$(BIN)/assistant chat

slack: $(STAMP)
	$(BIN)/assistant slack

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

eval: $(STAMP)
	$(BIN)/assistant eval

eval-citations: $(STAMP)
	$(BIN)/assistant eval --citations

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.run --out bench/results.md

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) index/chroma index/bm25 .ruff_cache bench/results/tmp
