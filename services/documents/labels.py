"""Names, not codes, for every value a person reads in a document.

`label(kind, code)` is the one lookup the templates, sheets and charts use; the names
are those of the platform's one table, services/contracts/names.py (its KINDS), with
the first letter up as a cell or a heading starts. Anything unknown is spelt out from
its code.
"""

from services.contracts import names

# Progress on a target at a review, lowest first: the named levels (provision/domain.py).
LEVELS = tuple(names.PROGRESS_NAMES)


def _table(kind):
    return names.KINDS.get(kind, {})


def label(kind, code):
    """The name a person reads for `code` of `kind`; '' for None."""
    if code is None or code == "":
        return ""
    text = names.label(code, kind)
    return text[:1].upper() + text[1:]


def year_label(year_group):
    """'Year 4', 'Reception', 'Nursery' from the census year group number."""
    if year_group is None or year_group == "":
        return ""
    year_group = int(year_group)
    return {0: "Reception", -1: "Nursery", -2: "Nursery (2-year-olds)"}.get(
        year_group, f"Year {year_group}")
