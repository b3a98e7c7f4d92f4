# Two commands set everything up on a fresh machine with only Python 3.11:
#   make run    virtualenv, install, migrate, demo data, then web + worker + beat
#   make test   the whole suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-12)
export DJANGO_ENV ?= development
export PYTHONUNBUFFERED := 1

.PHONY: install run migrate test lint format fuzz bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

run: migrate
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "  Open http://127.0.0.1:$${WEB_PORT:-8000}/ and sign in with a login above."
	@echo "  Database: $${DATABASE_URL:-SQLite file $${VAR_DIR:-var}/tracker.sqlite3}; broker: $${REDIS_URL:-filesystem queue under $${VAR_DIR:-var}/broker}; beat schedule, e-mail and exports under $${VAR_DIR:-var}/"
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

test: install
	DJANGO_ENV=test $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

fuzz: install
	DJANGO_ENV=test $(BIN)/python -m pytest -m fuzz -p no:randomly $(PYTEST_ARGS) tests/security

bench: install
	DJANGO_ENV=test $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf var staticfiles .pytest_cache test-output
