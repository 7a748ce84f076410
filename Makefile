# Two commands matter: `make demo` (the end-to-end story against the sandbox) and `make test`.
# Both work on a fresh machine: they create .venv and install Python and npm dependencies first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test lint demo serve bench infra-check clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.installed node_modules/.installed

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: setup lint
	$(PY) -m pytest

demo: $(VENV)/.installed
	$(VENV)/bin/sentry-ado demo

serve: $(VENV)/.installed
	$(VENV)/bin/sentry-ado serve --sandbox

bench: $(VENV)/.installed
	$(PY) bench/sync_calls.py --events 1000
	$(PY) bench/reconcile.py --links 1000
	$(PY) bench/regressions.py
	$(PY) bench/ingest.py
	$(PY) bench/coldstart.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache

infra-check:
	tools/checkov.sh
