"""Issue 11: HSTS when PUBLIC_BASE_URL is https, on the referrals API too (its pages
moved into the portal, whose every page carries a CSP: tests/unit/portal/)."""

import requests

from services.referrals.service import ReferralsService


def test_https_adds_hsts_to_the_api(run_service, database_urls):
    base, _, _ = run_service(ReferralsService, db_url=database_urls("referrals"),
                             PUBLIC_BASE_URL="https://portal.sen-trust.example")
    for resp in (requests.get(base + "/api/v1/referrals"),
                 requests.get(base + "/health/live")):
        assert resp.headers["Strict-Transport-Security"].startswith("max-age="), resp.url
        assert "Content-Security-Policy" in resp.headers
    # the old web form's pages are gone: a school's one front door is the portal
    assert requests.get(base + "/forms/referrals/sign-in").status_code == 404


def test_plain_http_has_no_hsts(run_service, database_urls):
    base, _, _ = run_service(ReferralsService, db_url=database_urls("referrals"))
    resp = requests.get(base + "/api/v1/referrals")
    assert resp.status_code == 401 and "Strict-Transport-Security" not in resp.headers
