# wfptui — `make run` opens the TUI, `make test` runs lint, types and every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint unit recordings bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/wfptui

lint: $(STAMP)
	$(BIN)/ruff check wfptui tests benchmarks tools
	$(BIN)/mypy

# -n auto: one pytest-xdist worker per core (the suite is ~1,400 tests; most of a TUI test's
# time is waiting for Textual to settle, so workers overlap well). worksteal evens out
# the few long tests. `pytest` on its own (one file, -x) stays a single process.
unit: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist worksteal

test: lint unit

# Sample recordings in recordings/, made from scenarios/ (the tests replay --check each one).
recordings: $(STAMP)
	$(BIN)/python tools/make_recordings.py

bench: $(STAMP)
	$(BIN)/python benchmarks/classify.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
