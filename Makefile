# One virtual environment for tests, the local stack and the demo; created on first use.
# Tools that must not share it (checkov pins half of PyPI; pandas/DuckDB are for the benchmark
# only) get their own.
# The functions run on python312: test on 3.12 where it is installed (pyenv's, else the system's).
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) \
                      $(shell command -v python3.12 2>/dev/null) python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
BENCH_VENV   := .venv-bench

.PHONY: install chromium test lint bench demo clean

$(BIN)/labelexport: pyproject.toml requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -e .
	touch $@

$(CHECKOV_VENV)/bin/checkov: infra/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r infra/requirements-checkov.txt
	touch $@

$(BENCH_VENV)/bin/python: bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet -r bench/requirements.txt
	touch $@

install: $(BIN)/labelexport $(CHECKOV_VENV)/bin/checkov

# Debian's Chromium renders the split report in the browser tests (tests/test_report_browser.py).
# Installed only when missing; apt-get needs root, as CI and the project's machines have.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "the tests need Debian's chromium: run 'apt-get install chromium' as root" >&2; \
	    exit 1; \
	  fi; \
	  echo "installing Debian's chromium for the report tests ..."; \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
	    --no-install-recommends chromium fonts-dejavu-core >/dev/null; }

test: install chromium
	$(BIN)/ruff check functions devstack tests bench
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check functions devstack tests bench

bench: $(BIN)/labelexport $(BENCH_VENV)/bin/python
	$(BIN)/python bench/split_bench.py --baseline-python $(BENCH_VENV)/bin/python $(BENCH_ARGS)

demo: $(BIN)/labelexport
	$(BIN)/python -m devstack.demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(BENCH_VENV) .pytest_cache .hypothesis build *.egg-info
