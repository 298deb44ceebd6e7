"""The Ingress sends every path the services serve to the service that serves it."""

import inspect
from pathlib import Path

import pytest
import yaml

from services.cli.senctl import SERVICE_CLASSES
from services.common.topology import service_class

INGRESS = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "ingress.yaml"


def ingress_routes():
    doc = yaml.safe_load(INGRESS.read_text())
    routes = {}
    for rule in doc["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            routes[path["path"]] = path["backend"]["service"]["name"].removeprefix("sen-")
    return routes


def served_paths(cls):
    for _, member in inspect.getmembers(cls):
        for ep in getattr(member, "nameko_entrypoints", ()):
            url = getattr(ep, "url", None)
            if url and not url.startswith(("/health/", "/metrics")):
                yield url.split("<")[0].rstrip("/")


@pytest.mark.parametrize("service", sorted(SERVICE_CLASSES))
def test_every_served_path_is_routed_to_its_service(service):
    routes = ingress_routes()
    for path in served_paths(service_class(SERVICE_CLASSES[service])):
        # a Prefix path matches itself and what lies under it ("/" matches everything)
        owner = max((p for p in routes
                     if path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/")),
                    key=len, default=None)
        assert owner is not None, f"{path} ({service}) has no Ingress route"
        assert routes[owner] == service, f"{path} is routed to {routes[owner]}, not {service}"
