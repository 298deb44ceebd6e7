"""The referrals service's reads: scoped to the caller (services/common/access.py and
domain.scope_of), on a session. Another school's (or practitioner's) record is a 404."""

from sqlalchemy import func, select

from services.common import access, errors

from . import domain
from .models import Agreement, Organisation, OverdueBreach, Referral, Transition, Visit

# -- scoping and loading -------------------------------------------------------------


def scope(principal):
    return domain.scope_of(principal.roles, principal.org, principal.sub,
                           access.trust_wide(principal))


def scope_filter(scope):
    """WHERE clauses limiting referrals to what a scope may see."""
    if scope.kind == domain.ScopeKind.ALL:
        return []
    if scope.kind == domain.ScopeKind.SCHOOL:
        return [Referral.school_org_id == scope.value]
    if scope.kind == domain.ScopeKind.PRACTITIONER:
        return [Referral.practitioner_sub == scope.value]
    return [Referral.id.is_(None)]


def for_caller(principal, referral):
    """The referral with the actions this caller may take next: the state machine's
    moves from its status that the caller's roles are authorised for."""
    referral.caller_actions = domain.allowed_actions(referral.status, principal.roles)
    return referral


def load_referral(session, principal, referral_id, for_update=False):
    """The referral if the caller may see it; another school's (or practitioner's) → 404."""
    return _one(session, select(Referral).where(
        Referral.id == referral_id, *scope_filter(scope(principal))), for_update, "referral")


def _one(session, stmt, for_update, what):
    if for_update:
        stmt = stmt.with_for_update()
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise errors.NotFound(f"No such {what}")
    return found


def get_referral(database, principal, referral_id):
    with database.session() as s:
        return for_caller(principal, load_referral(s, principal, referral_id))


def transitions(database, principal, referral_id):
    """A referral's history: its transitions, oldest first."""
    with database.session() as s:
        load_referral(s, principal, referral_id)
        return s.execute(select(Transition).where(Transition.referral_id == referral_id)
                         .order_by(Transition.id)).scalars().all()


def _visits(session, referral_id):
    return session.execute(select(Visit).where(Visit.referral_id == referral_id)
                           .order_by(Visit.visit_date, Visit.logged_at)).scalars().all()


def visits(database, principal, referral_id):
    with database.session() as s:
        load_referral(s, principal, referral_id)
        return _visits(s, referral_id)


def _filtered(principal, query):
    where = scope_filter(scope(principal))
    for key in ("status", "school_org_id", "waiting"):
        if key in query:
            where.append(getattr(Referral, key) == query[key])
    order = ((Referral.waiting_since, Referral.id) if query.get("waiting")
             else (Referral.created_at.desc(), Referral.id))
    return where, order


def list_referrals(database, principal, query):
    """A page of the referrals the caller may see, filtered by `query`."""
    where, order = _filtered(principal, query)
    with database.session() as s:
        total = s.execute(select(func.count()).select_from(Referral).where(*where)).scalar_one()
        items = s.execute(select(Referral).where(*where).order_by(*order)
                          .limit(query["limit"]).offset(query["offset"])).scalars().all()
    return {"items": [for_caller(principal, r) for r in items], "total": total,
            "limit": query["limit"], "offset": query["offset"]}


def awaiting_triage(session, ordered=False):
    """Referrals whose acknowledgement or triage clock runs (submitted or awaiting info)."""
    stmt = select(Referral).where(Referral.status.in_(domain.AWAITING_TRIAGE))
    if ordered:
        stmt = stmt.order_by(Referral.first_submitted_at)
    return session.execute(stmt).scalars().all()


def known_breaches(session, candidates):
    """(referral_id, clock, due_date) of the breaches already announced for these."""
    if not candidates:
        return set()
    return {(b.referral_id, b.clock, b.due_date) for b in session.execute(
        select(OverdueBreach).where(OverdueBreach.referral_id.in_(
            [r.id for r in candidates]))).scalars()}


def list_overdue(database, principal, today, config):
    """One row per clock breached by each referral the caller may see."""
    with database.session() as s:
        in_scope = scope(principal)
        candidates = [r for r in awaiting_triage(s, ordered=True)
                      if domain.visible(in_scope, r)]
    return {"items": domain.overdue_items(candidates, today, config.acknowledge_working_days,
                                          config.triage_working_days)}


# -- triage ----------------------------------------------------------------------------


def agreement_for(session, referral, today, for_update=False):
    """The referral's school's agreement for the term `today` falls in, or None."""
    year, term = domain.term_of(today)
    stmt = select(Agreement).where(Agreement.school_org_id == referral.school_org_id,
                                   Agreement.academic_year == year, Agreement.term == term)
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def triage(database, principal, referral_id, today):
    """A referral checked against its agreement's acceptance criteria."""
    with database.session() as s:
        referral = load_referral(s, principal, referral_id)
        agreement = agreement_for(s, referral, today)
    criteria = domain.triage(referral, agreement)
    return {"referral_id": referral.id, "agreement_id": agreement and agreement.id,
            "all_met": all(c.met for c in criteria), "criteria": criteria}


# -- agreements: the hours ledger and the places queue ---------------------------------


def agreement_usage(session, agreement):
    """Attach minutes used, places held and the waiting count to an agreement."""
    agreement.minutes_used = session.execute(
        select(func.coalesce(func.sum(Visit.minutes), 0))
        .where(Visit.agreement_id == agreement.id)).scalar_one()
    agreement.places_held = session.execute(
        select(func.count()).select_from(Referral).where(
            Referral.agreement_id == agreement.id, Referral.status.in_(domain.HOLDS_PLACE),
            Referral.waiting.is_(False))).scalar_one()
    agreement.waiting_count = session.execute(
        select(func.count()).select_from(Referral).where(
            Referral.agreement_id == agreement.id, Referral.status == domain.ACCEPTED,
            Referral.waiting.is_(True))).scalar_one()
    return agreement


def load_agreement(session, principal, agreement_id, for_update=False):
    """The agreement if the caller may see it (a school only its own), else 404."""
    return _one(session, select(Agreement).where(
        Agreement.id == agreement_id, *access.org_clause(principal, Agreement.school_org_id)),
        for_update, "agreement")


def get_agreement(database, principal, agreement_id):
    with database.session() as s:
        return agreement_usage(s, load_agreement(s, principal, agreement_id))


def list_agreements(database, principal):
    stmt = select(Agreement).order_by(Agreement.academic_year, Agreement.school_org_id,
                                      Agreement.term)
    stmt = stmt.where(*access.org_clause(principal, Agreement.school_org_id))
    with database.session() as s:
        return {"items": [agreement_usage(s, a) for a in s.execute(stmt).scalars().all()]}


def statement(database, principal, agreement_id):
    """The statement of hours: bought, each visit with its running balance, left."""
    with database.session() as s:
        agreement = agreement_usage(s, load_agreement(s, principal, agreement_id))
        rows = s.execute(
            select(Visit.visit_date, Referral.reference, Visit.minutes, Visit.override)
            .join(Referral, Referral.id == Visit.referral_id)
            .where(Visit.agreement_id == agreement.id)
            .order_by(Visit.visit_date, Visit.logged_at)).all()
    return {"agreement": agreement,
            **domain.statement(agreement.minutes_bought, [tuple(r) for r in rows])}


# -- documents: the outreach report and the list as a spreadsheet -----------------------


def _school_names(session, org_ids):
    if not org_ids:
        return {}
    return dict(session.execute(select(Organisation.org_id, Organisation.name).where(
        Organisation.org_id.in_(set(org_ids)))).all())


def _pupil(referral, school, today):
    name = " ".join(p for p in (referral.pupil_first_name, referral.pupil_last_name) if p)
    return {"name": name, "upn": referral.pupil_upn,
            "date_of_birth": referral.pupil_date_of_birth,
            "year_group": domain.year_group(referral.pupil_date_of_birth, today),
            "school": school}


def _with_report(session, principal, referral_id):
    referral = load_referral(session, principal, referral_id)
    if referral.report_id is None:
        raise errors.NotFound("No report has been issued for this referral")
    return referral


def get_report(database, principal, referral_id):
    """The referral whose report was issued (ReportSchema shows the report), else 404."""
    with database.session() as s:
        return _with_report(s, principal, referral_id)


def report_view(database, principal, referral_id, today):
    """The outreach report's view model (services/documents/templates/_outreach_report.html):
    the referral, its visits, the report and the agreement's hours. 404 before the
    report is issued."""
    with database.session() as s:
        referral = _with_report(s, principal, referral_id)
        school = _school_names(s, [referral.school_org_id]).get(referral.school_org_id)
        trust = s.execute(select(Organisation.name).where(
            Organisation.kind == access.TRUST).limit(1)).scalar_one_or_none()
        visits = _visits(s, referral.id)
        agreement = s.get(Agreement, referral.agreement_id) if referral.agreement_id else None
        if agreement is not None:
            agreement_usage(s, agreement)
    view = {"organisation": trust,
            "referral": {"reference": referral.reference, "school": school,
                         "pupil": _pupil(referral, school, today),
                         "areas_of_need": list(referral.areas_of_need or []),
                         "need_types": list(referral.need_types or [])},
            "visits": [{"visit_date": v.visit_date, "minutes": v.minutes, "seen": list(v.seen),
                        "observations": v.observations,
                        "recommendations": v.recommendations} for v in visits],
            "report": {"summary": referral.report_summary,
                       "written_on": referral.report_issued_at,
                       "recommendations": list(referral.recommendations or [])}}
    if agreement is not None:
        view["agreement"] = {
            "academic_year": agreement.academic_year, "term": agreement.term,
            "hours_bought": domain.hours(agreement.minutes_bought),
            "hours_used": domain.hours(agreement.minutes_used),
            "hours_left": domain.hours(agreement.minutes_bought - agreement.minutes_used)}
    return referral.reference, view


def export_rows(database, principal, query, today):
    """Every referral of the list (filtered as the list is, not paged) as rows for
    services/documents/sheets.py's referral export."""
    where, order = _filtered(principal, query)
    with database.session() as s:
        items = s.execute(select(Referral).where(*where).order_by(*order)).scalars().all()
        schools = _school_names(s, [r.school_org_id for r in items])
    rows = []
    for r in items:
        pupil = _pupil(r, schools.get(r.school_org_id), today)
        rows.append({"reference": r.reference, "school": pupil["school"],
                     "pupil_name": pupil["name"], "upn": r.pupil_upn,
                     "year_group": pupil["year_group"],
                     "areas_of_need": list(r.areas_of_need or []), "status": r.status,
                     "submitted_at": r.submitted_at, "practitioner": r.practitioner_name})
    return rows
