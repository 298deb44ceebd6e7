"""Documents the pupils service makes: the passport and the EHC plan timeline as PDF
(services/documents/pdf.py, WeasyPrint) and the EHC deadlines list as CSV or .xlsx
(services/documents/sheets.py), each as an HTTP attachment."""

from nameko.extensions import DependencyProvider

from services.documents import pdf, sheets
from services.documents import responses as attachments


class Documents:
    """What a worker sees as `self.documents`."""

    def passport(self, view):
        """The published passport's one-page profile (view: organisation, pupil, passport)."""
        return attachments.document(pdf.passport_pdf(view), "pdf",
                                    f"passport-{view['pupil']['name']}")

    def ehc_timeline(self, view, *, today):
        """An EHC plan's statutory dates (view: organisation, pupil, plan)."""
        return attachments.document(pdf.ehc_timeline_pdf({**view, "today": today}), "pdf",
                                    f"ehc-plan-timeline-{view['pupil']['name']}")

    def ehc_deadlines(self, rows, fmt, name="ehc-plan-deadlines"):
        """The EHC deadlines list (rows of sheets.EHC_DEADLINES) as CSV or .xlsx."""
        return attachments.document(sheets.ehc_deadlines(rows, fmt), fmt, name)


class DocumentRenderer(DependencyProvider):
    """`documents = DocumentRenderer()` on the service class."""

    def setup(self):
        self.documents = Documents()

    def get_dependency(self, worker_ctx):
        return self.documents
