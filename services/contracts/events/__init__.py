"""Event data schemas, one module per producing service (docs/architecture.md, "Events").

Events carry identifiers and the minimum a consumer needs: never a pupil's
name, date of birth or free text about a child. Codes a consumer must act on
(SEN status, census need codes, broad areas) may travel with a pupil id.
Breaking changes get a new version; consumers ignore unknown fields.
"""

from ..registry import EventType, handle
from . import cpd, notify, provision, pupils, referrals  # noqa: F401  (registers them)
from .common import ORG_KINDS, ContactSchema

# Handles on the catalogue, one a type: `uow.emit(events.REFERRAL_SUBMITTED, ...)`,
# `@subscribe(events.REFERRAL_SUBMITTED)`. tests/unit/contracts checks there is one
# for every registered type and no other.
APDR_CYCLE_OPENED = handle("apdr_cycle.opened")
APDR_CYCLE_REVIEWED = handle("apdr_cycle.reviewed")
BOOKING_APPROVAL_REQUESTED = handle("booking.approval_requested")
BOOKING_CANCELLED = handle("booking.cancelled")
BOOKING_CONFIRMED = handle("booking.confirmed")
BOOKING_PROMOTED = handle("booking.promoted")
BOOKING_WAITLISTED = handle("booking.waitlisted")
CERTIFICATE_ISSUED = handle("certificate.issued")
COURSE_OFFERED = handle("course.offered")
COURSE_PUBLISHED = handle("course.published")
EHCP_DEADLINE_AT_RISK = handle("ehcp.deadline_at_risk")
EHCP_REVIEW_DUE = handle("ehcp.review_due")
NOTIFICATION_DELIVERED = handle("notification.delivered")
NOTIFICATION_FAILED = handle("notification.failed")
NOTIFICATION_RESEND_REQUESTED = handle("notification.resend_requested")
ORGANISATION_ONBOARDED = handle("organisation.onboarded")
OUTCOME_RECORDED = handle("outcome.recorded")
PASSPORT_PUBLISHED = handle("passport.published")
PROVISION_ASSIGNED = handle("provision.assigned")
PROVISION_ENDED = handle("provision.ended")
PROVISION_REVIEW_DUE = handle("provision.review_due")
PUPIL_ERASED = handle("pupil.erased")
PUPIL_GUARDIANS_CHANGED = handle("pupil.guardians_changed")
PUPIL_MOVED = handle("pupil.moved")
PUPIL_REGISTERED = handle("pupil.registered")
PUPIL_SEN_STATUS_CHANGED = handle("pupil.sen_status_changed")
PUPIL_UPDATED = handle("pupil.updated")
REFERRAL_ACCEPTED = handle("referral.accepted")
REFERRAL_ALLOCATED = handle("referral.allocated")
REFERRAL_CLOSED = handle("referral.closed")
REFERRAL_DECLINED = handle("referral.declined")
REFERRAL_INFO_REQUESTED = handle("referral.info_requested")
REFERRAL_OVERDUE = handle("referral.overdue")
REFERRAL_PLACE_GRANTED = handle("referral.place_granted")
REFERRAL_REPORT_ISSUED = handle("referral.report_issued")
REFERRAL_SUBMITTED = handle("referral.submitted")
REFERRAL_VISIT_LOGGED = handle("referral.visit_logged")
REFERRAL_WITHDRAWN = handle("referral.withdrawn")
SESSION_CANCELLED = handle("session.cancelled")
SESSION_RESCHEDULED = handle("session.rescheduled")
STAFF_MEMBER_ADDED = handle("staff.member_added")
STAFF_MEMBER_CHANGED = handle("staff.member_changed")
STAFF_MEMBER_REMOVED = handle("staff.member_removed")

__all__ = ["ORG_KINDS", "ContactSchema", "EventType", "handle", "handles",
           *(t.upper().replace(".", "_") for t in (
               "apdr_cycle.opened",
               "apdr_cycle.reviewed",
               "booking.approval_requested",
               "booking.cancelled",
               "booking.confirmed",
               "booking.promoted",
               "booking.waitlisted",
               "certificate.issued",
               "course.offered",
               "course.published",
               "ehcp.deadline_at_risk",
               "ehcp.review_due",
               "notification.delivered",
               "notification.failed",
               "notification.resend_requested",
               "organisation.onboarded",
               "outcome.recorded",
               "passport.published",
               "provision.assigned",
               "provision.ended",
               "provision.review_due",
               "pupil.erased",
               "pupil.guardians_changed",
               "pupil.moved",
               "pupil.registered",
               "pupil.sen_status_changed",
               "pupil.updated",
               "referral.accepted",
               "referral.allocated",
               "referral.closed",
               "referral.declined",
               "referral.info_requested",
               "referral.overdue",
               "referral.place_granted",
               "referral.report_issued",
               "referral.submitted",
               "referral.visit_logged",
               "referral.withdrawn",
               "session.cancelled",
               "session.rescheduled",
               "staff.member_added",
               "staff.member_changed",
               "staff.member_removed",
           ))]


def handles():
    """Every handle this module defines, by constant name."""
    return {name: value for name, value in globals().items() if isinstance(value, EventType)}
