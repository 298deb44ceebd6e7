import json
from pathlib import Path

import pytest
from marshmallow import ValidationError

from services.contracts import catalogue, lookup, make_event, parse_event
from services.contracts.asyncapi import build, render
from tests.helpers import organisation_onboarded, referral_submitted

ROOT = Path(__file__).resolve().parents[3]


def test_envelope_has_every_field_of_the_contract():
    event = referral_submitted()
    assert set(event) == {"event_id", "type", "version", "occurred_at", "org_id", "actor", "data"}
    assert event["type"] == "referral.submitted" and event["version"] == 1
    assert event["occurred_at"].endswith("+00:00")


def test_producer_cannot_write_an_invalid_event():
    with pytest.raises(ValidationError) as exc:
        make_event("referral.submitted", {"referral_id": "x"}, org_id="o", actor="a")
    assert "reference" in exc.value.messages["data"]


def test_producer_cannot_add_undeclared_fields():
    data = referral_submitted()["data"] | {"pupil_name": "Sam Taylor"}
    with pytest.raises(ValidationError):
        make_event("referral.submitted", data, org_id="o", actor="a")


def test_consumer_ignores_unknown_fields():
    body = referral_submitted()
    body["data"]["added_in_a_later_minor_release"] = 1
    body["also_new"] = True
    event = parse_event(body)
    assert "added_in_a_later_minor_release" not in event["data"]


def test_unknown_event_type_is_rejected():
    body = referral_submitted()
    body["type"] = "referral.teleported"
    with pytest.raises(ValidationError):
        parse_event(body)


def test_round_trip_through_json():
    for body in (referral_submitted(), organisation_onboarded()):
        parsed = parse_event(json.loads(json.dumps(body)))
        assert parsed["event_id"] == body["event_id"]


def test_events_carry_no_pupil_names_dates_of_birth_or_free_text():
    forbidden = {"first_name", "last_name", "date_of_birth", "dob", "concerns",
                 "support_so_far", "notes", "pupil_name"}
    for spec in catalogue():
        assert not forbidden & set(spec.schema().fields), spec.type


def test_latest_version_is_the_default():
    assert lookup("referral.submitted").version == 1


def test_asyncapi_document_lists_every_event_and_is_committed_up_to_date():
    doc = build()
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == {spec.type for spec in catalogue()}
    committed = (ROOT / "docs" / "asyncapi.json").read_text()
    assert committed == render(), "run `senctl contracts asyncapi > docs/asyncapi.json`"
