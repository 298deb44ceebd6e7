"""Certificates as PDF (reportlab), with the verification code and where to check it."""

import io

from nameko.extensions import DependencyProvider


def render_pdf(certificate, provider_name, verify_url):
    buf = io.BytesIO()
    from reportlab.lib.pagesizes import A4, landscape  # loaded on the first certificate
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    width, height = landscape(A4)
    pdf = canvas.Canvas(buf, pagesize=(width, height), invariant=1)
    pdf.setTitle(f"CPD certificate {certificate.verification_code}")
    pdf.setAuthor(provider_name)
    pdf.setLineWidth(2)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    centre = width / 2
    pdf.setFont("Helvetica-Bold", 30)
    pdf.drawCentredString(centre, height - 50 * mm, "Certificate of CPD")
    pdf.setFont("Helvetica", 14)
    pdf.drawCentredString(centre, height - 68 * mm, "This certifies that")
    pdf.setFont("Helvetica-Bold", 24)
    pdf.drawCentredString(centre, height - 84 * mm, certificate.holder_name)
    pdf.setFont("Helvetica", 14)
    pdf.drawCentredString(centre, height - 100 * mm, "completed the course")
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawCentredString(centre, height - 114 * mm, certificate.course_title)
    pdf.setFont("Helvetica", 14)
    pdf.drawCentredString(
        centre, height - 130 * mm,
        f"{certificate.cpd_hours:g} CPD hours, completed on "
        f"{certificate.completed_on.strftime('%-d %B %Y')}, provided by {provider_name}")
    pdf.setFont("Helvetica", 11)
    pdf.drawCentredString(centre, 34 * mm, f"Verification code: {certificate.verification_code}")
    pdf.drawCentredString(centre, 27 * mm, f"Check it at {verify_url}")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


class Certificates:
    """What a worker sees as `self.certificates`."""

    render_pdf = staticmethod(render_pdf)


class CertificateRenderer(DependencyProvider):
    """`certificates = CertificateRenderer()`: a certificate as PDF bytes."""

    def get_dependency(self, worker_ctx):
        return Certificates()
