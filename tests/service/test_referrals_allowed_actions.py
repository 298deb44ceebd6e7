"""`allowed_actions` is per caller: each action listed is one the caller's role is
authorised for from the referral's status, and an action not listed for a role
answers 403 (the same rule decides both)."""

import pytest

from services.referrals import domain
from services.referrals.service import ReferralsService
from tests.conftest import bearer
from tests.helpers import referral_body

URL = "/api/v1/referrals"
ACTION_PATHS = {"request_info": ("request-info", {"question": "Which year group?"}),
                "accept": ("accept", None),
                "decline": ("decline", {"reason": "outside_remit"}),
                "withdraw": ("withdraw", None)}


@pytest.fixture
def api(run_service, database_urls):
    base, _, _ = run_service(ReferralsService, db_url=database_urls("referrals"))
    return base


def test_each_caller_is_shown_only_what_it_may_do(api, http, token):
    school = bearer(token("school-a", "partner_referrer"))
    lead = bearer(token("trust", "outreach_lead"))
    auditor = bearer(token("trust", "auditor"))
    created = http.post(api + URL, json=referral_body(), headers=school).json()
    rid = created["id"]
    assert created["allowed_actions"] == ["withdraw"]  # not "accept": a school may not
    by = {name: http.get(f"{api}{URL}/{rid}", headers=h).json()["allowed_actions"]
          for name, h in (("school", school), ("lead", lead), ("auditor", auditor))}
    assert by == {"school": ["withdraw"], "lead": ["accept", "decline", "request_info"],
                  "auditor": []}
    listed = http.get(api + URL, headers=school).json()["items"]
    assert listed[0]["allowed_actions"] == ["withdraw"]

    # the rule behind the list is the rule at the door: an action a role is not shown
    for name, headers, roles in (("school", school, ["partner_referrer"]),
                                 ("auditor", auditor, ["auditor"])):
        for action, (path, body) in ACTION_PATHS.items():
            if action in domain.allowed_actions("submitted", roles):
                continue
            resp = http.post(f"{api}{URL}/{rid}/{path}", json=body or {}, headers=headers)
            assert resp.status_code == 403, (name, action, resp.status_code)

    asked = http.post(f"{api}{URL}/{rid}/request-info", json=ACTION_PATHS["request_info"][1],
                      headers=lead)
    assert asked.status_code == 200, asked.text
    assert asked.json()["allowed_actions"] == ["decline"]
    assert http.get(f"{api}{URL}/{rid}", headers=school).json()["allowed_actions"] == [
        "submit", "withdraw"]
