"""Rendering documents and charts (issue 15) with services/documents: PDFs (WeasyPrint),
CSV and .xlsx, and SVG charts inline in a page with their data tables. The data comes
from queries/documents.py and queries/exports.py; nothing here reads an API or knows about HTTP.
`DocumentRenderer` gives the entrypoints `documents` as a dependency; each of its
methods answers a `Document` (bytes, format, file name) or a chart's markup."""

from dataclasses import dataclass

from markupsafe import Markup
from nameko.extensions import DependencyProvider

from services.documents import charts, pdf, sheets
from services.documents.sheets import Column

from ..domain import SPREADSHEETS, check_format
from . import web


@dataclass(frozen=True)
class Document:
    data: bytes
    fmt: str
    name: str


# -- charts: inline SVG with the data table beside it -----------------------------------

def chart_markup(chart):
    """A chart for a page: its SVG inline (no external request, nothing the CSP
    refuses) and its data table, for screen readers and for anyone who prefers one."""
    return Markup(web.render("_chart.html", chart=chart))


def progress(target):
    return charts.target_progress(target)


def progress_chart(target):
    """The pupil's progress on one target across reviews (the pupil's provision)."""
    return chart_markup(progress(target))


def impact_chart(rows):
    """Share of targets met and cost per target met, by provision (the impact page)."""
    rows = [r for r in rows or () if r.get("provision")]
    return chart_markup(charts.impact_by_provision(rows)) if rows else Markup("")


def cost_chart(rows, budget, on_register):
    """Cost per pupil by tier against the notional SEN budget per pupil on the register."""
    return chart_markup(charts.cost_per_pupil_by_tier(rows, budget, on_register))


def need_chart(rows):
    return chart_markup(charts.referrals_against_training(rows))


# Chart blocks in the pages' templates call these with what the page already has;
# the documents' own filters serve the pages that show a document's view.
web._env.globals.update(progress_chart=progress_chart, impact_chart=impact_chart)
web._env.filters.update(money=pdf.money, sum_of=pdf.sum_of, frequency=pdf.frequency)


# -- the documents ----------------------------------------------------------------------

CLASS_MAP_COLUMNS = sheets.PROVISION_MAP + [Column("cycles", "Assess, plan, do, review")]
REVIEW_COLUMNS = sheets.PUPIL + [
    Column("review", "Review"),
    Column("started_on", "Started", "date"),
    Column("due", "Due", "date"),
    Column("overdue", "Overdue", get=lambda r: "Yes" if r.get("overdue") else "No"),
    Column("days_overdue", "Days overdue", "int"),
]


def _map_rows(view):
    rows = [r for e in view["pupils"] for r in e["provisions"]]
    rows.append({"pupil_name": "Total", "cost_to_date": view["totals"]["cost_to_date"],
                 "cost_projected": view["totals"]["cost_projected"]})
    return rows


def provision_map_document(view, fmt, name):
    """A class's or a pupil's provision map (queries.documents.class_map's view)."""
    if check_format(fmt) == "pdf":
        return Document(pdf.provision_map_pdf(view), fmt, name)
    return Document(sheets.export(CLASS_MAP_COLUMNS, _map_rows(view), fmt, "Provision map"),
                    fmt, name)


def pupil_provision_map(view, fmt):
    """One pupil's costed provision map, with a progress chart of each reviewed target."""
    entry = view["pupils"][0]
    view = {**view, "charts": [progress(t).as_dict() for t in entry["targets"]
                               if t.get("outcomes")]}
    return provision_map_document(view, fmt, f"provision-map-{entry['pupil']['name']}")


def passport(view):
    return Document(pdf.passport_pdf(view), "pdf", f"passport-{view['pupil']['name']}")


def ehc_timeline(view):
    return Document(pdf.ehc_timeline_pdf(view), "pdf",
                    f"ehc-plan-timeline-{view['pupil']['name']}")


def outreach_report(view):
    return Document(pdf.outreach_report_pdf(view), "pdf",
                    f"outreach-report-{view['referral']['reference']}")


# -- lists as spreadsheets -----------------------------------------------------------

def costs_sheet(rows, fmt):
    check_format(fmt, SPREADSHEETS)
    return Document(sheets.costs(rows, fmt, by="pupil"), fmt, "costs-by-pupil")


def impact_sheet(rows, fmt, group_by):
    check_format(fmt, SPREADSHEETS)
    return Document(sheets.impact(rows, fmt), fmt, f"impact-{group_by}")


def reviews_due_sheet(rows, fmt):
    check_format(fmt, SPREADSHEETS)
    return Document(sheets.export(REVIEW_COLUMNS, rows, fmt, "Reviews due"), fmt, "reviews-due")


def cpd_records_sheet(rows, fmt):
    check_format(fmt, SPREADSHEETS)
    return Document(sheets.cpd_records(rows, fmt), fmt, "cpd-records")


def referrals_sheet(rows, fmt):
    check_format(fmt, SPREADSHEETS)
    return Document(sheets.referrals(rows, fmt), fmt, "referrals")


class DocumentRenderer(DependencyProvider):
    """`documents = DocumentRenderer()`: the renderers above (`documents.passport(view)`,
    `documents.costs_sheet(rows, fmt)`, `documents.cost_chart(...)`, ...)."""

    class Renderers:
        chart_markup = staticmethod(chart_markup)
        progress_chart = staticmethod(progress_chart)
        impact_chart = staticmethod(impact_chart)
        cost_chart = staticmethod(cost_chart)
        need_chart = staticmethod(need_chart)
        provision_map_document = staticmethod(provision_map_document)
        pupil_provision_map = staticmethod(pupil_provision_map)
        passport = staticmethod(passport)
        ehc_timeline = staticmethod(ehc_timeline)
        outreach_report = staticmethod(outreach_report)
        costs_sheet = staticmethod(costs_sheet)
        impact_sheet = staticmethod(impact_sheet)
        reviews_due_sheet = staticmethod(reviews_due_sheet)
        cpd_records_sheet = staticmethod(cpd_records_sheet)
        referrals_sheet = staticmethod(referrals_sheet)

    def get_dependency(self, worker_ctx):
        return self.Renderers
