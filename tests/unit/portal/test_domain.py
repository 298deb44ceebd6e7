"""The portal's pure rules: navigation from the shared role groups, what a referral
still lacks, the same-pupil rule behind the duplicate warning, and a draft's body."""

from types import SimpleNamespace

from werkzeug.datastructures import MultiDict

from services.common.access import Role
from services.portal import domain, schemas


def me(*roles, kind="trust"):
    return SimpleNamespace(roles=[Role(r) for r in roles], org_kind=kind, choices=[],
                           org_id="o1")


def labels(person):
    return [label for _, label in domain.navigation(person)]


def test_navigation_offers_only_what_the_roles_may_use():
    assert labels(me("partner_referrer", kind="partner_school")) == \
        ["Your referrals", "New referral", "Messages sent"]
    assert labels(me("outreach_lead")) == ["Triage", "Referrals", "Training", "My bookings",
                                           "Messages sent"]
    assert labels(me("senco", kind="trust_school")) == [
        "Pupils", "Reviews due", "Training", "My bookings", "Costs", "Impact report",
        "Messages sent"]
    assert labels(me("teacher", kind="partner_school")) == ["Training", "My bookings"]
    assert labels(me("cpd_admin", kind="arb")) == ["Training", "My bookings", "Approvals"]
    assert labels(me("parent", kind="trust_school")) == ["Your children", "Message preferences"]
    assert "Organisations" in labels(me("trust_admin"))
    assert labels(me("outreach", kind="trust_school")) == ["Training", "My bookings"]



def test_the_trusts_need_and_training_chart_is_offered_to_whom_cpd_answers():
    from services.common.openapi import api_entrypoints
    from services.cpd.service import CpdService
    [ep] = [ep for name, ep in api_entrypoints(CpdService) if name == "need_trend"]
    for role in Role:
        assert domain.sees_need_and_training(me(role)) == (role in ep.roles), role
    assert domain.sees_need_and_training(me("outreach_lead"))
    assert not domain.sees_need_and_training(me("cpd_admin", kind="arb"))
    assert not domain.sees_need_and_training(me("auditor"))


def test_formats_not_made_are_not_a_document():
    import pytest
    assert domain.check_format("xlsx", domain.SPREADSHEETS) == "xlsx"
    with pytest.raises(domain.NotADocument):
        domain.check_format("pdf", domain.SPREADSHEETS)
    with pytest.raises(domain.NotADocument):
        domain.check_format("docx")

def test_the_code_lists_are_the_contracts_tables():
    from services.contracts import names
    assert set(domain.DECLINE_REASONS) == set(names.DECLINE_REASON_NAMES)
    assert set(domain.OUTCOMES) == set(names.REFERRAL_OUTCOME_NAMES)
    assert domain.OPEN_STATUSES == ("submitted", "info_requested", "accepted", "allocated",
                                    "in_progress", "report_issued")


def test_missing_answers_name_each_field_the_api_requires():
    missing = domain.missing_answers({"pupil": {"first_name": "Sam"},
                                      "graduated_approach": [{"outcome": "ok"}]})
    assert "pupil.first_name" not in missing
    assert {"pupil.last_name", "pupil.date_of_birth", "contact.email", "areas_of_need",
            "parental_consent.given", "graduated_approach.0.provision",
            "graduated_approach.0.started_on"} <= set(missing)
    errors = schemas.form_errors(missing)
    assert errors[0] == ("pupil.last_name", "Enter the pupil's last name")
    assert ("graduated_approach.0.started_on",
            "Enter the date the first cycle started") in errors


def test_the_same_pupil_by_upn_or_by_name_and_date_of_birth():
    a = {"first_name": "Sam", "last_name": "Taylor", "date_of_birth": "2016-03-01"}
    assert domain.same_pupil(a, {"first_name": " sam", "last_name": "TAYLOR ",
                                 "date_of_birth": "2016-03-01"})
    assert not domain.same_pupil(a, {**a, "date_of_birth": "2016-03-02"})
    assert domain.same_pupil({**a, "upn": "B801200005001"},
                             {"first_name": "Other", "upn": "b801200005001"})
    assert not domain.same_pupil({**a, "upn": "B801200005001"}, {**a, "upn": "A123"})
    draft = {"id": "d", "status": "draft", "school_org_id": "s1", "pupil": a}
    others = [{"id": "1", "status": "submitted", "school_org_id": "s1", "pupil": a},
              {"id": "2", "status": "closed", "school_org_id": "s1", "pupil": a},
              {"id": "3", "status": "accepted", "school_org_id": "s2", "pupil": a},
              {**draft}]
    assert [o["id"] for o in domain.open_referrals_for(draft, others)] == ["1"]


def test_a_draft_leaves_out_what_is_not_answered_yet():
    form = MultiDict({"pupil.first_name": "Sam", "concerns": "Noise"})
    body = schemas.draft_from_form(form)
    assert body["pupil"] == {"first_name": "Sam", "upn": None}
    assert "areas_of_need" not in body and "parental_consent" not in body
    assert body["concerns"] == "Noise"
    assert schemas.answered(form)
    assert not schemas.answered(MultiDict({"csrf": "x", "action": "continue",
                                           "pupil.first_name": " "}))
    # and a draft read back fills the same form
    values = schemas.form_from_referral({"pupil": {"first_name": "Sam",
                                                   "date_of_birth": "2016-03-01"},
                                         "graduated_approach": [{"provision": "P",
                                                                 "started_on": "2025-09-07"}]})
    assert values["pupil.date_of_birth-day"] == "1" and values["pupil.date_of_birth-year"] == "2016"
    assert values["graduated_approach.0.started_on-month"] == "9"
