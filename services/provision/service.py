"""Provision service entrypoints: parse, authorise, call the domain, respond.

Scope: senco and teacher act in their own organisation (a teacher records sessions
and reviews, and reads); trust_admin acts trust-wide; auditor reads only, trust-wide
when their token's organisation is the trust, else in their own organisation.
Another organisation's record is not found (404), never forbidden."""

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import func, select
from werkzeug.wrappers import Response

from services.common import access, settings
from services.common.consumer import Permanent, subscribe
from services.common.db import DatabaseProvider, utcnow
from services.common.http import api
from services.common.outbox import OutboxRelay
from services.common.problems import Conflict, NotFound, Unprocessable
from services.common.service import PlatformService
from services.common.timers import timer_from_setting
from services.contracts import school_calendar
from services.contracts.names import label
from services.contracts.school_calendar import SchoolTerm

from . import documents, domain, records
from .models import (
    Assignment,
    AssignmentPupil,
    AssignmentTarget,
    Attendance,
    Base,
    CatalogueEntry,
    Cycle,
    DeliveredSession,
    Organisation,
    Outcome,
    Pupil,
    Recommendation,
    RoleRate,
    Target,
)
from .schemas import (
    AssignmentCreateSchema,
    AssignmentEndSchema,
    AssignmentQuerySchema,
    AssignmentSchema,
    CalendarBodySchema,
    CalendarSchema,
    CatalogueCreateSchema,
    CatalogueEntrySchema,
    CatalogueQuerySchema,
    CatalogueUpdateSchema,
    CostQuerySchema,
    CycleCreateSchema,
    CycleReviewSchema,
    CycleSchema,
    DueQuerySchema,
    MapQuerySchema,
    OutcomeCreateSchema,
    OutcomeSchema,
    PupilMapSchema,
    RecommendationQuerySchema,
    RecommendationSchema,
    ReportQuerySchema,
    SessionCreateSchema,
    SessionSchema,
    SettingsSchema,
    TargetCreateSchema,
    TargetSchema,
)

P = "/api/v1/provision"
READERS = ("senco", "teacher", "trust_admin", "auditor")
REPORT_READERS = ("senco", "trust_admin", "auditor")
WRITERS = ("senco", "trust_admin")
RECORDERS = ("senco", "teacher", "trust_admin")

IMPACT_COLUMNS = ["catalogue_id", "provision", "tier", "org_id", "organisation", "pupils",
                  "targets", "targets_reviewed", "targets_met", "share_met", "average_progress",
                  "average_level",
                  "cost_to_date", "cost_per_pupil", "cost_per_target_met"]


def _academic_year(text):
    """'2026-27' (as in a URL) → '2026/27'; 404 for anything else."""
    start, _, end = text.partition("-")
    if not (start.isdigit() and len(start) == 4 and end == f"{(int(start) + 1) % 100:02d}"):
        raise NotFound("No such academic year (write it as 2026-27)")
    return f"{start}/{end}"


def _invalid(exc):
    if exc.field:
        return Unprocessable(str(exc), errors={exc.field: [str(exc)]})
    return Conflict(str(exc))


def _field_error(field, message):
    return Unprocessable(message, errors={field: [message]})


def _pct(value):
    return None if value is None else (value * 100).quantize(domain.Decimal("0.1"),
                                                             rounding=domain.ROUND_HALF_UP)


def _dec(value, places="0.01"):
    return None if value is None else value.quantize(domain.Decimal(places),
                                                     rounding=domain.ROUND_HALF_UP)


def _ids(data, *keys):
    """Identifiers in an event must fit the projection's columns, or retrying is futile."""
    for key in keys:
        if not data[key] or len(data[key]) > 36:
            raise Permanent(f"{key} is not an identifier this service can store")
    return data


def _money(value):
    m = domain.money(value)
    return None if m is None else str(m)


class ProvisionService(PlatformService):
    name = "provision"
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()

    # -- scope ----------------------------------------------------------------------

    # What a principal sees is the kit's one rule (services/common/access.py);
    # writing another organisation's records needs trust_admin (at the trust).

    @staticmethod
    def _writable(principal, org_id):
        return access.sees_org(principal, org_id, roles=("trust_admin",))

    def _pupil(self, s, principal, pupil_id, field=None, write=False):
        pupil = s.get(Pupil, pupil_id)
        ok = pupil is not None and (self._writable(principal, pupil.org_id) if write
                                    else access.sees_org(principal, pupil.org_id))
        if not ok:
            if field:
                raise _field_error(field, "No such pupil")
            raise NotFound("No such pupil")
        return pupil

    # -- catalogue ------------------------------------------------------------------

    @api("POST", f"{P}/catalogue", roles=WRITERS, body=CatalogueCreateSchema,
         response=CatalogueEntrySchema, status=201, summary="Add provision to the catalogue")
    def create_catalogue_entry(self, request, principal, body):
        org_id = body.pop("org_id")
        if principal.has_any(("trust_admin",)):
            pass  # None: a trust-wide shared entry
        elif org_id is not None and org_id != principal.org:
            raise _field_error("org_id", "You can only add to your own organisation's catalogue")
        else:
            org_id = principal.org
        if body["cost_amount"] is None:
            body["cost_amount"] = domain.ZERO
        with self.db.unit_of_work() as uow:
            entry = CatalogueEntry(id=domain.new_id(), org_id=org_id, active=True,
                                   created_by=principal.sub, created_at=utcnow(), **body)
            uow.session.add(entry)
        return entry

    @api("GET", f"{P}/catalogue", many=True, roles=READERS, query=CatalogueQuerySchema,
         response=CatalogueEntrySchema, summary="Your catalogue and the trust's shared entries")
    def list_catalogue(self, request, principal, query):
        with self.db.session() as s:
            q = select(CatalogueEntry)
            if not access.trust_wide(principal):
                q = q.where((CatalogueEntry.org_id == principal.org)
                            | CatalogueEntry.org_id.is_(None))
            for key in ("tier", "area_of_need"):
                if key in query:
                    q = q.where(getattr(CatalogueEntry, key) == query[key])
            if not query["include_inactive"]:
                q = q.where(CatalogueEntry.active.is_(True))
            return s.execute(q.order_by(CatalogueEntry.name, CatalogueEntry.id)).scalars().all()

    def _entry(self, s, principal, entry_id, write=False):
        entry = s.get(CatalogueEntry, entry_id)
        if entry is None:
            raise NotFound("No such catalogue entry")
        if entry.org_id is None:
            if write and not principal.has_any(("trust_admin",)):
                raise NotFound("No such catalogue entry")  # shared entries: trust_admin edits
        elif not (self._writable(principal, entry.org_id) if write
                  else access.sees_org(principal, entry.org_id)):
            raise NotFound("No such catalogue entry")
        return entry

    @api("GET", f"{P}/catalogue/<string:entry_id>", roles=READERS,
         response=CatalogueEntrySchema, summary="One catalogue entry")
    def get_catalogue_entry(self, request, principal, entry_id):
        with self.db.session() as s:
            return self._entry(s, principal, entry_id)

    @api("PATCH", f"{P}/catalogue/<string:entry_id>", roles=WRITERS,
         body=CatalogueUpdateSchema, response=CatalogueEntrySchema,
         summary="Change a catalogue entry's wording, cost or availability")
    def update_catalogue_entry(self, request, principal, body, entry_id):
        with self.db.unit_of_work() as uow:
            entry = self._entry(uow.session, principal, entry_id, write=True)
            for key, value in body.items():
                setattr(entry, key, value)
        return entry

    # -- organisation settings ----------------------------------------------------

    @api("PUT", f"{P}/organisations/<string:org_id>/settings", roles=WRITERS,
         body=SettingsSchema, response=SettingsSchema,
         summary="Set the notional SEN budget (trust_admin) and staff role rates")
    def put_settings(self, request, principal, body, org_id):
        if not self._writable(principal, org_id):
            raise NotFound("No such organisation")
        with self.db.unit_of_work() as uow:
            s = uow.session
            org = s.get(Organisation, org_id) or Organisation(org_id=org_id)
            s.add(org)
            if "sen_budget" in body:
                if not principal.has_any(("trust_admin",)):
                    raise _field_error("sen_budget", "Only the trust sets the notional SEN budget")
                org.sen_budget = body["sen_budget"]
            for role, rate in body["role_rates"].items():
                row = s.get(RoleRate, (org_id, role)) or RoleRate(org_id=org_id, role=role)
                row.hourly_rate = rate
                s.add(row)
            s.flush()
            return self._settings(s, org_id)

    @api("GET", f"{P}/organisations/<string:org_id>/settings", roles=REPORT_READERS,
         response=SettingsSchema, summary="The SEN budget and staff role rates")
    def get_settings(self, request, principal, org_id):
        with self.db.session() as s:
            if not access.sees_org(principal, org_id):
                raise NotFound("No such organisation")
            return self._settings(s, org_id)

    def _settings(self, s, org_id):
        org = s.get(Organisation, org_id)
        rates = s.execute(select(RoleRate).where(RoleRate.org_id == org_id)).scalars()
        return {"sen_budget": org.sen_budget if org else None,
                "role_rates": {r.role: r.hourly_rate for r in rates}}

    # -- school calendar --------------------------------------------------------------

    @api("PUT", f"{P}/organisations/<string:org_id>/calendar/<string:year>", roles=WRITERS,
         body=CalendarBodySchema, response=CalendarSchema,
         summary="Set a school's term dates and INSET days for an academic year (2026-27)")
    def put_calendar(self, request, principal, body, org_id, year):
        academic_year = _academic_year(year)
        if not self._writable(principal, org_id):
            raise NotFound("No such organisation")
        terms = [SchoolTerm(**t) for t in body["terms"]]
        errors = school_calendar.calendar_errors(academic_year, terms, body["inset_days"])
        if errors:
            raise Unprocessable("The term dates do not fit the school year", errors=errors)
        with self.db.unit_of_work() as uow:
            records.set_calendar(uow.session, org_id, academic_year, terms, body["inset_days"])
            return self._calendar(uow.session, org_id, academic_year)

    @api("GET", f"{P}/organisations/<string:org_id>/calendar/<string:year>", roles=READERS,
         response=CalendarSchema,
         summary="A school's school days for a year: its own dates or the LA pattern")
    def get_calendar(self, request, principal, org_id, year):
        academic_year = _academic_year(year)
        with self.db.session() as s:
            if not access.sees_org(principal, org_id):
                raise NotFound("No such organisation")
            return self._calendar(s, org_id, academic_year)

    def _calendar(self, s, org_id, academic_year):
        cal = records.calendars(s, [org_id]).get(org_id) or school_calendar.LA_CALENDAR
        days = len(cal.days_of_year(academic_year))
        own = cal is not school_calendar.LA_CALENDAR
        warnings = [] if days == school_calendar.SCHOOL_DAYS_A_YEAR else [
            f"{days} school days: the statutory school year is "
            f"{school_calendar.SCHOOL_DAYS_A_YEAR} days (380 sessions)"]
        return {"org_id": org_id, "academic_year": academic_year,
                "source": "school" if own else "local_authority_pattern",
                "terms": cal.terms(academic_year),
                "inset_days": sorted(cal.inset_days(academic_year)),
                "school_days": days, "sessions": days * school_calendar.SESSIONS_A_DAY,
                "warnings": warnings}

    # -- assignments ------------------------------------------------------------------

    @api("POST", f"{P}/assignments", roles=WRITERS, body=AssignmentCreateSchema,
         response=AssignmentSchema, status=201,
         summary="Assign provision to a pupil or a group of pupils")
    def create_assignment(self, request, principal, body):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            s = uow.session
            pupils = [self._pupil(s, principal, p, field=f"pupil_ids.{i}", write=True)
                      for i, p in enumerate(body["pupil_ids"])]
            org_id = pupils[0].org_id
            if any(p.org_id != org_id for p in pupils):
                raise _field_error("pupil_ids", "A group's pupils must be at one organisation")
            entry = s.get(CatalogueEntry, body["catalogue_id"])
            if entry is None or entry.org_id not in (None, org_id) or not entry.active:
                raise _field_error("catalogue_id", "No such provision in the catalogue")
            if len(pupils) > entry.group_size:
                raise _field_error("pupil_ids",
                                   f"This provision takes at most {entry.group_size} pupils")
            if entry.cost_basis == "staff_rate" and s.get(RoleRate,
                                                          (org_id, entry.delivered_by)) is None:
                raise _field_error("catalogue_id",
                                   f"Set an hourly rate for {entry.delivered_by} first")
            if body["statutory"] and any(p.sen_status != "E" for p in pupils):
                raise _field_error("statutory", "Statutory provision is for pupils with an "
                                   "EHC plan (section F)")
            if body["target_ids"]:
                found = s.execute(select(Target.id, Target.pupil_id)
                                  .where(Target.id.in_(body["target_ids"]))).all()
                ok = {t.id for t in found if t.pupil_id in body["pupil_ids"]}
                for i, t in enumerate(body["target_ids"]):
                    if t not in ok:
                        raise _field_error(f"target_ids.{i}", "No such target for these pupils")
            a = Assignment(id=domain.new_id(), org_id=org_id, catalogue_id=entry.id,
                           start_date=body["start_date"], end_date=body["end_date"],
                           sessions_per_week=body["sessions_per_week"], staff=body["staff"],
                           statutory=body["statutory"], status=domain.ACTIVE,
                           created_by=principal.sub, created_at=now)
            s.add(a)
            s.flush()
            s.add_all(AssignmentPupil(assignment_id=a.id, pupil_id=p.pupil_id,
                                      joined_on=body["start_date"]) for p in pupils)
            s.add_all(AssignmentTarget(assignment_id=a.id, target_id=t)
                      for t in body["target_ids"])
            s.flush()
            uow.emit("provision.assigned", {
                "assignment_id": a.id, "org_id": org_id, "catalogue_id": entry.id,
                "pupil_ids": body["pupil_ids"], "tier": entry.tier,
                "area_of_need": entry.area_of_need, "start_date": a.start_date,
                "end_date": a.end_date, "sessions_per_week": a.sessions_per_week,
                "statutory": a.statutory, "target_ids": body["target_ids"],
            }, org_id=org_id, actor=principal.sub)
            return self._assignment_views(s, [a])[0]

    def _assignment(self, s, principal, assignment_id, write=False):
        a = s.get(Assignment, assignment_id)
        if a is None or not (self._writable(principal, a.org_id) if write
                             else access.sees_org(principal, a.org_id)):
            raise NotFound("No such assignment")
        return a

    def _assignment_views(self, s, assignments):
        ids = [a.id for a in assignments]
        members, targets = defaultdict(list), defaultdict(list)
        for m in s.execute(select(AssignmentPupil).where(AssignmentPupil.assignment_id.in_(ids))
                           .order_by(AssignmentPupil.pupil_id)).scalars():
            members[m.assignment_id].append(m)
        for t in s.execute(select(AssignmentTarget).where(
                AssignmentTarget.assignment_id.in_(ids))).scalars():
            targets[t.assignment_id].append(t.target_id)
        counts = dict(s.execute(select(DeliveredSession.assignment_id, func.count())
                                .where(DeliveredSession.assignment_id.in_(ids))
                                .group_by(DeliveredSession.assignment_id)).all())
        entries = {e.id: e for e in s.execute(select(CatalogueEntry).where(
            CatalogueEntry.id.in_({a.catalogue_id for a in assignments}))).scalars()}
        return [{
            **{k: getattr(a, k) for k in ("id", "org_id", "catalogue_id", "start_date",
                                          "end_date", "sessions_per_week", "staff", "statutory",
                                          "status", "ended_on", "end_reason", "review_cycle_id")},
            "provision": entries[a.catalogue_id].name, "tier": entries[a.catalogue_id].tier,
            "members": members[a.id], "target_ids": sorted(targets[a.id]),
            "sessions_delivered": counts.get(a.id, 0),
        } for a in assignments]

    @api("GET", f"{P}/assignments", many=True, roles=READERS, query=AssignmentQuerySchema,
         response=AssignmentSchema, summary="The provision map: assignments")
    def list_assignments(self, request, principal, query):
        with self.db.session() as s:
            org_id = access.scoped_org(principal, query.get("org_id"))
            q = select(Assignment)
            if org_id is not None:
                q = q.where(Assignment.org_id == org_id)
            if "pupil_id" in query:
                q = q.where(Assignment.id.in_(select(AssignmentPupil.assignment_id).where(
                    AssignmentPupil.pupil_id == query["pupil_id"])))
            if "status" in query:
                q = q.where(Assignment.status == query["status"])
            rows = s.execute(q.order_by(Assignment.start_date, Assignment.id)
                             .limit(query["limit"]).offset(query["offset"])).scalars().all()
            return self._assignment_views(s, rows)

    @api("GET", f"{P}/assignments/<string:assignment_id>", roles=READERS,
         response=AssignmentSchema, summary="One assignment")
    def get_assignment(self, request, principal, assignment_id):
        with self.db.session() as s:
            return self._assignment_views(s, [self._assignment(s, principal, assignment_id)])[0]

    @api("POST", f"{P}/assignments/<string:assignment_id>/sessions", roles=RECORDERS,
         body=SessionCreateSchema, response=SessionSchema, status=201,
         summary="Record a session delivered and who attended")
    def record_session(self, request, principal, body, assignment_id):
        if body["held_on"] > utcnow().date():
            raise _field_error("held_on", "Must not be in the future")
        with self.db.unit_of_work() as uow:
            s = uow.session
            a = self._assignment(s, principal, assignment_id, write=True)
            last = a.ended_on or a.end_date
            if not a.start_date <= body["held_on"] <= last:
                raise _field_error("held_on", "Must fall while the provision runs")
            members = {m.pupil_id: m for m in s.execute(select(AssignmentPupil).where(
                AssignmentPupil.assignment_id == a.id)).scalars()}
            for i, row in enumerate(body["attendance"]):
                m = members.get(row["pupil_id"])
                if m is None or m.joined_on > body["held_on"] or (
                        m.left_on is not None and m.left_on < body["held_on"]):
                    raise _field_error(f"attendance.{i}.pupil_id",
                                       "Not in this group on that day")
            entry = s.get(CatalogueEntry, a.catalogue_id)
            session = DeliveredSession(
                id=domain.new_id(), assignment_id=a.id, held_on=body["held_on"],
                minutes=body["minutes"] or entry.session_minutes,
                register_size=len(body["attendance"]), note=body["note"],
                recorded_by=principal.sub, recorded_at=utcnow())
            s.add(session)
            s.flush()
            s.add_all(Attendance(session_id=session.id, pupil_id=r["pupil_id"],
                                 attended=r["attended"]) for r in body["attendance"])
        return {**{k: getattr(session, k) for k in ("id", "assignment_id", "held_on", "minutes",
                                                    "register_size")},
                "attended": sum(1 for r in body["attendance"] if r["attended"])}

    @api("POST", f"{P}/assignments/<string:assignment_id>/end", roles=WRITERS,
         body=AssignmentEndSchema, response=AssignmentSchema,
         summary="End provision early, with a reason (statutory provision needs a review)")
    def end_assignment(self, request, principal, body, assignment_id):
        with self.db.unit_of_work() as uow:
            s = uow.session
            a = self._assignment(s, principal, assignment_id, write=True)
            pupil_ids = list(s.execute(select(AssignmentPupil.pupil_id).where(
                AssignmentPupil.assignment_id == a.id)).scalars())
            review = None
            if body["review_cycle_id"]:
                cycle = s.get(Cycle, body["review_cycle_id"])
                if cycle is None or cycle.pupil_id not in pupil_ids:
                    raise _field_error("review_cycle_id", "No such cycle for these pupils")
                review = (cycle.status, cycle.reviewed_on)
            try:
                domain.check_can_end(statutory=a.statutory, start=a.start_date,
                                     ended_on=body["ended_on"], planned_end=a.end_date,
                                     status=a.status, review=review)
            except domain.RuleBroken as exc:
                raise _invalid(exc) from None
            a.status, a.ended_on, a.end_reason = domain.ENDED, body["ended_on"], body["reason"]
            a.end_note, a.review_cycle_id = body["note"], body["review_cycle_id"]
            uow.emit("provision.ended", {
                "assignment_id": a.id, "org_id": a.org_id, "pupil_ids": sorted(pupil_ids),
                "ended_on": a.ended_on, "reason": a.end_reason, "statutory": a.statutory,
                "review_cycle_id": a.review_cycle_id,
            }, org_id=a.org_id, actor=principal.sub)
            s.flush()
            return self._assignment_views(s, [a])[0]

    # -- targets and outcomes ---------------------------------------------------------

    @api("POST", f"{P}/targets", roles=WRITERS, body=TargetCreateSchema, response=TargetSchema,
         status=201, summary="Set a SMART target for a pupil")
    def create_target(self, request, principal, body):
        with self.db.unit_of_work() as uow:
            pupil = self._pupil(uow.session, principal, body["pupil_id"], field="pupil_id",
                                write=True)
            target = Target(id=domain.new_id(), org_id=pupil.org_id, created_by=principal.sub,
                            created_at=utcnow(), **body)
            uow.session.add(target)
            uow.session.flush()
            return self._target_views(uow.session, [target])[0]

    def _target(self, s, principal, target_id, write=False):
        t = s.get(Target, target_id)
        if t is None or not (self._writable(principal, t.org_id) if write
                             else access.sees_org(principal, t.org_id)):
            raise NotFound("No such target")
        return t

    def _target_views(self, s, targets):
        outcomes = defaultdict(list)
        for o in s.execute(select(Outcome).where(Outcome.target_id.in_([t.id for t in targets]))
                           .order_by(Outcome.reviewed_on, Outcome.recorded_at)).scalars():
            outcomes[o.target_id].append(o)
        views = []
        for t in targets:
            history = outcomes[t.id]
            latest = history[-1] if history else None
            scored = [o for o in history if o.score is not None]
            gain, pct = domain.score_gain(t.baseline_score, scored[-1].score if scored else None,
                                          t.target_score)
            views.append({
                **{c.key: getattr(t, c.key) for c in Target.__table__.columns},
                "outcomes": history,
                "latest_level": latest.level if latest else None,
                "latest_progress": domain.LEVEL_TO_LEGACY[latest.level] if latest else None,
                "met": domain.is_met(latest.progress if latest else None),
                "score_gain": gain, "percent_of_expected_gain": pct,
            })
        return views

    @api("GET", f"{P}/targets/<string:target_id>", roles=READERS, response=TargetSchema,
         summary="One target and its outcomes")
    def get_target(self, request, principal, target_id):
        with self.db.session() as s:
            return self._target_views(s, [self._target(s, principal, target_id)])[0]

    @api("POST", f"{P}/targets/<string:target_id>/outcomes", roles=RECORDERS,
         body=OutcomeCreateSchema, response=OutcomeSchema, status=201,
         summary="Record progress on a target at a review")
    def record_outcome(self, request, principal, body, target_id):
        with self.db.unit_of_work() as uow:
            target = self._target(uow.session, principal, target_id, write=True)
            return self._record_outcome(uow, principal, target, body)

    def _record_outcome(self, uow, principal, target, body, field_prefix=""):
        if body["reviewed_on"] > utcnow().date():
            raise _field_error(f"{field_prefix}reviewed_on", "Must not be in the future")
        if body.get("cycle_id"):
            cycle = uow.session.get(Cycle, body["cycle_id"])
            if cycle is None or cycle.pupil_id != target.pupil_id:
                raise _field_error(f"{field_prefix}cycle_id", "No such cycle for this pupil")
        try:
            domain.check_level_against_score(body["level"], body["score"], target.target_score,
                                             target.baseline_score)
        except domain.RuleBroken as exc:
            raise _field_error(f"{field_prefix}level", str(exc)) from None
        outcome = Outcome(id=domain.new_id(), target_id=target.id, cycle_id=body.get("cycle_id"),
                          reviewed_on=body["reviewed_on"], level=body["level"],
                          progress=domain.LEVEL_RANK[body["level"]],
                          score=body["score"], note=body["note"], recorded_by=principal.sub,
                          recorded_at=utcnow())
        uow.session.add(outcome)
        uow.emit("outcome.recorded", {
            "outcome_id": outcome.id, "target_id": target.id, "pupil_id": target.pupil_id,
            "org_id": target.org_id, "cycle_id": outcome.cycle_id,
            "reviewed_on": outcome.reviewed_on,
            "progress": domain.LEVEL_TO_LEGACY[outcome.level], "level": outcome.level,
            "met": domain.is_met(outcome.progress),
        }, org_id=target.org_id, actor=principal.sub)
        return outcome

    # -- assess-plan-do-review cycles ---------------------------------------------

    @api("POST", f"{P}/cycles", roles=WRITERS, body=CycleCreateSchema, response=CycleSchema,
         status=201, summary="Open an assess-plan-do-review cycle for a pupil")
    def create_cycle(self, request, principal, body):
        try:
            domain.check_review_date(body["started_on"], body["review_date"])
        except domain.RuleBroken as exc:
            raise _invalid(exc) from None
        with self.db.unit_of_work() as uow:
            s = uow.session
            pupil = self._pupil(s, principal, body["pupil_id"], field="pupil_id", write=True)
            if s.execute(select(Cycle.id).where(Cycle.pupil_id == pupil.pupil_id,
                                                Cycle.status == domain.OPEN)).first():
                raise Conflict("Review the pupil's open cycle before starting another")
            number = (s.execute(select(func.max(Cycle.number)).where(
                Cycle.pupil_id == pupil.pupil_id)).scalar() or 0) + 1
            cycle = Cycle(id=domain.new_id(), org_id=pupil.org_id, number=number,
                          status=domain.OPEN, created_by=principal.sub, created_at=utcnow(),
                          **body)
            s.add(cycle)
            s.flush()
            uow.emit("apdr_cycle.opened", {
                "cycle_id": cycle.id, "pupil_id": cycle.pupil_id, "org_id": cycle.org_id,
                "number": number, "started_on": cycle.started_on,
                "review_date": cycle.review_date}, org_id=cycle.org_id, actor=principal.sub)
            return self._cycle_view(cycle)

    def _cycle_view(self, c):
        return {**{col.key: getattr(c, col.key) for col in Cycle.__table__.columns},
                "overdue": c.status == domain.OPEN and c.review_date < utcnow().date()}

    @api("POST", f"{P}/cycles/<string:cycle_id>/review", roles=RECORDERS,
         body=CycleReviewSchema, response=CycleSchema,
         summary="Review a cycle, with progress on each target reviewed")
    def review_cycle(self, request, principal, body, cycle_id):
        if body["reviewed_on"] > utcnow().date():
            raise _field_error("reviewed_on", "Must not be in the future")
        with self.db.unit_of_work() as uow:
            s = uow.session
            cycle = s.get(Cycle, cycle_id)
            if cycle is None or not self._writable(principal, cycle.org_id):
                raise NotFound("No such cycle")
            if cycle.status != domain.OPEN:
                raise Conflict("This cycle has already been reviewed")
            if body["reviewed_on"] < cycle.started_on:
                raise _field_error("reviewed_on", "Must not be before the cycle started")
            met = 0
            for i, row in enumerate(body["outcomes"]):
                target = s.get(Target, row["target_id"])
                if target is None or target.pupil_id != cycle.pupil_id:
                    raise _field_error(f"outcomes.{i}.target_id", "No such target for this pupil")
                self._record_outcome(uow, principal, target,
                                     {**row, "reviewed_on": body["reviewed_on"],
                                      "cycle_id": cycle.id}, field_prefix=f"outcomes.{i}.")
                met += domain.is_met(domain.LEVEL_RANK[row["level"]])
            cycle.status, cycle.reviewed_on = domain.REVIEWED, body["reviewed_on"]
            cycle.review_note = body["note"]
            uow.emit("apdr_cycle.reviewed", {
                "cycle_id": cycle.id, "pupil_id": cycle.pupil_id, "org_id": cycle.org_id,
                "number": cycle.number, "reviewed_on": cycle.reviewed_on,
                "targets_reviewed": len(body["outcomes"]), "targets_met": met,
            }, org_id=cycle.org_id, actor=principal.sub)
            return self._cycle_view(cycle)

    @api("GET", f"{P}/cycles/<string:cycle_id>", roles=READERS, response=CycleSchema,
         summary="One assess-plan-do-review cycle")
    def get_cycle(self, request, principal, cycle_id):
        with self.db.session() as s:
            cycle = s.get(Cycle, cycle_id)
            if cycle is None or not access.sees_org(principal, cycle.org_id):
                raise NotFound("No such cycle")
            return self._cycle_view(cycle)

    @api("GET", f"{P}/reviews/due", roles=READERS, query=DueQuerySchema,
         summary="Open cycles whose review is due soon, and those overdue")
    def reviews_due(self, request, principal, query):
        today = utcnow().date()
        with self.db.session() as s:
            org_id = access.scoped_org(principal, query.get("org_id"))
            q = select(Cycle).where(Cycle.status == domain.OPEN,
                                    Cycle.review_date <= today + timedelta(
                                        days=query["within_days"]))
            if org_id is not None:
                q = q.where(Cycle.org_id == org_id)
            cycles = s.execute(q.order_by(Cycle.review_date, Cycle.id)).scalars().all()
        overdue = set(c.id for c in domain.overdue_reviews(cycles, today))
        dump = CycleSchema(many=True).dump
        return {"due": dump([self._cycle_view(c) for c in cycles if c.id not in overdue]),
                "overdue": dump([self._cycle_view(c) for c in cycles if c.id in overdue])}

    @timer_from_setting("PROVISION_REVIEW_TIMER_SECONDS", 3600, eager=True)
    def announce_reviews(self):
        """Emit provision.review_due ahead of each review, once per review date.

        The check runs at start and then hourly rather than once a day: it is
        idempotent (a cycle remembers the review date it announced), so a restart
        never skips a day and a repeat never announces twice."""
        records.announce_reviews(
            self.db, utcnow().date(), int(settings.get("PROVISION_REVIEW_LEAD_DAYS", default="14")))

    # -- the pupil's map ------------------------------------------------------------

    @api("GET", f"{P}/pupils/<string:pupil_id>/map", roles=READERS, response=PupilMapSchema,
         query=MapQuerySchema,
         summary="A pupil's provision map: provision, targets, cycles and cost "
                 "(format=pdf: the costed provision map; csv or xlsx: its rows)")
    def pupil_map(self, request, principal, query, pupil_id):
        today = utcnow().date()
        with self.db.session() as s:
            pupil = self._pupil(s, principal, pupil_id)
            assignments = s.execute(select(Assignment).where(Assignment.id.in_(
                select(AssignmentPupil.assignment_id).where(
                    AssignmentPupil.pupil_id == pupil_id)))
                .order_by(Assignment.start_date, Assignment.id)).scalars().all()
            targets = s.execute(select(Target).where(Target.pupil_id == pupil_id)
                                .order_by(Target.created_at, Target.id)).scalars().all()
            cycles = s.execute(select(Cycle).where(Cycle.pupil_id == pupil_id)
                               .order_by(Cycle.number)).scalars().all()
            report, _, _ = records.load_report_data(s, today, pupil_id=pupil_id,
                                                       include_planned=True)
            cost = sum((a.costs.get(pupil_id, domain.PupilCost()) for a in report),
                       domain.PupilCost())
            views = self._assignment_views(s, assignments)
            own_targets = {t.id for t in targets}
            for view in views:
                if view["org_id"] != pupil.org_id:  # a group at a school they left:
                    view["members"] = [m for m in view["members"] if m.pupil_id == pupil_id]
                    view["target_ids"] = [t for t in view["target_ids"] if t in own_targets]
            result = {"pupil": pupil, "assignments": views,
                      "targets": self._target_views(s, targets),
                      "cycles": [self._cycle_view(c) for c in cycles],
                      "cost": {"to_date": domain.money(cost.to_date),
                               "projected": domain.money(cost.projected)}}
            if query["format"] != "json":
                per = {a.assignment_id: a.costs.get(pupil_id) for a in report}
                entries = {e.id: e for e in s.execute(select(CatalogueEntry).where(
                    CatalogueEntry.id.in_({a.catalogue_id for a in assignments}))).scalars()}
                org = s.get(Organisation, pupil.org_id)
                return documents.pupil_map(result, per, entries, query["format"], today,
                                           org.name if org else None)
            return result

    # -- costs and impact reports ---------------------------------------------------

    @api("GET", f"{P}/costs", roles=REPORT_READERS, query=CostQuerySchema,
         summary="Cost to date and projected to the end of the year, against the SEN budget")
    def costs(self, request, principal, query):
        as_of = query.get("as_of") or utcnow().date()
        with self.db.session() as s:
            org_id = access.scoped_org(principal, query.get("org_id"))
            report, entries, _ = records.load_report_data(s, as_of, org_id=org_id,
                                                             include_planned=True)
            names = records.org_names(s)
            if org_id is None:
                budget = s.execute(select(func.sum(Organisation.sen_budget))).scalar()
            else:
                org = s.get(Organisation, org_id)
                budget = org.sen_budget if org else None
        summary = domain.cost_summary(report, budget)

        def rows(group, name=None):
            return [{"key": k, **({"name": name(k)} if name else {}),
                     "cost_to_date": _money(c.to_date), "cost_projected": _money(c.projected)}
                    for k, c in sorted(summary[group].items())]

        views = {
            "pupil": rows("per_pupil"),
            "provision": rows("per_provision", lambda k: entries[k]["name"]),
            "tier": rows("per_tier"),
            "org": rows("per_org", lambda k: names.get(k)),
        }
        if query["view"] == "class":  # per class (registration group), from the projection
            with self.db.session() as s:
                groups = records.registration_groups(s, summary["per_pupil"])
            views["class"] = [
                {"key": k or "", "name": k or "No class recorded",
                 "cost_to_date": _money(c.to_date), "cost_projected": _money(c.projected)}
                for k, c in sorted(domain.costs_by(summary["per_pupil"], groups).items(),
                                   key=lambda kv: (kv[0] is None, kv[0] or ""))]
        if query["view"] != "summary":
            chosen = views[query["view"]]
            if query["format"] == "xlsx":
                with self.db.session() as s:
                    known = records.pupils_by_id(s, summary["per_pupil"])
                return documents.costs_sheet(chosen, query["view"], "xlsx", known)
            if query["format"] == "csv":
                cols = ["key"] + (["name"] if query["view"] in ("provision", "org", "class")
                                  else []) + [
                    "cost_to_date", "cost_projected"]
                return self._csv(chosen, cols, f"costs-{query['view']}")
            return {"as_of": as_of.isoformat(), "org_id": org_id, "rows": chosen}
        total = summary["total"]
        body = {"as_of": as_of.isoformat(), "org_id": org_id,
                "cost_to_date": _money(total.to_date), "cost_projected": _money(total.projected),
                "sen_budget": _money(budget), "budget_remaining": _money(summary["remaining"]),
                "budget_used_projected": (None if not budget else
                                          str(_pct(total.projected / budget))),
                "per_tier": views["tier"], "per_provision": views["provision"],
                "per_org": views["org"]}
        if query["format"] == "xlsx":
            return documents.costs_sheet(body, "summary", "xlsx")
        if query["format"] == "csv":
            flat = [{"group": "total", "key": "", "cost_to_date": body["cost_to_date"],
                     "cost_projected": body["cost_projected"]}]
            flat += [{"group": "tier", **r} for r in views["tier"]]
            flat += [{"group": "provision", **r} for r in views["provision"]]
            return self._csv(flat, ["group", "key", "name", "cost_to_date", "cost_projected"],
                             "costs")
        return body

    @api("GET", f"{P}/reports/impact", roles=REPORT_READERS, query=ReportQuerySchema,
         summary="What works where: targets met, progress and cost, by provision, "
                 "organisation or trust-wide")
    def impact(self, request, principal, query):
        as_of = query.get("as_of") or utcnow().date()
        with self.db.session() as s:
            org_id = access.scoped_org(principal, query.get("org_id"))
            rows = impact_rows(s, as_of, group_by=query["group_by"], org_id=org_id,
                               catalogue_id=query.get("catalogue_id"))
        if query["format"] == "xlsx":
            return documents.impact_sheet(rows, "xlsx", query["group_by"])
        if query["format"] == "csv":
            return self._csv(rows, IMPACT_COLUMNS, f"impact-{query['group_by']}")
        return {"as_of": as_of.isoformat(), "group_by": query["group_by"], "org_id": org_id,
                "rows": rows}

    def _csv(self, rows, columns, name):
        return Response(domain.to_csv(rows, columns), content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})

    # -- projection of the pupils service's events ------------------------------

    @subscribe("pupils", "organisation.onboarded")
    def on_organisation_onboarded(self, event, uow):
        data = _ids(event["data"], "org_id")
        org = uow.session.get(Organisation, data["org_id"]) or Organisation(org_id=data["org_id"])
        org.name, org.kind = data["name"], data["kind"]
        uow.session.add(org)

    @subscribe("pupils", "pupil.registered")
    def on_pupil_registered(self, event, uow):
        records.upsert_pupil(uow.session, _ids(event["data"], "pupil_id", "org_id"))

    @subscribe("pupils", "pupil.updated")
    def on_pupil_updated(self, event, uow):
        data = _ids(event["data"], "pupil_id", "org_id")
        pupil = uow.session.get(Pupil, data["pupil_id"])
        if pupil is None:  # registered event not seen (yet): keep what we know
            records.upsert_pupil(uow.session, data)
        else:
            pupil.year_group = data["year_group"]
            if "registration_group" in data:  # sent since the field was added
                pupil.registration_group = data["registration_group"]

    @subscribe("pupils", "pupil.sen_status_changed")
    def on_pupil_sen_status_changed(self, event, uow):
        records.upsert_pupil(uow.session, _ids(event["data"], "pupil_id", "org_id"))

    @subscribe("pupils", "pupil.moved")
    def on_pupil_moved(self, event, uow):
        data = _ids(event["data"], "pupil_id", "to_org_id")
        if records.move_pupil(uow.session, data["pupil_id"], data["to_org_id"],
                                 data["moved_on"]) is None:
            records.upsert_pupil(uow.session, {"pupil_id": data["pupil_id"],
                                                  "org_id": data["to_org_id"]})

    @subscribe("referrals", "referral.closed")
    def on_referral_closed(self, event, uow):
        data = _ids(event["data"], "referral_id", "school_org_id")
        rec = (uow.session.get(Recommendation, data["referral_id"])
               or Recommendation(referral_id=data["referral_id"]))
        rec.org_id, rec.reference, rec.outcome = (data["school_org_id"], data["reference"],
                                                  data["outcome"][:100])
        rec.areas_of_need = list(data["areas_of_need"])
        rec.recommended_provision = list(data["recommended_provision"])
        rec.closed_at = event["occurred_at"]
        uow.session.add(rec)

    @api("GET", f"{P}/recommendations", many=True, roles=REPORT_READERS, query=RecommendationQuerySchema,
         response=RecommendationSchema,
         summary="Provision outreach recommended when closing this school's referrals")
    def list_recommendations(self, request, principal, query):
        with self.db.session() as s:
            org_id = access.scoped_org(principal, query.get("org_id"))
            q = select(Recommendation)
            if org_id is not None:
                q = q.where(Recommendation.org_id == org_id)
            return s.execute(q.order_by(Recommendation.closed_at.desc(),
                                        Recommendation.referral_id)).scalars().all()

    @subscribe("pupils", "pupil.erased")
    def on_pupil_erased(self, event, uow):
        records.erase_pupil(uow.session, event["data"]["pupil_id"])


def impact_rows(s, as_of, *, group_by="provision", org_id=None, catalogue_id=None):
    """Impact report rows, ready for JSON or CSV (used by the API and the bench)."""
    rows, entries = records.impact(s, as_of, group_by=group_by, org_id=org_id,
                                      catalogue_id=catalogue_id)
    names = records.org_names(s)
    out = []
    for row in rows:
        key = dict(zip(records.KEY_COLUMNS[group_by], row.key, strict=True))
        cid, oid = key.get("catalogue_id"), key.get("org_id")
        out.append({
            "catalogue_id": cid, "provision": entries[cid]["name"] if cid else None,
            "tier": entries[cid]["tier"] if cid else None,
            "org_id": oid, "organisation": names.get(oid) if oid else None,
            "pupils": row.pupils, "targets": row.targets,
            "targets_reviewed": row.targets_reviewed, "targets_met": row.targets_met,
            "share_met": None if row.share_met is None else str(_pct(row.share_met)),
            # the average level rank (0 not yet started … 4 exceeded) and the level it
            # has reached (rounded down: an average of 2.5 is "partially met")
            "average_progress": None if row.average_progress is None
            else str(_dec(row.average_progress)),
            "average_level": None if row.average_progress is None else label(
                domain.LEVELS[int(row.average_progress)]),
            "cost_to_date": _money(row.cost), "cost_per_pupil": _money(row.cost_per_pupil),
            "cost_per_target_met": _money(row.cost_per_target_met),
        })
    return out
