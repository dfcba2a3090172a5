# The two commands: `make run` (embedded default: SQLite, tasks in-process) and `make test`; `make lint` in CI.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup lint worker beat bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_reference
	$(PY) manage.py load_tariff
	$(PY) manage.py setup_roles
	$(PY) manage.py generate_slots

## Set up and serve on http://127.0.0.1:8000 with the embedded default.
run: setup
	$(PY) manage.py demo --traffic
	$(PY) manage.py serve $(HOST):$(PORT)

## Run the test suite (PostgreSQL and Redis on 127.0.0.1 are used when reachable).
test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

## Lint: ruff's rules and formatting, and the import contracts in pyproject.toml.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

worker: $(VENV)/.installed
	$(VENV)/bin/celery -A smartgate worker -Q default,customs,border_guard,quarantine,gate -l info

beat: $(VENV)/.installed
	$(VENV)/bin/celery -A smartgate beat -l info

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
