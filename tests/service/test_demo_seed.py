"""`senctl demo` seeds what a newcomer's walk needs, once, through the services' own
commands; the banner's demo referral meets this term's agreement and is accepted;
the demo parent can sign in and read their child's published passport."""

import json

import pytest
from sqlalchemy import create_engine, text

from services.cli import demo, demo_people
from services.common.db import open_database
from services.pupils.models import Base as PupilsBase
from services.pupils.service import PupilsService
from services.referrals.models import Base as ReferralsBase
from services.referrals.service import ReferralsService
from tests.conftest import bearer


def rows(url, sql):
    engine = create_engine(url)
    with engine.connect() as conn:
        result = conn.execute(text(sql)).all()
    engine.dispose()
    return result


@pytest.fixture
def seeded(database_urls):
    urls = {"pupils": database_urls("pupils"), "referrals": database_urls("referrals")}
    dbs = (open_database("pupils", PupilsBase.metadata, urls["pupils"]),
           open_database("referrals", ReferralsBase.metadata, urls["referrals"]))
    lines = []
    ids = demo.seed(out=lines.append, pupils_db=dbs[0], referrals_db=dbs[1])
    return urls, dbs, ids, lines


def test_demo_seeds_every_organisation_pupil_person_and_agreement_once(seeded):
    urls, dbs, ids, lines = seeded
    assert set(ids) == {"trust", "oakfield", "brook", "riverside"}
    assert (f"added 7 pupils, {len(demo_people.PEOPLE)} staff memberships and 1 agreement "
            in lines[4])
    kinds = dict(rows(urls["pupils"], "SELECT id, kind FROM organisations"))
    assert kinds == {ids["trust"]: "trust", ids["oakfield"]: "trust_school",
                     ids["brook"]: "arb", ids["riverside"]: "partner_school"}
    per_org = dict(rows(urls["pupils"], "SELECT org_id, count(*) FROM pupils GROUP BY org_id"))
    assert per_org == {ids["oakfield"]: 4, ids["brook"]: 3}
    assert set(rows(urls["pupils"], "SELECT DISTINCT sen_status FROM pupils")) == {
        ("K",), ("E",), ("N",)}
    [(plan_pupil,)] = rows(urls["pupils"], "SELECT p.forename FROM ehc_plans e "
                                           "JOIN pupils p ON p.id = e.pupil_id")
    assert plan_pupil == "Amira"
    [(sam, status)] = rows(urls["pupils"], "SELECT p.id, v.status FROM pupils p JOIN "
                                           "passport_versions v ON v.pupil_id = p.id "
                                           "WHERE p.forename = 'Sam'")
    assert status == "published"
    assert rows(urls["pupils"], f"SELECT email FROM guardians WHERE pupil_id = '{sam}'") == [
        ("parent.taylor@example.com",)]
    staff = set(rows(urls["pupils"], "SELECT email, org_id, roles FROM staff_members"))
    assert staff == {(p["email"], ids[p["org"]], ",".join(sorted(p["roles"])))
                     for p in demo_people.PEOPLE}
    [(agreement_school,)] = rows(urls["referrals"], "SELECT school_org_id FROM agreements")
    assert agreement_school == ids["riverside"]
    # the services hear about it: the events are in the pupils outbox
    types = [json.loads(b)["type"] for (b,) in rows(urls["pupils"], "SELECT body FROM outbox")]
    assert types.count("organisation.onboarded") == 4 and types.count("pupil.registered") == 7
    assert types.count("staff.member_added") == len(demo_people.PEOPLE)
    assert "passport.published" in types and "pupil.guardians_changed" in types

    # a second run adds nothing and names the same organisations
    again = []
    assert demo.seed(out=again.append, pupils_db=dbs[0], referrals_db=dbs[1]) == ids
    assert again[:4] == lines[:4] and "added 0 pupils, 0 staff memberships and 0 agreements" in again[4]
    assert rows(urls["pupils"], "SELECT count(*) FROM pupils") == [(7,)]
    assert rows(urls["referrals"], "SELECT count(*) FROM agreements") == [(1,)]


def test_the_banner_referral_is_accepted_and_the_parent_reads_the_passport(
        seeded, run_service, http, token):
    urls, _, ids, _ = seeded
    assert "'" not in json.dumps(demo_people.DEMO_REFERRAL)  # the banner quotes it for a shell
    referrals, _, _ = run_service(ReferralsService, db_url=urls["referrals"])
    school = bearer(token(ids["riverside"], "partner_referrer", sub="jo.smith@riverside.example"))
    lead = bearer(token(ids["trust"], "outreach_lead", sub="outreach.lead@demo-trust.example"))
    created = http.post(referrals + "/api/v1/referrals", json=demo_people.DEMO_REFERRAL,
                        headers=school)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    triage = http.get(f"{referrals}/api/v1/referrals/{rid}/triage", headers=lead).json()
    assert triage["all_met"] is True, triage
    accepted = http.post(f"{referrals}/api/v1/referrals/{rid}/accept", headers=lead)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"

    pupils, _, _ = run_service(PupilsService, db_url=urls["pupils"], EHCP_TIMER_SECONDS=3600)
    portal = bearer(token(ids["trust"], "portal", sub="portal"))
    who = http.post(pupils + "/api/v1/sign-in/lookup",
                    json={"email": demo_people.PARENTS[0]["email"]}, headers=portal).json()
    [child] = who["guardian_of"]
    assert child["pupil_name"] == "Sam Taylor" and child["org_id"] == ids["oakfield"]
    parent = bearer(token(child["org_id"], "parent", sub=demo_people.PARENTS[0]["email"],
                          pupils=[child["pupil_id"]]))
    passport = http.get(f"{pupils}/api/v1/pupils/{child['pupil_id']}/passport",
                        headers=parent).json()
    assert passport["current"]["about_me"].startswith("I am Sam")
    senco = http.post(pupils + "/api/v1/sign-in/lookup",
                      json={"email": "senco@oakfield.example"}, headers=portal).json()
    assert senco["staff"] == [{"org_id": ids["oakfield"], "org_name": "Oakfield Special School",
                               "org_kind": "trust_school", "roles": ["senco"],
                               "name": "Dan Price"}]
