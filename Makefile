# fraudstack: every target installs what is missing first, so a fresh clone needs only
# Python 3.11 and make.  `make help` lists the targets.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FS     := $(BIN)/fraudstack

.DEFAULT_GOAL := help
.PHONY: help install up demo demo-drift down status logs test lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml tools/install-system-deps.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@echo "installing fraudstack and its dependencies into $(VENV) (first run takes a few minutes)"
	@$(BIN)/pip install -q -e ".[all,dev]"
	@PIP=$(BIN)/pip tools/install-system-deps.sh
	@touch $@

install: $(STAMP) ## create .venv and install everything (Python and system packages)

up: install ## start the embedded stack (Kafka, AWS emulator, PostgreSQL) and deploy resources
	@$(FS) stack up
	@$(FS) deploy

demo: install ## run the whole pipeline end to end on simulated data
	@$(FS) demo

demo-drift: install ## the model loop: drift onset, drift verdict, retraining, promotion, recovery
	@$(FS) demo --drift

down: install ## stop every process the stack started
	@$(FS) stack down

status: install ## show endpoints and health
	@$(FS) stack status

logs: install ## tail the stack's logs
	@$(FS) stack logs

lint: install ## ruff, mypy and the import layering (import-linter)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy
	@$(BIN)/lint-imports --no-cache

test: lint ## lint, type-check and run the test suite (starts its own stack)
	@$(BIN)/pytest -n 2 --dist loadfile

bench: install ## run the benchmarks and print their figures
	@for b in bench/bench_*.py; do echo "== $$b"; PYTHONPATH=. $(BIN)/python $$b || exit 1; done

clean: ## remove the virtualenv, state and caches
	rm -rf $(VENV) .fraudstack vendor/jars .mypy_cache .ruff_cache .pytest_cache
