"""The acknowledgement and triage clocks, in England working days (the school
calendar's terms and working days live in services/contracts/school_calendar.py)."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.contracts.school_calendar import add_working_days

from .lifecycle import DRAFT, SUBMITTED, WITHDRAWN


class Clock(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    TRIAGE = "triage"


LONDON = ZoneInfo("Europe/London")


def london_date(moment):
    """The calendar day in England of an aware datetime."""
    return moment.astimezone(LONDON).date()


@dataclass(frozen=True)
class Breach:
    clock: Clock
    due_date: date


def clock_due_dates(referral, acknowledge_days, triage_days):
    """{clock: due date} for the clocks still running on a referral.

    Acknowledge: N working days from the first submission, stopped by an
    acknowledgement (or any triage decision). Triage: M working days from the
    latest submission, stopped by accept/decline; a request for more information
    pauses it and a resubmission starts it again."""
    due = {}
    if referral.first_submitted_at is None or referral.status in (DRAFT, WITHDRAWN):
        return due
    if referral.acknowledged_at is None:
        due[Clock.ACKNOWLEDGE] = add_working_days(
            london_date(referral.first_submitted_at), acknowledge_days)
    if referral.status == SUBMITTED:
        due[Clock.TRIAGE] = add_working_days(london_date(referral.submitted_at), triage_days)
    return due


def breaches(referral, today, acknowledge_days, triage_days):
    """Clocks of a referral whose due date has passed on `today`."""
    return [Breach(clock, due) for clock, due in
            sorted(clock_due_dates(referral, acknowledge_days, triage_days).items())
            if today > due]


def overdue_items(candidates, today, acknowledge_days, triage_days):
    """One row per clock breached by each candidate referral (the overdue list)."""
    return [{"referral_id": r.id, "reference": r.reference,
             "school_org_id": r.school_org_id, "status": r.status,
             "clock": b.clock, "due_date": b.due_date}
            for r in candidates for b in breaches(r, today, acknowledge_days, triage_days)]
