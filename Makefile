# The README's two Quickstart commands are `make demo` and `make test`; both install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test coverage lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/finassist demo

test: $(STAMP)
	$(BIN)/ruff check bot analytics tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# Line coverage of bot and analytics, the `python -m bot` subprocesses included ([tool.coverage] in pyproject.toml).
coverage: $(STAMP)
	rm -f .coverage .coverage.*
	$(BIN)/python -m pytest -q --cov --cov-report= $(PYTEST_ARGS)
	@# pytest-cov combines what it finds; a process that exited after that leaves a .coverage.* file behind
	@if ls .coverage.* >/dev/null 2>&1; then $(BIN)/coverage combine --append --quiet; fi
	$(BIN)/coverage report

lint: $(STAMP)
	$(BIN)/ruff check bot analytics tests benchmarks
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/bot.py

clean:
	rm -rf $(VENV) data/finassist.db* data/demo out .coverage .coverage.* htmlcov
