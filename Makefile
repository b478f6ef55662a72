# One environment for everything, in .venv/ at the repository root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RIG ?= rigs/demo.toml

.PHONY: venv demo test check lint bench soak req-report clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# zigpy's wheel ships a stray top-level `tools` package (its maintainer scripts) that would
	# shadow ours: remove it so `import tools` is always this project's.
	rm -rf $(VENV)/lib/python*/site-packages/tools
	touch $(STAMP)

demo: venv
	$(BIN)/smartmeter rig up $(RIG)

test: venv
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

check: lint test

# Requirement clauses the tests claim (their `req` markers), against requirements/clauses.csv.
req-report: venv
	$(BIN)/python -m tools.req_report --check

bench: venv
	$(BIN)/python -m tests.perf.bench_startup $(RIG)
	$(BIN)/python -m tests.perf.bench_read $(RIG)
	$(BIN)/python -m tests.perf.bench_channel
	$(BIN)/python -m tests.perf.bench_recovery
	$(BIN)/python -m tests.perf.bench_secure_read
	$(BIN)/python -m tests.perf.bench_tariff

# The long kill campaigns: `make test` runs 15 chaos rounds and 60 meter kills, this 50 and 200.
soak: venv
	CHAOS_ROUNDS=50 KILL_ROUNDS=200 $(BIN)/pytest -q -s tests/integration/test_chaos.py \
		tests/integration/test_register_monotonic.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
