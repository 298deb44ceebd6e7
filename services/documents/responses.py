"""HTTP responses for documents, for the services' entrypoints (one branch each)."""

import re

from werkzeug.wrappers import Response

from .sheets import CONTENT_TYPES


def _filename(name, fmt):
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "document"
    return f"{safe}.{fmt}"


def document(data, fmt, name):
    """`data` (bytes) as an attachment of type `fmt` (pdf, csv, xlsx) named `name`.fmt.
    Not cached: these carry personal data."""
    return Response(data, content_type=CONTENT_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{_filename(name, fmt)}"',
        "Cache-Control": "no-store"})


def pupil_summary(pupil, school=None):
    """The pupil block every document shows, from any object with the pupils
    service's pupil attributes (name from forename and legal surname)."""
    name = " ".join(p for p in (getattr(pupil, "forename", None),
                                getattr(pupil, "legal_surname", None)) if p)
    return {"name": name, "upn": getattr(pupil, "upn", None),
            "date_of_birth": getattr(pupil, "date_of_birth", None),
            "year_group": getattr(pupil, "year_group", None),
            "class_name": getattr(pupil, "class_name", None), "school": school,
            "sen_status": getattr(pupil, "sen_status", None),
            "primary_need": getattr(pupil, "primary_need", None),
            "secondary_need": getattr(pupil, "secondary_need", None)}
