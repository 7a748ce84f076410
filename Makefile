# Two commands matter: `make demo` (the end-to-end story against the sandbox) and `make test`.
# Both work on a fresh machine: they create .venv and install Python and npm dependencies first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test lint demo serve bench infra-check clean browser

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

# The status page's browser test runs headless Chromium (Debian's package). Installed here when
# missing and possible (root with apt-get, as on CI); elsewhere the test says why it is skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1; } || \
	  echo "chromium is not installed (apt-get install chromium): the browser test will be skipped"

test: setup lint browser
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
	$(PY) bench/status.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache

infra-check:
	tools/checkov.sh
