# gridgov: `make run` starts everything with demo data; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test test-future install install-dev assets migrate seed lint bench clean

# The console's map and chart libraries come from the npm registry (versions locked in
# package-lock.json) and are copied into the package's static folder; nothing is fetched at run time.
FRONTEND := gridgov/console/frontend
VENDOR   := gridgov/console/static/vendor

$(VENDOR)/.built: $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/leaflet $(VENDOR)/chart.js
	cp -R $(FRONTEND)/node_modules/leaflet/dist/leaflet.js $(FRONTEND)/node_modules/leaflet/dist/leaflet.css \
	      $(FRONTEND)/node_modules/leaflet/dist/images $(FRONTEND)/node_modules/leaflet/LICENSE $(VENDOR)/leaflet/
	cp $(FRONTEND)/node_modules/chart.js/dist/chart.umd.min.js $(FRONTEND)/node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js/
	touch $@

assets: $(VENDOR)/.built

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt requirements-oracle.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-oracle.txt
	touch $(VENV)/.runtime $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

migrate: install
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed demo

## run: migrate, seed the demo, then serve the API on 127.0.0.1:5000 and run the scheduler; Ctrl-C stops both.
run: seed assets
	@bash -c 'trap "kill \$$sched 2>/dev/null; wait" EXIT INT TERM; \
	  $(BIN)/flask scheduler run & sched=$$!; \
	  $(BIN)/flask run --host 127.0.0.1 --port 5000'

## test: install what the tests need and run the suite (PostgreSQL too when GRIDGOV_TEST_POSTGRES_URL is set).
test: install-dev assets
	$(BIN)/pytest $(PYTEST_ARGS)

## test-future: the suite on SQLite with the process clock moved 1 and 5 years ahead (Debian's libfaketime):
## no test may depend on the day it runs, no code on a clock other than the one it is given.
FAKETIME_LIB ?= $(firstword $(wildcard /usr/lib/*/faketime/libfaketimeMT.so.1))
FUTURE     ?= +365d +1826d
## A pass that hangs (a timed wait on the moved clock) is stopped with its threads' stacks printed.
FUTURE_TIMEOUT ?= 1800
test-future: install-dev assets
	@test -n "$(FAKETIME_LIB)" || { echo "libfaketime is missing: apt-get install faketime"; exit 1; }
	@for offset in $(FUTURE); do echo "== clock moved $$offset"; \
	  FAKETIME=$$offset LD_PRELOAD=$(FAKETIME_LIB) GRIDGOV_TEST_POSTGRES_URL= PYTHONFAULTHANDLER=1 \
	    timeout -s ABRT $(FUTURE_TIMEOUT) $(BIN)/pytest -q $(PYTEST_ARGS) || exit 1; \
	done

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r gridgov -c pyproject.toml --severity-level medium

## bench: every bench that makes its own database, one after another, each printing its table; the
## ones that missed a target are named at the end. (patrol_points.py, province_figures.py and
## python -m bench.province.bench take a database URL, cpu_profile.py an endpoint: see the README.)
BENCHES := claim console cpu field issues load locate markets patrols scheduler
bench: install-dev assets
	@missed=""; for name in $(BENCHES); do echo "== bench/$$name.py"; \
	  $(BIN)/python bench/$$name.py || missed="$$missed $$name"; done; \
	  test -z "$$missed" || { echo "missed a target or failed:$$missed"; exit 1; }

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache $(VENDOR) $(FRONTEND)/node_modules
