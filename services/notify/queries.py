"""Notify's reads: notifications (scoped to what the caller sees), preferences
and who may manage them, templates and their preview, and the projections the
planning reads (SENCOs, organisation names)."""

from sqlalchemy import func, or_, select

from services.common import access
from services.common.access import Role
from services.common.errors import NotAllowed, NotFound

from . import domain
from .models import (
    Delivery,
    Guardian,
    Organisation,
    RecipientPreference,
    ReferralContact,
    StaffMember,
)

# May set preferences for others of their organisation (may_manage).
PREFERENCE_EDITORS = (Role.TRUST_ADMIN, Role.OUTREACH_LEAD, Role.SENCO)


def pref_key(address):
    """A preference's key: an email in lower case, a mobile without spaces."""
    address = address.strip()
    return address.lower() if "@" in address else address.replace(" ", "")


def reach_us(config):
    """How a reader reaches a person: the outreach team's phone, address and inbox."""
    return {"phone": config.outreach_phone, "address": config.outreach_address,
            "email": config.outreach_inbox}


def org_name(session, org_id, default="a school"):
    org = session.get(Organisation, org_id)
    return org.name if org else default


def sencos(session, org):
    """The organisation's SENCOs from the staff directory; the school office (its
    contact address) only when the directory lists none."""
    if org is None:
        return []
    rows = session.execute(select(StaffMember).where(
        StaffMember.org_id == org.org_id, StaffMember.active == True)  # noqa: E712
        .order_by(StaffMember.email)).scalars().all()
    found = [domain.Recipient(domain.SENCO, m.email, m.name) for m in rows
             if Role.SENCO in m.roles.split(",")]
    if found:
        return found
    return [domain.Recipient(domain.SENCO, org.contact_email, "SENCO")] \
        if org.contact_email else []


# -- notifications -------------------------------------------------------------------

def notifications(db, principal, query):
    kind, ref = ((domain.SubjectKind.REFERRAL, query["referral_id"]) if query["referral_id"]
                 else (domain.SubjectKind.PUPIL, query["pupil_id"]))
    where = [Delivery.subject_kind == kind, Delivery.subject_ref == ref]
    where += access.org_clause(principal, Delivery.org_id)
    with db.session() as s:
        items = s.execute(select(Delivery).where(*where).order_by(
            Delivery.created_at, Delivery.template_id, Delivery.recipient)
            .limit(query["limit"])).scalars().all()
    return {"items": items, "count": len(items)}


def notification(db, principal, notification_id):
    with db.session() as s:
        found = s.get(Delivery, notification_id)
    if found is None or not access.sees_org(principal, found.org_id):
        raise NotFound("No such notification")
    return found


# -- templates -----------------------------------------------------------------------

def templates():
    return [{"template_id": t.id, "version": t.version, "event_type": t.event_type,
             "audience": t.audience, "category": t.category, "statutory": t.statutory,
             "urgent": t.urgent, "sms": t.has_sms()} for t in domain.TEMPLATES]


def preview(template_id, channel, language, config):
    template = domain.BY_ID.get(template_id)
    if template is None:
        raise NotFound("No such template")
    if channel == domain.SMS and not template.has_sms():
        raise NotFound("This template has no SMS version")
    context = {**domain.SAMPLE_CONTEXT, "reach_us": reach_us(config),
               "recipient": {"name": "Sam Sample", "audience": template.audience}}
    subject, text, html = domain.render(template, context, channel, language)
    return {"template_id": template.id, "version": template.version,
            "event_type": template.event_type, "audience": template.audience,
            "category": template.category, "statutory": template.statutory,
            "channel": channel, "language": domain.render_language(template, language),
            "subject": subject, "text": text, "html": html}


# -- preferences ---------------------------------------------------------------------

def may_manage(session, principal, address, config):
    """Whether the principal may see and set `address`'s preferences: the person
    themselves; the trust's admin any; a school's editors only its own pupils'
    guardians and its own staff. The trust's operational inboxes only from
    inside the trust."""
    key = pref_key(address)
    trust_inboxes = {config.outreach_inbox.strip().lower()} | {
        (e or "").strip().lower() for e in session.execute(
            select(Organisation.contact_email).where(Organisation.kind == access.TRUST)
        ).scalars()}
    if key in trust_inboxes and not access.is_trust(principal):
        return False
    if principal.sub.strip().lower() == key:
        return True
    if not principal.has_any(PREFERENCE_EDITORS):
        raise NotAllowed("You can set only your own preferences")
    if access.trust_wide(principal, (Role.TRUST_ADMIN,)):
        return True
    org = principal.org
    guardian = session.execute(select(Guardian.pupil_id).where(
        Guardian.org_id == org, or_(func.lower(Guardian.email) == key,
                                    Guardian.mobile == key)).limit(1)).first()
    staff = session.execute(select(Organisation.org_id).where(
        Organisation.org_id == org, func.lower(Organisation.contact_email) == key)).first() \
        or session.execute(select(ReferralContact.referral_id).where(
            ReferralContact.school_org_id == org,
            func.lower(ReferralContact.contact_email) == key).limit(1)).first()
    return bool(guardian or staff) or (key in trust_inboxes and access.is_trust(principal))


def preference(db, principal, address, config):
    with db.session() as s:
        if not may_manage(s, principal, address, config):
            raise NotFound("No such recipient")  # the same whether or not it exists
        pref = s.get(RecipientPreference, pref_key(address))
    if pref is None:
        return {"address": pref_key(address), "opt_outs": [], "quiet_hours": None,
                "digest": False}
    quiet = f"{pref.quiet_start}-{pref.quiet_end}" if pref.quiet_start else None
    return {"address": pref.address, "opt_outs": sorted(filter(None,
            pref.opt_outs.split(","))), "quiet_hours": quiet, "digest": pref.digest}
