# Pulse — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON_BOOTSTRAP ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Tests use their own Redis database (15) so a running demo on database 0 is left alone.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/pulse)
TEST_REDIS_URL ?= $(if $(REDIS_URL),$(REDIS_URL),redis://127.0.0.1:6379/15)
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help install demo test test-faults bench bench-scheduler bench-stack bench-api check-services clean

help:
	@echo "make demo   - install into .venv and run web, workers, beat and Flower locally"
	@echo "make test   - install dev requirements and run the test suite on PostgreSQL and Redis"
	@echo "make test-faults - the whole fault suite (kills workers, restarts private Redis/PostgreSQL)"
	@echo "make bench  - every benchmark under tests/bench/, then a table of the figures"
	@echo "make bench-scheduler - compare stock DatabaseScheduler and PulseScheduler (prints a table)"

$(VENV)/.installed: requirements/base.txt requirements/dev.txt
	@test -x $(PYTHON) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements/dev.txt
	@touch $@

install: $(VENV)/.installed

demo: install
	@PYTHON=$(PYTHON) deploy/local/demo.sh

check-services: install
	@DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(PYTHON) deploy/local/check_services.py

# Slow fault tests (marked `faults`) are left out here; `make test-faults` runs the whole fault suite.
test: check-services
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(PYTHON) -m pytest -m "not faults" $(PYTEST_ARGS)

test-faults: check-services
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(PYTHON) -m pytest tests/faults $(PYTEST_ARGS)

# Stock DatabaseScheduler vs PulseScheduler on the same PostgreSQL and Redis; about 11 minutes.
bench-scheduler: check-services
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(PYTHON) tests/bench/bench_scheduler.py $(BENCH_ARGS)

# HTTP API latency by authentication method, mention pages and streamed exports; a few minutes.
bench-api: check-services
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(PYTHON) tests/bench/bench_api.py $(BENCH_ARGS)

clean:
	rm -rf var/ .pytest_cache

bench-stack: install
	$(PYTHON) tests/bench/bench_stack.py

# Every tests/bench/bench_*.py in turn, then one table of the figures (docs/BENCHMARKS.md); about 25 min
# with bench_scheduler. A subset: $(PYTHON) tests/bench/run_all.py --only kill_worker,pipeline
bench: install
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(PYTHON) tests/bench/run_all.py
