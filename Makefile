# sscard — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The tests that need neither RabbitMQ nor PostgreSQL: every unit folder, the contracts, the
# simulators' own rules and the CLI's argument handling (--without-infrastructure, in
# tests/conftest.py, leaves out any test there that asks for the broker or a database).
UNIT_TESTS := tests/*/unit tests/contracts tests/sscardctl \
	tests/simulators/identity_registry tests/simulators/partner_bank/test_partner_bank_unit.py
# The stamp changes whenever a requirements file or pyproject.toml does, so `make` reinstalls
# exactly when the pins move and never otherwise.
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements-nodeps.txt pyproject.toml | sha256sum | cut -c1-16)

.PHONY: help install migrate run test test-unit lint typecheck bench clean

help: ## show this list
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## create .venv and install the pinned dependencies (only when they changed)

migrate: install ## bring every service's database to the newest schema
	$(BIN)/sscardctl migrate

# A laptop runs the demo profile: generated secrets under var/, placeholders accepted
# (docs/operations.md, "Keys and secrets"); set SSCARD_PROFILE=production to try the refusals.
run: export SSCARD_PROFILE ?= demo
run: migrate ## start every service, worker, relay and simulator in the foreground (Ctrl-C stops all)
	@rm -rf var/metrics
	$(BIN)/sscardctl broker setup --env-file var/broker.env
	$(BIN)/sscardctl broker demo-banks --env-file var/broker.env
	$(BIN)/sscardctl seed
	@$(BIN)/python -m shared.runtime.process --print-endpoints
	set -a && . var/broker.env && set +a && PATH=$(CURDIR)/$(BIN):$$PATH exec $(BIN)/honcho --procfile deploy/Procfile --app-root . start

test: install ## run the whole test suite against the real RabbitMQ and PostgreSQL
	$(BIN)/python -m pytest

test-unit: install ## the fast tests only (no broker, no database): about 30 s
	$(BIN)/python -m pytest --without-infrastructure $(UNIT_TESTS)

lint: install ## ruff over the whole tree
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy over shared/, every service's domain/ and sscardctl/ (pyproject.toml)
	$(BIN)/mypy

bench: install ## benchmarks, each beside its baseline measured in the same run
	$(BIN)/python -m tests.bench $(ARGS)

clean: ## remove local state (databases, keys, uploads) under var/
	rm -rf var/
