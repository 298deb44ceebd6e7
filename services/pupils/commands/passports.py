"""Pupil passports (one-page profiles): versioned drafts, published one at a time."""

from sqlalchemy import func, select

from services.common.db import utcnow
from services.common.errors import NotFound
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads, queries
from ..models import PassportVersion


def save_passport_draft(uow, pupil, data, *, actor):
    """A new draft version; earlier versions are kept unchanged."""
    session = uow.session
    last = session.execute(select(func.max(PassportVersion.version)).where(
        PassportVersion.pupil_id == pupil.id)).scalar_one()
    version = PassportVersion(id=new_id(), pupil_id=pupil.id, version=(last or 0) + 1,
                              status=domain.PassportStatus.DRAFT, org_id=pupil.org_id,
                              created_at=utcnow(), created_by=actor, **data)
    session.add(version)
    session.flush()
    return version


def publish_passport(uow, pupil, version_no, *, actor):
    session = uow.session
    version = session.execute(select(PassportVersion).where(
        PassportVersion.pupil_id == pupil.id, PassportVersion.version == version_no)
    ).scalar_one_or_none()
    if version is None:
        raise NotFound("No such passport version")
    domain.check_publishable(version.status)
    version.status, version.published_at, version.published_by = (
        domain.PassportStatus.PUBLISHED, utcnow(), actor)
    session.flush()
    uow.emit(events.PASSPORT_PUBLISHED, payloads.passport_published(pupil, version),
             org_id=pupil.org_id, actor=actor)
    return version


def save_draft(db, principal, pupil_id, data):
    with db.unit_of_work() as uow:
        pupil = queries.get_pupil(uow.session, principal, pupil_id, lock=True)
        return save_passport_draft(uow, pupil, data, actor=principal.sub)


def publish(db, principal, pupil_id, version_no):
    with db.unit_of_work() as uow:
        pupil = queries.get_pupil(uow.session, principal, pupil_id, lock=True)
        return publish_passport(uow, pupil, version_no, actor=principal.sub)
