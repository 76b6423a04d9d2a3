# Balance — the two commands that are always true: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
FLASK  := $(VENV)/bin/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Parallel test workers (2 cores on CI machines; -n 3 measured slower: the suite is CPU-bound, docs/quality.md).
WORKERS ?= 2

.PHONY: run worker test bench lint venv deps dev-deps db chromium clean

$(VENV)/bin/activate:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $(VENV)/.deps $@

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

db: deps
	$(FLASK) db upgrade
	$(FLASK) demo-data --if-empty

## make run: virtualenv, install, migrate, demo data on an empty database, then the web server on :5000
## and a job worker (mail, reminders, availability, counters) together; Ctrl-C stops both.
run: db
	@echo "Starting the job worker and the web server on http://$(HOST):$(PORT) (Ctrl-C stops both)"
	@$(VENV)/bin/huey_consumer wsgi.huey --workers 2 --worker-type thread --quiet & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host $(HOST) --port $(PORT)

## make worker: only the job worker (production runs any number of these, on any hosts)
worker: deps
	$(VENV)/bin/huey_consumer wsgi.huey --workers 2 --worker-type thread

## make test: install test dependencies and run the whole suite (parallel)
## (--dist loadscope: each module runs on one worker, so its module fixtures — the quality world, the
##  browser sessions, the HTML validator — are built once; with pytest 9 xdist's loadgroup ignores
##  xdist_group marks and split modules over both workers, building each of them twice)
test: dev-deps
	$(PY) -m pytest -n $(WORKERS) --dist loadscope --durations=20 $(PYTEST_ARGS)

## make bench: gunicorn + huey + wrk on PostgreSQL and SQLite, 10,000 specialists; writes docs/benchmarks.md
## (make bench BENCH_ARGS="--specialists 10000,100000" adds 100,000; python -m bench.run --help for the rest)
bench: dev-deps
	$(PY) -m bench.run $(BENCH_ARGS)

## make lint: ruff over the code, tests and bench; mypy over marketplace/ (settings in pyproject.toml)
lint: dev-deps
	$(VENV)/bin/ruff check marketplace tests bench config.py wsgi.py
	$(VENV)/bin/mypy

## Browser for the end-to-end tests (Debian's Chromium; Playwright drives it, never downloads one)
chromium:
	@if [ -x /usr/bin/chromium ]; then echo "chromium present"; else \
	  for i in 1 2 3 4 5; do (apt-get update -qq && apt-get install -y -qq chromium) && break; \
	  echo "apt busy, retrying in 10s"; sleep 10; done; fi

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
