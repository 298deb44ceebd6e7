"""Upgrades without downtime, for events: producers and consumers are upgraded
one at a time, so a consumer built for version N must accept an event of N+1
(unknown fields ignored), and one built for N+1 must still read N (from
producers not yet upgraded, and from outboxes and queues filled before)."""

import pytest
from marshmallow import ValidationError, fields

from services.contracts import catalogue, parse_event, registry
from services.contracts.events.referrals import ReferralSubmittedV1
from tests.helpers import referral_submitted


def as_version(body, version, **extra_data):
    return {**body, "version": version, "data": {**body["data"], **extra_data},
            "producer_build": "2.0"}  # an envelope field this build has never heard of


@pytest.fixture
def v2_registered():
    """What the next release's catalogue holds: referral.submitted v2 = v1 + an
    optional field. Removed again afterwards (the AsyncAPI test reads the catalogue)."""

    class ReferralSubmittedV2(ReferralSubmittedV1):
        urgency = fields.String(load_default="routine")

    registry.event("referral.submitted", 2, "referrals", "v2: with urgency")(ReferralSubmittedV2)
    yield
    del registry._CATALOGUE[("referral.submitted", 2)]


def test_a_consumer_of_v1_reads_v2_and_ignores_what_it_does_not_know():
    assert registry.lookup("referral.submitted").version == 1  # this build knows v1 only
    event = parse_event(as_version(referral_submitted(), 2, urgency="high"))
    assert event["version"] == 2
    assert "urgency" not in event["data"]
    assert event["data"]["reference"] == "REF-AAAA-0001"
    assert "producer_build" not in event


def test_a_consumer_of_v2_still_reads_v1_and_reads_v2_in_full(v2_registered):
    old = parse_event(referral_submitted(version=1))  # as a v1 producer wrote it
    assert old["version"] == 1 and old["data"]["reference"] == "REF-AAAA-0001"
    new = parse_event(as_version(referral_submitted(), 2, urgency="high"))
    assert new["data"]["urgency"] == "high"


def test_a_newer_version_that_dropped_a_field_v1_needs_is_refused_not_misread():
    body = as_version(referral_submitted(), 2)
    del body["data"]["reference"]
    with pytest.raises(ValidationError) as exc:
        parse_event(body)
    assert "reference" in exc.value.messages


def test_every_version_stays_readable_by_its_neighbours():
    """The catalogue's rule: a type's versions run 1..N with none removed, and
    N+1 carries every field N requires (N reads N+1) and requires nothing N lacks
    (N+1's schema loads N's data)."""
    by_type = {}
    for spec in catalogue():
        by_type.setdefault(spec.type, {})[spec.version] = spec.schema
    for event_type, versions in by_type.items():
        assert sorted(versions) == list(range(1, max(versions) + 1)), event_type
        for n in range(1, max(versions)):
            old, new = versions[n]().fields, versions[n + 1]().fields
            required = lambda fs: {k for k, f in fs.items() if f.required}  # noqa: E731
            assert required(old) <= set(new), f"{event_type} v{n + 1} dropped a field v{n} needs"
            assert required(new) <= set(old), f"{event_type} v{n + 1} requires a new field"
