"""The web form's pages on a running container (plain HTTP, no browser): the one-time
link sign-in, CSRF, validation with an error summary, and scoping to the school."""

import os
import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import create_engine, text

from services.common.db import utcnow
from services.referrals import web
from services.referrals.service import ReferralsService

SENCO = "senco@riverside.example"


@pytest.fixture
def site(run_service, database_urls, engine_name, mailbox):
    base, _container, db_url = run_service(ReferralsService,
                                           db_url=database_urls("referrals", engine_name))
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for org, email in (("school-a", SENCO), ("school-b", "senco@hillside.example")):
            conn.execute(text("INSERT INTO organisations (org_id, name, kind, urn, contact_email)"
                              " VALUES (:o, :o, 'partner_school', NULL, :e)"), {"o": org, "e": email})
    yield base + web.PREFIX, engine, mailbox
    engine.dispose()


def scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def request_link(form, mailbox, email):
    """Ask for a link and return the token from the new email (by its address)."""
    before = {m.as_bytes() for m in mailbox.messages()}
    resp = requests.post(form + "/sign-in", data={"email": email})
    assert resp.status_code == 200 and "Check your email" in resp.text
    new = mailbox.wait_for(len(before) + 1)
    message = next(m for m in new if m.as_bytes() not in before)
    assert message["To"].addresses[0].addr_spec == email.lower()
    return re.search(r"/sign-in/(\S+)", message.get_content()).group(1)


def sign_in(form, mailbox, email=SENCO):
    token = request_link(form, mailbox, email)
    session = requests.Session()
    assert "Continue" in session.get(f"{form}/sign-in/{token}").text
    resp = session.post(f"{form}/sign-in/{token}", allow_redirects=False)
    assert resp.status_code == 303, resp.text
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/forms/referrals" in cookie
    return session, token


def csrf_of(page):
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


FULL = {
    "pupil.first_name": "Sam", "pupil.last_name": "Taylor",
    "pupil.date_of_birth-day": "1", "pupil.date_of_birth-month": "3",
    "pupil.date_of_birth-year": "2016", "pupil.upn": "b801200005001",
    "areas_of_need": ["communication_and_interaction"], "need_types": ["ASD"],
    "concerns": "Transitions are hard.", "support_so_far": "Visual timetable.",
    "graduated_approach.0.provision": "Visual timetable",
    "graduated_approach.0.started_on-day": "7", "graduated_approach.0.started_on-month": "9",
    "graduated_approach.0.started_on-year": "2026",
    "contact.name": "Jo Smith", "contact.email": "jo@riverside.example",
    "contact.phone": "01632 960000", "parental_consent.given": "yes",
    "parental_consent.date-day": "1", "parental_consent.date-month": "11",
    "parental_consent.date-year": "2026", "parental_consent.given_by": "Parent",
}


def test_one_time_link_sign_in(site):
    form, engine, mailbox = site
    assert requests.get(form, allow_redirects=False).headers["Location"].endswith("/sign-in")
    bad = requests.post(form + "/sign-in", data={"email": "nope"})
    assert bad.status_code == 422 and "govuk-error-summary" in bad.text
    assert 'href="#email"' in bad.text and 'aria-describedby="email-error"' in bad.text
    unknown = requests.post(form + "/sign-in", data={"email": "someone@elsewhere.example"})
    assert unknown.status_code == 200 and "Check your email" in unknown.text
    assert mailbox.messages() == [] and scalar(engine, "SELECT count(*) FROM sign_in_links") == 0

    session, token = sign_in(form, mailbox, SENCO.upper())
    page = session.get(form)
    assert page.status_code == 200 and SENCO in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    # only a hash of each token is stored, and a link works once
    assert scalar(engine, "SELECT count(*) FROM sign_in_links WHERE token_hash=:h",
                  h=web.token_hash(token)) == 1
    assert requests.post(f"{form}/sign-in/{token}", allow_redirects=False).status_code == 400
    # an expired link does not work
    fresh = request_link(form, mailbox, SENCO)
    with engine.begin() as conn:
        conn.execute(text("UPDATE sign_in_links SET expires_at=:t"),
                     {"t": utcnow() - timedelta(minutes=1)})
    assert requests.post(f"{form}/sign-in/{fresh}", allow_redirects=False).status_code == 400
    # signing out ends the session
    session.post(form + "/sign-out", data={"csrf": csrf_of(page.text)})
    assert session.get(form, allow_redirects=False).status_code == 303


def test_form_validates_and_submits_for_the_signed_in_school(site):
    form, engine, mailbox = site
    session, _ = sign_in(form, mailbox)
    page = session.get(form + "/new").text
    csrf = csrf_of(page)
    assert all(f'for="{i}"' in page for i in re.findall(r'<input class="govuk-input[^>]* id="([^"]+)"', page))

    no_csrf = session.post(form + "/new", data=FULL)
    assert no_csrf.status_code == 400
    wrong = session.post(form + "/new", data={**FULL, "csrf": csrf, "pupil.last_name": "",
                                              "pupil.date_of_birth-month": "13",
                                              "contact.email": "jo at riverside",
                                              "parental_consent.given": ""})
    assert wrong.status_code == 422
    for field in ("pupil-last_name", "pupil-date_of_birth", "contact-email",
                  "parental_consent-given"):
        assert f'href="#{field}"' in wrong.text, field
    assert 'value="Sam"' in wrong.text  # what was typed is kept
    assert scalar(engine, "SELECT count(*) FROM referrals") == 0
    assert scalar(engine, "SELECT count(*) FROM outbox") == 0

    done = session.post(form + "/new", data={**FULL, "csrf": csrf}, allow_redirects=False)
    assert done.status_code == 303 and "/r/" in done.headers["Location"]
    rid = done.headers["Location"].split("/r/")[1].split("?")[0]
    assert scalar(engine, "SELECT school_org_id FROM referrals WHERE id=:i", i=rid) == "school-a"
    assert scalar(engine, "SELECT pupil_upn FROM referrals WHERE id=:i", i=rid) == "B801200005001"
    assert scalar(engine, "SELECT created_by FROM referrals WHERE id=:i", i=rid) == SENCO
    assert scalar(engine, "SELECT count(*) FROM outbox WHERE routing_key='referral.submitted'") == 1
    confirmation = session.get(form + f"/r/{rid}?created=1").text
    assert "Referral submitted" in confirmation

    # another school's user neither lists nor opens it
    other, _ = sign_in(form, mailbox, "senco@hillside.example")
    assert rid not in other.get(form).text
    assert other.get(f"{form}/r/{rid}").status_code == 404
    answer = other.post(f"{form}/r/{rid}/answer",
                        data={"csrf": csrf_of(other.get(form).text), "info_answer": "x"},
                        allow_redirects=False)
    assert answer.status_code == 303
    assert scalar(engine, "SELECT status FROM referrals WHERE id=:i", i=rid) == "submitted"


@pytest.mark.skipif(not web.assets_ready() and not os.environ.get("CI"),
                    reason="npm ci --prefix services/referrals/web (make assets)")
def test_govuk_frontend_assets_are_served(site):
    form, _, _ = site
    css = requests.get(form + "/assets/govuk-frontend.min.css")
    assert css.status_code == 200 and "govuk-" in css.text
    assert requests.get(form + "/assets/no-such-file.css").status_code == 404
    assert requests.get(form + "/assets/%2e%2e/%2e%2e/package.json").status_code == 404
