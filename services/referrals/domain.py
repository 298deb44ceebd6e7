"""Referral rules, in plain Python (no SQLAlchemy, nameko or HTTP).

The lifecycle is an explicit state machine (`TRANSITIONS`): an action moves a
referral from one of its allowed states to its target state, or is refused
with `errors.Conflict` (the API answers 409). Terms, England working days, the
triage criteria, the hours ledger and capacity are plain functions here too.
Event payloads are shaped in payloads.py, not here.
"""

import secrets
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.common import errors
from services.common.access import PRACTITIONERS, TRIAGERS, Role
from services.common.ids import new_id
from services.contracts import events
from services.contracts.school_calendar import (  # noqa: F401  (one definition, re-exported)
    TERMS,
    academic_year_of,
    add_working_days,
    is_working_day,
    term_dates,
    term_of,
)

# -- states and transitions -------------------------------------------------------


class ReferralStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    INFO_REQUESTED = "info_requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ALLOCATED = "allocated"
    IN_PROGRESS = "in_progress"
    REPORT_ISSUED = "report_issued"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    """What a person does to a referral (a transition's `action`)."""

    SUBMIT = "submit"
    REQUEST_INFO = "request_info"
    ACCEPT = "accept"
    DECLINE = "decline"
    ALLOCATE = "allocate"
    LOG_VISIT = "log_visit"
    ISSUE_REPORT = "issue_report"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    # recorded in the history, not state-machine moves a person asks for
    CREATE_DRAFT = "create_draft"
    GRANT_PLACE = "grant_place"


class Clock(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    TRIAGE = "triage"


S = ReferralStatus
DRAFT, SUBMITTED, INFO_REQUESTED = S.DRAFT, S.SUBMITTED, S.INFO_REQUESTED
ACCEPTED, DECLINED, ALLOCATED = S.ACCEPTED, S.DECLINED, S.ALLOCATED
IN_PROGRESS, REPORT_ISSUED, CLOSED, WITHDRAWN = (
    S.IN_PROGRESS, S.REPORT_ISSUED, S.CLOSED, S.WITHDRAWN)
STATUSES = tuple(ReferralStatus)
# A referral in one of these holds one of its agreement's places (capacity).
HOLDS_PLACE = (ACCEPTED, ALLOCATED, IN_PROGRESS, REPORT_ISSUED)
AWAITING_TRIAGE = (SUBMITTED, INFO_REQUESTED)  # the acknowledgement/triage clocks run
# Roles: the school, the trust's triage staff, the practitioner.
SCHOOL = (Role.PARTNER_REFERRER,)
TRIAGE = TRIAGERS
PRACTICE = PRACTITIONERS

# action -> (states it may start from, target state, event type, roles that may do it)
TRANSITIONS = {
    Action.SUBMIT: ((DRAFT, INFO_REQUESTED), SUBMITTED, events.REFERRAL_SUBMITTED, SCHOOL),
    Action.REQUEST_INFO: ((SUBMITTED,), INFO_REQUESTED, events.REFERRAL_INFO_REQUESTED,
                          TRIAGE),
    Action.ACCEPT: ((SUBMITTED,), ACCEPTED, events.REFERRAL_ACCEPTED, TRIAGE),
    Action.DECLINE: ((SUBMITTED, INFO_REQUESTED), DECLINED, events.REFERRAL_DECLINED, TRIAGE),
    Action.ALLOCATE: ((ACCEPTED,), ALLOCATED, events.REFERRAL_ALLOCATED, TRIAGE),
    Action.LOG_VISIT: ((ALLOCATED, IN_PROGRESS), IN_PROGRESS, events.REFERRAL_VISIT_LOGGED,
                       PRACTICE),
    Action.ISSUE_REPORT: ((IN_PROGRESS,), REPORT_ISSUED, events.REFERRAL_REPORT_ISSUED,
                          PRACTICE),
    Action.CLOSE: ((REPORT_ISSUED,), CLOSED, events.REFERRAL_CLOSED, TRIAGE),
    Action.WITHDRAW: ((DRAFT, SUBMITTED, INFO_REQUESTED), WITHDRAWN, events.REFERRAL_WITHDRAWN,
                      SCHOOL),
}
EDITABLE = (DRAFT, INFO_REQUESTED)  # the school edits only these



class DeclineReason(StrEnum):
    CRITERIA_NOT_MET = "criteria_not_met"
    OUTSIDE_REMIT = "outside_remit"
    NO_AGREEMENT = "no_agreement"
    BETTER_MET_ELSEWHERE = "better_met_elsewhere"
    DUPLICATE = "duplicate"
    OTHER = "other"


class Outcome(StrEnum):
    NEEDS_MET_IN_SCHOOL = "needs_met_in_school"
    CONTINUED_SEN_SUPPORT = "continued_sen_support"
    EHC_NEEDS_ASSESSMENT_REQUESTED = "ehc_needs_assessment_requested"
    REFERRED_TO_OTHER_SERVICE = "referred_to_other_service"
    NO_FURTHER_ACTION = "no_further_action"


class Seen(StrEnum):
    """Who an outreach visit saw."""

    PUPIL = "pupil"
    PARENT_CARER = "parent_carer"
    SENCO = "senco"
    CLASS_TEACHER = "class_teacher"
    TEACHING_ASSISTANT = "teaching_assistant"
    HEADTEACHER = "headteacher"
    OTHER_PROFESSIONAL = "other_professional"


DECLINE_REASONS = tuple(DeclineReason)
OUTCOMES = tuple(Outcome)
SEEN = tuple(Seen)


def illegal(action, status):
    """The refusal of `action` from `status`: 409, naming the current status."""
    allowed = ", ".join(TRANSITIONS[action][0]) if action in TRANSITIONS else "none"
    return errors.Conflict(f"Cannot {action.replace('_', ' ')} a referral that is {status} "
                           f"(only from: {allowed})", errors={"status": [str(status)]})


def target(action, status):
    """The state `action` leads to from `status`, or errors.Conflict."""
    sources, to, _event, _roles = TRANSITIONS[action]
    if status not in sources:
        raise illegal(action, status)
    return to


def event_of(action):
    return TRANSITIONS[action][2]


def roles_for(action):
    """The roles that may take `action`: the API's entrypoints authorise with this list."""
    return TRANSITIONS[action][3]


def may(action, roles):
    return bool(set(roles) & set(roles_for(action)))


def check_may(action, roles):
    """errors.NotAllowed (403) unless one of `roles` may take `action`."""
    if not may(action, roles):
        raise errors.NotAllowed("Your role does not allow this")


def allowed_actions(status, roles=None):
    """The actions the state machine allows from `status`; given the caller's roles,
    only those the caller may take (the same rule that authorises each action)."""
    return sorted(str(a) for a, (sources, *_rest) in TRANSITIONS.items()
                  if status in sources and (roles is None or may(a, roles)))


def check_editable(status):
    if status not in EDITABLE:
        raise errors.Conflict(f"A referral that is {status} cannot be edited",
                              errors={"status": [str(status)]})


def check_acknowledgeable(status):
    if status not in AWAITING_TRIAGE:
        raise errors.Conflict(f"A referral that is {status} cannot be acknowledged",
                              errors={"status": [str(status)]})


def check_info_answer(status, info_answer):
    """A resubmission after a request for information needs its answer (422)."""
    if status == INFO_REQUESTED and not info_answer:
        raise errors.RuleBroken("Answer the request for more information",
                                field="info_answer")


def check_not_waiting(waiting):
    if waiting:
        raise errors.Conflict("The referral is waiting for a place under its agreement's cap",
                              errors={"waiting": ["Waiting for a place"]})


def check_acceptable(criteria, override, has_agreement):
    """Unmet criteria refuse acceptance (409) unless the panel overrides (with an
    agreement in place). Returns the unmet criteria."""
    missing = unmet(criteria)
    if missing and not (override and has_agreement):
        raise errors.Conflict("The referral does not meet the acceptance criteria: "
                              + ", ".join(sorted(missing)), errors=missing)
    return missing


class ScopeKind(StrEnum):
    ALL = "all"
    SCHOOL = "school"
    PRACTITIONER = "practitioner"
    NONE = "none"


@dataclass(frozen=True)
class Scope:
    """What a principal may read: everything, one school's, or one practitioner's."""

    kind: ScopeKind
    value: str | None = None


def scope_of(roles, org, sub, trust_wide):
    """`trust_wide` is the kit's one rule (services/common/access.py): only a role at
    the trust reads beyond its own organisation. Within the trust, a practitioner
    (outreach alone) reads the referrals allocated to them; everyone else all."""
    roles = set(roles)
    if not trust_wide:
        return Scope(ScopeKind.SCHOOL, org)  # a partner school: the referrals it made
    if roles - {Role.OUTREACH}:
        return Scope(ScopeKind.ALL)
    return Scope(ScopeKind.PRACTITIONER, sub)


def visible(scope, referral):
    if scope.kind == ScopeKind.ALL:
        return True
    if scope.kind == ScopeKind.SCHOOL:
        return referral.school_org_id == scope.value
    if scope.kind == ScopeKind.PRACTITIONER:
        return referral.practitioner_sub == scope.value
    return False


# -- creating and editing -----------------------------------------------------------

# Crockford's base32 without I, L, O, U: easy to read out on the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference():
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"REF-{chars[:4]}-{chars[4:]}"


_NESTED = {
    "pupil": {"first_name": "pupil_first_name", "last_name": "pupil_last_name",
              "date_of_birth": "pupil_date_of_birth", "upn": "pupil_upn"},
    "contact": {"name": "contact_name", "email": "contact_email", "phone": "contact_phone"},
    "parental_consent": {"given": "consent_given", "date": "consent_date",
                         "given_by": "consent_given_by"},
}


def referral_fields(body):
    """Column values from a (possibly partial) validated request body: only the
    keys present in the body, so a partial edit leaves the others alone."""
    out = {}
    for group, columns in _NESTED.items():
        for key, column in columns.items():
            if key in (body.get(group) or {}):
                out[column] = _strip(body[group][key])
    for key in ("areas_of_need", "need_types", "graduated_approach"):
        if key in body:
            out[key] = _jsonable(list(body[key] or []))
    for key in ("concerns", "support_so_far"):
        if key in body:
            out[key] = body[key]
    return out


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _jsonable(items):
    return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in i.items()}
            if isinstance(i, dict) else i for i in items]


def new_referral(body, *, school_org_id, actor, now, submit=True):
    """The fields of a new referral (submitted, or a draft) from a validated body."""
    fields = {
        "id": new_id(),
        "reference": new_reference(),
        "school_org_id": school_org_id,
        "status": SUBMITTED if submit else DRAFT,
        "areas_of_need": [], "need_types": [], "graduated_approach": [],
        "created_by": actor,
        "created_at": now,
        "submitted_at": now if submit else None,
        "first_submitted_at": now if submit else None,
        "waiting": False,
    }
    fields.update(referral_fields(body))
    return fields


def submission_body(referral):
    """A stored referral as a create body, to check a draft is complete before submitting."""
    def iso(d):
        return d.isoformat() if isinstance(d, date) else d
    body = {
        "pupil": {"first_name": referral.pupil_first_name, "last_name": referral.pupil_last_name,
                  "date_of_birth": iso(referral.pupil_date_of_birth), "upn": referral.pupil_upn},
        "contact": {"name": referral.contact_name, "email": referral.contact_email,
                    "phone": referral.contact_phone},
        "areas_of_need": list(referral.areas_of_need or []),
        "need_types": list(referral.need_types or []),
        "concerns": referral.concerns, "support_so_far": referral.support_so_far,
        "parental_consent": {"given": referral.consent_given,
                             "date": iso(referral.consent_date),
                             "given_by": referral.consent_given_by},
        "graduated_approach": list(referral.graduated_approach or []),
    }
    return _drop_none(body)


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


def year_group(date_of_birth, today):
    """The national curriculum year (0 = Reception) of a child born on `date_of_birth`
    in the academic year of `today`: the cohort born September to August starts
    Reception in the September after it turns four. None without a date of birth."""
    if date_of_birth is None:
        return None
    start = int(academic_year_of(today)[:4])
    cohort = int(academic_year_of(date_of_birth)[:4])
    return start - cohort - 5


# -- clocks ------------------------------------------------------------------------

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


# -- triage criteria ----------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    name: str
    met: bool
    detail: str


def triage(referral, agreement):
    """Check a referral against its agreement's acceptance criteria."""
    if agreement is None:
        return [Criterion("agreement", False,
                          "The school has no service-level agreement for this term")]
    cycles = referral.graduated_approach or []
    complete = [c for c in cycles if c.get("reviewed_on") and c.get("outcome")]
    out = [Criterion("agreement", True, "An agreement covers this term"),
           Criterion("graduated_approach_cycles", len(complete) >= agreement.min_cycles,
                     f"{len(complete)} reviewed assess-plan-do-review cycle(s); "
                     f"at least {agreement.min_cycles} required")]
    if agreement.consent_required:
        out.append(Criterion("parental_consent", bool(referral.consent_given),
                             "Parental consent is recorded" if referral.consent_given
                             else "Parental consent is missing"))
    if agreement.upn_required:
        out.append(Criterion("pupil_upn", bool(referral.pupil_upn),
                             "A UPN is given" if referral.pupil_upn else "A UPN is required"))
    return out


def unmet(criteria):
    return {c.name: [c.detail] for c in criteria if not c.met}


# -- hours ledger and capacity -----------------------------------------------------

def minutes_left(minutes_bought, minutes_used):
    return minutes_bought - minutes_used


def check_visit_minutes(minutes, minutes_bought, minutes_used, override, roles):
    """Whether a visit may be logged; returns True when it needs (and has) an override.
    Beyond the hours left: errors.Conflict (409) without the override, errors.NotAllowed
    (403) for an override by anyone but a trust_admin."""
    left = minutes_left(minutes_bought, minutes_used)
    if minutes <= left:
        return False
    if not override:
        raise errors.Conflict(f"The agreement has {max(left, 0)} minutes left; logging "
                              f"{minutes} needs a trust_admin override",
                              errors={"minutes": ["Exceeds the hours left on the agreement"]})
    if Role.TRUST_ADMIN not in set(roles):
        raise errors.NotAllowed("Only a trust_admin may log beyond the hours bought")
    return True


def hours(minutes):
    """Minutes as hours, to two places (what agreements and statements show)."""
    return round(minutes / 60, 2)


def has_place(capacity, places_held):
    """Whether one more referral can hold a place (capacity None = no cap)."""
    return capacity is None or places_held < capacity


def places_to_grant(capacity, places_held, waiting_count):
    """How many waiting referrals get a place now."""
    if capacity is None:
        return waiting_count
    return max(0, min(waiting_count, capacity - places_held))


def statement(minutes_bought, visits):
    """The hours statement: each visit with its running balance.

    `visits` are (visit_date, reference, minutes, override) in date order."""
    balance, lines = minutes_bought, []
    for visit_date, reference, minutes, override in visits:
        balance -= minutes
        lines.append({"visit_date": visit_date, "reference": reference, "minutes": minutes,
                      "override": override, "balance_minutes": balance})
    used = minutes_bought - balance
    return {"minutes_bought": minutes_bought, "minutes_used": used,
            "minutes_left": balance, "lines": lines}


def must_wait(capacity, places_held, waiting_count):
    """Whether a referral accepted now waits for a place: over the cap, or others
    already waiting ahead of it."""
    return not has_place(capacity, places_held) or bool(waiting_count)


def overdue_items(candidates, today, acknowledge_days, triage_days):
    """One row per clock breached by each candidate referral (the overdue list)."""
    return [{"referral_id": r.id, "reference": r.reference,
             "school_org_id": r.school_org_id, "status": r.status,
             "clock": b.clock, "due_date": b.due_date}
            for r in candidates for b in breaches(r, today, acknowledge_days, triage_days)]
