"""The pupil's record: the SEN register (E/K/N and ranked census needs: the
combinations the school census accepts), census readiness, UPNs, passports, moves
and erasure."""

from datetime import date, timedelta
from enum import StrEnum

from services.common.errors import Conflict, RuleBroken
from services.contracts.names import year_group_name
from services.contracts.sen import NEED_TYPE_AREA, is_temporary_upn, validate_upn


class SenStatus(StrEnum):
    """SEN provision as the school census records it."""

    EHC_PLAN = "E"
    SEN_SUPPORT = "K"
    NO_SEN = "N"


ON_SEN_REGISTER = (SenStatus.EHC_PLAN, SenStatus.SEN_SUPPORT)
NO_SPECIALIST_ASSESSMENT = "NSA"  # the census need code for "no specialist assessment"


class PassportStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class ErasureMode(StrEnum):
    ERASED = "erased"
    ANONYMISED = "anonymised"


class Severity(StrEnum):
    """A census issue: the census would reject it (error), or DfE's checks query it."""

    ERROR = "error"
    WARNING = "warning"


def upn_unavailable():
    """The same answer whether the UPN is on the caller's roll or another school's,
    so a school cannot learn of a pupil elsewhere (issue 11)."""
    return Conflict("This UPN cannot be used for a new record", errors={"upn": [
        "Cannot be used: check your roll; a pupil joining from another school of the "
        "trust is moved by the trust"]})


def check_upn_replacement(current, new):
    """Only a temporary UPN may be replaced, and only by a permanent one."""
    if current and not is_temporary_upn(current):
        raise RuleBroken("Only a temporary UPN can be replaced",
                         errors={"upn": ["The pupil already has a permanent UPN"]})
    if is_temporary_upn(new):
        raise RuleBroken("Replace a temporary UPN with the permanent one",
                         errors={"upn": ["The new UPN is temporary"]})


def check_sen_change(current, new, effective):
    """`current` (the open register entry: status, primary, secondary, starts_on) may
    close on `effective` for `new` (status, primary, secondary)."""
    if (current.status, current.primary_need, current.secondary_need) == new:
        raise Conflict("The pupil already has this SEN provision and these needs",
                       errors={"sen_status": ["Unchanged"]})
    if effective < current.starts_on:
        raise RuleBroken("The change cannot predate the open entry",
                         errors={"effective_date": [
                             f"Must not be before {current.starts_on.isoformat()}"]})


def check_move(keeps_pupils, to_org_id, from_org_id):
    """A pupil moves only to another school or ARB of the trust (`keeps_pupils`: the
    organisation `to_org_id` exists and is one, access.PUPIL_SCHOOLS)."""
    if not keeps_pupils:
        raise RuleBroken("Pupils move only to a school or ARB of the trust",
                         errors={"to_org_id": ["Not a school or ARB of the trust"]})
    if to_org_id == from_org_id:
        raise RuleBroken("The pupil is already there",
                         errors={"to_org_id": ["The pupil's current organisation"]})


def check_publishable(status):
    if status == PassportStatus.PUBLISHED:
        raise Conflict("This version is already published",
                       errors={"version": ["Already published"]})


# -- SEN register -------------------------------------------------------------------

def areas_of_need(primary, secondary=None):
    """The broad areas of need derived from the ranked census codes (primary first)."""
    areas = []
    for code in (primary, secondary):
        area = NEED_TYPE_AREA.get(code) if code else None
        if area and area not in areas:
            areas.append(area)
    return areas


def need_types_of_area(area):
    return [code for code, a in NEED_TYPE_AREA.items() if a == area]


def sen_errors(status, primary, secondary):
    """{field: [reason]} for a combination the census rejects; {} when it is fine."""
    errors = {}
    nsa, support = NO_SPECIALIST_ASSESSMENT, SenStatus.SEN_SUPPORT
    if status in ON_SEN_REGISTER and not primary:
        errors["primary_need"] = [f"A pupil on {status} needs a primary need"]
    if status == SenStatus.NO_SEN and primary:
        errors["primary_need"] = ["A pupil with no SEN (N) has no primary need"]
    if status == SenStatus.NO_SEN and secondary:
        errors["secondary_need"] = ["A pupil with no SEN (N) has no secondary need"]
    for field, code in (("primary_need", primary), ("secondary_need", secondary)):
        if code == nsa and status != support:
            errors.setdefault(field, []).append("NSA is only allowed with SEN support (K)")
    if secondary == nsa and status == support and primary:
        errors["secondary_need"] = ["NSA (no specialist assessment) cannot rank second"]
    if primary == nsa and secondary and status == support:
        errors["secondary_need"] = ["A pupil recorded as NSA has no secondary need"]
    if secondary and not primary and "secondary_need" not in errors:
        errors["secondary_need"] = ["A secondary need needs a primary need"]
    if secondary and secondary == primary:
        errors["secondary_need"] = ["The secondary need must differ from the primary need"]
    return errors


def census_issues(pupil, *, has_issued_plan, census_date=None):
    """Every census rule this pupil breaks: [{"rule", "field", "detail"}].

    `pupil` is anything with upn, sen_status, primary_need, secondary_need,
    year_group and date_of_birth attributes (and optionally nc_not_followed). Each
    issue has a severity: "error" (the census would reject it) or "warning" (DfE's
    checks query it: the year group not the one expected from the date of birth,
    counted on `census_date`).
    """
    issues = []
    for field, reasons in sen_errors(pupil.sen_status, pupil.primary_need,
                                     pupil.secondary_need).items():
        for reason in reasons:
            issues.append({"rule": "sen_need", "field": field, "detail": reason})
    if pupil.sen_status not in tuple(SenStatus):
        issues.append({"rule": "sen_provision", "field": "sen_status",
                       "detail": "SEN provision must be E, K or N"})
    try:
        validate_upn(pupil.upn or "")
        if is_temporary_upn(pupil.upn):
            issues.append({"rule": "upn_temporary", "field": "upn",
                           "detail": "The pupil still has a temporary UPN"})
    except ValueError as exc:
        issues.append({"rule": "upn_invalid", "field": "upn", "detail": str(exc)})
    if pupil.sen_status == SenStatus.EHC_PLAN and not has_issued_plan:
        issues.append({"rule": "ehcp_missing", "field": "sen_status",
                       "detail": "Provision E needs an issued EHC plan"})
    not_followed = bool(getattr(pupil, "nc_not_followed", False))
    if pupil.year_group is None and not not_followed:
        issues.append({"rule": "year_group_missing", "field": "year_group",
                       "detail": "The census needs a national curriculum year (or X)"})
    if pupil.date_of_birth is None:
        issues.append({"rule": "date_of_birth_missing", "field": "date_of_birth",
                       "detail": "The census needs a date of birth"})
    for issue in issues:
        issue["severity"] = Severity.ERROR
    if census_date and pupil.date_of_birth and pupil.year_group is not None:
        expected = expected_year_group(pupil.date_of_birth, census_date)
        if expected != pupil.year_group and -2 <= expected <= 14:
            # DfE's census validation queries this, and accepts an explanation: pupils
            # with SEN are often taught out of their chronological year group.
            issues.append({
                "rule": "year_group_not_expected", "field": "year_group",
                "severity": Severity.WARNING,
                "detail": f"Recorded as {year_group_name(pupil.year_group)}; a pupil born "
                          f"{pupil.date_of_birth.strftime('%-d %B %Y')} is "
                          f"{year_group_name(expected)} by age on 31 August (DfE school "
                          "census check; allowed when the pupil is taught out of year)"})
    return issues


def census_dates(year):
    """Census days of a calendar year: 3rd Thursday of January and May, 1st of October."""

    def nth_thursday(month, n):
        first = date(year, month, 1)
        return first + timedelta(days=(3 - first.weekday()) % 7 + 7 * (n - 1))

    return [nth_thursday(1, 3), nth_thursday(5, 3), nth_thursday(10, 1)]


def next_census_date(today):
    for day in census_dates(today.year) + census_dates(today.year + 1):
        if day >= today:
            return day
    raise AssertionError("unreachable")


def erasure_mode(*, sen_status, has_plan):
    """Erase outright unless the law requires the SEN record to be kept: a pupil with
    an EHC plan or on the SEN register (records kept to DOB + 25 years) is anonymised."""
    if has_plan or sen_status in ON_SEN_REGISTER:
        return ErasureMode.ANONYMISED
    return ErasureMode.ERASED


def age_on_31_august(dob, today):
    """Age at the start of the academic year containing `today` (on 31 August before it),
    as DfE's census checks count it."""
    year = today.year if today.month >= 9 else today.year - 1
    cutoff = date(year, 8, 31)
    return cutoff.year - dob.year - ((cutoff.month, cutoff.day) < (dob.month, dob.day))


def expected_year_group(dob, today):
    """The national curriculum year for a date of birth: age 4 on the 31 August before
    the academic year → Reception (0), 5 → Year 1 … (DfE school census guidance)."""
    return age_on_31_august(dob, today) - 4
