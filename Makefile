# The two commands a new user runs: `make run` and `make test`. Both create .venv and install
# what they need, so a fresh machine with Python 3.11+ and make is enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast check bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ldnkit needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

# Migrates the SQLite database in this folder (ldnkit.db), seeds the demo clinic when it is
# empty, serves the web app on 127.0.0.1:8000 and prints the URL and the demo logins.
run: install
	$(BIN)/ldnkit serve --demo-if-empty --host 127.0.0.1 --port 8000

test: install
	$(BIN)/pytest

# The unit tests only: no servers, no browser, no database server; for your own loop.
test-fast: install
	$(BIN)/pytest -q tests/unit -m "not slow"

check: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src tests

# Each benchmark prints its figures beside a baseline measured in the same run, as ratios.
bench: install
	for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
