"""Referral rules, in plain Python (no nameko, no SQL).

The lifecycle is an explicit state machine (`TRANSITIONS`): an action moves a
referral from one of its allowed states to its target state, or raises
`IllegalTransition` (the API answers 409). Terms, England working days, the
triage criteria, the hours ledger and capacity are plain functions here too.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from services.contracts.school_calendar import (  # noqa: F401  (one definition, re-exported)
    TERMS,
    academic_year_of,
    add_working_days,
    is_working_day,
    term_dates,
    term_of,
)

# -- states and transitions -------------------------------------------------------

DRAFT, SUBMITTED, INFO_REQUESTED = "draft", "submitted", "info_requested"
ACCEPTED, DECLINED, ALLOCATED = "accepted", "declined", "allocated"
IN_PROGRESS, REPORT_ISSUED, CLOSED, WITHDRAWN = (
    "in_progress", "report_issued", "closed", "withdrawn")
STATUSES = (DRAFT, SUBMITTED, INFO_REQUESTED, ACCEPTED, DECLINED, ALLOCATED, IN_PROGRESS,
            REPORT_ISSUED, CLOSED, WITHDRAWN)
# A referral in one of these holds one of its agreement's places (capacity).
HOLDS_PLACE = (ACCEPTED, ALLOCATED, IN_PROGRESS, REPORT_ISSUED)
# Roles: the school, the trust's triage staff, the practitioner.
SCHOOL = ("partner_referrer",)
TRIAGE = ("outreach_lead", "trust_admin")
PRACTICE = ("outreach", "outreach_lead", "trust_admin")
ALL_SEEING = ("trust_admin", "outreach_lead", "auditor")

# action -> (states it may start from, target state, event type, roles that may do it)
TRANSITIONS = {
    "submit": ((DRAFT, INFO_REQUESTED), SUBMITTED, "referral.submitted", SCHOOL),
    "request_info": ((SUBMITTED,), INFO_REQUESTED, "referral.info_requested", TRIAGE),
    "accept": ((SUBMITTED,), ACCEPTED, "referral.accepted", TRIAGE),
    "decline": ((SUBMITTED, INFO_REQUESTED), DECLINED, "referral.declined", TRIAGE),
    "allocate": ((ACCEPTED,), ALLOCATED, "referral.allocated", TRIAGE),
    "log_visit": ((ALLOCATED, IN_PROGRESS), IN_PROGRESS, "referral.visit_logged", PRACTICE),
    "issue_report": ((IN_PROGRESS,), REPORT_ISSUED, "referral.report_issued", PRACTICE),
    "close": ((REPORT_ISSUED,), CLOSED, "referral.closed", TRIAGE),
    "withdraw": ((DRAFT, SUBMITTED, INFO_REQUESTED), WITHDRAWN, "referral.withdrawn", SCHOOL),
}
EDITABLE = (DRAFT, INFO_REQUESTED)  # the school edits only these

DECLINE_REASONS = ("criteria_not_met", "outside_remit", "no_agreement",
                   "better_met_elsewhere", "duplicate", "other")
OUTCOMES = ("needs_met_in_school", "continued_sen_support", "ehc_needs_assessment_requested",
            "referred_to_other_service", "no_further_action")


class IllegalTransition(Exception):
    def __init__(self, action, status):
        self.action, self.status = action, status
        allowed = ", ".join(TRANSITIONS[action][0]) if action in TRANSITIONS else "none"
        super().__init__(f"Cannot {action.replace('_', ' ')} a referral that is {status} "
                         f"(only from: {allowed})")


class RuleBroken(Exception):
    """A business rule refuses the change (the API answers 409 with `errors`)."""

    def __init__(self, detail, errors=None):
        super().__init__(detail)
        self.detail, self.errors = detail, errors or {}


def target(action, status):
    """The state `action` leads to from `status`, or IllegalTransition."""
    sources, to, _event, _roles = TRANSITIONS[action]
    if status not in sources:
        raise IllegalTransition(action, status)
    return to


def event_of(action):
    return TRANSITIONS[action][2]


def roles_for(action):
    """The roles that may take `action`: the API's entrypoints authorise with this list."""
    return TRANSITIONS[action][3]


def may(action, roles):
    return bool(set(roles) & set(roles_for(action)))


def allowed_actions(status, roles=None):
    """The actions the state machine allows from `status`; given the caller's roles,
    only those the caller may take (the same rule that authorises each action)."""
    return sorted(a for a, (sources, *_rest) in TRANSITIONS.items()
                  if status in sources and (roles is None or may(a, roles)))


@dataclass(frozen=True)
class Scope:
    """What a principal may read: everything, one school's, or one practitioner's."""

    kind: str  # "all" | "school" | "practitioner" | "none"
    value: str | None = None


def scope_of(roles, org, sub):
    roles = set(roles)
    if roles & set(ALL_SEEING):
        return Scope("all")
    if "outreach" in roles:
        return Scope("practitioner", sub)
    if "partner_referrer" in roles:
        return Scope("school", org)
    return Scope("none")


def visible(scope, referral):
    if scope.kind == "all":
        return True
    if scope.kind == "school":
        return referral.school_org_id == scope.value
    if scope.kind == "practitioner":
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
        "id": str(uuid.uuid4()),
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


# -- event data --------------------------------------------------------------------

def base_event(referral):
    return {
        "referral_id": referral.id,
        "reference": referral.reference,
        "school_org_id": referral.school_org_id,
        "contact": {"name": referral.contact_name, "email": referral.contact_email},
    }


def submitted_event(referral, resubmission=False):
    """Data of `referral.submitted`: identifiers and the referrer's contact only."""
    return {**base_event(referral), "areas_of_need": list(referral.areas_of_need),
            "submitted_at": referral.submitted_at.isoformat(), "resubmission": resubmission}


def accepted_event(referral):
    """What the pupils service needs to create or link the pupil."""
    return {**base_event(referral), "pupil_upn": referral.pupil_upn, "waiting": referral.waiting,
            "pupil": {"first_name": referral.pupil_first_name,
                      "last_name": referral.pupil_last_name,
                      "date_of_birth": referral.pupil_date_of_birth.isoformat(),
                      "upn": referral.pupil_upn},
            "areas_of_need": list(referral.areas_of_need or []),
            "need_types": list(referral.need_types or []),
            "agreement_id": referral.agreement_id}


def closed_event(referral):
    recs = referral.recommendations or []
    return {**base_event(referral), "outcome": referral.outcome,
            "areas_of_need": list(referral.areas_of_need or []),
            "recommended_course_ids": [r["course_id"] for r in recs if r.get("course_id")],
            "recommended_provision": [r["provision"] for r in recs if r.get("provision")]}


# -- terms and working days ---------------------------------------------------------

# -- clocks ------------------------------------------------------------------------

LONDON = ZoneInfo("Europe/London")


def london_date(moment):
    """The calendar day in England of an aware datetime."""
    return moment.astimezone(LONDON).date()


@dataclass(frozen=True)
class Breach:
    clock: str  # "acknowledge" | "triage"
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
        due["acknowledge"] = add_working_days(london_date(referral.first_submitted_at),
                                              acknowledge_days)
    if referral.status == SUBMITTED:
        due["triage"] = add_working_days(london_date(referral.submitted_at), triage_days)
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
    """Whether a visit may be logged; returns True when it needs (and has) an override."""
    left = minutes_left(minutes_bought, minutes_used)
    if minutes <= left:
        return False
    if not override:
        raise RuleBroken(f"The agreement has {max(left, 0)} minutes left; logging "
                         f"{minutes} needs a trust_admin override",
                         errors={"minutes": ["Exceeds the hours left on the agreement"]})
    if "trust_admin" not in set(roles):
        raise PermissionError("Only a trust_admin may log beyond the hours bought")
    return True


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
