"""deploy/check passes on the real overlays and fails on broken copies of them.

Each failing case copies deploy/k8s to a temporary directory, breaks one thing
and expects deploy/check to fail with a message that names the object and the
rule. The tools (kubectl, kubernetes-validate, the operator models) come from
deploy/install-tools.sh; the first test installs them if they are missing.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.common.settings import SERVICES  # every service the platform runs

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "deploy" / "check"
K8S = REPO / "deploy" / "k8s"


def run_check(*overlays):
    proc = subprocess.run(
        [str(CHECK), *map(str, overlays)], capture_output=True, text=True, timeout=300
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="session", autouse=True)
def tools():
    proc = subprocess.run(
        [str(REPO / "deploy" / "install-tools.sh")], capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, f"deploy/install-tools.sh failed:\n{proc.stdout}{proc.stderr}"


@pytest.fixture()
def k8s(tmp_path):
    """A private copy of deploy/k8s to break."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    return copy


def add_patch(overlay_dir, target, ops):
    """Append a JSON 6902 patch to an overlay's kustomization."""
    path = overlay_dir / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text())
    kustomization.setdefault("patches", []).append({"target": target, "patch": yaml.safe_dump(ops)})
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False))


def test_real_overlays_pass():
    code, out = run_check(K8S / "overlays" / "dev", K8S / "overlays" / "production")
    assert code == 0, out
    assert "ok   deploy/k8s/overlays/dev" in out
    assert "ok   deploy/k8s/overlays/production" in out


def test_readiness_probe_removed_fails(k8s):
    deployment = k8s / "components" / "sen-service" / "deployment.yaml"
    doc = yaml.safe_load(deployment.read_text())
    del doc["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    deployment.write_text(yaml.safe_dump(doc, sort_keys=False))

    code, out = run_check(k8s / "overlays" / "production")
    assert code == 1, out
    for svc in SERVICES:
        assert f"Deployment/sen-{svc} container 'app': R1 no readinessProbe" in out, out


def test_probe_on_wrong_path_fails(k8s):
    add_patch(
        k8s / "overlays" / "dev",
        {"kind": "Deployment", "name": "sen-cpd"},
        [
            {
                "op": "replace",
                "path": "/spec/template/spec/containers/0/livenessProbe/httpGet/path",
                "value": "/",
            }
        ],
    )
    code, out = run_check(k8s / "overlays" / "dev")
    assert code == 1, out
    assert (
        "Deployment/sen-cpd container 'app': R1 livenessProbe must be an httpGet on /health/live"
        in out
    )


def test_resources_removed_fails(k8s):
    add_patch(
        k8s / "overlays" / "production",
        {"kind": "Deployment", "name": "sen-notify"},
        [{"op": "remove", "path": "/spec/template/spec/containers/0/resources"}],
    )
    code, out = run_check(k8s / "overlays" / "production")
    assert code == 1, out
    assert "Deployment/sen-notify container 'app': R1 resources.limits.memory is missing" in out
    assert "Deployment/sen-notify container 'app': R1 resources.requests.cpu is missing" in out
    assert "sen-pupils" not in out  # only the broken Deployment is reported


def test_security_context_weakened_fails(k8s):
    add_patch(
        k8s / "overlays" / "dev",
        {"kind": "Job", "name": "sen-migrate-referrals"},
        [
            {
                "op": "replace",
                "path": "/spec/template/spec/containers/0/securityContext",
                "value": {"allowPrivilegeEscalation": True},
            }
        ],
    )
    code, out = run_check(k8s / "overlays" / "dev")
    assert code == 1, out
    where = "Job/sen-migrate-referrals container 'migrate'"
    assert f"{where}: R3 securityContext.readOnlyRootFilesystem must be true" in out
    assert f"{where}: R3 securityContext.allowPrivilegeEscalation must be false" in out


def test_missing_per_service_object_fails(k8s):
    component = k8s / "components" / "sen-service" / "kustomization.yaml"
    doc = yaml.safe_load(component.read_text())
    doc["resources"].remove("pdb.yaml")
    component.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out = run_check(k8s / "overlays" / "dev")
    assert code == 1, out
    assert "service pupils: R4 no PodDisruptionBudget selects the Deployment's pods" in out


def test_unknown_field_fails_schema_validation(k8s):
    # Core kind (strict Kubernetes schema) and an operator kind (CloudNativePG model).
    add_patch(
        k8s / "overlays" / "production",
        {"kind": "Deployment", "name": "sen-pupils"},
        [
            {
                "op": "add",
                "path": "/spec/template/spec/containers/0/imagePullPolcy",
                "value": "Always",
            }
        ],
    )
    add_patch(
        k8s / "overlays" / "production",
        {"kind": "Cluster", "name": "sen-postgres"},
        [{"op": "add", "path": "/spec/instance", "value": 3}],
    )
    code, out = run_check(k8s / "overlays" / "production")
    assert code == 1, out
    assert "Deployment/sen-pupils: schema (Kubernetes 1.37)" in out and "imagePullPolcy" in out
    assert (
        "Cluster/sen-postgres: schema (postgresql.cnpg.io/v1" in out
        and "spec.instance: unknown field" in out
    )


def test_committed_secret_fails(k8s):
    (k8s / "base" / "smtp-secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sen-smtp\nstringData:\n  SMTP_PASSWORD: x\n"
    )
    base = k8s / "base" / "kustomization.yaml"
    doc = yaml.safe_load(base.read_text())
    doc["resources"].append("smtp-secret.yaml")
    base.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out = run_check(k8s / "overlays" / "dev")
    assert code == 1, out
    assert "Secret/sen-smtp: R7 a Secret with data must never be committed" in out
