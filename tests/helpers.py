"""Test helpers shared across layers."""

from services.contracts import make_event

REFERRAL_BODY = {
    "pupil": {"first_name": "Sam", "last_name": "Taylor", "date_of_birth": "2016-03-01",
              "upn": "B801200005001"},
    "contact": {"name": "Jo Smith", "email": "jo.smith@riverside.example",
                "phone": "01632 960000"},
    "areas_of_need": ["communication_and_interaction"],
    "need_types": ["ASD"],
    "concerns": "Finds transitions between lessons very hard.",
    "support_so_far": "Visual timetable and a quiet space since September.",
    "parental_consent": {"given": True, "date": "2026-11-01", "given_by": "Parent"},
}


def referral_body(**overrides):
    import copy
    body = copy.deepcopy(REFERRAL_BODY)
    for key, value in overrides.items():
        body[key] = value
    return body


def referral_submitted(referral_id="r-1", reference="REF-AAAA-0001", school="school-1",
                       email="jo.smith@riverside.example", **kw):
    return make_event("referral.submitted", {
        "referral_id": referral_id, "reference": reference, "school_org_id": school,
        "contact": {"name": "Jo Smith", "email": email},
        "areas_of_need": ["communication_and_interaction"],
        "submitted_at": "2026-11-24T09:00:00+00:00",
    }, org_id=school, actor="user@example.org", **kw)


def organisation_onboarded(org_id="school-1", name="Riverside Primary School",
                           kind="partner_school", email="senco@riverside.example"):
    return make_event("organisation.onboarded", {
        "org_id": org_id, "name": name, "urn": "100001", "laestab": "2021001",
        "kind": kind, "contact_email": email,
    }, org_id=org_id, actor="senctl")
