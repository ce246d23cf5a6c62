# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*/pyproject.toml)
# More packages for the environment, each quoted for the shell, e.g. EXTRAS='psycopg[binary]>=3.1'.
EXTRAS ?=
EDITABLES := -e '.[test]' $(foreach p,$(PLUGINS),-e $(dir $(p)))

.PHONY: install demo test lint bench

$(VENV)/.installed: pyproject.toml $(PLUGINS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(if $(DJANGO),'$(DJANGO)') $(foreach e,$(EXTRAS),'$(e)') $(EDITABLES)
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) demo/run.py

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Time devdata's export and import against pg_dump/pg_restore (and dumpdata/loaddata) at
# 1M order lines on PostgreSQL, with one, two and four jobs: the README's figures table
# (benchmarks/README.md). E.g. `make bench SCALES=10k VENDORS="sqlite postgres mariadb"`.
SCALES ?= 1M
VENDORS ?= postgres
TOOLS ?= devdata-full devdata-jobs2 devdata-jobs4 pg_dump

bench: install
	$(PY) benchmarks/run.py --scales $(SCALES) --vendors $(VENDORS) $(if $(TOOLS),--tools $(TOOLS)) $(BENCH_ARGS)
