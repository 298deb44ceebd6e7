"""Documents and charts in the portal (issue 15): what a person carries away, made from
the same data as the portal's pages and rendered with services/documents (PDF with
WeasyPrint, CSV and .xlsx, SVG charts with their data tables).

The services other than pupils and referrals hold no pupil names, so the portal does
what none of them can: it reads the pupils service too and puts each pupil's name,
UPN, year and class beside their provision, costs and reviews. Every call goes with
the signed-in person's token (`Client.for_session`), so a document shows exactly what
the APIs let that person read: another school's pupil is the API's 404, never a file.

Each builder returns a `Document` (bytes, format, file name) or a view-model dict for
a page; nothing here renders a page or knows about HTTP beyond the `Client`.

Rooms: `gather` (the API reads and the merge of names), `files` (each document and
export, a `Document`), `blocks` (the charts on pages).
"""

from services.documents import pdf

from .. import web
from .blocks import (
    chart_markup,
    cost_chart,
    impact_chart,
    need_against_training,
    progress,
    progress_chart,
)
from .files import (
    costs_sheet,
    cpd_records_sheet,
    ehc_timeline,
    impact_sheet,
    outreach_report,
    passport,
    provision_map_document,
    pupil_provision_map,
    referrals_sheet,
    reviews_due_rows,
    reviews_due_sheet,
)
from .gather import (
    DOWNLOADS,
    Document,
    NotADocument,
    check_format,
    class_map,
    class_map_entries,
    pupil_block,
    pupil_entry,
)

__all__ = ["DOWNLOADS", "Document", "NotADocument", "chart_markup", "check_format",
           "class_map", "class_map_entries", "cost_chart", "costs_sheet", "cpd_records_sheet",
           "ehc_timeline", "impact_chart", "impact_sheet", "need_against_training",
           "outreach_report", "passport", "progress", "progress_chart",
           "provision_map_document", "pupil_block", "pupil_entry", "pupil_provision_map",
           "referrals_sheet", "reviews_due_rows", "reviews_due_sheet"]

# Chart blocks in the existing pages' templates call these with what the page already has;
# the documents' own filters serve the pages that show a document's view.
web._env.globals.update(progress_chart=progress_chart, impact_chart=impact_chart)
web._env.filters.update(money=pdf.money, sum_of=pdf.sum_of, frequency=pdf.frequency)
