"""The web form's plain functions: form fields → the API body, errors → fields."""

from werkzeug.datastructures import MultiDict

from services.referrals import web
from services.referrals.schemas import ReferralCreateSchema


def form(**fields):
    data = MultiDict()
    for key, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            data.add(key.replace("__", "."), v)
    return data


def test_form_fields_become_the_api_body():
    body = web.body_from_form(form(**{
        "pupil__first_name": " Sam ", "pupil__last_name": "Taylor",
        "pupil__date_of_birth-day": "1", "pupil__date_of_birth-month": "3",
        "pupil__date_of_birth-year": "2016", "pupil__upn": "b801200005001",
        "areas_of_need": ["communication_and_interaction", "sensory_and_physical"],
        "concerns": "c", "support_so_far": "s", "contact__name": "Jo",
        "contact__email": "jo@x.example", "contact__phone": "01632 960000",
        "parental_consent__given": "yes", "parental_consent__date-day": "1",
        "parental_consent__date-month": "11", "parental_consent__date-year": "2026",
        "parental_consent__given_by": "Parent",
        "graduated_approach__1__provision": "Second only"}))
    assert body["pupil"] == {"first_name": "Sam", "last_name": "Taylor",
                             "date_of_birth": "2016-03-01", "upn": "B801200005001"}
    assert body["areas_of_need"] == ["communication_and_interaction", "sensory_and_physical"]
    assert body["parental_consent"]["given"] is True
    assert body["graduated_approach"] == [{"provision": "Second only"}]  # empty cycles dropped
    loaded = ReferralCreateSchema().load(
        {**body, "graduated_approach": [{**body["graduated_approach"][0],
                                         "started_on": "2026-09-07"}]})
    assert loaded["pupil"]["upn"] == "B801200005001"


def test_bad_dates_and_missing_consent_reach_validation():
    body = web.body_from_form(form(**{"pupil__date_of_birth-day": "31",
                                      "pupil__date_of_birth-month": "x",
                                      "pupil__date_of_birth-year": "2016"}))
    assert body["pupil"]["date_of_birth"] == "2016-x-31"
    assert body["parental_consent"]["given"] is False


def test_errors_map_to_one_message_per_field_in_plain_english():
    errors = web.form_errors({"areas_of_need.0": ["Must be one of: ..."],
                              "areas_of_need.1": ["Must be one of: ..."],
                              "contact.email": ["Not a valid email address."],
                              "graduated_approach.0.started_on": ["Missing data"],
                              "body": ["Unknown field."]})
    assert errors == [("areas_of_need", "Select at least one area of need"),
                      ("contact.email", "Enter an email address in the correct format, "
                                        "like name@example.com"),
                      ("graduated_approach.0.started_on", "Cycle 1: Missing data"),
                      ("pupil.first_name", "Unknown field.")]


def test_tokens_are_random_and_only_their_hash_is_kept():
    a, b = web.new_token(), web.new_token()
    assert a != b and len(a) >= 40
    assert web.token_hash(a) != a and len(web.token_hash(a)) == 64
    assert web.same(a, a) and not web.same(a, b) and not web.same(None, None)
