"""Documents' data, gathered through the services' APIs with the person's token (so a
document shows exactly what the APIs let that person read: another school's pupil is
the API's 404, never a file). The services other than pupils and referrals hold no
pupil names, so this reads the pupils service too and puts each pupil's name, UPN,
year and class beside their provision, costs and reviews. Each function answers the
view model (a dict, or rows) that adapters/documents.py renders."""

import csv
import io
from datetime import date

from services.common.access import Role
from services.documents import pdf

from .. import domain
from ..adapters.services import ApiError

MAX_ROWS = 5000          # the most list rows one export gathers (pages of PAGE)
PAGE = 200
ON_REGISTER = ("K", "E")  # SEN support and EHC plan: the pupils a class map lists
NO_NAME = "Name not shown"  # a pupil this person may not read (moved on, or an auditor)
ORG_LISTERS = frozenset((Role.TRUST_ADMIN, Role.AUDITOR))  # who may list the organisations


def not_found(detail):
    return ApiError(404, {"title": "Not Found", "detail": detail})


# -- gathering ------------------------------------------------------------------------

def every_item(api, service, path, **params):
    """Every item of a paged list (`{"items", "total"}`), up to MAX_ROWS."""
    out, offset = [], 0
    while len(out) < MAX_ROWS:
        page = api.get(service, path, limit=PAGE, offset=offset, **params)
        items = page.get("items", []) if isinstance(page, dict) else page
        out += items
        offset += len(items)
        total = page.get("total", offset) if isinstance(page, dict) else offset
        if not items or offset >= total or len(items) < PAGE:
            return out
    return out


def org_names(api, me):
    """{org_id: name} of the organisations this person may list, and their own."""
    names = {me.org_id: me.org_name}
    for c in getattr(me, "choices", None) or ():
        names.setdefault(c.get("org_id"), c.get("org_name"))
    if not set(me.roles or ()) & ORG_LISTERS:
        return names
    orgs = api.try_get("pupils", "/api/v1/organisations", None)
    items = (orgs.get("items", []) if isinstance(orgs, dict) else orgs) or []
    names.update({o["id"]: o["name"] for o in items if o.get("id")})
    return names


def school_of(referral, schools):
    """The referring school's name: the referral's own when the referrals service gives
    it, else from the organisations this person may list (a partner school: its own)."""
    return (referral.get("school_name") or referral.get("school")
            or schools.get(referral.get("school_org_id")))


def _name(p):
    return " ".join(x for x in (p.get("forename"), p.get("legal_surname")) if x)


def pupil_block(p, school=None):
    """The pupil block every document shows, from the pupils service's pupil."""
    return {"id": p.get("id"), "name": _name(p), "upn": p.get("upn"),
            "date_of_birth": p.get("date_of_birth"), "year_group": p.get("year_group"),
            "class_name": p.get("registration_group"), "school": school,
            "sen_status": p.get("sen_status"), "primary_need": p.get("primary_need"),
            "secondary_need": p.get("secondary_need")}


def identity(block):
    """The columns that name a pupil in every spreadsheet row."""
    return {"pupil_name": block["name"], "upn": block.get("upn"),
            "year_group": block.get("year_group"), "class_name": block.get("class_name")}


def read_pupil(api, me, pupil_id):
    """The pupil's block; a parent (who may not read the pupil record itself) gets
    their child's name from their sign-in."""
    try:
        p = api.get("pupils", f"/api/v1/pupils/{pupil_id}")
    except ApiError as exc:
        child = next((ch for c in getattr(me, "choices", None) or ()
                      for ch in c.get("children", []) if ch["pupil_id"] == pupil_id), None)
        if exc.status not in (403, 404) or child is None or Role.PARENT not in (me.roles or ()):
            raise
        return {**pupil_block({"id": pupil_id}, me.org_name),
                "name": child.get("pupil_name") or ""}
    return pupil_block(p, org_names(api, me).get(p.get("org_id")))


def pupils_by_id(api, me, ids):
    """{pupil_id: block} for the ids, from the pupils list (one page per 200 pupils)
    and, for any the list did not hold, one read each."""
    wanted = set(ids)
    if not wanted:
        return {}
    schools = org_names(api, me)
    found = {}
    try:
        listed = every_item(api, "pupils", "/api/v1/pupils")
    except ApiError as exc:
        if exc.status != 403:
            raise
        return {}  # may read costs or reviews but not pupils (an auditor): no names
    for p in listed:
        if p["id"] in wanted:
            found[p["id"]] = pupil_block(p, schools.get(p.get("org_id")))
    for pupil_id in wanted - set(found):
        p = api.try_get("pupils", f"/api/v1/pupils/{pupil_id}")
        if p:
            found[pupil_id] = pupil_block(p, schools.get(p.get("org_id")))
    return found


def _money_cells(api, pupil_id):
    """[(cost_to_date, cost_projected)] of each provision row of the pupil's map, in the
    map's order: the provision service's own costing, from its CSV of the map (its
    JSON view carries the pupil's total only)."""
    resp = api.call("GET", "provision", f"/api/v1/provision/pupils/{pupil_id}/map",
                    params={"format": "csv"}, raw=True)
    rows = csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig")))
    return [(r.get("Cost to date") or None, r.get("Projected cost") or None) for r in rows]


def _entry(api, catalogue, entry_id):
    if entry_id not in catalogue:
        catalogue[entry_id] = api.try_get(
            "provision", f"/api/v1/provision/catalogue/{entry_id}", {}) or {}
    return catalogue[entry_id]


def cycle_text(cycles):
    parts = []
    for c in cycles:
        text = f"Cycle {c.get('number')} from {pdf.long_date(c.get('started_on'))}"
        text += (f", reviewed {pdf.long_date(c['reviewed_on'])}" if c.get("reviewed_on")
                 else f", review due {pdf.long_date(c.get('review_date'))}")
        parts.append(text)
    return "; ".join(parts)


def pupil_entry(api, block, catalogue=None, provision_map=None):
    """One pupil of a provision map: {pupil, provisions (rows), targets, cycles}, each
    provision row carrying the pupil's name, UPN, year and class for the spreadsheets."""
    catalogue = {} if catalogue is None else catalogue
    m = provision_map or api.get("provision", f"/api/v1/provision/pupils/{block['id']}/map")
    assignments = m.get("assignments") or []
    money = _money_cells(api, block["id"]) if assignments else []
    expected = {t["id"]: t.get("expected_outcome") for t in m.get("targets") or ()}
    cycles = m.get("cycles") or []
    rows = []
    for i, a in enumerate(assignments):
        entry = _entry(api, catalogue, a.get("catalogue_id"))
        to_date, projected = money[i] if i < len(money) else (None, None)
        rows.append({**identity(block), "provision": a.get("provision"), "tier": a.get("tier"),
                     "area_of_need": entry.get("area_of_need"),
                     "sessions_per_week": a.get("sessions_per_week"),
                     "session_minutes": entry.get("session_minutes"), "staff": a.get("staff"),
                     "start_date": a.get("start_date"),
                     "end_date": a.get("ended_on") or a.get("end_date"),
                     "statutory": a.get("statutory"),
                     "outcomes": "; ".join(expected[t] for t in a.get("target_ids") or ()
                                           if expected.get(t)),
                     "cycles": cycle_text(cycles),
                     "cost_to_date": to_date, "cost_projected": projected})
    return {"pupil": block, "provisions": rows, "targets": m.get("targets") or [],
            "cycles": cycles}


def _class_row(block, row, cycles):
    """A provision row of the provision service's class map (MapProvisionSchema) in the
    shape of the per-pupil rows (what the templates and sheets read)."""
    freq, cost = row.get("frequency") or {}, row.get("cost") or {}
    return {**identity(block), "provision": row.get("provision"), "tier": row.get("tier"),
            "area_of_need": row.get("area_of_need"),
            "sessions_per_week": freq.get("sessions_per_week"),
            "session_minutes": freq.get("session_minutes"), "staff": row.get("staff"),
            "start_date": row.get("start_date"), "end_date": row.get("end_date"),
            "statutory": row.get("statutory"),
            "outcomes": "; ".join(o["expected_outcome"] for o in row.get("outcomes") or ()
                                  if o.get("expected_outcome")),
            "cycles": cycle_text(cycles),
            "cost_to_date": cost.get("to_date"), "cost_projected": cost.get("projected")}


def _from_class_endpoint(api, pupils, query):
    """The provision service's class / year-group map (GET /api/v1/provision/map,
    ClassMapSchema), when it answers: {pupil_id: entry}; None when it is not there or
    not for this person (a teacher), so the map is built pupil by pupil instead."""
    try:
        body = api.get("provision", "/api/v1/provision/map", **query)
    except ApiError as exc:
        if exc.status in (403, 404, 405, 422):
            return None
        raise
    return class_map_entries(body, pupils)


def class_map_entries(body, pupils):
    """{pupil_id: entry} from the class map's JSON and the pupils' blocks (the pupils
    service's names); None when the body is not a class map."""
    items = body.get("pupils") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and "pupil_id" in i and isinstance(i.get("provisions"), list)
            for i in items):
        return None
    by_id = {p["id"]: p for p in pupils}
    out = {}
    for item in items:
        block = by_id.get(item["pupil_id"])
        if block is None:
            continue  # the pupils service does not let this person read the pupil
        cycles = item.get("cycles") or []
        targets = {}
        for row in item["provisions"]:
            for o in row.get("outcomes") or ():
                targets.setdefault(o.get("target_id"), {**o, "area_of_need": row.get(
                    "area_of_need")})
        out[item["pupil_id"]] = {
            "pupil": block, "provisions": [_class_row(block, r, cycles) for r in item["provisions"]],
            "targets": list(targets.values()), "cycles": cycles}
    return out


def class_map(api, me, registration_group=None, year_group=None, org_id=None):
    """The class or year group's provision map: every pupil on the SEN register (or with
    provision) with their provisions, targets, cycles and totals, named."""
    if not registration_group and year_group in (None, ""):
        raise domain.NotADocument("a class or a year group")
    filters = {"registration_group": registration_group or None,
               "year_group": year_group if year_group not in ("", None) else None,
               "org_id": org_id or None}
    schools = org_names(api, me)
    pupils = [pupil_block(p, schools.get(p.get("org_id")))
              for p in every_item(api, "pupils", "/api/v1/pupils", **filters)]
    pupils.sort(key=lambda b: (b["name"].split(" ")[-1].lower(), b["name"].lower()))
    query = {k: v for k, v in {"registration_group": filters["registration_group"],
                               "year_group": filters["year_group"],
                               "org": filters["org_id"]}.items() if v is not None}
    ready = _from_class_endpoint(api, pupils, query)
    if ready is not None:  # the provision service's own class map
        entries = [ready[b["id"]] for b in pupils if b["id"] in ready]
    else:                  # pupil by pupil, from the per-pupil map
        catalogue, entries = {}, []
        for block in pupils:
            entry = pupil_entry(api, block, catalogue)
            if entry["provisions"] or block.get("sen_status") in ON_REGISTER:
                entries.append(entry)
    scope = " and ".join(x for x in (
        f"class {registration_group}" if registration_group else "",
        pdf.year_label(year_group) if year_group not in (None, "") else "") if x)
    names = {b.get("school") for b in pupils if b.get("school")}
    return {"title": f"Provision map: {scope}", "scope_label": scope,
            "organisation": names.pop() if len(names) == 1 else None,
            "as_of": date.today(), "pupils": entries,
            "totals": pdf.provision_totals(entries),
            "filters": {k: v for k, v in filters.items() if v is not None}}


# -- the documents' views -----------------------------------------------------------

def pupil_map_view(api, me, pupil_id):
    """One pupil's costed provision map (the charts of its targets are the renderer's)."""
    block = read_pupil(api, me, pupil_id)
    entry = pupil_entry(api, block)
    return {"title": f"Costed provision map: {block['name']}", "organisation": block.get("school"),
            "as_of": date.today(), "pupils": [entry],
            "totals": pdf.provision_totals([entry])}


def passport_view(api, me, pupil_id):
    block = read_pupil(api, me, pupil_id)
    versions = api.get("pupils", f"/api/v1/pupils/{pupil_id}/passport")
    current = versions.get("current") or next(
        (v for v in reversed(versions.get("items", [])) if v.get("status") == "published"), None)
    if not current:
        raise not_found("No published passport")
    return {"pupil": block, "passport": current}


def ehc_timeline_view(api, me, pupil_id, plan_id=None):
    block = read_pupil(api, me, pupil_id)
    plans = api.get("pupils", f"/api/v1/pupils/{pupil_id}/ehc-plans").get("items", [])
    plan = next((p for p in plans if p.get("id") == plan_id), None) if plan_id else (
        plans[-1] if plans else None)
    if plan is None:
        raise not_found("No EHC plan")
    return {"pupil": block, "plan": plan, "today": date.today()}


def outreach_report_view(api, me, referral_id):
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
    return view
