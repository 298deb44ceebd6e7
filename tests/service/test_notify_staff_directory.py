"""Notify keeps the staff directory's SENCOs (staff.member_* events) and writes to
them by name; the organisation's contact address only when the directory has none."""

import pytest
from nameko.testing.services import worker_factory

from services.common.db import open_database
from services.contracts import make_event
from services.notify.adapters import Mailer
from services.notify.models import Base
from services.notify.service import NotifyService
from tests.helpers import organisation_onboarded


@pytest.fixture
def notify(database_urls, mailbox):
    db = open_database("notify", Base.metadata, database_urls("notify"))
    return worker_factory(NotifyService, db=db, mailer=Mailer())


def member(event_type, member_id="m-1", roles=("senco",), active=True, **extra):
    data = {"member_id": member_id, "org_id": "school-1", "email": f"{member_id}@oak.example",
            "name": f"Senco {member_id}", "roles": list(roles), "active": active, **extra}
    if event_type == "staff.member_removed":
        data = {k: data[k] for k in ("member_id", "org_id", "email")}
    return make_event(event_type, data, org_id="school-1", actor="admin")


def published(version):
    return make_event("passport.published", {"pupil_id": "p-1", "org_id": "school-1",
                                             "passport_id": f"pp-{version}",
                                             "version": version},
                      org_id="school-1", actor="senco")


def senco_mail(mailbox, count):
    return sorted(m["To"].addresses[0].addr_spec for m in mailbox.wait_for(count))


def test_senco_messages_go_to_the_directorys_sencos(notify, mailbox):
    notify.on_organisation_onboarded(organisation_onboarded("school-1", "Oak School"))
    notify.on_passport_published(published(1))  # nobody in the directory: the office
    assert senco_mail(mailbox, 1) == ["senco@riverside.example"]
    notify.on_staff_member_added(member("staff.member_added", "m-1"))
    notify.on_staff_member_added(member("staff.member_added", "m-2"))
    notify.on_staff_member_added(member("staff.member_added", "m-3", roles=["teacher"]))
    notify.on_passport_published(published(2))
    assert senco_mail(mailbox, 3)[:2] == ["m-1@oak.example", "m-2@oak.example"]
    notify.on_staff_member_changed(member("staff.member_changed", "m-2", active=False,
                                          changed=["active"]))
    notify.on_staff_member_removed(member("staff.member_removed", "m-1"))
    notify.on_passport_published(published(3))
    assert senco_mail(mailbox, 4).count("senco@riverside.example") == 2
