"""The lists as spreadsheets' rows (costs, impact, reviews due, CPD records, referrals),
named with the pupils service's names where the list holds only ids, and the data of
the charts on the costs page and the trust's need-and-training page. Every read is
made as the person (documents.py has the gathering they share)."""

from services.documents import pdf

from .documents import (
    MAX_ROWS,
    NO_NAME,
    ON_REGISTER,
    every_item,
    identity,
    org_names,
    pupils_by_id,
    school_of,
)

# -- lists as spreadsheets' rows ------------------------------------------------------

def costs_rows(api, me):
    """The costs by pupil, named, by surname."""
    rows = api.get("provision", "/api/v1/provision/costs", view="pupil").get("rows", [])
    who = pupils_by_id(api, me, [r["key"] for r in rows])
    out = []
    for r in rows:
        block = who.get(r["key"]) or {"name": NO_NAME}
        out.append({**r, **identity(block), "sen_status": block.get("sen_status")})
    out.sort(key=lambda r: (r["pupil_name"].split(" ")[-1].lower(), r["pupil_name"].lower()))
    return out


IMPACT_GROUPS = ("provision", "provision_org", "org", "trust")


def impact_rows(api, group_by):
    """(rows, group_by) of the impact report; an unknown grouping is by provision."""
    group_by = group_by if group_by in IMPACT_GROUPS else "provision"
    return api.get("provision", "/api/v1/provision/reports/impact",
                   group_by=group_by).get("rows", []), group_by


def reviews_due_rows(api, me):
    """Assess-plan-do-review cycles due or overdue (provision) and EHC plan deadlines
    already past (pupils), one row each, named and soonest first."""
    due = api.get("provision", "/api/v1/provision/reviews/due")
    cycles = [(c, False) for c in due.get("due", [])] + [(c, True) for c in due.get("overdue", [])]
    plans = (api.try_get("pupils", "/api/v1/pupils/ehc-plans/overdue", {}) or {}).get("items", [])
    who = pupils_by_id(api, me, [c["pupil_id"] for c, _ in cycles] +
                        [p["pupil_id"] for p in plans])
    rows = []
    for c, overdue in cycles:
        block = who.get(c["pupil_id"]) or {"name": NO_NAME}
        rows.append({**identity(block), "review": f"Assess, plan, do, review cycle {c['number']}",
                     "started_on": c.get("started_on"), "due": c.get("review_date"),
                     "overdue": overdue})
    for p in plans:
        block = who.get(p["pupil_id"]) or {"name": NO_NAME}
        rows.append({**identity(block), "due": p.get("due"), "overdue": True,
                     "review": f"EHC plan: {pdf.label('ehc_step', p.get('deadline'))}",
                     "days_overdue": p.get("days_overdue")})
    rows.sort(key=lambda r: str(r.get("due") or ""))
    return rows


def cpd_records_rows(api, me):
    body = api.get("cpd", "/api/v1/cpd/records")
    schools = org_names(api, me)
    rows = []
    for person in body.get("people", []):
        codes = {c.get("id"): c.get("verification_code") for c in person.get("certificates") or ()}
        for line in person.get("courses") or ():
            rows.append({"name": person.get("name"), "email": person.get("email"),
                         "organisation": schools.get(person.get("org_id")) or person.get("org_id"),
                         **line, "verification_code": codes.get(line.get("certificate_id"))})
    return rows


def referrals_rows(api, me, status=None):
    items = every_item(api, "referrals", "/api/v1/referrals", status=status)
    schools = org_names(api, me)
    rows = []
    for r in items:
        pupil = r.get("pupil") or {}
        rows.append({**r, "school": school_of(r, schools),
                     "pupil_name": " ".join(x for x in (pupil.get("first_name"),
                                                        pupil.get("last_name")) if x),
                     "upn": pupil.get("upn"),
                     "practitioner": (r.get("practitioner") or {}).get("name")})
    return rows


# -- charts' data ----------------------------------------------------------------------

def cost_chart_data(api, costs):
    """(rows, budget, pupils on the register) for the cost per pupil by tier against the
    notional SEN budget per pupil on the SEN register (the costs page). Pupils per
    tier: those any assignment of the tier names."""
    per_tier = {}
    offset = 0
    while offset < MAX_ROWS:
        page = api.get("provision", "/api/v1/provision/assignments", limit=500, offset=offset)
        for a in page:
            per_tier.setdefault(a.get("tier"), set()).update(
                m["pupil_id"] for m in a.get("members") or ())
        offset += len(page)
        if len(page) < 500:
            break
    rows = [{"tier": r["key"], "pupils": len(per_tier.get(r["key"], ())),
             "cost_projected": r.get("cost_projected")} for r in costs.get("per_tier") or ()]
    on_register = sum(
        (api.try_get("pupils", "/api/v1/pupils", {}, limit=1, sen_status=s) or {}).get("total", 0)
        for s in ON_REGISTER)
    return rows, costs.get("sen_budget"), on_register


def need_against_training(api):
    """Referrals by area of need against training delivered, over the CPD service's
    terms (its trust-wide need trend): {terms, rows} (the chart is the renderer's)."""
    trend = api.get("cpd", "/api/v1/cpd/reports/need-trend")
    rows = [{"area_of_need": a["area_of_need"],
             "referrals": sum(t.get("referrals") or 0 for t in a.get("terms") or ()),
             "training_hours": round(sum(t.get("cpd_hours") or 0 for t in a.get("terms") or ()), 2),
             "places": sum(t.get("places_attended") or 0 for t in a.get("terms") or ()),
             "rising": a.get("rising"), "under_trained": a.get("under_trained")}
            for a in trend.get("areas") or ()]
    return {"terms": trend.get("terms") or [], "rows": rows}
