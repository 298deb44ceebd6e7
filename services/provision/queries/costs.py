"""Costs to date and projected to the end of the academic year, against the notional
SEN budget: in total and per tier, provision, school, pupil and class."""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from services.common import access

from .. import domain
from ..models import (
    Assignment,
    Attendance,
    CatalogueEntry,
    DeliveredSession,
    Organisation,
    RoleRate,
)
from . import calendar, reports


def money_text(value):
    m = domain.money(value)
    return None if m is None else str(m)


def percent(value):
    """A share as a percentage to one place (None stays None)."""
    return None if value is None else (value * 100).quantize(Decimal("0.1"),
                                                             rounding=ROUND_HALF_UP)


def decimal(value, places="0.01"):
    return None if value is None else value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def budget_of(s, org_id=None):
    """The notional SEN budget of an organisation, or the trust's (the sum of all)."""
    if org_id is None:
        return s.execute(select(func.sum(Organisation.sen_budget))).scalar()
    org = s.get(Organisation, org_id)
    return org.sen_budget if org else None


def per_pupil_summary(s, as_of, org_id=None, pupil_ids=None):
    """(domain.cost_summary's figures, entries by id, the budget), pupil by pupil: the
    views per pupil and per class, and the reference `summary` is tested against."""
    report, entries, _ = reports.load_report_data(s, as_of, org_id=org_id,
                                                  pupil_ids=pupil_ids, include_planned=True)
    budget = budget_of(s, org_id)
    return domain.cost_summary(report, budget), entries, budget


def summary(s, as_of, org_id=None):
    """(domain.cost_totals' figures, entries by id, the budget) of an organisation or,
    with `org_id` None, the trust, in six statements whatever the number of pupils:
    the catalogue, role rates, calendars, the budget, registers delivered to date
    counted by (entry, school, register size), and assignments with their members, in
    one pass. Each assignment costs the school what its pupils' shares add up to
    (domain.planned_group_cost, per_term_group_cost); assignments alike in everything
    their cost depends on are costed once."""
    where = [] if org_id is None else [Assignment.org_id == org_id]
    conn = s.connection()  # Core rows: the ORM's row processing would cost more than SQL
    entries = {e.id: e for e in conn.execute(
        select(CatalogueEntry.id, CatalogueEntry.name, CatalogueEntry.tier,
               CatalogueEntry.cost_basis, CatalogueEntry.cost_amount,
               CatalogueEntry.session_minutes, CatalogueEntry.delivered_by)).all()}
    rates = {(r.org_id, r.role): r.hourly_rate for r in conn.execute(
        select(RoleRate.org_id, RoleRate.role, RoleRate.hourly_rate)).all()}
    school_calendars = calendar.calendars(s, None if org_id is None else [org_id])
    budget = budget_of(s, org_id)

    def rate(e, org):
        found = rates.get((org, e.delivered_by))
        if e.cost_basis == domain.CostBasis.STAFF_RATE and found is None:
            return domain.ZERO  # a rate never set costs nothing (shown as 0)
        return found

    totals = defaultdict(domain.PupilCost)
    # Delivered to date: each attendance row is its session's price shared by the
    # register (as domain.assignment_costs counts it; a register names members only,
    # commands/assignments.py, and erasure takes a pupil's attendance with their place)
    for catalogue, org, size, n in conn.execute(
            select(Assignment.catalogue_id, Assignment.org_id, DeliveredSession.register_size,
                   func.count())
            .join(DeliveredSession, DeliveredSession.assignment_id == Assignment.id)
            .join(Attendance, Attendance.session_id == DeliveredSession.id)
            .join(CatalogueEntry, CatalogueEntry.id == Assignment.catalogue_id)
            .where(*where, DeliveredSession.held_on <= as_of,
                   CatalogueEntry.cost_basis.in_(domain.SESSION_BASES))
            .group_by(Assignment.catalogue_id, Assignment.org_id,
                      DeliveredSession.register_size)).all():
        e = entries[catalogue]
        done = domain.session_cost(e.cost_basis, e.cost_amount, e.session_minutes,
                                   rate(e, org)) * n / size
        totals[(catalogue, org, e.tier)] += domain.PupilCost(done, done)
    # What is planned (and, per term, what has been): one pass over assignments and members
    for (catalogue, org, start, end, ended_on, spw, windows), n in reports.alike_assignments(
            conn, where).items():
        e = entries[catalogue]
        a = reports.group_input(e, start, end, ended_on, spw, windows, rate(e, org),
                                school_calendars.get(org))
        if e.cost_basis == domain.CostBasis.PER_TERM:
            cost = domain.per_term_group_cost(a, as_of)
        else:
            planned = domain.planned_group_cost(a, as_of)
            cost = domain.PupilCost(domain.ZERO, planned)
        totals[(catalogue, org, e.tier)] += domain.PupilCost(cost.to_date * n,
                                                             cost.projected * n)
    names = {k: {"name": e.name, "tier": e.tier} for k, e in entries.items()}
    return domain.cost_totals(dict(totals), budget), names, budget


def _rows(costs, name=None):
    return [{"key": k, **({"name": name(k)} if name else {}),
             "cost_to_date": money_text(c.to_date), "cost_projected": money_text(c.projected)}
            for k, c in sorted(costs.items())]


NAMED = ("provision", "org", "class")


def costs(db, principal, query, today, documents):
    """GET /costs: the summary, or one view's rows, as JSON, CSV or xlsx."""
    as_of = query.get("as_of") or today
    view, fmt = query["view"], query["format"]
    with db.session() as s:
        org_id = access.scoped_org(principal, query.get("org_id"))
        per_pupil = view in ("pupil", "class")
        figures, entries, budget = (per_pupil_summary if per_pupil else summary)(
            s, as_of, org_id)
        names = reports.org_names(s)
        pupils = reports.pupils_by_id(s, figures["per_pupil"]) if per_pupil else {}
    views = {
        "provision": lambda: _rows(figures["per_provision"], lambda k: entries[k]["name"]),
        "tier": lambda: _rows(figures["per_tier"]),
        "org": lambda: _rows(figures["per_org"], lambda k: names.get(k)),
        "pupil": lambda: [{**row, "pupil_id": row["key"],
                           "year_group": getattr(pupils.get(row["key"]), "year_group", None),
                           "registration_group": getattr(pupils.get(row["key"]),
                                                         "registration_group", None)}
                          for row in _rows(figures["per_pupil"])],
        "class": lambda: _class_rows(figures["per_pupil"], pupils),
    }
    if view != "summary":
        chosen = views[view]()
        if fmt == "xlsx":
            return documents.costs_sheet(chosen, view, "xlsx", pupils)
        if fmt == "csv":
            cols = ["key"] + (["name"] if view in NAMED else []) + [
                "cost_to_date", "cost_projected"]
            return documents.csv(chosen, cols, f"costs-{view}")
        return {"as_of": as_of.isoformat(), "org_id": org_id, "rows": chosen}
    total = figures["total"]
    tiers, provisions, orgs = views["tier"](), views["provision"](), views["org"]()
    body = {"as_of": as_of.isoformat(), "org_id": org_id,
            "cost_to_date": money_text(total.to_date),
            "cost_projected": money_text(total.projected),
            "sen_budget": money_text(budget),
            "budget_remaining": money_text(figures["remaining"]),
            "budget_used_projected": (None if not budget else
                                      str(percent(total.projected / budget))),
            "per_tier": tiers, "per_provision": provisions, "per_org": orgs}
    if fmt == "xlsx":
        return documents.costs_sheet(body, "summary", "xlsx")
    if fmt == "csv":
        flat = [{"group": "total", "key": "", "cost_to_date": body["cost_to_date"],
                 "cost_projected": body["cost_projected"]}]
        flat += [{"group": "tier", **r} for r in tiers]
        flat += [{"group": "provision", **r} for r in provisions]
        return documents.csv(flat, ["group", "key", "name", "cost_to_date", "cost_projected"],
                             "costs")
    return body


def _class_rows(per_pupil, pupils):
    """Per class (registration group, from the projection); pupils with none last."""
    groups = {p: getattr(pupils.get(p), "registration_group", None) for p in per_pupil}
    return [{"key": k or "", "name": k or "No class recorded",
             "cost_to_date": money_text(c.to_date), "cost_projected": money_text(c.projected)}
            for k, c in sorted(domain.costs_by(per_pupil, groups).items(),
                               key=lambda kv: (kv[0] is None, kv[0] or ""))]
