# Two entry points a newcomer needs: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.metarec-installed
DEV_STAMP := $(VENV)/.metarec-dev-installed

.PHONY: install install-dev demo test test-slow lint bench clean

# metarec alone: what `make demo` needs.
install: $(STAMP)

# The development extras on top (pytest, ruff, import-linter, pymfe, matplotlib, and torch's
# CPU build for the few-shot learner): what `make test` needs.
install-dev: $(DEV_STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,fewshot,plot]'
	touch $(DEV_STAMP)

demo: install
	$(BIN)/metarec recommend examples/colic.csv --target surgical_lesion

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: install-dev lint
	$(BIN)/python -m pytest -q

# The tests marked slow, which `make test` leaves out (pyproject's addopts); CI runs both.
test-slow: install-dev
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
