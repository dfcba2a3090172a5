# The two commands: `make run` (embedded default: SQLite, tasks in-process) and `make test`; `make help` lists all.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
MIN_PYTHON := 3.11
PYTHON_OK := import sys; sys.exit(sys.version_info < (3, 11))
# Pinned for `make lock` only; the lock files themselves are installed with hashes.
PIP_TOOLS := pip-tools==7.6.2

.DEFAULT_GOAL := help
.PHONY: help run test setup lint audit lock worker beat bench simulate simulate-paced clean

# A .venv made by a Python older than $(MIN_PYTHON), or whose Python is gone, is removed here and rebuilt below.
ifneq ($(wildcard $(PY)),)
ifneq ($(shell $(PY) -c '$(PYTHON_OK)' >/dev/null 2>&1 && echo ok),ok)
$(info .venv was built with a Python older than $(MIN_PYTHON), or its Python no longer runs: rebuilding it.)
$(shell rm -rf $(VENV))
endif
endif

## List the targets.
help:
	@$(PYTHON) -c '$(PYTHON_OK)' 2>/dev/null && echo "Python: $$($(PYTHON) --version 2>&1) (smartgate needs $(MIN_PYTHON)+)" || \
	  echo "Python: '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing); smartgate needs $(MIN_PYTHON)+ (make … PYTHON=python3.11)"
	@awk '/^## /{doc=substr($$0, 4); next} /^[a-z-]+:/{if (doc) printf "  make %-8s %s\n", substr($$1, 1, length($$1)-1), doc; doc=""}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c '$(PYTHON_OK)' 2>/dev/null || { \
	  echo "smartgate needs Python $(MIN_PYTHON) or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing)."; \
	  echo "Install one (e.g. apt-get install python3.11) and run: make $(MAKECMDGOALS) PYTHON=python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

## Migrate and load the reference data, tariff, roles and slots.
setup: $(VENV)/.installed
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_reference
	$(PY) manage.py load_tariff
	$(PY) manage.py load_slos
	$(PY) manage.py setup_roles
	$(PY) manage.py generate_slots

## Set up and serve on http://127.0.0.1:8000 with the embedded default (demo logins and traffic).
run: setup
	$(PY) manage.py demo --traffic
	$(PY) manage.py serve $(HOST):$(PORT)

# Test processes (pytest-xdist): one per core; each has its own test database and Redis db (tests/services.py).
# Tests marked serial (they read the event feed, whose horizon is the server's oldest running transaction,
# the other process's included) run after, alone.
PYTEST_WORKERS ?= 2
## Run the test suite (DATABASE_URL, else PostgreSQL on 127.0.0.1 when it lets us in, else SQLite).
test: $(VENV)/.installed
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not serial" $(PYTEST_ARGS)
	$(PY) -m pytest -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]  # 5: none selected (PYTEST_ARGS chose other tests)

## Lint: ruff's rules and formatting, and the import contracts in pyproject.toml.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

## Look the locked versions up in the vulnerability database (pip-audit).
audit: $(VENV)/.installed
	$(VENV)/bin/pip-audit --disable-pip --require-hashes -r requirements.txt -r requirements-dev.txt --progress-spinner off

## Recompile requirements.txt and requirements-dev.txt (hashed) from requirements.in and requirements-dev.in.
lock: $(VENV)/.installed
	$(PY) -m pip install --quiet $(PIP_TOOLS)
	$(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --no-emit-find-links --no-emit-index-url \
	  -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links \
	  --no-emit-index-url -o requirements-dev.txt requirements-dev.in

## A Celery worker on every queue (needs CELERY_BROKER_URL=redis://…).
worker: $(VENV)/.installed
	@test -n "$(CELERY_BROKER_URL)" || { echo "make worker needs a broker: export CELERY_BROKER_URL=redis://127.0.0.1:6379/0 (without one, make run runs tasks in-process)."; exit 1; }
	$(VENV)/bin/celery -A smartgate worker -Q default,customs,border_guard,quarantine,health,gate,webhooks --without-gossip --without-mingle -l info

## Celery beat, the periodic work (needs CELERY_BROKER_URL=redis://…).
beat: $(VENV)/.installed
	@test -n "$(CELERY_BROKER_URL)" || { echo "make beat needs a broker: export CELERY_BROKER_URL=redis://127.0.0.1:6379/0 (without one, make run does the periodic work)."; exit 1; }
	$(VENV)/bin/celery -A smartgate beat -l info

## Every figure of issue 18 in one run (bench/run.py: floor, gate, list, create, pipeline, 1M scale pass).
bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

PROFILE ?= 2027-target
SEED ?= 1
## Simulate a day (PROFILE=2027-target SEED=1) through the real services, in a scratch database; see sim-out/.
simulate: $(VENV)/.installed
	$(PY) manage.py simulate_day --profile $(PROFILE) --speed max --seed $(SEED) --out sim-out/$(PROFILE)-seed$(SEED)

PACED_PROFILE ?= smoke
SPEED ?= 100
BASE_URL ?= http://127.0.0.1:8000
# Against the running stack: its server at BASE_URL, its workers on CELERY_BROKER_URL, DATABASE_URL's database
# (which must hold no declarations).
## A paced day (PACED_PROFILE=smoke SPEED=100) against the running stack at BASE_URL; see sim-out/.
simulate-paced: $(VENV)/.installed
	$(PY) manage.py simulate_day --profile $(PACED_PROFILE) --speed $(SPEED) --seed $(SEED) --base-url $(BASE_URL) \
		--out sim-out/$(PACED_PROFILE)-seed$(SEED)-x$(SPEED)

## Remove the virtualenv, the SQLite database and collected static files.
clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
