"""schemathesis against every service's own OpenAPI document (issue 11).

Each service runs in a container (real HTTP server, real RabbitMQ vhost, its own
migrated database) with seeded data: the trust, a trust school and a partner
school, and in each service a few records of its own, whose ids are put into the
generated path parameters half of the time so that requests reach the handlers.
Every case is sent with a token of a role the operation allows (at the trust or at
a school) and must pass `not_a_server_error` and `response_schema_conformance`
(the document tells the truth about statuses and bodies).

Bounded: FUZZ_EXAMPLES cases per operation (default 12) and a per-service time
budget, so the whole part stays within a few minutes on two cores.
"""

import os
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from nameko.testing.services import worker_factory
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from services.common.db import open_database
from services.common.openapi import api_entrypoints
from services.cpd.service import CpdService
from services.notify.service import NotifyService
from services.provision.service import ProvisionService
from services.pupils.commands import organisations
from services.pupils.service import PupilsService
from services.referrals.service import ReferralsService
from tests.conftest import bearer
from tests.helpers import referral_body
from tests.service.conftest import run_service  # noqa: F401  (fixture)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
BUDGET_SECONDS = float(os.environ.get("FUZZ_BUDGET_SECONDS", "45"))
CHECKS = [not_a_server_error, response_schema_conformance]

TRUST, SCHOOL, PARTNER = "trust", "school", "partner"
SERVICES = {"pupils": PupilsService, "provision": ProvisionService, "cpd": CpdService,
            "referrals": ReferralsService, "notify": NotifyService}
RESULTS = {}


def _onboarded(service_cls, db_url, orgs):
    """Tell a service about the organisations, through its own event handler."""
    from services.contracts import make_event
    models = __import__(f"services.{service_cls.name}.models", fromlist=["Base"])
    db = open_database(service_cls.name, models.Base.metadata, db_url)
    worker = worker_factory(service_cls, db=db)
    for org_id, kind, name in orgs:
        worker.on_organisation_onboarded(make_event("organisation.onboarded", {
            "org_id": org_id, "name": name, "urn": "100001", "laestab": "2021001",
            "kind": kind, "contact_email": f"office@{org_id}.example"},
            org_id=org_id, actor="senctl"))


def _h(token, org, role, sub=None):
    return bearer(token(org, role, sub=sub or f"{role}@{org}.example"))


def _seed(name, base, db_url, token):
    """Records each service holds, and their ids by path parameter name."""
    ids = {}
    http = requests.Session()
    if name == "pupils":
        db = open_database("pupils", __import__("services.pupils.models", fromlist=["B"])
                           .Base.metadata, db_url)
        orgs = {}
        for key, body in ((TRUST, {"name": "Trust", "kind": "trust"}),
                          (SCHOOL, {"name": "Oak School", "kind": "trust_school",
                                    "urn": "140001", "laestab": "8011001"}),
                          (PARTNER, {"name": "Partner", "kind": "partner_school",
                                     "urn": "140003", "laestab": "8011003"})):
            orgs[key] = organisations.onboard(db, body, actor="fuzz").id
        pupil = http.post(base + "/api/v1/pupils", headers=_h(token, orgs[SCHOOL], "senco"),
                          json={"upn": "B801200005001", "legal_surname": "Taylor",
                                "forename": "Sam", "date_of_birth": "2016-03-01",
                                "year_group": 5, "sen_status": "K", "primary_need": "ASD"})
        assert pupil.status_code == 201, pupil.text
        ids["pupil_id"] = [pupil.json()["id"]]
        ids["org_id"] = list(orgs.values())
        return orgs, ids
    orgs = {TRUST: "trust-1", SCHOOL: "school-1", PARTNER: "partner-1"}
    if hasattr(SERVICES[name], "on_organisation_onboarded"):
        _onboarded(SERVICES[name], db_url, [(orgs[TRUST], "trust", "Trust"),
                                            (orgs[SCHOOL], "trust_school", "Oak School"),
                                            (orgs[PARTNER], "partner_school", "Partner")])
    ids["org_id"] = list(orgs.values())
    if name == "cpd":
        admin = _h(token, orgs[TRUST], "cpd_admin")
        course = http.post(base + "/api/v1/cpd/courses", headers=admin, json={
            "title": "Autism", "summary": "One morning.", "audience": "Teachers",
            "area_of_need": "communication_and_interaction", "cpd_hours": 3,
            "price_pence": 5000})
        assert course.status_code == 201, course.text
        start = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
        session = http.post(base + f"/api/v1/cpd/courses/{course.json()['id']}/sessions",
                            headers=admin, json={
                                "starts_at": start.isoformat(),
                                "ends_at": (start + timedelta(hours=3)).isoformat(),
                                "venue": "Hub", "facilitator": "Dr Khan", "capacity": 5})
        assert session.status_code == 201, session.text
        http.post(base + f"/api/v1/cpd/courses/{course.json()['id']}/publish", headers=admin)
        booking = http.post(base + f"/api/v1/cpd/sessions/{session.json()['id']}/bookings",
                            headers=_h(token, orgs[SCHOOL], "teacher"),
                            json={"attendee": {"name": "Sam Lee",
                                               "email": "teacher@school-1.example"}})
        ids.update(course_id=[course.json()["id"]], session_id=[session.json()["id"]])
        if booking.status_code == 201:
            ids["booking_id"] = [booking.json()["id"]]
    if name == "referrals":
        resp = http.post(base + "/api/v1/referrals", json=referral_body(),
                         headers=_h(token, orgs[PARTNER], "partner_referrer"))
        assert resp.status_code == 201, resp.text
        ids["referral_id"] = [resp.json()["id"]]
    return orgs, ids


def _roles(service_cls):
    return {name: sorted(ep.roles) for name, ep in api_entrypoints(service_cls)}


def _fuzz(operation, op_id, tokens, base, ids, rng, http, failures, statuses):
    """EXAMPLES generated cases of one operation, each with one of its tokens."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(), which=st.integers(0, len(tokens) - 1))
    def run(case, which):
        for param in list(case.path_parameters or {}):
            if param in ids and rng.random() < 0.5:
                case.path_parameters[param] = rng.choice(ids[param])
        response = case.call(base_url=base, headers=dict(tokens[which]), session=http,
                             timeout=15)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseExceptionGroup as exc:  # schemathesis's FailureGroup: collected
            reasons = "; ".join(f"{getattr(e, 'title', type(e).__name__)}: "
                                f"{str(getattr(e, 'message', e))[:300]}"
                                for e in exc.exceptions)
            failures.append(f"{op_id}: {case.method} {case.formatted_path} -> "
                            f"{response.status_code}: {reasons}")

    run()


@pytest.mark.parametrize("name", list(SERVICES))
def test_schemathesis(name, run_service, database_urls, token):  # noqa: F811
    service_cls = SERVICES[name]
    base, _, db_url = run_service(service_cls, db_url=database_urls(name),
                                  NOTIFY_CALLBACK_TOKEN="cb-secret")
    orgs, ids = _seed(name, base, db_url, token)
    doc = requests.get(f"{base}/api/v1/{name}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    roles = _roles(service_cls)
    headers_for = {}
    for op_id, allowed in roles.items():
        headers_for[op_id] = [_h(token, orgs[where], role)
                              for role in allowed for where in (TRUST, SCHOOL, PARTNER)]
    failures, statuses = [], {}
    started = time.monotonic()
    rng = random.Random(11)
    http = requests.Session()

    for result in schema.get_all_operations():
        if time.monotonic() - started > BUDGET_SECONDS:
            break
        operation = result.ok()
        op_id = operation.definition.raw.get("operationId")
        if op_id == "notify_receipt":
            tokens = [bearer("cb-secret")]
        else:
            tokens = headers_for.get(op_id) or [{}]
        _fuzz(operation, op_id, tokens, base, ids, rng, http, failures, statuses)

    cases = sum(statuses.values())
    RESULTS[name] = (cases, statuses, len(failures))
    print(f"\nschemathesis {name}: {cases} cases, statuses {sorted(statuses.items())}, "
          f"{len(failures)} failures")
    assert cases > 0
    assert statuses.get(200, 0) + statuses.get(201, 0) > 0, statuses  # reached handlers
    assert not failures, "\n".join(failures[:20])
