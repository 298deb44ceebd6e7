"""The steps every referral command takes: move along the state machine (recorded
in the history) and emit an event about the referral, with its sequence."""

from contextlib import contextmanager

from .. import domain
from ..models import Transition
from ..queries import load_referral


def record(uow, referral, action, actor, now, before=None):
    """Add a line to the referral's history (its transitions)."""
    uow.session.add(Transition(referral_id=referral.id, from_status=before,
                               to_status=referral.status, action=action, actor=actor, at=now))


def move(uow, referral, action, principal, now):
    """Apply a state-machine action: 403 if the role may not, 409 if the status does
    not allow it; record it."""
    domain.check_may(action, principal.roles)
    before = referral.status
    referral.status = domain.target(action, referral.status)
    record(uow, referral, action, principal.sub, now, before=before)


def emit(uow, event_type, referral, payload, actor, *args, **kwargs):
    """Emit `event_type` about `referral`, its data from `payload(referral, ...)`
    (payloads.py), numbered with the referral's next sequence in this transaction."""
    referral.event_sequence = (referral.event_sequence or 0) + 1
    uow.emit(event_type, payload(referral, *args, **kwargs), org_id=referral.school_org_id,
             actor=actor)



@contextmanager
def acting(database, principal, referral_id, action, now):
    """A unit of work on one referral (locked, scoped to the caller) that has just
    taken `action`: yields (uow, referral) for the command to finish and emit."""
    with database.unit_of_work() as uow:
        referral = load_referral(uow.session, principal, referral_id, for_update=True)
        move(uow, referral, action, principal, now)
        yield uow, referral
