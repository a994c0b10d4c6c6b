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

.PHONY: help venv sam-cli browser-deps npm-cli npm-deps run test lint unit integration e2e browser template-check build deploy bench clean screenshots

help:
	@echo "make run    - the local relay on 127.0.0.1:$${PORT:-3000} (AWS API server + Graph sandbox)"
	@echo "make test   - lint, template checks, unit, integration, e2e and browser tests"
	@echo "make bench  - per-event CPU, cold import, throughput, package size, cost vs Meta's SDK"
	@echo "make build  - sam build (no Docker needed)"
	@echo "make deploy - sam build, then sam deploy --guided (saved answers in samconfig.toml are reused)"
	@echo "make ci-fresh - .ci/run in a fresh clone of HEAD with an empty private /tmp"

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

# npm (Debian's nodejs + npm, installed as root) when the machine has none.
npm-cli:
	@if ! command -v npm >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "the tests need npm: sudo apt-get install nodejs npm"; exit 1; fi; \
	fi

# Clients written by others that the tests drive, each pinned by its committed lock file (npm registry only):
# react-facebook-pixel for the Pixel-mirror browser tests, Meta's Node Business SDK for the Graph door.
NPM_PIXEL := .tools/npm-pixel
$(NPM_PIXEL)/.installed: tests/e2e/pixel_clients/package.json tests/e2e/pixel_clients/package-lock.json | npm-cli
	mkdir -p $(NPM_PIXEL)
	cp tests/e2e/pixel_clients/package.json tests/e2e/pixel_clients/package-lock.json $(NPM_PIXEL)/
	cd $(NPM_PIXEL) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

NODE_SDK := tests/node_sdk
$(NODE_SDK)/node_modules/.installed: $(NODE_SDK)/package.json $(NODE_SDK)/package-lock.json | npm-cli
	npm ci --prefix $(NODE_SDK) --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

npm-deps: $(NPM_PIXEL)/.installed $(NODE_SDK)/node_modules/.installed

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

integration: venv npm-deps
	$(PY) -m pytest tests/integration -q

e2e: venv browser-deps npm-deps
	$(PY) -m pytest tests/e2e -q

test: lint template-check browser-deps npm-deps
	$(PY) -m pytest tests -q -p no:cacheprovider

build: sam-cli
	$(SAM) build --template template.yaml --build-dir build/sam

# First time: the guided deploy asks for the parameters and saves them in samconfig.toml (git-ignored);
# afterwards the same command deploys with the saved answers.
deploy: build
	@if [ -f samconfig.toml ]; then $(SAM) deploy --template-file build/sam/template.yaml; \
	else $(SAM) deploy --guided --template-file build/sam/template.yaml; fi

bench: venv sam-cli
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(PY) -m bench.run

# PNGs of the example shop and the sandbox's Test Events page for the docs (local stack + Chromium).
screenshots: venv browser-deps
	$(PY) tools/screenshots.py docs/img

# CI as a new machine sees it: the committed HEAD, cloned outside /tmp, run with a private empty /tmp.
.PHONY: ci-fresh
ci-fresh:
	bash tools/ci-fresh.sh

clean:
	rm -rf build .aws-sam .pytest_cache
