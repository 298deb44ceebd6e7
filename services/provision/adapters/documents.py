"""The provision service's documents: its views as the view-models and rows that
services/documents renders (PDF, CSV, xlsx), as HTTP responses. Provision holds no
pupil names (events carry identifiers only: docs/architecture.md, "Events"), so a
pupil is shown by year group, SEN status and record id; the portal, which reads the
pupils service too, renders the same templates with names.

`DocumentRenderer` is the nameko dependency (`documents = DocumentRenderer()` on the
service); tests swap it with nameko's `replace_dependencies`."""

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.documents import pdf, sheets
from services.documents import responses as documents

from ..domain import money, to_csv
from ..schemas import PupilMapSchema


def _pupil(p):
    return {"name": f"Pupil record {p['pupil_id']}", "pupil_id": p["pupil_id"], "upn": None,
            "year_group": p["year_group"], "sen_status": p["sen_status"],
            "primary_need": p["primary_need"], "secondary_need": p["secondary_need"]}


def pupil_map_rows(result, costs, entries):
    """Provision rows of one pupil's map (`result`: the pupil_map response, dumped;
    `costs`: {assignment_id: PupilCost}; `entries`: {catalogue_id: CatalogueEntry})."""
    targets = {t["id"]: t["expected_outcome"] for t in result["targets"]}
    pupil = _pupil(result["pupil"])
    rows = []
    for a in result["assignments"]:
        entry, cost = entries[a["catalogue_id"]], costs.get(a["id"])
        rows.append({
            "pupil_name": pupil["name"], "year_group": pupil["year_group"],
            "provision": a["provision"], "tier": a["tier"], "area_of_need": entry.area_of_need,
            "sessions_per_week": a["sessions_per_week"], "session_minutes": entry.session_minutes,
            "staff": a["staff"], "start_date": a["start_date"],
            "end_date": a["ended_on"] or a["end_date"], "statutory": a["statutory"],
            "outcomes": "; ".join(targets[t] for t in a["target_ids"] if t in targets),
            "cost_to_date": money(cost.to_date) if cost else None,
            "cost_projected": money(cost.projected) if cost else None})
    return rows


def pupil_map(result, costs, entries, fmt, as_of, organisation=None):
    """The pupil's costed provision map as a PDF, CSV or xlsx response."""
    result = PupilMapSchema().dump(result)
    rows = pupil_map_rows(result, costs, entries)
    name = f"provision-map-{result['pupil']['pupil_id']}"
    if fmt in ("csv", "xlsx"):
        return documents.document(sheets.provision_map(rows, fmt), fmt, name)
    targets = [{**t, "latest_progress": t.get("latest_progress")} for t in result["targets"]]
    view = {"organisation": organisation, "as_of": as_of, "pupils": [{
        "pupil": _pupil(result["pupil"]), "provisions": rows, "targets": targets,
        "cycles": result["cycles"]}]}
    return documents.document(pdf.provision_map_pdf(view), "pdf", name)


def costs_sheet(body_or_rows, view, fmt, pupils=None):
    """The costs endpoint's rows as xlsx with human headers: per pupil (year group,
    SEN status), or per tier, provision or school."""
    if view == "pupil":
        pupils = pupils or {}
        rows = [{"pupil_name": f"Pupil record {r['key']}", **r,
                 "year_group": getattr(pupils.get(r["key"]), "year_group", None),
                 "sen_status": getattr(pupils.get(r["key"]), "sen_status", None)}
                for r in body_or_rows]
        return documents.document(sheets.costs(rows, fmt, by="pupil"), fmt, "costs-pupil")
    if view == "summary":
        rows = [{"group": "total", "name": "Total", "cost_to_date": body_or_rows["cost_to_date"],
                 "cost_projected": body_or_rows["cost_projected"]}]
        rows += [{"group": "tier", **r} for r in body_or_rows["per_tier"]]
        rows += [{"group": "provision", **r} for r in body_or_rows["per_provision"]]
        rows += [{"group": "org", **r} for r in body_or_rows["per_org"]]
    else:
        rows = [{"group": view, **r} for r in body_or_rows]
    return documents.document(sheets.costs(rows, fmt, by="group"), fmt, f"costs-{view}")


def impact_sheet(rows, fmt, group_by):
    return documents.document(sheets.impact(rows, fmt), fmt, f"impact-{group_by}")


def csv_response(rows, columns, name):
    """Rows as a CSV attachment (every cell through the kit's formula-safe writer)."""
    return Response(to_csv(rows, columns), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


class Documents:
    """What an entrypoint asks of the renderer (one instance per worker)."""

    pupil_map = staticmethod(pupil_map)
    costs_sheet = staticmethod(costs_sheet)
    impact_sheet = staticmethod(impact_sheet)
    csv = staticmethod(csv_response)


class DocumentRenderer(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return Documents()
