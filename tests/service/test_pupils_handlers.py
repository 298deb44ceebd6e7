"""Pupils' event handlers at the service layer: worker_factory with a real,
migrated database; only nameko's plumbing is bypassed."""

from datetime import date

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.common.db import open_database
from services.contracts import make_event
from services.pupils import queries
from services.pupils.commands import organisations
from services.pupils.commands import pupils as pupil_commands
from services.pupils.models import Base, ReferralLink
from services.pupils.service import PupilsService
from tests.service.test_pupils_api import upn


@pytest.fixture
def pupils(database_urls, engine_name):
    db = open_database("pupils", Base.metadata, database_urls("pupils", engine_name))
    school = organisations.onboard(db, {"name": "Oak", "kind": "trust_school", "urn": "140001",
                                        "laestab": "8011001"}, actor="t").id
    other = organisations.onboard(db, {"name": "Elm", "kind": "arb", "urn": "140002",
                                       "laestab": "8011002"}, actor="t").id
    with db.unit_of_work() as uow:
        pupil = pupil_commands.create_pupil(uow, school, {
            "upn": upn(1), "legal_surname": "Taylor", "forename": "Sam",
            "date_of_birth": date(2015, 3, 1), "year_group": 5, "sen_status": "K",
            "primary_need": "ASD", "secondary_need": None}, actor="t", today=date(2026, 11, 2))
    return worker_factory(PupilsService, db=db), db, school, other, pupil.id


def accepted(referral_id, school, pupil_upn):
    return make_event("referral.accepted", {
        "referral_id": referral_id, "reference": f"REF-{referral_id}", "school_org_id": school,
        "contact": {"name": "Jo Smith", "email": "jo@example.org"}, "pupil_upn": pupil_upn,
    }, org_id=school, actor="outreach@example.org")


def links(db):
    with db.session() as s:
        return [(x.referral_id, x.pupil_id) for x in s.execute(select(ReferralLink)).scalars()]


def test_accepted_referral_links_the_pupil_by_upn_once(pupils):
    service, db, school, other, pupil_id = pupils
    event = accepted("r-1", school, upn(1).lower())
    service.on_referral_accepted(event)
    service.on_referral_accepted(event)  # redelivered: nothing changes
    assert links(db) == [("r-1", pupil_id)]
    with db.session() as s:
        assert [x.reference for x in queries.referrals_of(s, pupil_id)] == ["REF-r-1"]


@pytest.mark.parametrize("case", ["other school", "no upn", "unknown upn", "bad upn"])
def test_referrals_without_a_matching_pupil_link_nothing(pupils, case):
    service, db, school, other, _ = pupils
    event = {"other school": accepted("r-2", other, upn(1)),
             "no upn": accepted("r-3", school, None),
             "unknown upn": accepted("r-4", school, upn(2)),
             "bad upn": accepted("r-5", school, "A801200005001")}[case]
    service.on_referral_accepted(event)
    assert links(db) == []
