# The two commands of the README: `make demo` and `make test`. Each creates .venv and
# installs the project when needed; a second call reuses it (the stamp tracks pyproject).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-all lint bench mutate clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/factory demo

# `make test` is the suite a change is checked with (under 5 minutes on 2 cores); the tests
# marked slow (many trainings, a served workspace under load, a terminal) run in `make
# test-slow`, and CI runs both (adrs/0034-test-tiers.md).
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(BIN)/ruff check core tui tests bench
	$(BIN)/ruff format --check core tui tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

# Mutation testing of the decision rules (slow: minutes; not part of `make test`). Mutants
# and results live in mutants/; prints killed / total per module and fails below 90%.
mutate: $(STAMP)
	$(BIN)/python -m tests.verdicts.mutation_scope run --min 90

clean-venv:
	rm -rf $(VENV)
