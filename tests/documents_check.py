"""Helpers that read a PDF back (pypdf) and render its first page to PNG
(pdftoppm) under var/test-documents/."""

import io
import shutil
import subprocess

import pypdf

from tests.conftest import ROOT

PNG_DIR = ROOT / "var" / "test-documents"


def read_pdf(data):
    """(reader, [text of each page]) of PDF bytes."""
    assert data[:5] == b"%PDF-"
    reader = pypdf.PdfReader(io.BytesIO(data))
    return reader, [" ".join(p.extract_text().split()) for p in reader.pages]


def first_page_png(data, name):
    """Render page 1 with pdftoppm; returns the PNG's path."""
    assert shutil.which("pdftoppm"), "poppler-utils missing: scripts/ensure-documents.sh"
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    pdf_path = PNG_DIR / f"{name}.pdf"
    pdf_path.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf_path), str(PNG_DIR / name)], check=True, capture_output=True,
                   timeout=60)
    png = PNG_DIR / f"{name}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return png


def contains(text, expected):
    """`expected` is in `text`, whatever the line wrapping did to the spaces."""
    return "".join(expected.split()) in "".join(text.split())


def check_footer(pages, printed="Printed 3 May 2026"):
    for n, text in enumerate(pages, start=1):
        assert "OFFICIAL-SENSITIVE" in text
        assert printed in text
        assert f"Page {n} of {len(pages)}" in text
