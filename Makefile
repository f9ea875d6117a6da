# VCP Platform entry points. `make demo` and `make test` need nothing but Python 3.11 and apt.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Real services for tests and benchmarks (scripts/services.sh starts them when none answer).
TEST_DATABASE_URL ?= postgres://vcp:vcp@127.0.0.1:5432/vcp
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

DEMO_STOCKS ?= 300
DEMO_DAYS ?= 750
DEMO_SEED ?= 7
# The demo lives in its own data directory, rebuilt from scratch on every run: a second `make demo`
# on another day must not mix two synthetic markets in one database.
DEMO_DIR ?= var/demo
DEMO_ENV := DEBUG=1 VCP_LOG_TO_FILE=0 VCP_DATA_DIR=$(DEMO_DIR) DATABASE_URL= REDIS_URL= CELERY_BROKER_URL=

.PHONY: help venv demo demo-data serve serve-stop test lint bench docs docs-openapi clean deploy-smoke walkthrough

help:
	@echo "make demo   - install, build a synthetic market on SQLite and serve http://127.0.0.1:8000"
	@echo "make serve  - the production topology on loopback: nginx, 2 gunicorn, Celery (make serve-stop)"
	@echo "make test   - run the test suite against real PostgreSQL and Redis (started if needed)"
	@echo "make lint   - ruff, import-linter contracts, mypy and the docs site (mkdocs build --strict)"
	@echo "make bench  - run the benchmarks in bench/ (prints figures)"
	@echo "make walkthrough - screenshots of a fresh demo into docs/walkthrough/ (headless Chromium)"

$(STAMP): requirements/serve.txt requirements/train.txt requirements/base.txt requirements/prod.txt requirements/dev.txt requirements/dev-nodeps.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
	  echo "python venv is missing: installing Debian's python3-venv"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -r requirements/dev-nodeps.txt
	@touch $(STAMP)

venv: $(STAMP)

demo-data: venv
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	# One process for every step (predictions/management/commands/build_demo.py): each separate
	# manage.py start cost 2.3-2.9 s.
	$(DEMO_ENV) $(PY) manage.py build_demo --stocks $(DEMO_STOCKS) --days $(DEMO_DAYS) --seed $(DEMO_SEED)

demo: demo-data
	@echo "Serving http://127.0.0.1:8000/admin/  (Ctrl-C to stop)"
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:8000

# The production topology without Docker, all on loopback: PostgreSQL, Redis, 2 gunicorn instances
# behind Debian's nginx (http://127.0.0.1:8080), a Celery worker and beat; pid files in var/serve/.
# SERVE_REDIS=0: without Redis (the loader then follows the database's production pointer).
serve: venv
	scripts/serve.sh

serve-stop:
	scripts/serve-stop.sh

test: venv
	scripts/services.sh
	scripts/test_deps.sh
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(PY) -m pytest --create-db --cov --cov-report=term $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DEBUG=1 $(VENV)/bin/mypy .
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The data-path benchmarks under time limits (< 15 min), then one summary table of every figure in
# var/bench/*.csv (bench/load.py's too, when it has run). The other bench/*.py run one by one.
bench: venv
	scripts/services.sh
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} $(PY) bench/summary.py

# On PostgreSQL, as the schema test runs: a schema generated on SQLite differs and fails that test.
docs-openapi: venv
	DEBUG=1 DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml

docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# Screenshots (and short videos) of a fresh demo into docs/walkthrough/: headless Chromium via Playwright,
# Debian's chromium (apt-get install -y chromium; ffmpeg for the videos), server on 127.0.0.1:8017.
WALKTHROUGH_ARGS ?=
walkthrough: venv
	@$(PY) -c "import playwright" 2>/dev/null || $(PY) -m pip install -q playwright
	$(PY) scripts/walkthrough.py --data-dir var/walkthrough $(WALKTHROUGH_ARGS)

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* htmlcov

# The docker-compose stack end to end (needs a Docker engine; never part of `make test`). With no
# Docker Hub access, build the images from Debian's packages first: scripts/offline_images.sh.
deploy-smoke:
	scripts/compose_smoke.sh $(SMOKE_ARGS)
