"""The portal's referral form (it replaced the referrals service's own web form):
form fields → the API's body, the API's own validation errors → one GOV.UK message
per field whose summary link lands on that field, need types by their census names,
and the form's Idempotency-Key."""

import re
import uuid

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from services.common.problems import from_validation_error
from services.contracts.names import NEED_TYPE_NAMES
from services.contracts.sen import NEED_TYPES
from services.portal import schemas as forms
from services.portal.adapters import web
from services.referrals.schemas import ReferralCreateSchema


def form(**fields):
    data = MultiDict()
    for key, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            data.add(key.replace("__", "."), v)
    return data


FULL = {
    "pupil__first_name": " Sam ", "pupil__last_name": "Taylor",
    "pupil__date_of_birth-day": "1", "pupil__date_of_birth-month": "3",
    "pupil__date_of_birth-year": "2016", "pupil__upn": "b801200005001",
    "areas_of_need": ["communication_and_interaction", "sensory_and_physical"],
    "need_types": ["ASD"], "concerns": "c", "support_so_far": "s", "contact__name": "Jo",
    "contact__email": "jo@x.example", "contact__phone": "01632 960000",
    "parental_consent__given": "yes", "parental_consent__date-day": "1",
    "parental_consent__date-month": "11", "parental_consent__date-year": "2025",
    "parental_consent__given_by": "Parent",
    "graduated_approach__0__provision": "Visual timetable",
    "graduated_approach__0__started_on-day": "7", "graduated_approach__0__started_on-month": "9",
    "graduated_approach__0__started_on-year": "2025",
}


def api_errors(posted):
    """What referrals answers for this form: its own schema's field errors, flattened
    as its problem documents name them."""
    try:
        ReferralCreateSchema().load(forms.body_from_form(posted))
    except ValidationError as exc:
        return from_validation_error(exc).errors
    return {}


def page(**context):
    context.setdefault("errors", [])
    return web.render("referral_new.html", me=None, csrf="c", nav=[], current="/referrals/new",
                      title="Make an outreach referral", errs=dict(context["errors"]),
                      values=context.pop("values", {}), cycles=range(forms.CYCLES),
                      chosen_areas=[], chosen_types=[], **context)


def test_form_fields_become_the_api_body_the_api_accepts():
    body = forms.body_from_form(form(**FULL, graduated_approach__1__outcome=""))
    assert body["pupil"] == {"first_name": "Sam", "last_name": "Taylor",
                             "date_of_birth": "2016-03-01", "upn": "B801200005001"}
    assert body["areas_of_need"] == ["communication_and_interaction", "sensory_and_physical"]
    assert body["need_types"] == ["ASD"]
    assert body["parental_consent"]["given"] is True
    assert body["graduated_approach"] == [{"provision": "Visual timetable",
                                           "started_on": "2025-09-07"}]  # empty cycle dropped
    assert api_errors(form(**FULL)) == {}
    assert ReferralCreateSchema().load(body)["pupil"]["upn"] == "B801200005001"


def test_bad_dates_and_missing_consent_reach_validation():
    body = forms.body_from_form(form(**{"pupil__date_of_birth-day": "31",
                                        "pupil__date_of_birth-month": "x",
                                        "pupil__date_of_birth-year": "2016"}))
    assert body["pupil"]["date_of_birth"] == "2016-x-31"
    assert body["parental_consent"]["given"] is False


def test_errors_map_to_one_message_per_field_in_plain_english():
    errors = forms.form_errors({"areas_of_need.0": ["Must be one of: ..."],
                                "areas_of_need.1": ["Must be one of: ..."],
                                "contact.email": ["Not a valid email address."],
                                "graduated_approach.0.started_on": ["Missing data"],
                                "body": ["Unknown field."]})
    # in the order of the page; a cycle's error names its field (issue 15)
    assert errors == [("pupil.first_name", "Unknown field."),
                      ("areas_of_need", "Select at least one area of need"),
                      ("graduated_approach.0.started_on",
                       "Enter the date the first cycle started"),
                      ("contact.email", "Enter an email address in the correct format, "
                                        "like name@example.com")]


def test_every_error_of_the_api_links_to_its_field_on_the_page():
    """A review before its start, a cycle without a start, a bad date of birth, no
    consent, an unknown need type: each error the API gives names a field, and the
    error summary's link lands on that field of the page."""
    posted = form(**{**FULL, "pupil__date_of_birth-month": "13", "pupil__last_name": "",
                     "contact__email": "jo at x", "parental_consent__given": "",
                     "need_types": ["ASD", "NOPE"],
                     "graduated_approach__0__reviewed_on-day": "1",
                     "graduated_approach__0__reviewed_on-month": "9",
                     "graduated_approach__0__reviewed_on-year": "2025",
                     "graduated_approach__1__provision": "Speech and language group"})
    flat = api_errors(posted)
    errors = forms.form_errors(flat)
    fields = dict(errors)
    assert fields["graduated_approach.0.reviewed_on"] == \
        "The date the first review happened must be on or after the date it started"
    assert fields["graduated_approach.1.started_on"] == \
        "Enter the date the second cycle started"
    order = forms.page_order()
    assert [order.index(f) for f, _ in errors] == sorted(order.index(f) for f, _ in errors)
    assert {"pupil.last_name", "pupil.date_of_birth", "contact.email",
            "parental_consent.given", "need_types"} <= set(fields)
    html = page(errors=errors, values=posted)
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    links = re.findall(r'<li><a href="#([^"]+)">', html)
    assert len(links) == len(errors)
    assert set(links) <= ids, set(links) - ids
    for field, message in errors:  # and the message stands by its field, described by it
        fid = field.replace(".", "-")
        assert f'id="{fid}-error"' in html, field
        assert message.replace("'", "&#39;") in html
    assert 'value=" Sam "' in html and 'value="jo at x"' in html  # what was typed is kept


def test_need_types_and_areas_read_by_their_names():
    html = page()
    for code in NEED_TYPES:
        name = NEED_TYPE_NAMES[code]
        assert f'value="{code}"' in html
        assert (name[:1].upper() + name[1:]).replace("&", "&amp;") in html, code
    assert ">Asd<" not in html and "Autistic Spectrum Disorder" in html
    assert "Sensory and/or physical needs" in html


def test_each_blank_form_carries_its_own_idempotency_key():
    first, second = forms.new_idempotency_key(), forms.new_idempotency_key()
    assert first != second and uuid.UUID(first)
    html = page(idempotency_key=first)
    assert f'name="idempotency_key" value="{first}"' in html
    assert forms.idempotency_key(form(idempotency_key=first)) == first
    # nothing a visitor types becomes a header: only our own keys are sent
    for bad in ("", "x", "a\r\nX-Evil: 1", "\"" * 36):
        assert forms.idempotency_key(form(idempotency_key=bad)) is None
    assert forms.idempotency_key(MultiDict()) is None
    # referrals' answers for a key already used: still in flight, or another body
    assert forms.already_sent(409, {})
    assert forms.already_sent(422, {"Idempotency-Key": ["Already used"]})
    assert not forms.already_sent(422, {"pupil.last_name": ["Missing data"]})
