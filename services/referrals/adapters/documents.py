"""Documents the referrals service makes: the outreach report as a PDF and the
referral list as CSV or .xlsx (services/documents: WeasyPrint and openpyxl)."""

from nameko.extensions import DependencyProvider

from services.documents import pdf, responses, sheets


class Renderer:
    """What a worker sees as `self.documents`: bytes in, an attachment out."""

    def outreach_report(self, reference, view, generated_on=None):
        """The outreach report PDF (view: queries.report_view) as an HTTP attachment."""
        data = pdf.outreach_report_pdf(view, generated_on=generated_on)
        return responses.document(data, "pdf", f"outreach-report-{reference}")

    def referral_list(self, rows, fmt):
        """The referral list (rows: queries.export_rows) as a CSV or .xlsx attachment."""
        return responses.document(sheets.referrals(rows, fmt), fmt, "referrals")


class Documents(DependencyProvider):
    """`documents = Documents()` on the service class."""

    def setup(self):
        self.renderer = Renderer()

    def get_dependency(self, worker_ctx):
        return self.renderer
