# One virtual environment for tests, the local stack and the demo; created on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install test lint bench demo clean

$(BIN)/labelexport: pyproject.toml requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -e .
	touch $@

install: $(BIN)/labelexport

test: install
	$(BIN)/ruff check functions devstack tests bench
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check functions devstack tests bench

bench: install
	$(BIN)/python bench/split_bench.py $(BENCH_ARGS)

demo: install
	$(BIN)/python -m devstack.demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
