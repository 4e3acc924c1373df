# slaops: the two quick-start commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PORT   ?= 8000
HOST   ?= 127.0.0.1
PYTEST_ARGS ?=

.PHONY: run test lint format migrate seed check-migrations bench vendor clean help

help:
	@echo "make run    set up, migrate, seed demo data, start web + worker + beat on http://$(HOST):$(PORT)"
	@echo "make test   set up and run lint and the whole test suite"
	@echo "make bench  run the benchmarks in bench/ on PostgreSQL (BENCH_DATABASE_URL, BENCH_SCALE)"

# The virtual environment is rebuilt when the pinned lock or the project changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "slaops needs Python 3.11: run make PYTHON=python3.11 ...")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

venv: $(VENV)/.installed

migrate: venv
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput

seed: migrate
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo

run: seed
	DEBUG=$${DEBUG:-1} $(PY) -m slaops.devrun --host $(HOST) --port $(PORT)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: venv
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

check-migrations: venv
	SECRET_KEY=$${SECRET_KEY:-tests-only-secret} $(PY) manage.py makemigrations --check --dry-run

test: lint check-migrations
	SECRET_KEY=$${SECRET_KEY:-tests-only-secret} $(PY) -m pytest $(PYTEST_ARGS)

# BENCH_DATABASE_URL names a PostgreSQL database bench/run.py may create and fill.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/slaops_bench
BENCH_SCALE ?= 1
bench: venv
	-DEBUG=1 $(PY) bench/business_time.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/run.py --scale $(BENCH_SCALE) --json bench/results.json

# Refresh the committed copies of the front-end libraries (needs npm; pinned in package.json),
# and of axe-core for the accessibility browser tests (tests/browser/vendor/axe.min.js).
# The .map files are not vendored, so the sourceMappingURL comments naming them are stripped:
# with DEBUG off, the manifest storage fails collectstatic on a reference it cannot resolve.
VENDOR_FILES = static/vendor/bootstrap.min.css static/vendor/bootstrap.bundle.min.js \
               static/vendor/htmx.min.js static/vendor/echarts.min.js
vendor:
	npm ci --no-audit --no-fund --ignore-scripts
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js \
	   node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js static/vendor/
	sed -i.orig -e '/^\/\/[#@] sourceMappingURL=/d' -e '/^\/\*[#@] sourceMappingURL=/d' $(VENDOR_FILES)
	rm -f $(addsuffix .orig,$(VENDOR_FILES))
	! grep -l 'sourceMappingURL=' $(VENDOR_FILES)
	cp node_modules/axe-core/axe.min.js tests/browser/vendor/axe.min.js

clean:
	rm -rf $(VENV) var/*.sqlite3* var/broker var/static var/celerybeat-schedule*
