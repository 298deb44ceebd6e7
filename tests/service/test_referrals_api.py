"""The referrals HTTP API, through the real entrypoints (auth, validation,
problem details) on a running container."""

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from services.common import auth
from services.referrals.service import ReferralsService
from tests.conftest import bearer
from tests.helpers import referral_body

URL = "/api/v1/referrals"


@pytest.fixture
def api(run_service, database_urls, engine_name):
    """The service on SQLite and, where TEST_POSTGRES_URL is set, PostgreSQL."""
    base, container, db_url = run_service(ReferralsService,
                                          db_url=database_urls("referrals", engine_name))
    return base, db_url


def count(db_url, table):
    engine = create_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


def test_partner_submits_a_referral_and_its_event_goes_to_the_outbox(api, http, token):
    base, db_url = api
    resp = http.post(base + URL, json=referral_body(),
                     headers=bearer(token("school-a", "partner_referrer")))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "submitted" and body["school_org_id"] == "school-a"
    assert body["pupil"]["upn"] == "B801200005001"
    assert count(db_url, "referrals") == 1 and count(db_url, "outbox") == 1
    assert count(db_url, "referral_transitions") == 1


def test_each_school_sees_only_its_own_referrals(api, http, token):
    base, _ = api
    a = bearer(token("school-a", "partner_referrer"))
    b = bearer(token("school-b", "partner_referrer"))
    rid = http.post(base + URL, json=referral_body(), headers=a).json()["id"]
    http.post(base + URL, json=referral_body(), headers=b)

    assert http.get(f"{base}{URL}/{rid}", headers=a).status_code == 200
    other = http.get(f"{base}{URL}/{rid}", headers=b)
    assert other.status_code == 404
    assert other.headers["Content-Type"] == "application/problem+json"
    listed = http.get(base + URL, headers=b).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] != rid


def test_listing_pages(api, http, token):
    base, _ = api
    a = bearer(token("school-a", "partner_referrer"))
    for _ in range(3):
        http.post(base + URL, json=referral_body(), headers=a)
    page = http.get(base + URL, params={"limit": 2, "offset": 2}, headers=a).json()
    assert page["total"] == 3 and len(page["items"]) == 1
    bad = http.get(base + URL, params={"limit": "lots"}, headers=a)
    assert bad.status_code == 422 and "limit" in bad.json()["errors"]


def _unsigned_kind():
    import jwt
    tok = auth.issue_token("jo", "school-a", ["partner_referrer"], org_kind="partner_school")
    claims = jwt.decode(tok, options={"verify_signature": False})
    del claims["org_kind"]
    return jwt.encode(claims, auth.private_key(), algorithm="RS256")


def _revoked(tmp_path, monkeypatch):
    """A lost device: `senctl token revoke --sub` refuses the person's tokens so far."""
    from services.cli import senctl
    monkeypatch.setenv("JWT_REVOCATION_FILE", str(tmp_path / "revoked.jsonl"))
    tok = auth.issue_token("lost@school-a", "school-a", ["partner_referrer"],
                           org_kind="partner_school")
    assert senctl.main(["token", "revoke", "--sub", "lost@school-a"]) == 0
    return tok


@pytest.mark.parametrize("case", ["missing", "garbage", "expired", "forged", "no-org",
                                  "hundred-years", "nine-hours", "no-kind", "revoked"])
def test_bad_tokens_get_401(api, http, case, tmp_path, monkeypatch):
    base, _ = api
    headers = {
        "missing": {},
        "garbage": {"Authorization": "Bearer not-a-jwt"},
        "expired": bearer(auth.issue_token("jo", "school-a", ["partner_referrer"],
                                           ttl=timedelta(minutes=-5), org_kind="partner_school")),
        "forged": bearer(auth.issue_token("jo", "school-a", ["partner_referrer"],
                                          key=auth.generate_key_pair()[0],
                                          org_kind="partner_school")),
        "no-org": bearer(auth.issue_token("jo", "", ["partner_referrer"],
                                         org_kind="partner_school")),
        # Issue 11: the services enforce a maximum lifetime (JWT_MAX_TTL_SECONDS, 8 h).
        "hundred-years": bearer(auth.issue_token("jo", "school-a", ["partner_referrer"],
                                                 ttl=timedelta(days=36500),
                                                 org_kind="partner_school")),
        "nine-hours": bearer(auth.issue_token("jo", "school-a", ["partner_referrer"],
                                              ttl=timedelta(hours=9),
                                              org_kind="partner_school")),
        "no-kind": bearer(_unsigned_kind()),
        "revoked": bearer(_revoked(tmp_path, monkeypatch)),
    }[case]
    resp = http.post(base + URL, json=referral_body(), headers=headers)
    assert resp.status_code == 401
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert http.get(base + URL, headers=headers).status_code == 401


def test_wrong_role_gets_403(api, http, token):
    base, db_url = api
    resp = http.post(base + URL, json=referral_body(),
                     headers=bearer(token("school-a", "teacher")))
    assert resp.status_code == 403 and resp.json()["status"] == 403
    assert count(db_url, "referrals") == 0


BAD_BODIES = {
    "not json": ("{not json", "body"),
    "a list": ("[1, 2]", "body"),
    "wrong types": ({**referral_body(), "areas_of_need": "communication_and_interaction"},
                    "areas_of_need"),
    "unknown area": (referral_body(areas_of_need=["maths"]), "areas_of_need.0"),
    "bad upn check letter": (
        referral_body(pupil={**referral_body()["pupil"], "upn": "A801200005001"}), "pupil.upn"),
    "no consent": ({k: v for k, v in referral_body().items() if k != "parental_consent"},
                   "parental_consent"),
    "bad email": (referral_body(contact={"name": "Jo", "email": "nope", "phone": "0123456"}),
                  "contact.email"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
def test_bad_input_gets_422_naming_the_field_and_stores_nothing(api, http, token, case):
    base, db_url = api
    body, field = BAD_BODIES[case]
    headers = bearer(token("school-a", "partner_referrer"))
    if isinstance(body, str):
        resp = http.post(base + URL, data=body, headers={**headers,
                                                         "Content-Type": "application/json"})
    else:
        resp = http.post(base + URL, json=body, headers=headers)
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert field in problem["errors"], problem
    assert "Traceback" not in resp.text
    assert count(db_url, "referrals") == 0 and count(db_url, "outbox") == 0


def test_openapi_document_describes_the_api(api, http):
    base, _ = api
    doc = http.get(base + "/api/v1/referrals/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    post = doc["paths"]["/api/v1/referrals"]["post"]
    assert "422" in post["responses"] and "401" in post["responses"]
    schema_name = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_name.endswith("ReferralCreate")
    assert "/api/v1/referrals/{referral_id}" in doc["paths"]


def test_health_and_metrics(api, http, token):
    base, _ = api
    assert http.get(base + "/health/live").json()["status"] == "ok"
    ready = http.get(base + "/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok",
                                                                   "broker": "ok"}
    http.get(base + URL, headers=bearer(token("school-a", "partner_referrer")))
    metrics = http.get(base + "/metrics").text
    assert 'http_requests_total{method="GET",route="/api/v1/referrals",service="referrals",' \
           'status="200"}' in metrics


def test_unknown_route_is_a_problem_not_a_page(api, http):
    base, _ = api
    resp = http.get(base + "/api/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/problem+json"
    wrong_method = http.delete(base + URL)
    assert wrong_method.status_code == 405 and wrong_method.json()["status"] == 405
