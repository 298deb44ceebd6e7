"""Documents and charts (issue 15): a pupil's passport, costed provision map and EHC plan
timeline, a class's provision map, the outreach report, the lists as CSV and .xlsx, and
the trust's chart of referrals by need against training. The data is the pages' own
(queries/documents.py and queries/exports.py, each call with the person's token, so a
document is scoped as its page is); `self.documents` renders it (adapters/documents.py)."""

from urllib.parse import urlencode

from werkzeug.utils import redirect

from services.contracts import links
from services.documents.responses import document as document_response

from .. import domain
from ..domain import SPREADSHEETS, NotADocument, check_format
from ..queries import documents as gather
from ..queries import exports
from .base import person_page

MAP_FILTERS = ("registration_group", "year_group", "org_id")


class DocumentPages:
    def _download(self, request, me, build):
        """`build(api)` answers a Document; a format or document not made is a 404."""
        try:
            doc = build(self._api(me))
        except NotADocument:
            return self._not_found(request, me)
        return document_response(doc.data, doc.fmt, doc.name)

    @person_page("GET", "/pupils/<string:pupil_id>/passport.pdf")
    def passport_pdf(self, request, me, pupil_id):
        return self._download(request, me, lambda api: self.documents.passport(
            gather.passport_view(api, me, pupil_id)))

    @person_page("GET", "/pupils/<string:pupil_id>/provision-map.<string:fmt>")
    def pupil_provision_map(self, request, me, pupil_id, fmt):
        def build(api):
            check_format(fmt)
            return self.documents.pupil_provision_map(
                gather.pupil_map_view(api, me, pupil_id), fmt)
        return self._download(request, me, build)

    @person_page("GET", "/pupils/<string:pupil_id>/ehc-plan.pdf")
    def ehc_timeline_pdf(self, request, me, pupil_id):
        return self._download(request, me, lambda api: self.documents.ehc_timeline(
            gather.ehc_timeline_view(api, me, pupil_id, request.args.get("plan"))))

    @person_page("GET", "/referrals/<string:referral_id>/report.pdf")
    def outreach_report_pdf(self, request, me, referral_id):
        return self._download(request, me, lambda api: self.documents.outreach_report(
            gather.outreach_report_view(api, me, referral_id)))

    @staticmethod
    def _map_filters(request):
        return {k: (request.args.get(k) or "").strip() or None for k in MAP_FILTERS}

    @person_page("GET", "/provision-map")
    def class_provision_map(self, request, me):
        filters = self._map_filters(request)
        try:
            view = gather.class_map(self._api(me), me, **filters)
        except NotADocument:
            return redirect(links.path("pupils"), code=303)
        query = urlencode({k: v for k, v in filters.items() if v})
        return self._render(request, "provision_map.html", me=me, title=view["title"],
                            current=links.path("pupils"), view=view, downloads=[
                                (f"/provision-map.{fmt}?{query}", text)
                                for fmt, text in domain.DOWNLOADS])

    @person_page("GET", "/provision-map.<string:fmt>")
    def class_provision_map_file(self, request, me, fmt):
        filters = self._map_filters(request)

        def build(api):
            check_format(fmt)
            view = gather.class_map(api, me, **filters)
            return self.documents.provision_map_document(
                view, fmt, "provision-map-" + (view["scope_label"] or "class"))
        return self._download(request, me, build)

    def _sheet(self, request, me, fmt, rows, render):
        """A list as a spreadsheet: the format checked before any API is read."""
        def build(api):
            check_format(fmt, SPREADSHEETS)
            return render(rows(api), fmt)
        return self._download(request, me, build)

    @person_page("GET", "/costs.<string:fmt>")
    def costs_file(self, request, me, fmt):
        return self._sheet(request, me, fmt, lambda api: exports.costs_rows(api, me),
                           self.documents.costs_sheet)

    @person_page("GET", "/impact.<string:fmt>")
    def impact_file(self, request, me, fmt):
        return self._sheet(request, me, fmt, lambda api: exports.impact_rows(
            api, request.args.get("group_by")), lambda found, fmt: self.documents.impact_sheet(
                found[0], fmt, found[1]))

    @person_page("GET", "/reviews-due.<string:fmt>")
    def reviews_due_file(self, request, me, fmt):
        return self._sheet(request, me, fmt, lambda api: exports.reviews_due_rows(api, me),
                           self.documents.reviews_due_sheet)

    @person_page("GET", "/cpd/records.<string:fmt>")
    def cpd_records_file(self, request, me, fmt):
        return self._sheet(request, me, fmt, lambda api: exports.cpd_records_rows(api, me),
                           self.documents.cpd_records_sheet)

    @person_page("GET", "/referrals.<string:fmt>")
    def referrals_file(self, request, me, fmt):
        return self._sheet(request, me, fmt, lambda api: exports.referrals_rows(
            api, me, request.args.get("status")), self.documents.referrals_sheet)

    @person_page("GET", "/trust/need-and-training")
    def need_and_training(self, request, me):
        view = exports.need_against_training(self._api(me))
        return self._render(request, "need_training.html", me=me,
                            title="Referrals by area of need against training delivered",
                            chart=self.documents.need_chart(view["rows"]), **view)
