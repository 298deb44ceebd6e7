"""Issue 11: every HTML response of the web form, redirects and errors included,
carries a Content-Security-Policy that allows the layout's own inline scripts and
nothing else inline; HSTS when PUBLIC_BASE_URL is https."""

import base64
import hashlib
import re

import requests

from services.referrals import web
from services.referrals.service import ReferralsService


def _inline_hashes(html):
    return {"'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
            for s in re.findall(r"<script(?![^>]*src=)[^>]*>(.*?)</script>", html, re.S)}


def test_pages_and_redirects_carry_a_csp(run_service, database_urls):
    base, _, _ = run_service(ReferralsService, db_url=database_urls("referrals"))
    form = base + web.PREFIX
    page = requests.get(form + "/sign-in")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    hashes = _inline_hashes(page.text)
    assert hashes and all(h in csp for h in hashes), (hashes, csp)
    redirect = requests.get(form, allow_redirects=False)
    assert redirect.status_code == 303 and "Content-Security-Policy" in redirect.headers
    missing = requests.get(form + "/no-such-page")
    assert "Content-Security-Policy" in missing.headers
    assert "Strict-Transport-Security" not in page.headers


def test_https_adds_hsts_to_pages_redirects_and_the_api(run_service, database_urls):
    base, _, _ = run_service(ReferralsService, db_url=database_urls("referrals"),
                             PUBLIC_BASE_URL="https://portal.sen-trust.example")
    form = base + web.PREFIX
    for resp in (requests.get(form + "/sign-in"), requests.get(form, allow_redirects=False),
                 requests.get(base + "/api/v1/referrals")):
        assert resp.headers["Strict-Transport-Security"].startswith("max-age="), resp.url
        assert "Content-Security-Policy" in resp.headers
