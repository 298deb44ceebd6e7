"""The tenancy matrix (issue 11): every operation of every service × every role ×
every organisation (the trust, two trust schools, two partner schools), each with
its own seeded data, on a running container.

For each operation the row below says which seeded record fills each path
parameter (and body field): a *victim's* record, i.e. one belonging to another
organisation than the caller's. Asserted for every request:

- never a 5xx;
- a role the endpoint does not name, or a role held at an organisation kind that
  may not hold it (README "Roles and where they may be held"): 403 (tried once per
  kind of organisation: at s1 and p1, not again at s2 and p2);
- a caller outside the trust acting on another organisation's record: refused
  (403, 404 or 422), never a 2xx;
- outside the trust, no other organisation's record ids or names appear in the body,
  whether it asked for another's record, its own (every GET with a path parameter
  is also tried on the caller's own record) or a list.

The operations are enumerated from the services' `@api` entrypoints (the same ones
the OpenAPI documents are built from): an operation without a row fails the test.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from services.common import access
from services.common.db import open_database
from services.common.openapi import api_entrypoints
from services.contracts import links, make_event
from tests.conftest import ORG_KINDS, bearer, make_token
from tests.helpers import organisation_onboarded, referral_body, referral_submitted

TAGS = {"trust": access.TRUST, "s1": access.TRUST_SCHOOL, "s2": access.TRUST_SCHOOL,
        "p1": access.PARTNER_SCHOOL, "p2": access.PARTNER_SCHOOL}
VICTIM = {"trust": "s2", "s1": "s2", "s2": "s1", "p1": "p2", "p2": "p1"}  # whose record
ROLES = sorted(access.ROLES)
# A role refused at the door (not held at the kind, or not named by the endpoint) is
# tried at s1 and p1; s2 and p2 (the same kinds) try only the roles that get in.
SECOND_OF_KIND = ("s2", "p2")
REFUSED = (403, 404, 422)
COUNTS = {}


@dataclass
class Row:
    """How to call one operation: path parameters and body, each naming a seeded
    key. `victim=False`: the operation is about the caller's own organisation (a
    create, a list, a "me" view), so only the leak and role checks apply; a key
    in `shared` names the trust's record offered to everyone (a published course)."""

    params: dict = field(default_factory=dict)
    body: object = None
    query: object = None
    victim: bool = True
    shared: tuple = ()


class Ids(dict):
    def __missing__(self, key):
        return f"no-{key}"  # the organisation has none: a made-up id


def fill(spec, ids):
    if callable(spec):
        return spec(Ids(ids))
    return spec


class Seed:
    """Per organisation tag: its org id, its records' ids (by key) and markers
    (ids and names that must not leak to another organisation)."""

    def __init__(self):
        self.org = {}
        self.ids = {t: {} for t in TAGS}
        self.markers = {t: set() for t in TAGS}

    def put(self, tag, key, value, secret=True):
        self.ids[tag][key] = value
        if secret and value:
            self.markers[tag].add(str(value))


def run_matrix(service_cls, base, http, rows, seed, principal_extra=None):
    """Every operation × role × organisation; returns (operations, requests)."""
    eps = [ep for _name, ep in api_entrypoints(service_cls)]
    missing = sorted(f"{ep.method} {ep.url}" for ep in eps if (ep.method, ep.url) not in rows)
    assert not missing, f"operations without a row in the tenancy matrix: {missing}"
    extra = sorted(set(rows) - {(ep.method, ep.url) for ep in eps})
    assert not extra, f"rows for operations that no longer exist: {extra}"
    tokens = {}
    for role in ROLES:
        for tag, kind in TAGS.items():
            kwargs = (principal_extra or {}).get((role, tag), {})
            tokens[role, tag] = bearer(make_token(seed.org[tag], role, kind=kind,
                                                  sub=f"{role}@{tag}.example", **kwargs))
    failures, sent, own_seen = [], 0, 0
    # Reads first, then writes; the trust's callers (who may change things) last.
    order = sorted(eps, key=lambda ep: (ep.method != "GET", ep.url))
    for ep in order:
        row = rows[ep.method, ep.url]
        if ep.public:
            resp = _call(http, base, ep, row, seed.ids["s2"], {}, seed)
            sent += 1
            if resp.status_code >= 500:
                failures.append(f"{ep.method} {ep.url} (no token): {resp.status_code}")
            continue
        for tag in ("s1", "s2", "p1", "p2", "trust"):
            victim = VICTIM[tag]
            ids = {**seed.ids["trust"], **seed.ids[victim]} if row.victim else {
                **seed.ids["trust"], **seed.ids[tag]}
            for role in ROLES:
                refused_at_door = TAGS[tag] not in access.HELD_AT[role] or role not in ep.roles
                if refused_at_door and tag in SECOND_OF_KIND:
                    continue  # the first organisation of this kind had the same 403
                resp = _call(http, base, ep, row, ids, tokens[role, tag], seed)
                sent += 1
                why = _judge(ep, row, role, tag, resp, seed)
                if why:
                    failures.append(f"{role}@{tag} {ep.method} {ep.url}: {resp.status_code} "
                                    f"{why} {resp.text[:200]}")
                if (ep.method == "GET" and row.params and row.victim and not refused_at_door
                        and tag != "trust"):
                    # Its own organisation's record: no 5xx, and nothing of another's in it.
                    own = {**seed.ids["trust"], **seed.ids[tag]}
                    resp = _call(http, base, ep, row, own, tokens[role, tag], seed)
                    sent += 1
                    own_seen += resp.status_code == 200
                    why = _judge(ep, Row(row.params, victim=False), role, tag, resp, seed)
                    if why:
                        failures.append(f"{role}@{tag} own {ep.method} {ep.url}: "
                                        f"{resp.status_code} {why} {resp.text[:200]}")
    COUNTS[service_cls.name] = (len(eps), len(ROLES), len(TAGS), sent)
    assert own_seen, "no caller read its own organisation's record: the seed is wrong"
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} in all)"
    return len(eps), sent


def _call(http, base, ep, row, ids, headers, seed):
    path = ep.url
    for name, key in row.params.items():
        value = ids.get(key, f"no-{key}")  # the organisation has none: a made-up id
        path = path.replace(f"<string:{name}>", str(value)).replace(f"<path:{name}>", str(value))
        path = path.replace(f"<int:{name}>", str(ids.get(key, 999)))
    body = fill(row.body, ids) if ep.body_schema is not None or row.body is not None else None
    if ep.body_schema is not None and body is None:
        body = {}
    return http.request(ep.method, base + path, json=body, params=fill(row.query, ids),
                        headers=headers, timeout=30)


def _judge(ep, row, role, tag, resp, seed):
    status = resp.status_code
    if status >= 500:
        return "server error"
    kind = TAGS[tag]
    if kind not in access.HELD_AT[role] or role not in ep.roles:
        return None if status == 403 else "expected 403"
    if kind == access.TRUST:
        return None  # trust-wide
    if row.victim and not set(row.params.values()) <= set(row.shared) and status < 300:
        return "another organisation's record was answered"
    leaked = [m for t, ms in seed.markers.items() if t not in (tag, "trust")
              for m in ms if m in resp.text]
    if leaked:
        return f"leaks {sorted(leaked)[:3]}"
    return None


def _onboard_events(seed):
    return [organisation_onboarded(seed.org[t], f"Org {t}", kind=TAGS[t],
                                   email=f"office@{t}.example") for t in TAGS]


def _fresh_orgs(seed):
    for tag in TAGS:
        seed.org[tag] = f"org-{tag}"
        ORG_KINDS[seed.org[tag]] = TAGS[tag]


def _ok(resp, status=(200, 201, 202)):
    assert resp.status_code in status, resp.text
    return resp.json() if resp.content else None


def tok(seed, tag, role, **kw):
    return bearer(make_token(seed.org[tag], role, kind=TAGS[tag], sub=f"{role}@{tag}.example",
                             **kw))


# == pupils ==========================================================================

PUPILS = "/api/v1/pupils"
PID = "/api/v1/pupils/<string:pupil_id>"
STAFF = "/api/v1/staff"


def pupils_rows():
    from tests.service.test_pupils_api import passport, pupil_body
    own = Row(victim=False)
    return {
        ("GET", "/api/v1/organisations"): own,
        ("POST", "/api/v1/organisations"): Row(victim=False, body={
            "name": "New", "kind": "partner_school", "urn": "149999", "laestab": "8019999"}),
        ("POST", PUPILS): Row(body=lambda ids: pupil_body(n=90, org_id=ids["org"])),
        ("GET", PUPILS): Row(victim=False),
        ("GET", PID): Row({"pupil_id": "pupil"}),
        ("PATCH", PID): Row({"pupil_id": "pupil"}, body={"year_group": 4}),
        ("POST", PID + "/ehc-plans"): Row({"pupil_id": "pupil"},
                                          body={"request_date": "2026-01-06"}),
        ("GET", PID + "/ehc-plans"): Row({"pupil_id": "pupil"}),
        ("GET", PID + "/ehc-plans/<string:plan_id>"): Row({"pupil_id": "pupil",
                                                            "plan_id": "plan"}),
        ("PATCH", PID + "/ehc-plans/<string:plan_id>"): Row(
            {"pupil_id": "pupil", "plan_id": "plan"}, body={"decision_to_assess_on": "2026-02-01"}),
        ("POST", PID + "/ehc-plans/<string:plan_id>/pauses"): Row(
            {"pupil_id": "pupil", "plan_id": "plan"},
            body={"reason": "school_closure", "starts_on": "2026-03-01"}),
        ("POST", PID + "/ehc-plans/<string:plan_id>/pauses/<string:pause_id>/end"): Row(
            {"pupil_id": "pupil", "plan_id": "plan", "pause_id": "pause"},
            body={"ends_on": "2026-01-20"}),
        ("POST", PID + "/erasure"): Row({"pupil_id": "pupil"}, body={"reason": "x"}),
        ("GET", PID + "/export"): Row({"pupil_id": "pupil"}),
        ("PUT", PID + "/guardians"): Row({"pupil_id": "pupil"}, body={"guardians": []}),
        ("POST", PID + "/moves"): Row({"pupil_id": "pupil"}, body=lambda ids: {
            "to_org_id": ids["org"], "moved_on": "2026-09-01",
            "consent": {"given": True, "given_by": "Parent", "date": "2026-08-01"}}),
        ("GET", PID + "/passport"): Row({"pupil_id": "pupil"}),
        ("POST", PID + "/passport/versions"): Row({"pupil_id": "pupil"}, body=passport()),
        ("POST", PID + "/passport/versions/<int:version>/publish"): Row(
            {"pupil_id": "pupil", "version": "version"}),
        ("GET", PID + "/sen-register"): Row({"pupil_id": "pupil"}),
        ("POST", PID + "/sen-status"): Row({"pupil_id": "pupil"}, body={"sen_status": "N"}),
        ("GET", PUPILS + "/audit"): Row(victim=False, query=lambda ids: {"pupil_id": ids.get(
            "pupil", "x")}),
        ("GET", PUPILS + "/census-readiness"): Row(query=lambda ids: {"org_id": ids["org"]}),
        ("POST", PUPILS + "/imports"): Row(victim=False),
        ("GET", PUPILS + "/ehc-plans/overdue"): Row(query=lambda ids: {"org_id": ids["org"]}),
        ("GET", PUPILS + "/ehc-plans/due"): Row(query=lambda ids: {"org_id": ids["org"],
                                                                   "within_days": 366}),
        ("GET", STAFF): Row(query=lambda ids: {"org_id": ids["org"]}),
        ("POST", STAFF): Row(body=lambda ids: {"email": "new.person@any.example", "name": "New",
                                               "org_id": ids["org"], "roles": ["teacher"]}),
        ("GET", STAFF + "/<string:member_id>"): Row({"member_id": "member"}),
        ("PATCH", STAFF + "/<string:member_id>"): Row({"member_id": "member"},
                                                       body={"name": "Renamed"}),
        ("DELETE", STAFF + "/<string:member_id>"): Row({"member_id": "member"}),
        ("POST", "/api/v1/sign-in/lookup"): Row(victim=False, body=lambda ids: {
            "email": ids.get("member_email", "nobody@x.example")}),
        ("GET", "/api/v1/pupils/openapi.json"): own,
        ("GET", "/health/live"): own, ("GET", "/health/ready"): own, ("GET", "/metrics"): own,
    }


def test_pupils_matrix(run_service, database_urls, http, token):
    from services.pupils.commands import organisations
    from services.pupils.models import Base
    from services.pupils.service import PupilsService
    from tests.service.test_pupils_api import passport, pupil_body
    base, _, url = run_service(PupilsService, db_url=database_urls("pupils"),
                               EHCP_TIMER_SECONDS=3600)
    db = open_database("pupils", Base.metadata, url)
    seed = Seed()
    urns = {"s1": ("141001", "8021001"), "s2": ("141002", "8021002"),
            "p1": ("141003", "8021003"), "p2": ("141004", "8021004")}
    for tag, kind in TAGS.items():
        urn, laestab = urns.get(tag, (None, None))
        org = organisations.onboard(db, {"name": f"Org {tag}", "kind": kind, "urn": urn,
                                         "laestab": laestab}, actor="t")
        seed.org[tag] = org.id
        seed.put(tag, "org", org.id, secret=False)
        ORG_KINDS[org.id] = kind
    for n, tag in ((1, "s1"), (2, "s2")):
        senco = tok(seed, tag, "senco")
        p = _ok(http.post(base + PUPILS, headers=senco, json=pupil_body(
            n=n, legal_surname=f"Mark{tag}x", forename=f"Kid{tag}x")))
        seed.put(tag, "pupil", p["id"])
        seed.markers[tag] |= {f"Mark{tag}x", p["upn"]}
        plan = _ok(http.post(f"{base}{PUPILS}/{p['id']}/ehc-plans", headers=senco,
                             json={"request_date": "2026-01-05"}))
        seed.put(tag, "plan", plan["id"])
        pause = _ok(http.post(f"{base}{PUPILS}/{p['id']}/ehc-plans/{plan['id']}/pauses",
                              headers=senco, json={"reason": "school_closure",
                                                   "starts_on": "2026-01-10"}))
        seed.put(tag, "pause", pause["id"])
        _ok(http.post(f"{base}{PUPILS}/{p['id']}/passport/versions", headers=senco,
                      json=passport(about_me=f"Secret{tag}x")))
        seed.put(tag, "version", 1, secret=False)
        seed.markers[tag].add(f"Secret{tag}x")
    admin = tok(seed, "trust", "trust_admin")
    for tag in TAGS:  # a staff directory member at every organisation
        kind_role = "trust_admin" if tag == "trust" else "teacher"
        email = f"staff.{tag}x@{tag}.example"
        m = _ok(http.post(base + STAFF, headers=admin, json={
            "email": email, "name": f"Staff{tag}x", "org_id": seed.org[tag],
            "roles": [kind_role]}))
        seed.put(tag, "member", m["id"])
        seed.put(tag, "member_email", email)
        seed.markers[tag].add(f"Staff{tag}x")
    run_matrix(PupilsService, base, http, pupils_rows(), seed)


# == referrals =======================================================================

R = "/api/v1/referrals"
RID = R + "/<string:referral_id>"
AG = "/api/v1/agreements"


def referrals_rows():
    ref = {"referral_id": "referral"}
    own = Row(victim=False)
    return {
        ("POST", AG): Row(body=lambda ids: {"school_org_id": ids["org"],
                                            "academic_year": "2027/28", "term": "autumn",
                                            "hours_bought": 5}),
        ("GET", AG): own,
        ("GET", AG + "/<string:agreement_id>"): Row({"agreement_id": "agreement"}),
        ("PATCH", AG + "/<string:agreement_id>"): Row({"agreement_id": "agreement"},
                                                       body={"capacity": 9}),
        ("GET", AG + "/<string:agreement_id>/statement"): Row({"agreement_id": "agreement"}),
        ("POST", R): Row(victim=False, body=lambda ids: referral_body()),
        ("GET", R): own,
        ("PATCH", RID): Row(ref, body={"concerns": "changed"}),
        ("GET", RID): Row(ref),
        ("POST", RID + "/accept"): Row(ref),
        ("POST", RID + "/acknowledge"): Row(ref),
        ("POST", RID + "/allocate"): Row(ref, body={"practitioner": {
            "sub": "pat@trust.example", "name": "Pat", "email": "pat@trust.example"}}),
        ("POST", RID + "/close"): Row(ref, body={"outcome": "no_further_action"}),
        ("POST", RID + "/decline"): Row(ref, body={"reason": "other"}),
        ("POST", RID + "/report"): Row(ref, body={"summary": "s", "recommendations": []}),
        ("GET", RID + "/report"): Row(ref, query={"format": "pdf"}),
        ("POST", RID + "/request-info"): Row(ref, body={"question": "Why?"}),
        ("POST", RID + "/submit"): Row(ref, body={}),
        ("GET", RID + "/transitions"): Row(ref),
        ("GET", RID + "/triage"): Row(ref),
        ("GET", RID + "/visits"): Row(ref),
        ("POST", RID + "/visits"): Row(ref, body={"visit_date": "2026-11-10", "minutes": 30,
                                                  "seen": ["pupil"], "notes": "n"}),
        ("POST", RID + "/withdraw"): Row(ref),
        ("POST", R + "/drafts"): Row(victim=False, body={}),
        ("GET", R + "/openapi.json"): own,
        ("GET", R + "/overdue"): own,
        ("GET", "/health/live"): own, ("GET", "/health/ready"): own, ("GET", "/metrics"): own,
    }


def test_referrals_matrix(run_service, database_urls, http, token):
    from services.referrals import domain
    from services.referrals.models import Base
    from services.referrals.service import ReferralsService
    base, _, url = run_service(ReferralsService, db_url=database_urls("referrals"))
    db = open_database("referrals", Base.metadata, url)
    seed = Seed()
    _fresh_orgs(seed)
    handlers = worker_factory(ReferralsService, db=db)
    for event in _onboard_events(seed):
        handlers.on_organisation_onboarded(event)
    for tag in TAGS:
        seed.put(tag, "org", seed.org[tag], secret=False)
    year, term = domain.term_of(domain.london_date(datetime.now(UTC)))
    admin = tok(seed, "trust", "trust_admin")
    for tag in ("p1", "p2"):
        a = _ok(http.post(base + AG, headers=admin, json={
            "school_org_id": seed.org[tag], "academic_year": year, "term": term,
            "hours_bought": 10}))
        seed.put(tag, "agreement", a["id"])
        body = referral_body(pupil={"first_name": f"Kid{tag}x", "last_name": f"Mark{tag}x",
                                    "date_of_birth": "2016-03-01"},
                             concerns=f"Secret{tag}x")
        r = _ok(http.post(base + R, headers=tok(seed, tag, "partner_referrer"), json=body))
        seed.put(tag, "referral", r["id"])
        seed.markers[tag] |= {r["reference"], f"Mark{tag}x", f"Secret{tag}x"}
    run_matrix(ReferralsService, base, http, referrals_rows(), seed)


# == notify ==========================================================================

NP = "/api/v1/notification-preferences"


def notify_rows():
    own = Row(victim=False)
    note = {"notification_id": "notification"}
    return {
        ("PUT", NP): Row(body=lambda ids: {"address": ids["guardian_email"],
                                           "opt_outs": ["passport"]}),
        ("GET", NP + "/<string:address>"): Row({"address": "guardian_email"}),
        ("DELETE", NP + "/<string:address>"): Row({"address": "guardian_email"}),
        ("GET", "/api/v1/notifications"): Row(query=lambda ids: {"pupil_id": ids["pupil"]}),
        ("GET", "/api/v1/notifications/<string:notification_id>"): Row(note),
        ("POST", "/api/v1/notifications/<string:notification_id>/resend"): Row(note),
        ("GET", "/api/v1/notify/openapi.json"): own,
        ("POST", "/api/v1/notify/receipts"): Row(victim=False, body={
            "id": "x", "reference": "x", "status": "delivered"}),
        ("GET", "/api/v1/templates"): own,
        ("POST", "/api/v1/sign-in-links"): Row(victim=False, body={
            "email": "someone@any.example", "url": links.url("sign_in_link", token="t0k3n"),
            "expires_at": (datetime.now(UTC) + timedelta(minutes=15)).isoformat()}),
        ("GET", "/api/v1/templates/<string:template_id>/preview"): Row(
            {"template_id": "template"}, shared=("template",)),
        ("GET", "/health/live"): own, ("GET", "/health/ready"): own, ("GET", "/metrics"): own,
    }


def test_notify_matrix(run_service, database_urls, http, token, mailbox):
    from sqlalchemy import select

    from services.notify.adapters import Mailer
    from services.notify.models import Base, Delivery
    from services.notify.service import NotifyService
    from tests.service.test_notify_channels import guardians_changed, passport_published
    base, _, url = run_service(NotifyService, db_url=database_urls("notify"))
    db = open_database("notify", Base.metadata, url)
    seed = Seed()
    _fresh_orgs(seed)
    handlers = worker_factory(NotifyService, db=db, mailer=Mailer())
    for event in _onboard_events(seed):
        handlers.on_organisation_onboarded(event)
    seed.put("trust", "template", "passport-published-parent", secret=False)
    for tag in TAGS:
        seed.put(tag, "org", seed.org[tag], secret=False)
    for tag in ("s1", "s2"):
        org, pupil, email = seed.org[tag], f"pupil-{tag}", f"parent.{tag}x@home.example"
        handlers.on_guardians_changed(guardians_changed(
            pupil=pupil, org=org, guardian_id=f"g-{tag}", name=f"Mark{tag}x", email=email,
            mobile=None, preferred_channel="email"))
        handlers.on_passport_published(passport_published(pupil=pupil, org=org))
        seed.put(tag, "pupil", pupil)
        seed.put(tag, "guardian_email", email)
        seed.markers[tag].add(f"Mark{tag}x")
    for n, tag in ((1, "p1"), (2, "p2")):
        handlers.on_referral_submitted(referral_submitted(
            referral_id=f"ref-{tag}", reference=f"REF-{tag.upper()}X-000{n}",
            school=seed.org[tag], email=f"contact.{tag}x@school.example"))
        seed.markers[tag] |= {f"ref-{tag}", f"REF-{tag.upper()}X-000{n}",
                              f"contact.{tag}x@school.example"}
    with db.session() as s:
        for d in s.execute(select(Delivery)).scalars():
            tag = next(t for t in TAGS if seed.org[t] == d.org_id)
            seed.put(tag, "notification", d.id)
    for tag in ("p1", "p2"):
        seed.ids[tag].setdefault("pupil", "none")
        seed.ids[tag].setdefault("guardian_email", f"contact.{tag}x@school.example")
    parent_pupils = {("parent", t): {"pupils": [f"pupil-{t}"]} for t in ("s1", "s2")}
    run_matrix(NotifyService, base, http, notify_rows(), seed, principal_extra=parent_pupils)


# == provision =======================================================================

P = "/api/v1/provision"


def provision_rows():
    from tests.service.test_provision_api import ENTRY, assignment_body
    own = Row(victim=False)
    today = date.today()
    return {
        ("POST", P + "/assignments"): Row(body=lambda ids: assignment_body(
            ids["entry"], [ids["pupil"]])),
        ("GET", P + "/assignments"): Row(query=lambda ids: {"org_id": ids["org"]}),
        ("GET", P + "/assignments/<string:assignment_id>"): Row({"assignment_id": "assignment"}),
        ("POST", P + "/assignments/<string:assignment_id>/end"): Row(
            {"assignment_id": "assignment"}, body={"end_date": today.isoformat(),
                                                    "reason": "x"}),
        ("POST", P + "/assignments/<string:assignment_id>/sessions"): Row(
            {"assignment_id": "assignment"}, body={"delivered_on": today.isoformat(),
                                                    "attended": True}),
        ("POST", P + "/catalogue"): Row(body=lambda ids: {**ENTRY, "org_id": ids["org"]}),
        ("GET", P + "/catalogue"): Row(query=lambda ids: {"org_id": ids["org"]}),
        ("GET", P + "/catalogue/<string:entry_id>"): Row({"entry_id": "entry"}),
        ("PATCH", P + "/catalogue/<string:entry_id>"): Row({"entry_id": "entry"},
                                                           body={"active": False}),
        ("GET", P + "/costs"): Row(query=lambda ids: {"org_id": ids["org"]}),
        ("POST", P + "/cycles"): Row(body=lambda ids: {
            "pupil_id": ids["pupil"], "started_on": today.isoformat(),
            "review_date": (today + timedelta(days=42)).isoformat()}),
        ("GET", P + "/cycles/<string:cycle_id>"): Row({"cycle_id": "cycle"}),
        ("POST", P + "/cycles/<string:cycle_id>/review"): Row(
            {"cycle_id": "cycle"}, body={"reviewed_on": today.isoformat(), "note": "n"}),
        ("GET", P + "/openapi.json"): own,
        ("GET", P + "/organisations/<string:org_id>/settings"): Row({"org_id": "org"}),
        ("GET", P + "/organisations/<string:org_id>/calendar/<string:year>"): Row(
            {"org_id": "org", "year": "year"}, shared=()),
        ("PUT", P + "/organisations/<string:org_id>/calendar/<string:year>"): Row(
            {"org_id": "org", "year": "year"}, body={"terms": [], "inset_days": []}),
        ("PUT", P + "/organisations/<string:org_id>/settings"): Row(
            {"org_id": "org"}, body={"sen_budget": "1000.00", "role_rates": []}),
        ("GET", P + "/pupils/<string:pupil_id>/map"): Row({"pupil_id": "pupil"}),
        ("GET", P + "/map"): Row(query=lambda ids: {"org": ids["org"]}),
        ("GET", P + "/recommendations"): Row(query=lambda ids: {"org_id": ids["org"]}),
        ("GET", P + "/reports/impact"): Row(query=lambda ids: {"org_id": ids["org"]}),
        ("GET", P + "/reviews/due"): Row(query=lambda ids: {"org_id": ids["org"]}),
        ("POST", P + "/targets"): Row(body=lambda ids: {
            "pupil_id": ids["pupil"], "description": "d", "area_of_need":
            "cognition_and_learning", "baseline": "b", "expected_outcome": "e", "measure": "m",
            "due_date": (today + timedelta(days=60)).isoformat()}),
        ("GET", P + "/targets/<string:target_id>"): Row({"target_id": "target"}),
        ("POST", P + "/targets/<string:target_id>/outcomes"): Row(
            {"target_id": "target"}, body={"recorded_on": today.isoformat(), "note": "n"}),
        ("GET", "/health/live"): own, ("GET", "/health/ready"): own, ("GET", "/metrics"): own,
    }


def test_provision_matrix(run_service, database_urls, http, token):
    from services.provision.models import Base
    from services.provision.service import ProvisionService
    from tests.service.test_provision_api import ENTRY, assignment_body
    base, _, url = run_service(ProvisionService, db_url=database_urls("provision"))
    db = open_database("provision", Base.metadata, url)
    seed = Seed()
    _fresh_orgs(seed)
    handlers = worker_factory(ProvisionService, db=db)
    for event in _onboard_events(seed):
        handlers.on_organisation_onboarded(event)
    for tag in TAGS:
        seed.put(tag, "org", seed.org[tag], secret=False)
    seed.put("trust", "year", "2026-27", secret=False)
    today = date.today()
    for tag in ("s1", "s2"):
        org, pupil = seed.org[tag], f"pupil-{tag}x"
        handlers.on_pupil_registered(make_event("pupil.registered", {
            "pupil_id": pupil, "org_id": org, "year_group": 4, "sen_status": "K",
            "primary_need": "SPLD", "areas_of_need": ["cognition_and_learning"]},
            org_id=org, actor="pupils"))
        seed.put(tag, "pupil", pupil)
        senco = tok(seed, tag, "senco")
        entry = _ok(http.post(base + P + "/catalogue", headers=senco,
                              json={**ENTRY, "name": f"Mark{tag}x"}))
        seed.put(tag, "entry", entry["id"])
        seed.markers[tag].add(f"Mark{tag}x")
        a = _ok(http.post(base + P + "/assignments", headers=senco,
                          json=assignment_body(entry["id"], [pupil])))
        seed.put(tag, "assignment", a["id"])
        t = _ok(http.post(base + P + "/targets", headers=senco, json={
            "pupil_id": pupil, "description": f"Secret{tag}x",
            "area_of_need": "cognition_and_learning", "baseline": "b",
            "expected_outcome": "e", "measure": "m",
            "due_date": (today + timedelta(days=60)).isoformat()}))
        seed.put(tag, "target", t["id"])
        seed.markers[tag].add(f"Secret{tag}x")
        c = _ok(http.post(base + P + "/cycles", headers=senco, json={
            "pupil_id": pupil, "started_on": today.isoformat(),
            "review_date": (today + timedelta(days=42)).isoformat()}))
        seed.put(tag, "cycle", c["id"])
    run_matrix(ProvisionService, base, http, provision_rows(), seed)


# == cpd =============================================================================

C = "/api/v1/cpd"


def cpd_rows():
    from tests.service.test_cpd_api import COURSE, session_body
    own = Row(victim=False)
    bk = {"booking_id": "booking"}
    return {
        ("GET", C + "/bookings/<string:booking_id>"): Row(bk),
        ("POST", C + "/bookings/<string:booking_id>/approve"): Row(bk),
        ("POST", C + "/bookings/<string:booking_id>/cancel"): Row(bk),
        ("POST", C + "/bookings/<string:booking_id>/decline"): Row(bk),
        ("GET", C + "/calendar/<string:key>.ics"): Row({"key": "feed_key"}),
        ("GET", C + "/certificates/<string:certificate_id>"): Row(
            {"certificate_id": "certificate"}),
        ("GET", C + "/certificates/<string:certificate_id>/pdf"): Row(
            {"certificate_id": "certificate"}),
        ("GET", C + "/certificates/verify/<string:code>"): Row({"code": "code"}),
        ("GET", C + "/charges"): own,
        ("POST", C + "/courses"): Row(victim=False, body=COURSE),
        ("GET", C + "/courses"): own,
        ("GET", C + "/courses/<string:course_id>"): Row({"course_id": "draft_course"}),
        ("PATCH", C + "/courses/<string:course_id>"): Row({"course_id": "draft_course"},
                                                          body={"summary": "changed"}),
        ("GET", C + "/courses/<string:course_id>/evaluations"): Row(
            {"course_id": "draft_course"}),
        ("POST", C + "/courses/<string:course_id>/evaluations"): Row(
            {"course_id": "draft_course"}, body={"rating": 5, "comment": "x"}),
        ("POST", C + "/courses/<string:course_id>/publish"): Row({"course_id": "draft_course"}),
        ("POST", C + "/courses/<string:course_id>/sessions"): Row(
            {"course_id": "draft_course"}, body=session_body()),
        ("GET", C + "/feeds/<string:key>.ics"): Row({"key": "feed_key"}),
        ("GET", C + "/me/bookings"): own,
        ("GET", C + "/me/feed"): own,
        ("GET", C + "/offers"): own,
        ("GET", C + "/openapi.json"): own,
        ("GET", C + "/records"): own,
        ("GET", C + "/records/me"): own,
        ("GET", C + "/records/people/<string:person_id>"): Row({"person_id": "person"}),
        ("GET", C + "/reports/need-trend"): own,
        ("PATCH", C + "/sessions/<string:session_id>"): Row({"session_id": "draft_session"},
                                                            body={"venue": "Elsewhere"}),
        ("PUT", C + "/sessions/<string:session_id>/attendance"): Row(
            {"session_id": "shared_session"}, body=lambda ids: {"records": [
                {"booking_id": ids["booking"], "attended": True}]}),
        ("POST", C + "/sessions/<string:session_id>/bookings"): Row(
            {"session_id": "draft_session"}, body={"attendee": {
                "name": "X", "email": "x@example.org"}}),
        ("GET", C + "/sessions/<string:session_id>/bookings"): Row(
            {"session_id": "shared_session"}, shared=("shared_session",)),
        ("POST", C + "/sessions/<string:session_id>/cancel"): Row(
            {"session_id": "draft_session"}),
        ("GET", "/health/live"): own, ("GET", "/health/ready"): own, ("GET", "/metrics"): own,
    }


def test_cpd_matrix(run_service, database_urls, http, token):
    from services.cpd.models import Base
    from services.cpd.service import CpdService
    from tests.service.test_cpd_api import COURSE, session_body
    base, _, url = run_service(CpdService, db_url=database_urls("cpd"))
    db = open_database("cpd", Base.metadata, url)
    seed = Seed()
    _fresh_orgs(seed)
    handlers = worker_factory(CpdService, db=db)
    for event in _onboard_events(seed):
        handlers.on_organisation_onboarded(event)
    for tag in TAGS:
        seed.put(tag, "org", seed.org[tag], secret=False)
    hub = tok(seed, "trust", "cpd_admin")
    course = _ok(http.post(base + C + "/courses", headers=hub, json=COURSE))
    session = _ok(http.post(f"{base}{C}/courses/{course['id']}/sessions", headers=hub,
                            json=session_body(capacity=20)))
    _ok(http.post(f"{base}{C}/courses/{course['id']}/publish", headers=hub))
    seed.put("trust", "shared_session", session["id"], secret=False)
    for tag in ("s1", "s2", "p1", "p2"):
        lead = tok(seed, tag, "cpd_admin")
        draft = _ok(http.post(base + C + "/courses", headers=lead,
                              json={**COURSE, "title": f"Mark{tag}x course"}))
        seed.put(tag, "draft_course", draft["id"])
        seed.markers[tag].add(f"Mark{tag}x course")
        ds = _ok(http.post(f"{base}{C}/courses/{draft['id']}/sessions", headers=lead,
                           json=session_body(capacity=5)))
        seed.put(tag, "draft_session", ds["id"])
        email = f"teacher@{tag}.example"
        b = _ok(http.post(f"{base}{C}/sessions/{session['id']}/bookings",
                          headers=tok(seed, tag, "teacher"),
                          json={"attendee": {"name": f"Person{tag}x", "email": email}}))
        seed.put(tag, "booking", b["id"])
        seed.put(tag, "person", b["person_id"])
        seed.markers[tag] |= {f"Person{tag}x", email}
    run_matrix(CpdService, base, http, cpd_rows(), seed)


def _cells(resp, fmt):
    """The text of every cell of a CSV or xlsx export."""
    import csv
    import io

    import openpyxl
    if fmt == "csv":
        return [c for row in csv.reader(io.StringIO(resp.content.decode("utf-8-sig")))
                for c in row]
    sheet = openpyxl.load_workbook(io.BytesIO(resp.content)).active
    return [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cpd_record_exports_matrix(run_service, database_urls, http, fmt):
    """GET /records?format=csv|xlsx (one operation with the JSON read, so one row
    above): every role × organisation, each organisation's staff with a completed
    course; a reader gets its own staff, named, and no other organisation's."""
    from services.cpd.models import Base
    from services.cpd.service import RECORD_READERS, CpdService
    from tests.service.test_cpd_api import COURSE, session_body, start_session
    base, _, url = run_service(CpdService, db_url=database_urls("cpd"))
    db = open_database("cpd", Base.metadata, url)
    seed = Seed()
    _fresh_orgs(seed)
    handlers = worker_factory(CpdService, db=db)
    for event in _onboard_events(seed):
        handlers.on_organisation_onboarded(event)
    hub = tok(seed, "trust", "cpd_admin")
    course = _ok(http.post(base + C + "/courses", headers=hub, json=COURSE))
    session = _ok(http.post(f"{base}{C}/courses/{course['id']}/sessions", headers=hub,
                            json=session_body(capacity=20)))
    _ok(http.post(f"{base}{C}/courses/{course['id']}/publish", headers=hub))
    booked = []
    for tag, kind in TAGS.items():
        role = "outreach" if kind == access.TRUST else "teacher"  # books themselves
        email = f"{role}@{tag}.example"
        b = _ok(http.post(f"{base}{C}/sessions/{session['id']}/bookings",
                          headers=tok(seed, tag, role),
                          json={"attendee": {"name": f"Person{tag}x", "email": email}}))
        booked.append(b["id"])
        seed.markers[tag] |= {f"Person{tag}x", email, f"Org {tag}"}
    start_session(url, session["id"])
    issued = _ok(http.put(f"{base}{C}/sessions/{session['id']}/attendance", headers=hub,
                          json={"records": [{"booking_id": b, "attended": True}
                                            for b in booked]}))
    assert len(issued["certificates_issued"]) == len(TAGS)
    failures = []
    for role in ROLES:
        for tag, kind in TAGS.items():
            resp = http.get(base + C + "/records", params={"format": fmt},
                            headers=tok(seed, tag, role), timeout=30)
            if kind not in access.HELD_AT[role] or role not in RECORD_READERS:
                if resp.status_code != 403:
                    failures.append(f"{role}@{tag}: {resp.status_code}, expected 403")
                continue
            if resp.status_code != 200:
                failures.append(f"{role}@{tag}: {resp.status_code} {resp.text[:200]}")
                continue
            cells = _cells(resp, fmt)
            if not seed.markers[tag] <= set(cells):
                failures.append(f"{role}@{tag}: its own staff are missing")
            leaked = sorted(m for t, ms in seed.markers.items() if t != tag for m in ms
                            if m in cells)
            if leaked:
                failures.append(f"{role}@{tag}: leaks {leaked[:3]}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    if COUNTS:
        total = sum(c[3] for c in COUNTS.values())
        print("\ntenancy matrix: " + ", ".join(
            f"{s} {o} operations × {r} roles × {g} organisations = {n} requests"
            for s, (o, r, g, n) in COUNTS.items()) + f"; {total} requests in all")
