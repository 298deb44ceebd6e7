# SEN trust platform. `make run` brings it all up; `make test` passes the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench venv assets clean
PORTAL_WEB := services/portal/web
PORTAL_OIDC := services/portal/oidc

$(STAMP): pyproject.toml
	@scripts/ensure-documents.sh
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

# The portal's GOV.UK Frontend and axe-core, from the npm registry (pinned by its lock
# file), and the local OpenID provider (oidc-provider).
$(PORTAL_WEB)/node_modules/.package-lock.json: $(PORTAL_WEB)/package.json $(PORTAL_WEB)/package-lock.json
	@scripts/ensure-browser.sh
	npm ci --prefix $(PORTAL_WEB) --no-audit --no-fund --loglevel=error

$(PORTAL_OIDC)/node_modules/.package-lock.json: $(PORTAL_OIDC)/package.json $(PORTAL_OIDC)/package-lock.json
	npm ci --prefix $(PORTAL_OIDC) --no-audit --no-fund --loglevel=error

assets: $(PORTAL_WEB)/node_modules/.package-lock.json $(PORTAL_OIDC)/node_modules/.package-lock.json

run: venv assets
	@scripts/ensure-rabbitmq.sh
	$(PY) -m services.cli.platform

# Two shards side by side, then the tests that kill processes or restart the
# broker, alone (scripts/run-tests.sh). pytest's exit code 5 fails the target.
test: venv assets lint
	@scripts/ensure-rabbitmq.sh
	@scripts/ensure-browser.sh --browser
	@scripts/ensure-documents.sh
	scripts/run-tests.sh
	@if [ -f deploy/deploy.mk ]; then $(MAKE) --no-print-directory deploy-check; fi

lint: venv
	$(VENV)/bin/ruff check services tests bench

bench: venv
	@scripts/ensure-rabbitmq.sh
	$(PY) -m bench

clean:
	rm -rf var .pytest_cache

-include deploy/deploy.mk
