# SEN trust platform. `make run` brings it all up; `make test` passes the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-parallel test-serial lint bench venv clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

run: venv
	@scripts/ensure-rabbitmq.sh
	$(PY) -m services.cli.platform

# The parallel suite first; then the tests that kill processes or restart the
# broker, alone. pytest's exit code 5 (no tests ran) fails the target.
test: venv lint
	@scripts/ensure-rabbitmq.sh
	$(VENV)/bin/pytest -n 2 -m "not serial" -q
	$(VENV)/bin/pytest -m serial -q
	@if [ -f deploy/deploy.mk ]; then $(MAKE) --no-print-directory deploy-check; fi

lint: venv
	$(VENV)/bin/ruff check services tests bench

bench: venv
	@scripts/ensure-rabbitmq.sh
	$(PY) -m bench

clean:
	rm -rf var .pytest_cache

-include deploy/deploy.mk
