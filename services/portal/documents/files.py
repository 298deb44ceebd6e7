"""The documents themselves: PDFs of a pupil (passport, costed provision map, EHC plan
timeline), of a class and of a referral (the outreach report), and the lists as CSV and
.xlsx, each a `Document` made with services/documents from what `gather` collects."""

from datetime import date

from services.documents import pdf, sheets
from services.documents.sheets import Column

from .blocks import progress
from .gather import (
    NO_NAME,
    SPREADSHEETS,
    Document,
    check_format,
    every_item,
    identity,
    not_found,
    org_names,
    pupil_entry,
    pupils_by_id,
    read_pupil,
    school_of,
)

# -- the documents ----------------------------------------------------------------------

CLASS_MAP_COLUMNS = sheets.PROVISION_MAP + [Column("cycles", "Assess, plan, do, review")]


def _map_rows(view):
    rows = [r for e in view["pupils"] for r in e["provisions"]]
    rows.append({"pupil_name": "Total", "cost_to_date": view["totals"]["cost_to_date"],
                 "cost_projected": view["totals"]["cost_projected"]})
    return rows


def provision_map_document(view, fmt, name):
    if check_format(fmt) == "pdf":
        return Document(pdf.provision_map_pdf(view), fmt, name)
    return Document(sheets.export(CLASS_MAP_COLUMNS, _map_rows(view), fmt, "Provision map"),
                    fmt, name)


def pupil_provision_map(api, me, pupil_id, fmt):
    check_format(fmt)
    block = read_pupil(api, me, pupil_id)
    entry = pupil_entry(api, block)
    view = {"title": f"Costed provision map: {block['name']}", "organisation": block.get("school"),
            "as_of": date.today(), "pupils": [entry],
            "charts": [progress(t).as_dict() for t in entry["targets"] if t.get("outcomes")]}
    view["totals"] = pdf.provision_totals(view["pupils"])
    return provision_map_document(view, fmt, f"provision-map-{block['name']}")


def passport(api, me, pupil_id):
    block = read_pupil(api, me, pupil_id)
    versions = api.get("pupils", f"/api/v1/pupils/{pupil_id}/passport")
    current = versions.get("current") or next(
        (v for v in reversed(versions.get("items", [])) if v.get("status") == "published"), None)
    if not current:
        raise not_found("No published passport")
    return Document(pdf.passport_pdf({"pupil": block, "passport": current}), "pdf",
                    f"passport-{block['name']}")


def ehc_timeline(api, me, pupil_id, plan_id=None):
    block = read_pupil(api, me, pupil_id)
    plans = api.get("pupils", f"/api/v1/pupils/{pupil_id}/ehc-plans").get("items", [])
    plan = next((p for p in plans if p.get("id") == plan_id), None) if plan_id else (
        plans[-1] if plans else None)
    if plan is None:
        raise not_found("No EHC plan")
    view = {"pupil": block, "plan": plan, "today": date.today()}
    return Document(pdf.ehc_timeline_pdf(view), "pdf", f"ehc-plan-timeline-{block['name']}")


def outreach_report(api, me, referral_id):
    r = api.get("referrals", f"/api/v1/referrals/{referral_id}")
    if not r.get("report"):
        raise not_found("No report issued yet")
    visits = api.get("referrals", f"/api/v1/referrals/{referral_id}/visits") or []
    school = school_of(r, org_names(api, me))
    pupil = r.get("pupil") or {}
    recs = []
    for rec in r["report"].get("recommendations") or ():
        course = api.try_get("cpd", f"/api/v1/cpd/courses/{rec['course_id']}") \
            if rec.get("course_id") else None
        recs.append({**rec, "course_title": (course or {}).get("title")})
    agreement = api.try_get("referrals", f"/api/v1/agreements/{r['agreement_id']}") \
        if r.get("agreement_id") else None
    view = {"referral": {**r, "school": school, "pupil": {
                "name": " ".join(x for x in (pupil.get("first_name"), pupil.get("last_name")) if x),
                "upn": pupil.get("upn"), "date_of_birth": pupil.get("date_of_birth"),
                "year_group": None, "class_name": None, "school": school}},
            "report": {**r["report"], "written_on": r["report"].get("issued_at"),
                       "recommendations": recs},
            "visits": sorted(visits, key=lambda v: str(v.get("visit_date"))),
            "agreement": agreement, "organisation": school}
    return Document(pdf.outreach_report_pdf(view), "pdf", f"outreach-report-{r['reference']}")


# -- lists as spreadsheets -----------------------------------------------------------

def costs_sheet(api, me, fmt):
    check_format(fmt, SPREADSHEETS)
    rows = api.get("provision", "/api/v1/provision/costs", view="pupil").get("rows", [])
    who = pupils_by_id(api, me, [r["key"] for r in rows])
    out = []
    for r in rows:
        block = who.get(r["key"]) or {"name": NO_NAME}
        out.append({**r, **identity(block), "sen_status": block.get("sen_status")})
    out.sort(key=lambda r: (r["pupil_name"].split(" ")[-1].lower(), r["pupil_name"].lower()))
    return Document(sheets.costs(out, fmt, by="pupil"), fmt, "costs-by-pupil")


IMPACT_GROUPS = ("provision", "provision_org", "org", "trust")


def impact_sheet(api, fmt, group_by):
    check_format(fmt, SPREADSHEETS)
    group_by = group_by if group_by in IMPACT_GROUPS else "provision"
    rows = api.get("provision", "/api/v1/provision/reports/impact",
                   group_by=group_by).get("rows", [])
    return Document(sheets.impact(rows, fmt), fmt, f"impact-{group_by}")


REVIEW_COLUMNS = sheets.PUPIL + [
    Column("review", "Review"),
    Column("started_on", "Started", "date"),
    Column("due", "Due", "date"),
    Column("overdue", "Overdue", get=lambda r: "Yes" if r.get("overdue") else "No"),
    Column("days_overdue", "Days overdue", "int"),
]


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


def reviews_due_sheet(api, me, fmt):
    check_format(fmt, SPREADSHEETS)
    return Document(sheets.export(REVIEW_COLUMNS, reviews_due_rows(api, me), fmt, "Reviews due"),
                    fmt, "reviews-due")


def cpd_records_sheet(api, me, fmt):
    check_format(fmt, SPREADSHEETS)
    body = api.get("cpd", "/api/v1/cpd/records")
    schools = org_names(api, me)
    rows = []
    for person in body.get("people", []):
        codes = {c.get("id"): c.get("verification_code") for c in person.get("certificates") or ()}
        for line in person.get("courses") or ():
            rows.append({"name": person.get("name"), "email": person.get("email"),
                         "organisation": schools.get(person.get("org_id")) or person.get("org_id"),
                         **line, "verification_code": codes.get(line.get("certificate_id"))})
    return Document(sheets.cpd_records(rows, fmt), fmt, "cpd-records")


def referrals_sheet(api, me, fmt, status=None):
    check_format(fmt, SPREADSHEETS)
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
    return Document(sheets.referrals(rows, fmt), fmt, "referrals")
