# The two commands a newcomer needs: `make run` (the local fleet) and `make test` (the test suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test venv proto proto-check bench typecheck lint format clean chaos
CHECKED := utils orchestrator transaction_verification fraud_detection suggestions order_queue order_executor \
  books_database payment_service frontend chaos testing tests bench scripts

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

proto: $(STAMP)
	$(PY) scripts/gen_protos.py

proto-check: $(STAMP)
	$(PY) scripts/gen_protos.py --check

run: $(STAMP)
	$(PY) scripts/gen_protos.py --check || $(PY) scripts/gen_protos.py
	$(PY) -m utils.fleet run $(ARGS)

test: $(STAMP) proto-check
	$(PY) -m pytest $(PYTEST_ARGS)

# mypy --strict (pyproject.toml) over the product, the harness, the tests, the benchmarks and the scripts.
typecheck: $(STAMP)
	$(VENV)/bin/mypy $(CHECKED)

# ruff: lint, and the formatting checked (`make format` applies it).
lint: $(STAMP)
	$(VENV)/bin/ruff check $(CHECKED)
	$(VENV)/bin/ruff format --check $(CHECKED)

format: $(STAMP)
	$(VENV)/bin/ruff check --fix $(CHECKED)
	$(VENV)/bin/ruff format $(CHECKED)

bench: $(STAMP)
	$(PY) -m bench.checkout_bench

# Checkouts under faults, then the invariants of docs/design.md §6 checked (about a minute by default).
# Options: make chaos ARGS="--fleet docker --duration 300 --rate 20 --seed 7 --faults kill,pause,isolate,slow"
chaos: $(STAMP)
	$(PY) -m chaos $(ARGS)

# Each safety rule broken on purpose in a scratch copy; every mutation must be killed by its tests (minutes).
# Options: make mutate ARGS="--only raft-election-restriction" or ARGS="--fast" (the CI subset) or ARGS="--list"
.PHONY: mutate
mutate: $(STAMP)
	$(PY) -m testing.mutate $(ARGS)

# The Raft simulation for as long as you like: RAFT_SIM_SEEDS seeds (every mix, from seed RAFT_SIM_FIRST_SEED)
# of RAFT_SIM_TICKS ticks; prints seeds/s, and each failing seed with the command that replays it.
.PHONY: soak
soak: $(STAMP)
	$(PY) -m testing.raft_sim --soak --seed $${RAFT_SIM_FIRST_SEED:-0} --seeds $${RAFT_SIM_SEEDS:-20000}

clean:
	rm -rf data logs .pytest_cache .mypy_cache

.PHONY: up down
# The fleet in containers (builds offline when no registry answers); returns once healthy.
up:
	docker/up.sh

down:
	docker/down.sh
