"""Reading MIS exports (SIMS, Arbor, Bromcom): their header and value variants, one
row at a time."""

from datetime import date

from services.contracts.sen import NEED_TYPE_AREA, validate_upn

from .register import SenStatus, sen_errors

# -- bulk import ---------------------------------------------------------------------
#
# What SIMS, Arbor and Bromcom exports actually contain: header variants (normalised to
# letters and digits, so "NC Year Actual", "NCYearActual" and "nc_year_actual" agree),
# year groups as "Reception", "Year 6", "Nursery 1", "R", "N1", "6" or census code X
# (National Curriculum not followed), SEN provision as E/K/N or "EHC Plan" /
# "SEN Support" / "No Special Educational Need", need types as census codes or their
# census names, dates as ISO or UK day/month/year.

IMPORT_COLUMNS = {
    "upn": ("upn", "uniquepupilnumber", "pupilupn", "studentupn"),
    "legal_surname": ("legalsurname", "surname", "lastname", "legallastname", "familyname"),
    "forename": ("forename", "legalforename", "firstname", "legalfirstname", "givenname"),
    "date_of_birth": ("dateofbirth", "dob", "birthdate"),
    "year_group": ("yeargroup", "ncyear", "ncyearactual", "year", "curriculumyear",
                   "nationalcurriculumyear", "yearnc"),
    "sen_status": ("senprovision", "senstatus", "sen", "senstage", "sencategory",
                   "senprovisiontype"),
    "primary_need": ("primaryneed", "senprimaryneed", "primarysentype", "primarysenneed",
                     "primaryneedtype", "sentype1", "senneed1", "senneedtype1", "needtype1",
                     "senneedrank1"),
    "secondary_need": ("secondaryneed", "sensecondaryneed", "secondarysentype",
                       "secondarysenneed", "secondaryneedtype", "sentype2", "senneed2",
                       "senneedtype2", "needtype2", "senneedrank2"),
    "registration_group": ("reggroup", "registrationgroup", "form", "formgroup", "tutorgroup",
                           "class", "classname", "registrationform", "regform", "regclass",
                           "currentreggroup"),
}
REQUIRED_COLUMNS = ("upn", "legal_surname", "forename", "date_of_birth", "year_group",
                    "sen_status")
REASON_COLUMN = "Reason"  # the column the rejected-rows file adds (ignored on re-import)
NC_NOT_FOLLOWED = "X"
YEAR_GROUPS_ALLOWED = ("N1, N2, R (Reception), 1-14 (Year 1 to Year 14) or X (National "
                       "Curriculum not followed)")
SEN_STATUS_ALLOWED = "E, K or N (EHC Plan, SEN Support, No Special Educational Need)"


def _norm(text):
    return "".join(ch for ch in text.lower().replace("&", "and") if ch.isalnum())


_YEAR_WORDS = {"n1": -2, "nursery1": -2, "fs1": -2, "n2": -1, "nursery2": -1, "fs2": 0,
               "r": 0, "rec": 0, "reception": 0, "yrr": 0, "yearr": 0, "yearreception": 0,
               "yrn1": -2, "yrn2": -1, "yearn1": -2, "yearn2": -1}
_X_WORDS = {"x", "ncx", "yearx", "notfollowingnc", "ncnotfollowed",
            "nationalcurriculumnotfollowed", "notfollowingthenationalcurriculum"}
_E, _K, _N = SenStatus.EHC_PLAN, SenStatus.SEN_SUPPORT, SenStatus.NO_SEN
_SEN_WORDS = {
    "e": _E, "ehcplan": _E, "ehcp": _E, "ehc": _E, "educationhealthandcareplan": _E,
    "eehcplan": _E,
    "k": _K, "sensupport": _K, "ksensupport": _K, "support": _K,
    "n": _N, "nosen": _N, "none": _N, "nospecialeducationalneed": _N,
    "nospecialeducationalneeds": _N, "nnosen": _N, "notsen": _N,
}


def _need_words():
    from services.contracts.names import NEED_TYPE_NAMES
    out = {_norm(code): code for code in NEED_TYPE_AREA}
    out.update({_norm(name): code for code, name in NEED_TYPE_NAMES.items()})
    # "ASD - Autistic Spectrum Disorder", as some MIS lists show them
    out.update({_norm(code + name): code for code, name in NEED_TYPE_NAMES.items()})
    out.update({"autism": "ASD", "autisticspectrumcondition": "ASD", "asc": "ASD",
                "profoundandmultiplelearningdifficulties": "PMLD",
                "speechlanguageandcommunicationneed": "SLCN"})
    return out


_NEED_WORDS = _need_words()


def map_header(header):
    """CSV header → {column index: field}; raises ValueError naming missing columns."""
    norm = [_norm(h) for h in header]
    mapping = {}
    for field, aliases in IMPORT_COLUMNS.items():
        for i, name in enumerate(norm):
            if name in aliases and i not in mapping:
                mapping[i] = field
                break
    missing = [f for f in REQUIRED_COLUMNS if f not in mapping.values()]
    if missing:
        raise ValueError(", ".join(missing))
    return mapping


def parse_year_group(value):
    """A year group as an MIS writes it → (year_group, nc_not_followed): (6, False) for
    "Year 6", (0, False) for "Reception", (-2, False) for "Nursery 1", (None, True) for
    census code X. Raises ValueError naming the value found and the values allowed."""
    key = _norm(value)
    if key in _X_WORDS:
        return None, True
    if key in _YEAR_WORDS:
        return _YEAR_WORDS[key], False
    for prefix in ("year", "yr", "y", "ncyear", "nc"):
        if key.startswith(prefix) and key[len(prefix):].isdigit():
            key = key[len(prefix):]
            break
    if key.isdigit() and 0 <= int(key) <= 14:
        return int(key), False
    raise ValueError(f"Found {value.strip()!r}: not a national curriculum year; allowed: "
                     f"{YEAR_GROUPS_ALLOWED}")


def parse_sen_status(value):
    key = _norm(value)
    if key in _SEN_WORDS:
        return _SEN_WORDS[key]
    found = f"Found {value.strip()!r}" if value.strip() else "Empty"
    raise ValueError(f"{found}: not an SEN provision; allowed: {SEN_STATUS_ALLOWED}")


def parse_need(value):
    """A census need code or its census name → the code; None when blank."""
    if not value.strip():
        return None
    code = _NEED_WORDS.get(_norm(value))
    if code is None:
        raise ValueError(f"Found {value.strip()!r}: not a census need type; allowed: "
                         + ", ".join(NEED_TYPE_AREA) + " (or their census names)")
    return code


def parse_date(value):
    value = value.strip()
    for parse in (date.fromisoformat, _uk_date, _named_month_date):
        try:
            return parse(value)
        except ValueError:
            continue
    raise ValueError(f"Found {value!r}: not a date; allowed: YYYY-MM-DD or DD/MM/YYYY")


def _uk_date(value):
    for sep in ("/", "-", "."):
        if value.count(sep) == 2:
            d, m, y = value.split(sep)
            if len(y) == 4:
                return date(int(y), int(m), int(d))
    raise ValueError(value)


def _named_month_date(value):
    from datetime import datetime
    for fmt in ("%d %b %Y", "%d %B %Y", "%d-%b-%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def parse_import_row(row, mapping, today):
    """One CSV row → (pupil data, [(field, reason)])."""
    raw = {field: (row[i].strip() if i < len(row) else "") for i, field in mapping.items()}
    data, errors = {}, []
    try:
        data["upn"] = validate_upn(raw["upn"])
    except ValueError as exc:
        found = f"found {raw['upn']!r}" if raw["upn"] else "empty"
        errors.append(("upn", f"{exc} ({found})"))
    for field in ("legal_surname", "forename"):
        if not raw[field]:
            errors.append((field, "Required"))
        elif len(raw[field]) > 100:
            errors.append((field, "Longer than 100 characters"))
        else:
            data[field] = raw[field]
    try:
        dob = parse_date(raw["date_of_birth"])
        if dob > today or (today - dob).days > 26 * 366:
            errors.append(("date_of_birth", f"Found {raw['date_of_birth']!r}: not a plausible "
                                            "date of birth for a pupil (aged 0 to 25)"))
        data["date_of_birth"] = dob
    except ValueError as exc:
        errors.append(("date_of_birth", str(exc)))
    try:
        data["year_group"], data["nc_not_followed"] = parse_year_group(raw["year_group"])
    except ValueError as exc:
        errors.append(("year_group", str(exc)))
    status = None
    try:
        status = parse_sen_status(raw["sen_status"])
    except ValueError as exc:
        errors.append(("sen_status", str(exc)))
    data["sen_status"] = status
    for field in ("primary_need", "secondary_need"):
        try:
            data[field] = parse_need(raw.get(field, ""))
        except ValueError as exc:
            errors.append((field, str(exc)))
            data[field] = None
    if "registration_group" in raw:
        group = raw["registration_group"]
        if len(group) > 30:
            errors.append(("registration_group", "Longer than 30 characters"))
        data["registration_group"] = group or None
    if not any(f in ("sen_status", "primary_need", "secondary_need") for f, _ in errors):
        for field, reasons in sen_errors(status, data["primary_need"],
                                         data["secondary_need"]).items():
            errors.extend((field, r) for r in reasons)
    return data, errors
