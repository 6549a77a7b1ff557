# trainset: two commands do everything.
#   make demo   build the churn training set from a simulated landing zone on DuckDB
#   make test   the whole suite: dbt build (data + unit tests) on small data, lint, pytest
#   make clean  remove everything generated (data, exports, dbt's target and packages, the
#               example's model and MLflow store) and the install stamp, so the next make
#               installs again into .venv; `make distclean` also removes .venv itself
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CI_DATA := data/ci
export DBT_SEND_ANONYMOUS_USAGE_STATS := False

.PHONY: venv deps demo test checks dbt-test lint pytest docs clean distclean

venv: $(VENV)/.installed

# --no-compile: pip byte-compiles the installed modules one after another on one core (a fresh
# install took 56 s with it, 34 s without); compileall then does it on every core, leaving out
# the packages' own test suites (12 s, 16 s with them). The modules must be compiled ahead:
# Python keeps what it compiles on import only where it may write bytecode, and with
# PYTHONDONTWRITEBYTECODE=1 (as on the CI machine) every process, each dbt run among them,
# compiled dbt, DuckDB's, pyarrow's and pandas' modules again: importing them took 7.3 s
# (4.6 CPU s) uncompiled against 2.3 s (2.2 CPU s).
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 -x '/tests?/' $(VENV)/lib
	touch $@

# dbt packages: `dbt deps` whenever packages.yml or package-lock.yml changed since the last
# install (trainset build and demo do the same before they run dbt).
deps: venv
	$(BIN)/python -m trainset.packages

# DEMO_ARGS: e.g. "--customers 400 --days 300 --seed 7" for a quick run (CI checks the command
# that way, on the data set `dbt-test` builds).
DEMO_ARGS ?=
demo: venv
	$(BIN)/trainset demo $(DEMO_ARGS)

test: checks pytest

# The dbt build check and the linters side by side (each mostly uses one core; their output is
# printed whole, one after the other). Both read the installed dbt packages, so `deps` runs
# first, once.
checks: deps
	$(MAKE) --no-print-directory --output-sync=target -j2 dbt-test lint

# A full dbt build (models, snapshots, data tests, unit tests) on a small generated data set,
# then the gated export and a verified load, in a database of its own.
dbt-test: deps
	rm -rf $(CI_DATA) && mkdir -p $(CI_DATA)
	$(BIN)/trainset generate --out $(CI_DATA)/landing --customers 400 --days 300 --seed 7
	TRAINSET_LANDING_DIR=$(CI_DATA)/landing TRAINSET_DUCKDB_PATH=$(CI_DATA)/trainset.duckdb \
	    TRAINSET_EXPORTS_DIR=$(CI_DATA)/exports DBT_TARGET_PATH=target/ci \
	    sh -c '$(BIN)/trainset build && $(BIN)/trainset export churn_30d && \
	        $(BIN)/python -c "import trainset; print(len(trainset.load(\"churn_30d\", exports_dir=\"$(CI_DATA)/exports\")), \"rows loaded and verified\")"'

# sqlfluff's dbt templater compiles the project against a database and landing zone of its
# own (no data is read), so lint can run beside dbt-test. The analyses come first: the drift
# example takes a lint process about 30 s, and started last it ran alone at the end (`make
# checks` took 84 s that way, 71 s this way).
lint: deps
	mkdir -p data/lint
	TRAINSET_LANDING_DIR=data/lint/landing TRAINSET_DUCKDB_PATH=data/lint/lint.duckdb \
	    DBT_TARGET_PATH=target/lint $(BIN)/sqlfluff lint analyses models tests snapshots
	$(BIN)/sqlfluff lint --templater jinja macros
	$(BIN)/ruff check python models
	$(BIN)/ruff format --check python models

# Two workers (pytest-xdist): each test module stays whole in one worker and the Spark tests
# on the shared session share one (see python/tests/conftest.py); the 50 slowest tests are
# listed at the end. Under CI=true Hypothesis runs derandomized; set HYPOTHESIS_PROFILE=long
# for the long property run.
pytest: deps
	$(BIN)/pytest -n 2 --dist loadscope --durations=50

docs: deps
	$(BIN)/dbt docs generate --profiles-dir .

clean:
	rm -rf target target.builds dbt_packages logs data exports mlruns $(VENV)/.installed

distclean: clean
	rm -rf $(VENV)
