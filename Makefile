# Two commands: `make demo` and `make test`. Both set everything up first (idempotent) via scripts/setup.sh.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint typecheck pytest clean

setup:
	@bash scripts/setup.sh

## Start a CEC server on SQLite with simulated kits; DEMO_SECONDS=N stops after N seconds.
demo: setup
	@$(PY) -m shailoo sim demo $(if $(DEMO_SECONDS),--seconds $(DEMO_SECONDS),)

## The whole suite: lint, types, tests (slow ones included).
test: setup
	@bash scripts/test.sh

lint: setup
	@$(VENV)/bin/ruff check .

typecheck: setup
	@$(VENV)/bin/mypy

pytest: setup
	@$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) build *.egg-info native/*.c native/*.so var
