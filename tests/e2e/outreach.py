"""The outreach world the referral journeys start from: a trust, a partner school
with an agreement of traded hours this term, the people who act on a referral, and
a complete referral (two reviewed assess-plan-do-review cycles), on a platform of
pupils, referrals and notify as separate processes."""

from dataclasses import dataclass
from datetime import UTC, datetime

from services.referrals import domain
from tests.conftest import bearer
from tests.helpers import referral_body

REFERRER = "jo.smith@riverside.example"
PRACTITIONER = {"sub": "pat@trust.example", "name": "Pat Lee", "email": "pat@trust.example"}
CYCLES = [{"started_on": "2026-09-07", "reviewed_on": "2026-10-05",
           "provision": "Visual timetable", "outcome": "Calmer mornings"},
          {"started_on": "2026-10-06", "reviewed_on": "2026-11-02",
           "provision": "Small-group social skills", "outcome": "Little change"}]


@dataclass
class Outreach:
    platform: object
    base: str         # the referrals API
    school: str       # the partner school's organisation id
    agreement: str    # its agreement for this term (6 hours)
    jo: dict          # the school's referrer
    lead: dict        # the outreach lead
    admin: dict       # the trust admin
    pat: dict         # the outreach practitioner
    referral_id: str
    reference: str


def outreach_world(platform_factory, http, urn="100001", laestab="2021001"):
    platform = platform_factory("pupils", "referrals", "notify")
    trust = platform.senctl("org", "onboard", "--name", "Demo Trust", "--kind", "trust")
    school = platform.senctl("org", "onboard", "--name", "Riverside Primary School",
                             "--kind", "partner_school", "--urn", urn, "--laestab", laestab)

    def tok(sub, org, roles):
        return bearer(platform.senctl("token", "--sub", sub, "--org", org, "--roles", roles))

    jo = tok("jo@riverside.example", school, "partner_referrer")
    lead = tok("lee@trust.example", trust, "outreach_lead")
    admin = tok("admin@trust.example", trust, "trust_admin")
    pat = tok(PRACTITIONER["sub"], trust, "outreach")
    base = platform.url("referrals") + "/api/v1"

    year, term = domain.term_of(domain.london_date(datetime.now(UTC)))
    resp = http.post(base + "/agreements", headers=admin, json={
        "school_org_id": school, "academic_year": year, "term": term, "hours_bought": 6})
    assert resp.status_code == 201, resp.text
    agreement = resp.json()["id"]

    resp = http.post(base + "/referrals", headers=jo,
                     json=referral_body(graduated_approach=CYCLES))
    assert resp.status_code == 201, resp.text
    return Outreach(platform, base, school, agreement, jo, lead, admin, pat,
                    resp.json()["id"], resp.json()["reference"])
