"""The referral's lifecycle: its statuses, the state machine's actions and who may
take them, the guards the commands ask, and what each principal may read."""

from dataclasses import dataclass
from enum import StrEnum

from services.common import errors
from services.contracts import events
from services.contracts.roles import PRACTITIONERS, TRIAGERS, Role

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
