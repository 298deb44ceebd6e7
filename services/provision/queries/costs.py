"""Costs to date and projected to the end of the academic year, against the notional
SEN budget: in total and per tier, provision, school, pupil and class."""

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from services.common import access

from .. import domain
from ..models import Organisation
from . import reports


def money_text(value):
    m = domain.money(value)
    return None if m is None else str(m)


def percent(value):
    """A share as a percentage to one place (None stays None)."""
    return None if value is None else (value * 100).quantize(Decimal("0.1"),
                                                             rounding=ROUND_HALF_UP)


def decimal(value, places="0.01"):
    return None if value is None else value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def summary(s, as_of, org_id=None):
    """(domain.cost_summary's figures, entries by id, the budget) of an organisation or,
    with `org_id` None, the trust."""
    report, entries, _ = reports.load_report_data(s, as_of, org_id=org_id,
                                                  include_planned=True)
    if org_id is None:
        budget = s.execute(select(func.sum(Organisation.sen_budget))).scalar()
    else:
        org = s.get(Organisation, org_id)
        budget = org.sen_budget if org else None
    return domain.cost_summary(report, budget), entries, budget


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
        figures, entries, budget = summary(s, as_of, org_id)
        names = reports.org_names(s)
        pupils = (reports.pupils_by_id(s, figures["per_pupil"])
                  if view in ("pupil", "class") else {})
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
