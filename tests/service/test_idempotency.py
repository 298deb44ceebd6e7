"""Idempotency-Key on POSTs that create (issue 17, IETF httpapi draft): the same
key and body returns the first answer, another body is a 422, keys are scoped
to the principal, and the key commits with what it created."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from services.cpd.service import CpdService
from services.referrals.service import ReferralsService
from tests.conftest import bearer
from tests.helpers import referral_body

URL = "/api/v1/referrals"


@pytest.fixture
def api(run_service, database_urls, engine_name):
    base, _, db_url = run_service(ReferralsService, db_url=database_urls("referrals",
                                                                         engine_name))
    return base, db_url


def count(db_url, table):
    engine = create_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


def test_a_retried_post_returns_the_first_answer_and_creates_nothing_more(api, http, token):
    base, db_url = api
    headers = {**bearer(token("school-a", "partner_referrer")),
               "Idempotency-Key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"'}
    first = http.post(base + URL, json=referral_body(), headers=headers)
    assert first.status_code == 201, first.text[:3000]
    again = http.post(base + URL, json=referral_body(), headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(db_url, "referrals") == 1 and count(db_url, "outbox") == 1
    # the same key with another body is refused, naming the header
    other = http.post(base + URL, json=referral_body(concerns="Something else."),
                      headers=headers)
    assert other.status_code == 422
    assert other.headers["Content-Type"] == "application/problem+json"
    assert "Idempotency-Key" in other.json()["errors"]
    # another principal's identical key is its own
    theirs = http.post(base + URL, json=referral_body(), headers={
        **bearer(token("school-b", "partner_referrer")),
        "Idempotency-Key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"'})
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    assert count(db_url, "referrals") == 2 and count(db_url, "idempotency_keys") == 2
    # without a key, every POST creates
    assert http.post(base + URL, json=referral_body(),
                     headers=bearer(token("school-a", "partner_referrer"))).status_code == 201
    assert count(db_url, "referrals") == 3


def test_concurrent_twins_create_once(api, token):
    import requests
    base, db_url = api
    headers = {**bearer(token("school-a", "partner_referrer")), "Idempotency-Key": "twin-1"}

    def post(_):
        return requests.post(base + URL, json=referral_body(), headers=headers, timeout=30)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(post, range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert count(db_url, "referrals") == 1
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1
    assert all(a.headers.get("Retry-After") == "1" for a in answers if a.status_code == 409)


def test_a_refused_request_is_not_remembered(api, http, token):
    base, db_url = api
    headers = {**bearer(token("school-a", "partner_referrer")), "Idempotency-Key": "k-2"}
    bad = referral_body()
    del bad["concerns"]
    assert http.post(base + URL, json=bad, headers=headers).status_code == 422
    assert count(db_url, "idempotency_keys") == 0
    # corrected and sent again with the same key: it runs, once
    assert http.post(base + URL, json=referral_body(), headers=headers).status_code == 201
    assert http.post(base + URL, json=referral_body(), headers=headers).status_code == 201
    assert count(db_url, "referrals") == 1


def test_a_malformed_key_is_a_problem_naming_the_header(api, http, token):
    base, _ = api
    resp = http.post(base + URL, json=referral_body(), headers={
        **bearer(token("school-a", "partner_referrer")), "Idempotency-Key": "x" * 300})
    assert resp.status_code == 422 and "Idempotency-Key" in resp.json()["errors"]


def test_every_service_keeps_its_keys(run_service, http, token):
    base, _, db_url = run_service(CpdService)
    assert count(db_url, "idempotency_keys") == 0


def test_an_answer_lost_to_a_crash_is_a_409_and_never_a_second_creation(api, http, token):
    from datetime import UTC, datetime, timedelta
    base, db_url = api
    headers = {**bearer(token("school-a", "partner_referrer")), "Idempotency-Key": "k-lost"}
    first = http.post(base + URL, json=referral_body(), headers=headers)
    assert first.status_code == 201
    engine = create_engine(db_url)
    with engine.begin() as conn:  # as if the process died between commit and answer
        conn.execute(text("UPDATE idempotency_keys SET status = NULL, body = NULL, "
                          "created_at = :t"), {"t": datetime.now(UTC) - timedelta(minutes=5)})
    engine.dispose()
    again = http.post(base + URL, json=referral_body(), headers=headers)
    assert again.status_code == 409
    assert again.json()["type"].endswith("idempotency-answer-lost")
    assert count(db_url, "referrals") == 1
