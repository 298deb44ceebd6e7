"""The pupils service's reads and writes: tenancy-scoped queries and state changes
with their events, on a unit of work. Used by the HTTP entrypoints, the timer,
the importer, senctl and the bench; the rules themselves live in domain.py."""

import uuid
from datetime import date

from sqlalchemy import delete, func, insert, or_, select

from services.common import access
from services.common.db import utcnow
from services.common.problems import Conflict, Forbidden, NotFound, Unprocessable

from . import domain
from .models import (
    AuditEntry,
    EhcPause,
    EhcPlan,
    EhcReminderSent,
    Guardian,
    Move,
    Organisation,
    PassportVersion,
    Pupil,
    ReferralLink,
    SenRegisterEntry,
    UpnChange,
)


def new_id():
    return str(uuid.uuid4())


def scope(principal):
    """WHERE clauses limiting pupils to what the caller may see."""
    return access.org_clause(principal, Pupil.org_id)


def get_pupil(session, principal, pupil_id, *, lock=False):
    """The pupil, or 404 when it does not exist or belongs to another organisation."""
    stmt = select(Pupil).where(Pupil.id == pupil_id, Pupil.anonymised_at.is_(None),
                               *scope(principal))
    if lock:
        stmt = stmt.with_for_update()
    pupil = session.execute(stmt).scalar_one_or_none()
    if pupil is None:
        raise NotFound("No such pupil")
    return pupil


def audit(session, principal, pupils, endpoint):
    """Record that the caller read these pupils' records (ids only, no personal data)."""
    rows = [{"at": utcnow(), "actor": principal.sub, "actor_org_id": principal.org,
             "pupil_id": p.id, "pupil_org_id": p.org_id, "endpoint": endpoint} for p in pupils]
    if rows:
        session.execute(insert(AuditEntry), rows)


# -- organisations -------------------------------------------------------------------

def find_org(session, key):
    return session.execute(select(Organisation).where(or_(
        Organisation.id == key, Organisation.urn == key))).scalars().first()


def target_org(session, principal, org_id, field="org_id"):
    """The organisation a new pupil (or import) goes to: the caller's own, or for a
    trust_admin the one named. Only trust schools and ARBs keep pupils here."""
    if access.trust_wide(principal):
        if not org_id:
            raise Unprocessable("Name the organisation", errors={field: ["Required"]})
        org = find_org(session, org_id)
        if org is None or org.kind not in domain.PUPIL_ORG_KINDS:
            raise Unprocessable("Not a school or ARB of the trust",
                                errors={field: ["Not a school or ARB of the trust"]})
        return org
    if org_id and org_id != principal.org:
        org = find_org(session, org_id)
        if org is None or org.id != principal.org:
            raise Unprocessable("You can only act for your own organisation",
                                errors={field: ["Not your organisation"]})
    org = session.get(Organisation, principal.org)
    if org is None or org.kind not in domain.PUPIL_ORG_KINDS:
        raise Forbidden("Your organisation keeps no pupil records here")
    return org


def scoped_org_id(session, principal, org_id):
    """Which organisation a report (census) is about: the caller's, or any for trust_admin."""
    if not access.trust_wide(principal):
        if org_id and org_id != principal.org:
            raise NotFound("No such organisation")
        return principal.org
    if not org_id:
        raise Unprocessable("Name the organisation", errors={"org_id": ["Required"]})
    org = find_org(session, org_id)
    if org is None:
        raise NotFound("No such organisation")
    return org.id


# -- pupils --------------------------------------------------------------------------

def registered_event(pupil):
    return {**domain.sen_event(pupil), "year_group": pupil.year_group,
            "registration_group": pupil.registration_group}


def upn_taken(session, upn, exclude_id=None):
    stmt = select(Pupil.id).where(Pupil.upn == upn)
    if exclude_id:
        stmt = stmt.where(Pupil.id != exclude_id)
    return session.execute(stmt).first() is not None


def upn_unavailable():
    """The same answer whether the UPN is on the caller's roll or another school's,
    so a school cannot learn of a pupil elsewhere (issue 11)."""
    return Conflict("This UPN cannot be used for a new record", errors={"upn": [
        "Cannot be used: check your roll; a pupil joining from another school of the "
        "trust is moved by the trust"]})


def create_pupil(uow, org_id, data, *, actor, today):
    session = uow.session
    if upn_taken(session, data["upn"]):
        raise upn_unavailable()
    now = utcnow()
    pupil = Pupil(id=new_id(), org_id=org_id, upn=data["upn"],
                  legal_surname=data["legal_surname"], forename=data["forename"],
                  date_of_birth=data["date_of_birth"], year_group=data["year_group"],
                  sen_status=data["sen_status"], primary_need=data.get("primary_need"),
                  secondary_need=data.get("secondary_need"), created_at=now, updated_at=now,
                  nc_not_followed=bool(data.get("nc_not_followed")),
                  registration_group=data.get("registration_group"))
    session.add(pupil)
    session.add(SenRegisterEntry(
        pupil_id=pupil.id, org_id=org_id, status=pupil.sen_status,
        primary_need=pupil.primary_need, secondary_need=pupil.secondary_need,
        starts_on=data.get("sen_effective_date") or today, ends_on=None,
        recorded_by=actor, recorded_at=now))
    session.flush()
    uow.emit("pupil.registered", registered_event(pupil), org_id=org_id, actor=actor)
    if data.get("guardians"):
        replace_guardians(uow, pupil, data["guardians"], actor=actor)
    return pupil


def update_pupil(uow, pupil, data, *, actor):
    session = uow.session
    changed = []
    if "upn" in data and data["upn"] != pupil.upn:
        if pupil.upn and not domain.is_temporary_upn(pupil.upn):
            raise Unprocessable("Only a temporary UPN can be replaced",
                                errors={"upn": ["The pupil already has a permanent UPN"]})
        if domain.is_temporary_upn(data["upn"]):
            raise Unprocessable("Replace a temporary UPN with the permanent one",
                                errors={"upn": ["The new UPN is temporary"]})
        if upn_taken(session, data["upn"], exclude_id=pupil.id):
            raise upn_unavailable()
        session.add(UpnChange(pupil_id=pupil.id, old_upn=pupil.upn, new_upn=data["upn"],
                              changed_at=utcnow(), changed_by=actor))
        pupil.upn = data["upn"]
        changed.append("upn")
    for field in ("legal_surname", "forename", "date_of_birth", "year_group",
                  "nc_not_followed", "registration_group"):
        if field in data and data[field] != getattr(pupil, field):
            setattr(pupil, field, data[field])
            changed.append(field)
    if changed:
        pupil.updated_at = utcnow()
        session.flush()
        uow.emit("pupil.updated", {"pupil_id": pupil.id, "org_id": pupil.org_id,
                                   "year_group": pupil.year_group, "changed": changed,
                                   "registration_group": pupil.registration_group},
                 org_id=pupil.org_id, actor=actor)
    return changed


def open_entry(session, pupil_id):
    return session.execute(select(SenRegisterEntry).where(
        SenRegisterEntry.pupil_id == pupil_id, SenRegisterEntry.ends_on.is_(None))
    ).scalar_one_or_none()


def change_sen_status(uow, pupil, data, *, actor, today):
    """Close the open register entry and open the new one; emit the change."""
    session = uow.session
    effective = data.get("effective_date") or today
    current = open_entry(session, pupil.id)
    new = (data["sen_status"], data.get("primary_need"), data.get("secondary_need"))
    if current is not None:
        if (current.status, current.primary_need, current.secondary_need) == new:
            raise Conflict("The pupil already has this SEN provision and these needs",
                           errors={"sen_status": ["Unchanged"]})
        if effective < current.starts_on:
            raise Unprocessable("The change cannot predate the open entry",
                                errors={"effective_date": [
                                    f"Must not be before {current.starts_on.isoformat()}"]})
        current.ends_on = effective
        session.flush()  # the open entry closes before the new one opens
    previous = pupil.sen_status
    pupil.sen_status, pupil.primary_need, pupil.secondary_need = new
    pupil.updated_at = utcnow()
    session.add(SenRegisterEntry(
        pupil_id=pupil.id, org_id=pupil.org_id, status=new[0], primary_need=new[1],
        secondary_need=new[2], starts_on=effective, ends_on=None, recorded_by=actor,
        recorded_at=utcnow()))
    session.flush()
    uow.emit("pupil.sen_status_changed",
             {**domain.sen_event(pupil), "previous_status": previous,
              "effective_date": effective.isoformat()},
             org_id=pupil.org_id, actor=actor)


def sen_history(session, pupil_id):
    return session.execute(select(SenRegisterEntry).where(
        SenRegisterEntry.pupil_id == pupil_id).order_by(
        SenRegisterEntry.starts_on, SenRegisterEntry.id)).scalars().all()


def guardians_of(session, pupil_id):
    return session.execute(select(Guardian).where(Guardian.pupil_id == pupil_id)
                           .order_by(Guardian.position)).scalars().all()


def replace_guardians(uow, pupil, guardians, *, actor):
    session = uow.session
    session.execute(delete(Guardian).where(Guardian.pupil_id == pupil.id))
    rows = []
    for position, g in enumerate(guardians):
        row = Guardian(id=new_id(), pupil_id=pupil.id, position=position, **g)
        session.add(row)
        rows.append(row)
    session.flush()
    uow.emit("pupil.guardians_changed", {
        "pupil_id": pupil.id, "org_id": pupil.org_id,
        "guardians": [{"guardian_id": g.id, "name": g.name, "relationship": g.relationship,
                       "email": g.email, "mobile": g.mobile,
                       "preferred_channel": g.preferred_channel,
                       "preferred_language": g.preferred_language,
                       "parental_responsibility": g.parental_responsibility} for g in rows]},
        org_id=pupil.org_id, actor=actor)
    return rows


def upn_history(session, pupil_id):
    return session.execute(select(UpnChange).where(UpnChange.pupil_id == pupil_id)
                           .order_by(UpnChange.id)).scalars().all()


def list_pupils(session, principal, query):
    where = [*scope(principal), Pupil.anonymised_at.is_(None)]
    if query.get("org_id"):
        if not access.trust_wide(principal) and query["org_id"] != principal.org:
            return [], 0
        where.append(Pupil.org_id == query["org_id"])
    if "year_group" in query:
        where.append(Pupil.year_group == query["year_group"])
    if "sen_status" in query:
        where.append(Pupil.sen_status == query["sen_status"])
    if "registration_group" in query:
        where.append(Pupil.registration_group == query["registration_group"])
    if query.get("nc_not_followed") is not None:
        where.append(Pupil.nc_not_followed == query["nc_not_followed"])
    if "need_type" in query:
        where.append(or_(Pupil.primary_need == query["need_type"],
                         Pupil.secondary_need == query["need_type"]))
    if "area_of_need" in query:
        codes = domain.need_types_of_area(query["area_of_need"])
        where.append(or_(Pupil.primary_need.in_(codes), Pupil.secondary_need.in_(codes)))
    if "q" in query:
        term = query["q"].strip()
        like = f"%{term.lower()}%"
        where.append(or_(Pupil.upn == term.upper().replace(" ", ""),
                         func.lower(Pupil.legal_surname).like(like),
                         func.lower(Pupil.forename).like(like)))
    total = session.execute(select(func.count()).select_from(Pupil).where(*where)).scalar_one()
    items = session.execute(select(Pupil).where(*where)
                            .order_by(Pupil.legal_surname, Pupil.forename, Pupil.id)
                            .limit(query["limit"]).offset(query["offset"])).scalars().all()
    return items, total


def list_and_audit(db, principal, query, endpoint="list_pupils"):
    """A page of pupils, with the read of each recorded (one transaction)."""
    with db.unit_of_work() as uow:
        items, total = list_pupils(uow.session, principal, query)
        audit(uow.session, principal, items, endpoint)
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


# -- census readiness ----------------------------------------------------------------

def census_report(session, org_id, today):
    pupils = session.execute(select(Pupil).where(
        Pupil.org_id == org_id, Pupil.anonymised_at.is_(None)).order_by(
        Pupil.legal_surname, Pupil.id)).scalars().all()
    issued = set(session.execute(select(EhcPlan.pupil_id).join(Pupil).where(
        Pupil.org_id == org_id, EhcPlan.issued_on.is_not(None))).scalars())
    census_date = domain.next_census_date(today)
    failing, warnings = [], []
    for p in pupils:
        issues = domain.census_issues(p, has_issued_plan=p.id in issued,
                                      census_date=census_date)
        errors = [i for i in issues if i["severity"] == "error"]
        warned = [i for i in issues if i["severity"] != "error"]
        if issues:
            (failing if errors else warnings).append(
                {"pupil_id": p.id, "upn": p.upn, "issues": errors, "warnings": warned})
    return {"org_id": org_id, "census_date": census_date,
            "checked": len(pupils), "failing": failing, "warnings": warnings}


# -- passports -----------------------------------------------------------------------

def passport_versions(session, pupil_id):
    return session.execute(select(PassportVersion).where(
        PassportVersion.pupil_id == pupil_id).order_by(PassportVersion.version)).scalars().all()


def save_passport_draft(uow, pupil, data, *, actor):
    """A new draft version; earlier versions are kept unchanged."""
    session = uow.session
    last = session.execute(select(func.max(PassportVersion.version)).where(
        PassportVersion.pupil_id == pupil.id)).scalar_one()
    version = PassportVersion(id=new_id(), pupil_id=pupil.id, version=(last or 0) + 1,
                              status="draft", org_id=pupil.org_id, created_at=utcnow(),
                              created_by=actor, **data)
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
    if version.status == "published":
        raise Conflict("This version is already published",
                       errors={"version": ["Already published"]})
    version.status, version.published_at, version.published_by = "published", utcnow(), actor
    session.flush()
    uow.emit("passport.published", {"pupil_id": pupil.id, "org_id": pupil.org_id,
                                    "passport_id": version.id, "version": version.version},
             org_id=pupil.org_id, actor=actor)
    return version


# -- EHC plans -----------------------------------------------------------------------

def plan_view(session, plan):
    pauses = pauses_of(session, plan.id)
    return {**{c.key: getattr(plan, c.key) for c in EhcPlan.__table__.columns},
            "pauses": pauses, "deadlines": domain.plan_deadlines(plan, _pauses(pauses))}


def _pauses(rows):
    return [domain.Pause(p.starts_on, p.ends_on) for p in rows]


def pauses_of(session, plan_id):
    return session.execute(select(EhcPause).where(EhcPause.plan_id == plan_id)
                           .order_by(EhcPause.starts_on)).scalars().all()


def get_plan(session, pupil, plan_id):
    plan = session.execute(select(EhcPlan).where(
        EhcPlan.id == plan_id, EhcPlan.pupil_id == pupil.id)).scalar_one_or_none()
    if plan is None:
        raise NotFound("No such EHC plan")
    return plan


def create_plan(session, pupil, data):
    now = utcnow()
    plan = EhcPlan(id=new_id(), pupil_id=pupil.id, request_date=data["request_date"],
                   phase_transfer_year=data.get("phase_transfer_year"),
                   phase_transfer_kind=data.get("phase_transfer_kind"),
                   phase_transfer_on=data.get("phase_transfer_on"),
                   assessment_refused=False, issue_refused=False, created_at=now,
                   updated_at=now)
    errors = domain.plan_record_errors(plan)
    if errors:
        raise Unprocessable("The phase transfer needs its date", errors=errors)
    session.add(plan)
    session.flush()
    return plan


STEP_ORDER = ("request_date", "decision_to_assess_on", "decision_to_issue_on", "issued_on",
              "last_review_on")


def update_plan(session, plan, data):
    for key, value in data.items():
        setattr(plan, key, value)
    errors = {}
    previous_field, previous = "request_date", plan.request_date
    for field in STEP_ORDER[1:]:
        value = getattr(plan, field)
        if value is None:
            continue
        if value < previous:
            errors[field] = [f"Must not be before {previous_field}"]
        previous_field, previous = field, value
    if plan.phase_transfer_amended_on and not plan.issued_on:
        errors["phase_transfer_amended_on"] = ["The plan has not been issued"]
    errors.update(domain.plan_record_errors(plan))
    if errors:
        raise Unprocessable("The plan's dates are out of order", errors=errors)
    plan.updated_at = utcnow()
    session.flush()


def add_pause(session, plan, data):
    errors = domain.pause_errors(data["reason"], data["starts_on"], data.get("ends_on"),
                                 request_date=plan.request_date, issued_on=plan.issued_on)
    if errors:
        raise Unprocessable("Not a lawful pause of the statutory clock ("
                            + domain.PAUSE_RULE + ")", errors=errors)
    for other in pauses_of(session, plan.id):
        end = other.ends_on or date.max
        if data["starts_on"] <= end and (data.get("ends_on") or date.max) >= other.starts_on:
            raise Conflict("Pauses must not overlap", errors={"starts_on": ["Overlaps a pause"]})
    pause = EhcPause(id=new_id(), plan_id=plan.id, **data)
    session.add(pause)
    session.flush()
    return pause


def end_pause(session, plan, pause_id, ends_on):
    pause = session.execute(select(EhcPause).where(
        EhcPause.id == pause_id, EhcPause.plan_id == plan.id)).scalar_one_or_none()
    if pause is None:
        raise NotFound("No such pause")
    if pause.ends_on is not None:
        raise Conflict("The pause has already ended", errors={"ends_on": ["Already ended"]})
    if ends_on < pause.starts_on:
        raise Unprocessable("A pause ends after it starts",
                            errors={"ends_on": ["Must not be before starts_on"]})
    errors = domain.pause_errors(pause.reason, pause.starts_on, ends_on,
                                 request_date=plan.request_date)
    if errors:
        raise Unprocessable("Not a lawful pause of the statutory clock ("
                            + domain.PAUSE_RULE + ")", errors=errors)
    pause.ends_on = ends_on
    session.flush()


def send_due_reminders(db, today, *, lead_working_days, working_days=None):
    """The daily EHC timer's work: emit each reminder due today exactly once (the
    record of what was sent and the event commit together). Returns the reminders."""
    working_days = working_days or domain.WorkingDays()
    with db.unit_of_work() as uow:
        s = uow.session
        plans = s.execute(select(EhcPlan, Pupil.org_id).join(Pupil, Pupil.id == EhcPlan.pupil_id)
                          .where(Pupil.anonymised_at.is_(None))).all()
        pauses = {}
        for p in s.execute(select(EhcPause)).scalars():
            pauses.setdefault(p.plan_id, []).append(domain.Pause(p.starts_on, p.ends_on))
        sent = {(r.plan_id, r.deadline, r.due_date)
                for r in s.execute(select(EhcReminderSent)).scalars()}
        reminders = domain.due_reminders(
            ((plan, pauses.get(plan.id, []), plan.pupil_id, org_id) for plan, org_id in plans),
            today, lead_working_days=lead_working_days, working_days=working_days,
            already_sent=sent)
        for r in reminders:
            s.add(EhcReminderSent(plan_id=r.plan_id, deadline=r.deadline, due_date=r.due_date,
                                  sent_at=utcnow()))
            uow.emit(r.event_type, r.event_data(), org_id=r.org_id, actor="pupils.ehcp-timer")
    return reminders


def overdue_plans(session, org_ids, today):
    """Every open statutory deadline already past, of the plans of pupils in `org_ids`
    (None: the whole trust), oldest first."""
    q = (select(EhcPlan, Pupil.org_id).join(Pupil, Pupil.id == EhcPlan.pupil_id)
         .where(Pupil.anonymised_at.is_(None)))
    if org_ids is not None:
        q = q.where(Pupil.org_id.in_(org_ids))
    rows = session.execute(q).all()
    pauses = {}
    if rows:
        for p in session.execute(select(EhcPause).where(
                EhcPause.plan_id.in_([plan.id for plan, _ in rows]))).scalars():
            pauses.setdefault(p.plan_id, []).append(domain.Pause(p.starts_on, p.ends_on))
    items = []
    for plan, org_id in rows:
        for step, due in domain.overdue_deadlines(plan, pauses.get(plan.id, []), today):
            items.append({"plan_id": plan.id, "pupil_id": plan.pupil_id, "org_id": org_id,
                          "deadline": step, "due": due, "days_overdue": (today - due).days})
    return sorted(items, key=lambda i: (i["due"], i["plan_id"], i["deadline"]))


# -- moves ---------------------------------------------------------------------------

def move_pupil(uow, pupil, data, *, actor):
    session = uow.session
    to_org = session.get(Organisation, data["to_org_id"])
    if to_org is None or to_org.kind not in domain.PUPIL_ORG_KINDS:
        raise Unprocessable("Pupils move only to a school or ARB of the trust",
                            errors={"to_org_id": ["Not a school or ARB of the trust"]})
    if to_org.id == pupil.org_id:
        raise Unprocessable("The pupil is already there",
                            errors={"to_org_id": ["The pupil's current organisation"]})
    move = Move(id=new_id(), pupil_id=pupil.id, from_org_id=pupil.org_id, to_org_id=to_org.id,
                moved_on=data["moved_on"], consent_given_by=data["consent"]["given_by"],
                consent_date=data["consent"]["date"], recorded_by=actor, recorded_at=utcnow())
    session.add(move)
    pupil.org_id = to_org.id
    pupil.updated_at = utcnow()
    session.flush()
    uow.emit("pupil.moved", {"pupil_id": pupil.id, "from_org_id": move.from_org_id,
                             "to_org_id": move.to_org_id,
                             "moved_on": move.moved_on.isoformat()},
             org_id=move.to_org_id, actor=actor)
    return move


def moves_of(session, pupil_id):
    return session.execute(select(Move).where(Move.pupil_id == pupil_id)
                           .order_by(Move.recorded_at)).scalars().all()


# -- referrals ---------------------------------------------------------------------

def link_referral(session, data):
    """Link an accepted referral to the pupil with its UPN in the referring school, if
    there is one; a referral without a match links nothing. Returns the link or None."""
    try:
        upn = domain.validate_upn(data.get("pupil_upn") or "")
    except ValueError:
        return None
    pupil = session.execute(select(Pupil).where(
        Pupil.upn == upn, Pupil.org_id == data["school_org_id"])).scalar_one_or_none()
    if pupil is None or session.get(ReferralLink, data["referral_id"]) is not None:
        return None
    link = ReferralLink(referral_id=data["referral_id"], reference=data["reference"],
                        pupil_id=pupil.id, school_org_id=data["school_org_id"],
                        linked_at=utcnow())
    session.add(link)
    session.flush()
    return link


def referrals_of(session, pupil_id):
    return session.execute(select(ReferralLink).where(ReferralLink.pupil_id == pupil_id)
                           .order_by(ReferralLink.linked_at)).scalars().all()


# -- audit ---------------------------------------------------------------------------

def audit_page(session, principal, query):
    where = []
    if not access.trust_wide(principal):  # an auditor of one school sees that school's
        where.append(or_(AuditEntry.pupil_org_id == principal.org,
                         AuditEntry.actor_org_id == principal.org))
    if query.get("pupil_id"):
        where.append(AuditEntry.pupil_id == query["pupil_id"])
    total = session.execute(select(func.count()).select_from(AuditEntry).where(*where)
                            ).scalar_one()
    items = session.execute(select(AuditEntry).where(*where)
                            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                            .limit(query["limit"]).offset(query["offset"])).scalars().all()
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


# -- subject access and erasure ------------------------------------------------------

def _row(obj):
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def subject_access_export(session, pupil):
    """Everything this service holds about one pupil, as plain data."""
    plans = session.execute(select(EhcPlan).where(EhcPlan.pupil_id == pupil.id)).scalars().all()
    reads = session.execute(select(AuditEntry).where(AuditEntry.pupil_id == pupil.id)
                            .order_by(AuditEntry.id)).scalars().all()
    return {
        "pupil": _row(pupil),
        "upn_history": [_row(x) for x in upn_history(session, pupil.id)],
        "sen_register": [_row(x) for x in sen_history(session, pupil.id)],
        "guardians": [_row(x) for x in guardians_of(session, pupil.id)],
        "passport_versions": [_row(x) for x in passport_versions(session, pupil.id)],
        "ehc_plans": [{**_row(p), "pauses": [_row(x) for x in pauses_of(session, p.id)]}
                      for p in plans],
        "moves": [_row(x) for x in moves_of(session, pupil.id)],
        "referrals": [_row(x) for x in referrals_of(session, pupil.id)],
        "record_reads": [_row(x) for x in reads],
    }


def erase_pupil(uow, pupil, *, actor):
    """Erase the pupil, or anonymise where the SEN record must be kept; emit pupil.erased."""
    session = uow.session
    has_plan = session.execute(select(EhcPlan.id).where(EhcPlan.pupil_id == pupil.id)
                               ).first() is not None
    mode = domain.erasure_mode(sen_status=pupil.sen_status, has_plan=has_plan)
    pupil_id, org_id = pupil.id, pupil.org_id
    for model in (Guardian, PassportVersion, UpnChange, ReferralLink):
        session.execute(delete(model).where(model.pupil_id == pupil_id))
    if mode == "erased":
        plan_ids = select(EhcPlan.id).where(EhcPlan.pupil_id == pupil_id)
        session.execute(delete(EhcReminderSent).where(EhcReminderSent.plan_id.in_(plan_ids)))
        session.execute(delete(EhcPause).where(EhcPause.plan_id.in_(plan_ids)))
        for model in (EhcPlan, SenRegisterEntry, Move):
            session.execute(delete(model).where(model.pupil_id == pupil_id))
        session.delete(pupil)
    else:  # keep the SEN register and the plan's dates, nothing that identifies the child
        pupil.upn, pupil.legal_surname, pupil.forename = None, "", ""
        pupil.date_of_birth = None
        pupil.anonymised_at = pupil.updated_at = utcnow()
        session.execute(Move.__table__.update().where(Move.pupil_id == pupil_id).values(
            consent_given_by=""))
    session.flush()
    uow.emit("pupil.erased", {"pupil_id": pupil_id, "org_id": org_id, "mode": mode},
             org_id=org_id, actor=actor)
    return mode

