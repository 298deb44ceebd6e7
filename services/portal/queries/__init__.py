"""The portal's reads: the person's session (touched as it is read), whether a sign-in
link can still be used, and each page's data gathered from the services' APIs
(every call made as the person, so each service applies its own rules)."""

from datetime import UTC, date, datetime
from urllib.parse import quote

from sqlalchemy import select, update

from services.common.access import (
    CPD_BOOKERS,
    CPD_LEADS,
    MESSAGE_READERS,
    PROVISION_REPORT_READERS,
    Role,
)
from services.common.db import utcnow

from .. import domain
from ..adapters.services import ApiError
from ..commands.sessions import ABSOLUTE, IDLE, digest
from ..models import link_tokens, sessions

# -- sign-in -----------------------------------------------------------------------

def find_session(db, token, now=None, idle=IDLE, absolute=ABSOLUTE):
    """The live session for a cookie value, touched; None when unknown, ended or timed out."""
    if not token:
        return None
    now = now or utcnow()
    with db.unit_of_work() as uow:
        row = uow.session.execute(select(sessions).where(
            sessions.c.token_hash == digest(token), sessions.c.ended_at.is_(None))).first()
        if row is None:
            return None
        if now - row.last_seen_at > idle or now - row.created_at > absolute:
            uow.session.execute(update(sessions).where(sessions.c.id == row.id)
                                .values(ended_at=now))
            return None
        uow.session.execute(update(sessions).where(sessions.c.id == row.id)
                            .values(last_seen_at=now))
    return row


def link_is_usable(db, token, now=None):
    now = now or utcnow()
    with db.session() as s:
        row = s.execute(select(link_tokens).where(link_tokens.c.token_hash == digest(token))).first()
    return row is not None and row.used_at is None and row.expires_at > now


# -- referrals -----------------------------------------------------------------------

def referral_view(api, me, referral_id):
    """The referral page: the referral, its history and visits, and (for outreach staff)
    its triage criteria and the forms this person may use."""
    base = f"/api/v1/referrals/{referral_id}"
    r = api.get("referrals", base)
    staff = domain.is_outreach_staff(me)
    roles = set(me.roles)
    view = {"r": r, "history": api.try_get("referrals", base + "/transitions", []),
            "visits": api.try_get("referrals", base + "/visits", []),
            "staff": staff, "may": domain.referral_buttons(me, r.get("allowed_actions")),
            "decline_reasons": domain.DECLINE_REASONS, "outcomes": domain.OUTCOMES,
            "seen": domain.SEEN, "today": date.today(),
            "answer": r["status"] == "info_requested" and Role.PARTNER_REFERRER in roles,
            "may_read_messages": bool(roles & set(MESSAGE_READERS))}
    if staff:
        view["triage"] = api.try_get("referrals", base + "/triage")
    return view


def referral(api, referral_id):
    return api.get("referrals", f"/api/v1/referrals/{referral_id}")


def duplicates_of(api, referral):
    """The school's open referrals for the same pupil as `referral` (a draft)."""
    others = []
    for status in domain.OPEN_STATUSES:
        others += api.items("referrals", "/api/v1/referrals", status=status, limit=100)
    return domain.open_referrals_for(referral, others)


def triage_view(api):
    queue = []
    for status in domain.OPEN_STATUSES:
        queue += api.get("referrals", "/api/v1/referrals", status=status,
                         limit=100).get("items", [])
    late = {}
    for item in (api.try_get("referrals", "/api/v1/referrals/overdue", {}) or {}).get("items", []):
        late.setdefault(item["referral_id"], []).append(item)
    return {"queue": queue, "late": late}


# -- pupils --------------------------------------------------------------------------

def pupil_view(api, me, pupil_id):
    base = f"/api/v1/pupils/{pupil_id}"
    return {"p": api.get("pupils", base),
            "register": api.items("pupils", base + "/sen-register"),
            "passport": api.try_get("pupils", base + "/passport", {}) or {},
            "plans": api.items("pupils", base + "/ehc-plans"),
            "map": api.try_get("provision", f"/api/v1/provision/pupils/{pupil_id}/map", {}) or {},
            "today": date.today(),
            "may_read_messages": bool(set(me.roles) & set(MESSAGE_READERS))}


def published_passport(api, pupil_id):
    """The latest published version of a pupil's passport, or None."""
    versions = api.get("pupils", f"/api/v1/pupils/{pupil_id}/passport")
    items = versions.get("items", versions.get("versions", [])) \
        if isinstance(versions, dict) else versions
    published = [v for v in items if v.get("status") == "published"]
    return published[-1] if published else None


def pupil_names(api, rows):
    """{pupil_id: "Forename Surname"} for the pupils in rows (the pupils service's names;
    provision keeps no names)."""
    names = {}
    for pupil_id in dict.fromkeys(r["pupil_id"] for r in rows):
        p = api.try_get("pupils", f"/api/v1/pupils/{pupil_id}")
        if p:
            names[pupil_id] = f"{p['forename']} {p['legal_surname']}"
    return names


def reviews_due_view(api):
    due = api.get("provision", "/api/v1/provision/reviews/due")
    return {"due": due["due"], "overdue": due["overdue"],
            "names": pupil_names(api, due["due"] + due["overdue"])}


def listing(answer):
    """A list answer's items, whether the API sends {"items": [...]} or a bare list."""
    return answer.get("items", []) if isinstance(answer, dict) else (answer or [])


# -- CPD -----------------------------------------------------------------------------

def courses(api):
    return api.get("cpd", "/api/v1/cpd/courses", limit=200).get("items", [])


def find_training_session(api, session_id):
    """(course, session) for a session id, from the courses the reader may see."""
    for course in courses(api):
        for session in course.get("sessions", []):
            if session["id"] == session_id:
                return course, session
    raise ApiError(404, {})


def session_view(api, me, session_id):
    course, session = find_training_session(api, session_id)
    roles = set(me.roles)
    lead = bool(roles & set(CPD_LEADS))
    bookings = api.try_get("cpd", f"/api/v1/cpd/sessions/{session_id}/bookings", []) \
        if lead else []
    mine = [b for b in (api.try_get("cpd", "/api/v1/cpd/me/bookings", []) or [])
            if b["session_id"] == session_id and b["status"] not in ("cancelled", "declined")]
    started = datetime.fromisoformat(session["starts_at"]) <= datetime.now(UTC)
    return {"title": course["title"], "course": course, "s": session, "lead": lead,
            "bookings": bookings or [], "mine": mine, "started": started,
            "may_book": bool(roles & set(CPD_BOOKERS)) and session["status"] == "scheduled"
            and not mine}


def bookings_view(api):
    titles = {c["id"]: c["title"] for c in api.items("cpd", "/api/v1/cpd/courses", limit=200)}
    record = api.try_get("cpd", "/api/v1/cpd/records/me", {}) or {}
    return {"items": api.get("cpd", "/api/v1/cpd/me/bookings") or [], "titles": titles,
            "certificates": record.get("certificates", [])}


def approvals_view(api, me):
    waiting = []
    for course in courses(api):
        for session in course.get("sessions", []):
            for b in api.try_get("cpd", f"/api/v1/cpd/sessions/{session['id']}/bookings",
                                 []) or []:
                if b["status"] == "pending_approval" and b["org_id"] == me.org_id:
                    waiting.append({"b": b, "course": course, "s": session})
    return {"items": waiting}


# -- reports, messages, preferences ---------------------------------------------------

def impact_view(api, group_by):
    group_by = group_by if group_by in domain.IMPACT_GROUPS else domain.IMPACT_GROUPS[0]
    report = api.get("provision", "/api/v1/provision/reports/impact", group_by=group_by)
    return {"rows": report.get("rows", []), "group_by": group_by, "as_of": report.get("as_of")}


def notifications_view(api, me, referral_id=None, pupil_id=None):
    items, subject = None, None
    if referral_id or pupil_id:
        subject = {"referral_id": referral_id} if referral_id else {"pupil_id": pupil_id}
        items = api.get("notify", "/api/v1/notifications", **subject).get("items", [])
    roles = set(me.roles)
    referral_readers = set(MESSAGE_READERS) - {Role.SENCO}
    return {"items": items, "subject": subject,
            "referrals": api.items("referrals", "/api/v1/referrals", limit=50)
            if roles & referral_readers else [],
            "pupils": api.items("pupils", "/api/v1/pupils", limit=100)
            if roles & set(PROVISION_REPORT_READERS) else []}


def preferences_view(api, me):
    saved = api.try_get("notify", "/api/v1/notification-preferences/" + quote(me.sub, safe=""),
                        {}) or {}
    start, _, end = (saved.get("quiet_hours") or "").partition("-")
    return {"categories": domain.CATEGORIES, "values": {"quiet_from": start, "quiet_to": end},
            "chosen": saved.get("opt_outs") or [], "digest": bool(saved.get("digest"))}
