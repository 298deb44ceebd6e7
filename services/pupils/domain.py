"""Pupils rules in plain Python (no nameko, no SQL).

SEN register rules (DESIGN.md §5), census readiness, the EHC statutory clock
(calendar weeks, lawful pauses) and reminders counted in England working days.
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import holidays

from services.contracts.sen import NEED_TYPE_AREA, is_temporary_upn, validate_upn

PUPIL_ORG_KINDS = ("trust_school", "arb")  # organisations that keep pupils here


def new_organisation(data, *, actor, now):
    return {
        "id": str(uuid.uuid4()),
        "name": data["name"].strip(),
        "kind": data["kind"],
        "urn": data.get("urn"),
        "laestab": data.get("laestab"),
        "phase": data.get("phase"),
        "contact_email": data.get("contact_email"),
        "onboarded_at": now,
        "onboarded_by": actor,
    }


def onboarded_event(org):
    return {"org_id": org.id, "name": org.name, "urn": org.urn, "laestab": org.laestab,
            "kind": org.kind, "contact_email": org.contact_email}


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
    if status in ("E", "K") and not primary:
        errors["primary_need"] = [f"A pupil on {status} needs a primary need"]
    if status == "N" and primary:
        errors["primary_need"] = ["A pupil with no SEN (N) has no primary need"]
    if status == "N" and secondary:
        errors["secondary_need"] = ["A pupil with no SEN (N) has no secondary need"]
    for field, code in (("primary_need", primary), ("secondary_need", secondary)):
        if code == "NSA" and status != "K":
            errors.setdefault(field, []).append("NSA is only allowed with SEN support (K)")
    if secondary == "NSA" and status == "K" and primary:
        errors["secondary_need"] = ["NSA (no specialist assessment) cannot rank second"]
    if primary == "NSA" and secondary and status == "K":
        errors["secondary_need"] = ["A pupil recorded as NSA has no secondary need"]
    if secondary and not primary and "secondary_need" not in errors:
        errors["secondary_need"] = ["A secondary need needs a primary need"]
    if secondary and secondary == primary:
        errors["secondary_need"] = ["The secondary need must differ from the primary need"]
    return errors


def sen_event(pupil):
    return {"pupil_id": pupil.id, "org_id": pupil.org_id, "sen_status": pupil.sen_status,
            "primary_need": pupil.primary_need, "secondary_need": pupil.secondary_need,
            "areas_of_need": areas_of_need(pupil.primary_need, pupil.secondary_need)}


def census_issues(pupil, *, has_issued_plan):
    """Every census rule this pupil breaks: [{"rule", "field", "detail"}].

    `pupil` is anything with upn, sen_status, primary_need, secondary_need,
    year_group and date_of_birth attributes.
    """
    issues = []
    for field, reasons in sen_errors(pupil.sen_status, pupil.primary_need,
                                     pupil.secondary_need).items():
        for reason in reasons:
            issues.append({"rule": "sen_need", "field": field, "detail": reason})
    if pupil.sen_status not in ("E", "K", "N"):
        issues.append({"rule": "sen_provision", "field": "sen_status",
                       "detail": "SEN provision must be E, K or N"})
    try:
        validate_upn(pupil.upn or "")
        if is_temporary_upn(pupil.upn):
            issues.append({"rule": "upn_temporary", "field": "upn",
                           "detail": "The pupil still has a temporary UPN"})
    except ValueError as exc:
        issues.append({"rule": "upn_invalid", "field": "upn", "detail": str(exc)})
    if pupil.sen_status == "E" and not has_issued_plan:
        issues.append({"rule": "ehcp_missing", "field": "sen_status",
                       "detail": "Provision E needs an issued EHC plan"})
    if pupil.year_group is None:
        issues.append({"rule": "year_group_missing", "field": "year_group",
                       "detail": "The census needs a national curriculum year"})
    if pupil.date_of_birth is None:
        issues.append({"rule": "date_of_birth_missing", "field": "date_of_birth",
                       "detail": "The census needs a date of birth"})
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
    return "anonymised" if has_plan or sen_status in ("E", "K") else "erased"


# -- EHC plans: the statutory clock --------------------------------------------------

STEP_WEEKS = {"decision_to_assess": 6, "decision_to_issue": 16, "final_plan": 20}
STEP_DONE_FIELD = {"decision_to_assess": "decision_to_assess_on",
                   "decision_to_issue": "decision_to_issue_on",
                   "final_plan": "issued_on",
                   "phase_transfer": "phase_transfer_amended_on"}
PHASE_TRANSFER_DAY = (2, 15)  # 15 February of the year the pupil transfers phase


@dataclass(frozen=True)
class Pause:
    starts_on: date
    ends_on: date | None  # None while the clock is still paused


def clock_deadline(request_date, weeks, pauses):
    """Date `weeks` calendar weeks after the request, pushed back by every lawful
    pause that began before the (pushed) deadline. None while such a pause is open."""
    due = request_date + timedelta(weeks=weeks)
    for pause in sorted(pauses, key=lambda p: p.starts_on):
        if pause.starts_on > due:
            break
        if pause.ends_on is None:
            return None
        due += timedelta(days=(pause.ends_on - pause.starts_on).days)
    return due


def add_twelve_months(day):
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def plan_deadlines(plan, pauses):
    """{step: {"due": date|None, "done_on": date|None}} for a plan (any object with
    request_date, decision_to_assess_on, assessment_refused, decision_to_issue_on,
    issue_refused, issued_on, last_review_on, phase_transfer_year,
    phase_transfer_amended_on)."""
    out = {}
    stopped = False  # a refusal ends the statutory clock
    for step, weeks in STEP_WEEKS.items():
        if stopped:
            break
        out[step] = {"due": clock_deadline(plan.request_date, weeks, pauses),
                     "done_on": getattr(plan, STEP_DONE_FIELD[step])}
        if step == "decision_to_assess" and plan.assessment_refused:
            stopped = True
        if step == "decision_to_issue" and plan.issue_refused:
            stopped = True
    if plan.issued_on:
        last = plan.last_review_on or plan.issued_on
        # done by recording the review: last_review_on moves and a new due date follows
        out["annual_review"] = {"due": add_twelve_months(last), "done_on": None}
    if plan.phase_transfer_year and plan.issued_on:
        out["phase_transfer"] = {"due": date(plan.phase_transfer_year, *PHASE_TRANSFER_DAY),
                                 "done_on": plan.phase_transfer_amended_on}
    return out


class WorkingDays:
    """England working days (weekends and bank holidays off), from `holidays`."""

    def __init__(self, extra_holidays=()):
        self._cal = holidays.country_holidays("GB", subdiv="ENG")
        self._extra = set(extra_holidays)

    def is_working_day(self, day):
        return day.weekday() < 5 and day not in self._cal and day not in self._extra

    def subtract(self, day, n):
        """The working day `n` working days before `day`."""
        while n > 0:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day


@dataclass(frozen=True)
class Reminder:
    plan_id: str
    pupil_id: str
    org_id: str
    deadline: str
    due_date: date

    @property
    def event_type(self):
        return "ehcp.review_due" if self.deadline == "annual_review" else "ehcp.deadline_at_risk"

    def event_data(self):
        data = {"pupil_id": self.pupil_id, "org_id": self.org_id, "plan_id": self.plan_id,
                "due_date": self.due_date.isoformat()}
        if self.deadline != "annual_review":
            data["deadline"] = self.deadline
        return data


def due_reminders(plans, today, *, lead_working_days, working_days, already_sent=frozenset()):
    """Reminders to send today: for each open step whose due date is within
    `lead_working_days` England working days (or already past), once per
    (plan, deadline, due date). `plans` yields (plan, pauses, pupil_id, org_id)."""
    out = []
    for plan, pauses, pupil_id, org_id in plans:
        for step, info in plan_deadlines(plan, pauses).items():
            due = info["due"]
            if due is None or info["done_on"] is not None:
                continue
            if (plan.id, step, due) in already_sent:
                continue
            if today >= working_days.subtract(due, lead_working_days):
                out.append(Reminder(plan.id, pupil_id, org_id, step, due))
    return out


# -- bulk import ---------------------------------------------------------------------

IMPORT_COLUMNS = {
    "upn": ("upn",),
    "legal_surname": ("legalsurname", "surname", "lastname"),
    "forename": ("forename", "legalforename", "firstname"),
    "date_of_birth": ("dateofbirth", "dob", "birthdate"),
    "year_group": ("yeargroup", "ncyear", "ncyearactual", "year"),
    "sen_status": ("senprovision", "senstatus", "sen"),
    "primary_need": ("primaryneed", "senprimaryneed", "primarysentype"),
    "secondary_need": ("secondaryneed", "sensecondaryneed", "secondarysentype"),
}
REQUIRED_COLUMNS = ("upn", "legal_surname", "forename", "date_of_birth", "year_group",
                    "sen_status")
YEAR_GROUPS = {"N1": -2, "N2": -1, "R": 0, **{str(n): n for n in range(0, 15)}}


def map_header(header):
    """CSV header → {column index: field}; raises ValueError naming missing columns."""
    norm = ["".join(ch for ch in h.lower() if ch.isalnum()) for h in header]
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
    value = value.strip().upper().removeprefix("Y").removeprefix("EAR ").strip()
    if value not in YEAR_GROUPS:
        raise ValueError("Not a national curriculum year (N1, N2, R, 1-14)")
    return YEAR_GROUPS[value]


def parse_date(value):
    value = value.strip()
    for parse in (date.fromisoformat, _uk_date):
        try:
            return parse(value)
        except ValueError:
            continue
    raise ValueError("Not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _uk_date(value):
    d, m, y = value.split("/")
    if len(y) != 4:
        raise ValueError(value)
    return date(int(y), int(m), int(d))


def parse_import_row(row, mapping, today):
    """One CSV row → (pupil data, [(field, reason)])."""
    raw = {field: (row[i].strip() if i < len(row) else "") for i, field in mapping.items()}
    data, errors = {}, []
    try:
        data["upn"] = validate_upn(raw["upn"])
    except ValueError as exc:
        errors.append(("upn", str(exc)))
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
            errors.append(("date_of_birth", "Not a plausible date of birth for a pupil"))
        data["date_of_birth"] = dob
    except ValueError as exc:
        errors.append(("date_of_birth", str(exc)))
    try:
        data["year_group"] = parse_year_group(raw["year_group"])
    except ValueError as exc:
        errors.append(("year_group", str(exc)))
    status = raw["sen_status"].upper()
    if status not in ("E", "K", "N"):
        errors.append(("sen_status", "SEN provision must be E, K or N"))
    data["sen_status"] = status
    for field in ("primary_need", "secondary_need"):
        code = raw.get(field, "").upper() or None
        if code is not None and code not in NEED_TYPE_AREA:
            errors.append((field, "Not a census need type"))
        data[field] = code
    if not any(f in ("sen_status", "primary_need", "secondary_need") for f, _ in errors):
        for field, reasons in sen_errors(status, data["primary_need"],
                                         data["secondary_need"]).items():
            errors.extend((field, r) for r in reasons)
    return data, errors
