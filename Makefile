# capi-relay — the two commands a user needs are `make run` and `make test`.
# Everything else is installed by these targets from PyPI (and Debian's Chromium for browser tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
export PYTHONPATH := $(CURDIR)/layers:$(CURDIR)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help venv sam-cli browser-deps run test lint unit integration e2e browser template-check build bench clean

help:
	@echo "make run    - the local relay on 127.0.0.1:$${PORT:-3000} (AWS API server + Graph sandbox)"
	@echo "make test   - lint, template checks, unit, integration, e2e and browser tests"
	@echo "make bench  - per-event CPU, cold import, throughput, package size, cost vs Meta's SDK"
	@echo "make build  - sam build (no Docker needed)"

$(VENV)/.installed: requirements-dev.txt layers/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==1.170.0
	touch $@

sam-cli: $(SAM_VENV)/.installed

# Debian's Chromium for the browser tests (root installs it; otherwise it must already be there).
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; \
	fi

run: venv
	$(PY) -m local.run

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	$(PY) tools/check_hermetic.py

template-check: venv sam-cli
	$(SAM) validate --lint --template template.yaml --region $(AWS_DEFAULT_REGION)
	$(SAM) build --template template.yaml --build-dir build/sam
	$(PY) tools/check_build.py build/sam

unit: venv
	$(PY) -m pytest tests/unit -q

integration: venv
	$(PY) -m pytest tests/integration -q

e2e: venv browser-deps
	$(PY) -m pytest tests/e2e -q

test: lint template-check browser-deps
	$(PY) -m pytest tests -q -p no:cacheprovider

build: sam-cli
	$(SAM) build --template template.yaml --build-dir build/sam

bench: venv sam-cli
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(PY) -m bench.run

# CI as a new machine sees it: the committed HEAD, cloned outside /tmp, run with a private empty /tmp.
.PHONY: ci-fresh
ci-fresh:
	bash tools/ci-fresh.sh

clean:
	rm -rf build .aws-sam .pytest_cache
