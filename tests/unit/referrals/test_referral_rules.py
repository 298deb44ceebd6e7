from datetime import UTC, date, datetime, timedelta

import pytest
from marshmallow import ValidationError

from services.common.problems import flatten_errors
from services.referrals import domain, payloads
from services.referrals.schemas import ReferralCreateSchema
from tests.helpers import referral_body


def load(body):
    return ReferralCreateSchema().load(body)


def errors_of(body):
    with pytest.raises(ValidationError) as exc:
        load(body)
    return flatten_errors(exc.value.messages)


def test_valid_body_loads():
    data = load(referral_body())
    assert data["pupil"]["date_of_birth"] == date(2016, 3, 1)


def test_upn_is_optional_and_temporary_upns_are_allowed():
    body = referral_body()
    del body["pupil"]["upn"]
    assert load(body)["pupil"]["upn"] is None
    # a temporary UPN ends in a letter; its check letter computed with stdnum
    from stdnum.gb import upn
    number = "801200005" + "00A"
    body["pupil"]["upn"] = upn.calc_check_digit(number) + number
    assert load(body)["pupil"]["upn"].endswith("A")


def test_wrong_upn_check_letter_names_the_field():
    body = referral_body()
    body["pupil"]["upn"] = "A801200005001"
    assert "pupil.upn" in errors_of(body)


def test_no_consent_is_refused():
    body = referral_body()
    del body["parental_consent"]
    assert "parental_consent" in errors_of(body)
    body = referral_body(parental_consent={"given": False, "date": "2026-11-01",
                                           "given_by": "Parent"})
    assert "parental_consent.given" in errors_of(body)


def test_consent_must_be_a_real_boolean():
    body = referral_body(parental_consent={"given": "yes", "date": "2026-11-01",
                                           "given_by": "Parent"})
    assert "parental_consent.given" in errors_of(body)


def test_unknown_area_of_need_and_need_type_are_named():
    errs = errors_of(referral_body(areas_of_need=["communication_and_interaction", "maths"],
                                   need_types=["ADHD"]))
    assert "areas_of_need.1" in errs and "need_types.0" in errs


def test_at_least_one_area_and_no_repeats():
    assert "areas_of_need" in errors_of(referral_body(areas_of_need=[]))
    assert "areas_of_need" in errors_of(referral_body(
        areas_of_need=["sensory_and_physical", "sensory_and_physical"]))


def test_dates_in_the_future_are_refused():
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    body = referral_body()
    body["pupil"]["date_of_birth"] = tomorrow
    assert "pupil.date_of_birth" in errors_of(body)


def test_school_is_never_a_field():
    body = referral_body(school_org_id="someone-else")
    assert "school_org_id" in errors_of(body)


def test_new_referral_is_submitted_for_the_callers_school():
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    fields = domain.new_referral(load(referral_body()), school_org_id="org-9", actor="jo",
                                 now=now)
    assert fields["school_org_id"] == "org-9" and fields["status"] == "submitted"
    assert fields["reference"].startswith("REF-") and len(fields["reference"]) == 13


def test_submitted_event_carries_no_pupil_details():
    class R:
        id, reference, school_org_id = "r", "REF-AAAA-BBBB", "o"
        contact_name, contact_email = "Jo", "jo@x.example"
        areas_of_need = ["sensory_and_physical"]
        submitted_at = datetime(2026, 11, 24, tzinfo=UTC)
    data = payloads.submitted(R)
    assert "pupil" not in str(data) and "Sam" not in str(data)
