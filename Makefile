# The two commands of the README: `make run` (syncd's main job) and `make test` (the suite, as CI runs it).
# Both install what they need: Debian packages through .ci/system-deps, Python packages into ./.venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SANDBOX_PORT ?= 8765

.PHONY: run test lint typecheck pytest system-deps venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash .ci/system-deps

## run: start the Thulium sandbox on 127.0.0.1:$(SANDBOX_PORT) and show how to use syncd against it
run: system-deps $(STAMP)
	@$(BIN)/syncd --help
	@echo "Sandbox (simulated Thulium API): http://127.0.0.1:$(SANDBOX_PORT)/api  user api_user, password sandbox-secret"
	@echo "  try: curl -u api_user:sandbox-secret http://127.0.0.1:$(SANDBOX_PORT)/api/outbounds"
	@echo "  state: curl http://127.0.0.1:$(SANDBOX_PORT)/_sandbox/state      (Ctrl-C stops it)"
	$(BIN)/syncd sandbox --port $(SANDBOX_PORT)

## test: lint, type-check and run the whole suite (PostgreSQL is started by the tests themselves)
test: system-deps $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
