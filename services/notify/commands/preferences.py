"""A recipient's preferences (opt-outs, quiet hours, digest), set by the person
or by staff allowed to (queries.may_manage); and the portal's sign-in link."""

from services.common.db import utcnow
from services.common.errors import NotFound
from services.common.ids import new_id

from .. import domain, queries
from ..models import RecipientPreference
from . import deliveries


def _preference_for(session, principal, address, config):
    if not queries.may_manage(session, principal, address, config):
        raise NotFound("No such recipient")  # the same whether or not it exists
    return session.get(RecipientPreference, queries.pref_key(address))


def put(db, principal, body, config):
    address = body["address"].strip()
    quiet = domain.parse_quiet_hours(body["quiet_hours"]) if body["quiet_hours"] else None
    with db.unit_of_work() as uow:
        pref = _preference_for(uow.session, principal, address, config)
        pref = pref or RecipientPreference(address=queries.pref_key(address))
        pref.org_id, pref.set_by = principal.org, principal.sub
        pref.opt_outs = ",".join(sorted(set(body["opt_outs"])))
        pref.quiet_start = quiet[0].strftime("%H:%M") if quiet else None
        pref.quiet_end = quiet[1].strftime("%H:%M") if quiet else None
        pref.digest = body["digest"]
        pref.updated_at = utcnow()
        uow.session.add(pref)
    return {**body, "address": address}


def reset(db, principal, address, config):
    with db.unit_of_work() as uow:
        pref = _preference_for(uow.session, principal, address, config)
        if pref is not None:
            uow.session.delete(pref)


def send_sign_in_link(post, principal, body):
    """Email a one-time sign-in link (not caused by an event: a pseudo event)."""
    message = domain.sign_in_message(body["email"].strip().lower(), body["url"],
                                     body["expires_at"], trust_name=post.config.trust_name,
                                     reach_us=queries.reach_us(post.config))
    request_id = new_id()
    pseudo_event = {"event_id": request_id, "type": domain.SIGN_IN_TEMPLATE.event_type,
                    "org_id": principal.org, "occurred_at": utcnow(), "data": {}}
    with post.db.unit_of_work() as uow:
        ids = deliveries.record(uow, pseudo_event, [message],
                                subject_kind=domain.SubjectKind.SIGN_IN, subject_ref=request_id)
        uow.after_commit(lambda: deliveries.send_all(post, ids))
