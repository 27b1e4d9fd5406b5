# The two commands of the README: `make run` (the daemon with a demo tenant) and `make test` (the suite, as CI runs it).
# Both install what they need: Debian packages through .ci/system-deps, Python packages into ./.venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SANDBOX_PORT ?= 8765
WEB_PORT ?= 8000

.PHONY: run test lint typecheck rules docs pytest system-deps venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash .ci/system-deps

## run: the whole daemon on this machine — sandbox, demo source, embedded Redis, worker, beat, web
run: system-deps $(STAMP)
	$(BIN)/syncd up --sandbox-port $(SANDBOX_PORT) --web-port $(WEB_PORT)

## test: lint, type-check, check the alert rules, build the docs and run the whole suite (PostgreSQL and MariaDB
## are started by the tests themselves)
test: system-deps $(STAMP) lint typecheck rules docs pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

## rules: the Prometheus alert rules are valid and their unit tests pass (promtool comes from .ci/system-deps)
rules: system-deps
	promtool check rules config/prometheus/*.yml
	promtool test rules config/prometheus/tests/*.yml

## docs: the MkDocs site in docs/ builds with --strict: a broken link or anchor, or a page missing from the nav,
## fails it (the site goes to var/site, which git ignores)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir var/site

pytest: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
