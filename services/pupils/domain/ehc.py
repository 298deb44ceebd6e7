"""EHC plans: the statutory clock (calendar weeks, lawful pauses), the steps'
records and the reminders ahead of each deadline, counted in England working days."""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from services.common.errors import Conflict, RuleBroken
from services.contracts import school_calendar

# -- EHC plans: the statutory clock --------------------------------------------------
#
# Children and Families Act 2014 and the SEND Regulations 2014 (SI 2014/1530):
#   reg. 5(1) decision whether to assess within 6 weeks of the request;
#   reg. 10(1) decision whether to issue a plan within 16 weeks;
#   reg. 13(2) the final plan within 20 weeks; reg. 13(1) 15 days to comment on a draft;
#   the exceptions to those limits: reg. 5(4), 10(4), 13(3);
#   s.44(1) annual review within 12 months of the plan being made or last reviewed;
#   reg. 18(1)/(2) phase transfers; reg. 20(10) the decision after a review (4 weeks);
#   reg. 22(5) the final amended plan (8 weeks from the amendment notice).



class EhcStep(StrEnum):
    """The statutory deadlines of an EHC plan, in the order they fall."""

    DECISION_TO_ASSESS = "decision_to_assess"
    DECISION_TO_ISSUE = "decision_to_issue"
    FINAL_PLAN = "final_plan"
    DRAFT_COMMENTS = "draft_comments"
    ANNUAL_REVIEW = "annual_review"
    REVIEW_DECISION = "review_decision"
    AMENDED_PLAN = "amended_plan"
    PHASE_TRANSFER = "phase_transfer"


STEP_WEEKS = {EhcStep.DECISION_TO_ASSESS: 6, EhcStep.DECISION_TO_ISSUE: 16,
              EhcStep.FINAL_PLAN: 20}
STEP_DONE_FIELD = {EhcStep.DECISION_TO_ASSESS: "decision_to_assess_on",
                   EhcStep.DECISION_TO_ISSUE: "decision_to_issue_on",
                   EhcStep.FINAL_PLAN: "issued_on",
                   EhcStep.PHASE_TRANSFER: "phase_transfer_amended_on"}
# the dates of a plan's steps, each on or after the one before (the plan's record)
STEP_ORDER = ("request_date", "decision_to_assess_on", "decision_to_issue_on", "issued_on",
              "last_review_on")

# reg. 18(1)(a): a transfer between phases of education — reviewed and amended *before*
# 15 February of the calendar year of the transfer; reg. 18(1)(b): from secondary school
# to a post-16 institution — *before* 31 March; reg. 18(2): between post-16
# institutions — at least 5 months before the transfer.
class PhaseTransferKind(StrEnum):
    BETWEEN_PHASES = "between_phases"            # reg. 18(1)(a)
    SECONDARY_TO_POST16 = "secondary_to_post16"  # reg. 18(1)(b)
    BETWEEN_POST16 = "between_post16"            # reg. 18(2)


PHASE_TRANSFER_KINDS = tuple(PhaseTransferKind)
PHASE_TRANSFER_BEFORE = {PhaseTransferKind.BETWEEN_PHASES: (2, 15),
                         PhaseTransferKind.SECONDARY_TO_POST16: (3, 31)}
POST16_TRANSFER_MONTHS = 5

# The exceptions to the 6-, 16- and 20-week limits (reg. 5(4), 10(4), 13(3)); each
# needs its conditions: (a) the school or college closed for a continuous period of
# at least 4 weeks; (b) exceptional personal circumstances affecting the child or the
# child's parent; (c) the child or parent absent from the area for a continuous period
# of at least 4 weeks.
class PauseReason(StrEnum):
    SCHOOL_CLOSURE = "school_closure"                                          # (a)
    EXCEPTIONAL_PERSONAL_CIRCUMSTANCES = "exceptional_personal_circumstances"  # (b)
    ABSENT_FROM_AREA = "absent_from_area"                                      # (c)
    MISSED_APPOINTMENT = "missed_appointment"  # not a pause: refused with the reason


LAWFUL_PAUSES = (PauseReason.SCHOOL_CLOSURE, PauseReason.EXCEPTIONAL_PERSONAL_CIRCUMSTANCES,
                 PauseReason.ABSENT_FROM_AREA)
FOUR_WEEK_PAUSES = (PauseReason.SCHOOL_CLOSURE, PauseReason.ABSENT_FROM_AREA)
PAUSE_RULE = "SEND Regulations 2014 reg. 5(4), 10(4) and 13(3)"
NOT_PAUSES = {
    PauseReason.MISSED_APPOINTMENT: (
        "A missed appointment is an exception only to the 6-week deadline for advice and "
        "information from other bodies (SEND Regulations 2014 reg. 8; Code of Practice "
        "9.43), not to the 6-, 16- or 20-week limits: only the exceptions of " + PAUSE_RULE
        + " pause them"),
}
PAUSE_REASONS = LAWFUL_PAUSES + tuple(NOT_PAUSES)

class ReviewDecision(StrEnum):
    KEEP = "keep"
    AMEND = "amend"
    CEASE = "cease"


REVIEW_DECISIONS = tuple(ReviewDecision)
REVIEW_DECISION_WEEKS = 4    # reg. 20(10)
AMENDED_PLAN_WEEKS = 8       # reg. 22(5)
DRAFT_COMMENT_DAYS = 15      # reg. 13(1)(b)


@dataclass(frozen=True)
class Pause:
    starts_on: date
    ends_on: date | None  # the day the clock runs again; None while still paused


def pause_errors(reason, starts_on, ends_on, *, request_date, issued_on=None):
    """{field: [reason]} when a pause is not one of the lawful exceptions (reg. 5(4),
    10(4), 13(3)) or its conditions are not met; {} when it is. `ends_on` is the day the
    school reopens / the person is back (the clock runs again); a 4-week condition is met
    by 28 days or more."""
    if reason in NOT_PAUSES:
        return {"reason": [NOT_PAUSES[reason]]}
    if reason not in LAWFUL_PAUSES:
        return {"reason": [f"Not a lawful exception ({PAUSE_RULE}): use one of "
                           + ", ".join(LAWFUL_PAUSES)]}
    if starts_on < request_date:
        return {"starts_on": ["Must not be before the request date"]}
    if issued_on is not None and starts_on >= issued_on:
        return {"starts_on": ["The final plan was issued on " + issued_on.isoformat()
                              + ": the 20-week clock has stopped (reg. 13(2))"]}
    if ends_on is not None and ends_on < starts_on:
        return {"ends_on": ["Must not be before starts_on"]}
    if ends_on is not None and reason in FOUR_WEEK_PAUSES:
        days = (ends_on - starts_on).days
        if days < 28:
            what = ("The school or college must be closed"
                    if reason == PauseReason.SCHOOL_CLOSURE
                    else "The child or parent must be absent from the area")
            return {"ends_on": [f"{what} for a continuous period of at least 4 weeks "
                                f"({PAUSE_RULE}, exception (a)/(c)); this is {days} days"]}
    return {}


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


def add_months(day, months):
    """The corresponding day `months` later (or earlier); the month's last day when it
    has no such day (31 March + 11 months → 29 February or 28 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def add_twelve_months(day):
    """The anniversary (28 February for a 29 February)."""
    return add_months(day, 12)


def annual_review_last_day(made_or_reviewed_on):
    """s.44(1) Children and Families Act 2014: the review is "in the period of 12 months
    starting with" the day the plan was made or last reviewed, so the last lawful day is
    the day before the anniversary (28 February for a plan made on 29 February, the
    period then ending with the last day of February)."""
    anniversary = add_twelve_months(made_or_reviewed_on)
    if (made_or_reviewed_on.month, made_or_reviewed_on.day) == (2, 29):
        return anniversary  # no 29 February: the period ends with the month's last day
    return anniversary - timedelta(days=1)


def phase_transfer_last_day(kind, year, transfer_on=None):
    """The last lawful day to review and amend a plan before a transfer (reg. 18):
    14 February (before 15 February) between phases, 30 March (before 31 March) from
    secondary school to post-16, and 5 months before the transfer between post-16
    institutions (needs the transfer date). None when it cannot be known yet."""
    kind = kind or PhaseTransferKind.BETWEEN_PHASES
    if kind == PhaseTransferKind.BETWEEN_POST16:
        return add_months(transfer_on, -POST16_TRANSFER_MONTHS) if transfer_on else None
    if year is None:
        return None
    return date(year, *PHASE_TRANSFER_BEFORE[kind]) - timedelta(days=1)


def plan_record_errors(plan):
    """{field: [reason]} for a plan's phase transfer and post-review records that do not
    fit together; {} when they do."""
    errors = {}
    kind = getattr(plan, "phase_transfer_kind", None)
    post16 = PhaseTransferKind.BETWEEN_POST16
    if kind == post16 and not getattr(plan, "phase_transfer_on", None):
        errors["phase_transfer_on"] = ["Required for a move between post-16 institutions: "
                                       "the review is due 5 months before it (reg. 18(2))"]
    if kind and kind != post16 and not (plan.phase_transfer_year or getattr(
            plan, "phase_transfer_on", None)):
        errors["phase_transfer_year"] = ["Required with a phase transfer kind (reg. 18(1))"]
    decided_on = getattr(plan, "review_decision_on", None)
    decision = getattr(plan, "review_decision", None)
    if decided_on and not decision:
        errors["review_decision"] = ["Say what was decided: " + ", ".join(REVIEW_DECISIONS)]
    if decided_on and not plan.last_review_on:
        errors["review_decision_on"] = ["Record the review meeting (last_review_on) first"]
    elif decided_on and decided_on < plan.last_review_on:
        errors["review_decision_on"] = ["Must not be before the review meeting"]
    for field, after, name in (("draft_comments_on", "draft_plan_sent_on", "the draft"),
                               ("amended_plan_issued_on", "amendment_notice_on",
                                "the amendment notice")):
        value, first = getattr(plan, field, None), getattr(plan, after, None)
        if value and first and value < first:
            errors[field] = [f"Must not be before {name} ({after})"]
    return errors


def plan_update_errors(plan):
    """{field: [reason]} for a plan whose recorded steps are out of order (each on or
    after the one before), amended before it was issued, or whose records do not fit
    together (plan_record_errors); {} when the plan is consistent."""
    errors = {}
    previous_field, previous = STEP_ORDER[0], plan.request_date
    for field in STEP_ORDER[1:]:
        value = getattr(plan, field)
        if value is None:
            continue
        if value < previous:
            errors[field] = [f"Must not be before {previous_field}"]
        previous_field, previous = field, value
    if plan.phase_transfer_amended_on and not plan.issued_on:
        errors["phase_transfer_amended_on"] = ["The plan has not been issued"]
    errors.update(plan_record_errors(plan))
    return errors


def check_plan(plan, detail="The plan's dates are out of order"):
    errors = plan_update_errors(plan)
    if errors:
        raise RuleBroken(detail, errors=errors)


def check_new_plan(plan, has_plan):
    """A pupil has one EHC plan record; a new one's phase transfer needs its date."""
    if has_plan:
        raise Conflict("The pupil already has an EHC plan record",
                       errors={"request_date": ["A plan already exists"]})
    errors = plan_record_errors(plan)
    if errors:
        raise RuleBroken("The phase transfer needs its date", errors=errors)


def check_pause(reason, starts_on, ends_on, *, request_date, issued_on=None, others=()):
    """A new pause must be lawful and overlap none of `others` (Pause)."""
    errors = pause_errors(reason, starts_on, ends_on, request_date=request_date,
                          issued_on=issued_on)
    if errors:
        raise RuleBroken("Not a lawful pause of the statutory clock (" + PAUSE_RULE + ")",
                         errors=errors)
    for other in others:
        end = other.ends_on or date.max
        if starts_on <= end and (ends_on or date.max) >= other.starts_on:
            raise Conflict("Pauses must not overlap", errors={"starts_on": ["Overlaps a pause"]})


def check_pause_end(pause, ends_on, *, request_date):
    """An open pause (`pause`: reason, starts_on, ends_on) may end on `ends_on`."""
    if pause.ends_on is not None:
        raise Conflict("The pause has already ended", errors={"ends_on": ["Already ended"]})
    if ends_on < pause.starts_on:
        raise RuleBroken("A pause ends after it starts",
                         errors={"ends_on": ["Must not be before starts_on"]})
    errors = pause_errors(pause.reason, pause.starts_on, ends_on, request_date=request_date)
    if errors:
        raise RuleBroken("Not a lawful pause of the statutory clock (" + PAUSE_RULE + ")",
                         errors=errors)


def _done_since(value, since):
    """A step's record counts only if it was made for this round (on or after `since`)."""
    return value if value is not None and (since is None or value >= since) else None


def plan_deadlines(plan, pauses):
    """{step: {"due": date|None, "done_on": date|None}} for a plan (any object with
    request_date, decision_to_assess_on, assessment_refused, decision_to_issue_on,
    issue_refused, issued_on, last_review_on, phase_transfer_year,
    phase_transfer_amended_on; and optionally phase_transfer_kind, phase_transfer_on,
    draft_plan_sent_on, draft_comments_on, review_decision, review_decision_on,
    amendment_notice_on, amended_plan_issued_on)."""
    out = {}
    stopped = False  # a refusal ends the statutory clock
    for step, weeks in STEP_WEEKS.items():
        if stopped:
            break
        out[step] = {"due": clock_deadline(plan.request_date, weeks, pauses),
                     "done_on": getattr(plan, STEP_DONE_FIELD[step])}
        if step == EhcStep.DECISION_TO_ASSESS and plan.assessment_refused:
            stopped = True
        if step == EhcStep.DECISION_TO_ISSUE and plan.issue_refused:
            stopped = True
    draft_sent = getattr(plan, "draft_plan_sent_on", None)
    if draft_sent and not stopped:
        # reg. 13(1)(b): at least 15 days to comment on the draft (or on proposed
        # amendments, reg. 22(2)(c)); done when the comments arrive or the plan is issued
        comments = getattr(plan, "draft_comments_on", None)
        finished = getattr(plan, "amended_plan_issued_on", None) or plan.issued_on
        out[EhcStep.DRAFT_COMMENTS] = {
            "due": draft_sent + timedelta(days=DRAFT_COMMENT_DAYS),
            "done_on": _done_since(comments, draft_sent) or _done_since(finished, draft_sent)}
    if plan.issued_on:
        last = plan.last_review_on or plan.issued_on
        # done by recording the review: last_review_on moves and a new due date follows
        out[EhcStep.ANNUAL_REVIEW] = {"due": annual_review_last_day(last), "done_on": None}
    if plan.last_review_on and plan.issued_on:
        decided = _done_since(getattr(plan, "review_decision_on", None), plan.last_review_on)
        out[EhcStep.REVIEW_DECISION] = {
            "due": plan.last_review_on + timedelta(weeks=REVIEW_DECISION_WEEKS),
            "done_on": decided}
        if decided and getattr(plan, "review_decision", None) == ReviewDecision.AMEND:
            notice = _done_since(getattr(plan, "amendment_notice_on", None),
                                 plan.last_review_on) or decided
            out[EhcStep.AMENDED_PLAN] = {
                "due": notice + timedelta(weeks=AMENDED_PLAN_WEEKS),
                "done_on": _done_since(getattr(plan, "amended_plan_issued_on", None), notice)}
    kind = getattr(plan, "phase_transfer_kind", None)
    transfer_on = getattr(plan, "phase_transfer_on", None)
    if plan.issued_on and (plan.phase_transfer_year or transfer_on):
        year = plan.phase_transfer_year or transfer_on.year
        out[EhcStep.PHASE_TRANSFER] = {"due": phase_transfer_last_day(kind, year, transfer_on),
                                 "done_on": plan.phase_transfer_amended_on}
    return out


def open_deadlines(plan, pauses, last_day):
    """[(step, due)] of the plan's open deadlines due on or before `last_day`."""
    return [(step, info["due"]) for step, info in plan_deadlines(plan, pauses).items()
            if info["due"] is not None and info["done_on"] is None and info["due"] <= last_day]


def overdue_deadlines(plan, pauses, today):
    """[(step, due)] of the plan's open deadlines that have passed (due before today)."""
    return open_deadlines(plan, pauses, today - timedelta(days=1))


class WorkingDays:
    """The platform's one calendar of England working days (weekends and bank holidays
    off: services/contracts/school_calendar.py), seen from the EHC clock: counted
    backwards from a deadline, with any extra days off (`extra_holidays`)."""

    def __init__(self, extra_holidays=()):
        self._extra = set(extra_holidays)

    def is_working_day(self, day):
        return school_calendar.is_working_day(day) and day not in self._extra

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
    def is_annual_review(self):
        return self.deadline == EhcStep.ANNUAL_REVIEW

    @property
    def event_type(self):
        """The event this reminder is (its payload: payloads.ehcp_reminder)."""
        from ..payloads import ehcp_reminder_type
        return ehcp_reminder_type(self)

    def event_data(self):
        from ..payloads import ehcp_reminder
        return ehcp_reminder(self)


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
