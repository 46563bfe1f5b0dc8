# The README's two commands: `make run` (the whole app) and `make test` (lint + the test suite).
# Both create the virtualenv and install what they need on first use, and run through
# marginsite.launch: with no DATABASE_URL, it starts the embedded PostgreSQL server in var/ and
# stops it when they end.

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
PORT ?= 8000

# Procfile commands (gunicorn, celery) are found in the virtualenv.
export PATH := $(BIN):$(PATH)

.PHONY: run serve test lint format install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed-dev

run: $(VENV)/.installed-run
	$(BIN)/python -m marginsite.launch $(MAKE) --no-print-directory serve

# The app itself, once marginsite.launch has the runtime folder and the database ready.
serve:
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_market
	$(BIN)/python manage.py seed_users
	@echo "marginsite: http://127.0.0.1:$(PORT)/  (web, Celery worker and beat; Ctrl-C stops all three)"
	exec $(BIN)/honcho start --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m marginsite.launch $(BIN)/python -m pytest --numprocesses auto $(PYTEST_ARGS)

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
