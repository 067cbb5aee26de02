# Every target the README names. `make run` and `make test` set up what they need themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
SAM := $(SAM_VENV)/bin/sam
PY := $(VENV)/bin/python
REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= $(REGION)

# Python 3.13 matches the Lambda runtime: from PATH, else pyenv, else whatever python3 is.
PYTHON313 := $(shell for candidate in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 python3; do \
	if "$$candidate" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1; then \
	command -v "$$candidate"; break; fi; done)

.PHONY: help setup tools run tokens test lint typecheck unit integration e2e pytest browser chromium screenshot template build openapi openapi-check bench clean

help:
	@echo "make run        set up, then run the service locally (no AWS account, no Docker)"
	@echo "make test       set up, then run every check and test"
	@echo "make tokens ARGS='--local mint alice'   mint, list or revoke API tokens"
	@echo "make lint | typecheck | pytest | unit | integration | e2e | browser | template | build | openapi | bench"
	@echo "make screenshot  regenerate docs/dashboard.png"

setup: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt shared/requirements.txt
	@test -n "$(PYTHON313)" || { echo "no Python 3.11+ found"; exit 1; }
	$(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

tools: $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed

# One environment per tool: aws-sam-cli and checkov pin conflicting versions of shared packages.
.venv-%/.installed: requirements-%.txt
	@test -n "$(PYTHON313)" || { echo "no Python 3.11+ found"; exit 1; }
	$(PYTHON313) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	.venv-$*/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

run: setup
	$(PY) -m local

tokens: setup
	$(PY) -m cli.tokens $(ARGS)

test: setup tools lint typecheck openapi-check template pytest build

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy shared local cli hook/claude_events_hook.py $(wildcard functions/*/app.py)

pytest: setup chromium
	$(VENV)/bin/pytest -n 2 --dist loadfile

unit: setup
	$(VENV)/bin/pytest tests/unit

integration: setup
	$(VENV)/bin/pytest tests/integration

e2e: setup
	$(VENV)/bin/pytest tests/e2e

# The dashboard in a real browser: Playwright (its wheel brings the driver) drives Debian's Chromium.
# `playwright install` is never run; without the browser (and not root) the browser tests skip.
CHROMIUM ?= /usr/bin/chromium

chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else echo "no Chromium at $(CHROMIUM): 'sudo apt-get install chromium' (browser tests skip without it)"; fi

browser: setup chromium
	$(VENV)/bin/pytest tests/browser

screenshot: setup chromium
	$(PY) -m tests.browser.screenshot

template: tools
	$(SAM) validate --lint --region $(REGION)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation --file template.yaml

build: tools
	PYTHON=$(PYTHON313) $(SAM) build --region $(REGION)

# The checked-in contracts, generated from the pydantic models.
openapi: setup
	PYTHONPATH=shared $(PY) -m claude_events.openapi > docs/openapi.json
	PYTHONPATH=shared $(PY) -m claude_events.message_schema > docs/websocket-messages.schema.json

openapi-check: setup
	PYTHONPATH=shared $(PY) -m claude_events.openapi | diff -u docs/openapi.json - \
		|| { echo "docs/openapi.json is stale: run make openapi"; exit 1; }
	PYTHONPATH=shared $(PY) -m claude_events.message_schema | diff -u docs/websocket-messages.schema.json - \
		|| { echo "docs/websocket-messages.schema.json is stale: run make openapi"; exit 1; }

bench: setup
	$(PY) -m bench.ingest_handler
	$(PY) -m bench.cold_start
	$(PY) -m bench.fanout
	$(PY) -m bench.hook
	$(PY) -m bench.local_stack

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
