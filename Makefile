# The two commands a new user runs: `make run` and `make test`. Both create .venv and install
# what they need, so a fresh machine with Python 3.11+ and make is enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test check bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ldnkit needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/ldnkit demo-walkthrough

test: install
	$(BIN)/pytest

check: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench: install
	$(BIN)/python bench/screen.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
