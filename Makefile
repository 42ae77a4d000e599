# Quick start: `make run` (web chat on the offline default) and `make test` (whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run chat slack test lint format eval eval-citations bench bench-load clean

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

# The web server under load: 50 readers for 5 minutes, then 10,000 calls (about 10 minutes).
bench-load: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.load --out bench/results-load.md

# The model-answer path with a real local model (not run in CI; see bench/llm/). llama.cpp is
# compiled from source without native CPU tuning (a natively tuned build crashed here with
# illegal instructions); about 8 minutes on 2 cores, once. --no-cache-dir: never reuse a cached
# wheel that may have been built with other flags.
LLM_VENV ?= .venv-llm
LLM_STAMP := $(LLM_VENV)/.installed
LLAMA_CPP_PYTHON ?= llama-cpp-python[server]==0.3.36
GGUF ?= gguf==0.19.0

$(LLM_STAMP):
	$(PYTHON) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/pip install --quiet --upgrade pip
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(LLM_VENV)/bin/pip install --no-cache-dir \
	    '$(LLAMA_CPP_PYTHON)' '$(GGUF)'
	touch $(LLM_STAMP)

bench-llm: $(STAMP) $(LLM_STAMP)
	$(BIN)/python -m bench.llm --llm-venv $(LLM_VENV) --out bench/results-llm.md

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) index/chroma index/bm25 .ruff_cache bench/results/tmp
