"""Notify's use cases, by room:

- `projections`: the copies of other services' records (organisations, pupils,
  guardians, staff) and a pupil's erasure;
- `planning`: from an event to its messages and their deliveries;
- `deliveries`: sending, retries, fallback, dead letters, resend, the sweeper;
- `ordering`: messages about one referral or booking in the order of their events;
- `digests`: the daily digest;
- `receipts`: bounces and GOV.UK Notify's delivery receipts;
- `preferences`: a recipient's preferences, and the portal's sign-in link.

`handle(post, event, uow)` runs the use case of a subscribed event."""

from services.contracts import events
from services.contracts.names import label

from . import deliveries, digests, ordering, planning, preferences, projections, receipts
from .deliveries import Post

__all__ = ["Post", "deliveries", "digests", "handle", "ordering", "planning", "preferences",
           "projections", "receipts"]


def _day(value):
    return value.strftime("%-d %B %Y")


def _previous(data):
    previous = planning._when(data["previous"])
    return {"link": planning._page("cpd_bookings"), "previous_date": previous["session_date"],
            "previous_time": previous["session_time"]}


# event type -> (projection update or None, planner call or None)
_USES = {
    events.ORGANISATION_ONBOARDED: (projections.organisation_onboarded, None),
    events.PUPIL_REGISTERED: (lambda uow, d: projections.pupil_at(uow, d["pupil_id"],
                                                                  d["org_id"]), None),
    events.PUPIL_GUARDIANS_CHANGED: (projections.guardians_changed, None),
    events.PUPIL_ERASED: (projections.pupil_erased, None),
    events.STAFF_MEMBER_ADDED: (projections.staff_member, None),
    events.STAFF_MEMBER_CHANGED: (projections.staff_member, None),
    events.STAFF_MEMBER_REMOVED: (projections.staff_member_removed, None),
    events.PUPIL_MOVED: (projections.pupil_moved, lambda p, d: p.pupil_moved()),
    events.PASSPORT_PUBLISHED: (None, lambda p, d: p.passport_published()),
    events.EHCP_REVIEW_DUE: (None, lambda p, d: p.ehcp_review_due()),
    events.EHCP_DEADLINE_AT_RISK: (None, lambda p, d: p.ehcp_deadline_at_risk()),
    events.REFERRAL_SUBMITTED: (None, lambda p, d: p.referral(
        submitted_on=_day(d["submitted_at"]), resubmission=d.get("resubmission", False))),
    events.REFERRAL_INFO_REQUESTED: (None, lambda p, d: p.referral(page="referral_respond")),
    events.REFERRAL_ACCEPTED: (None, lambda p, d: p.referral(waiting=d["waiting"])),
    events.REFERRAL_PLACE_GRANTED: (None, lambda p, d: p.referral()),
    events.REFERRAL_DECLINED: (None, lambda p, d: p.referral(
        reason=label(d["reason"], "decline_reason"))),
    events.REFERRAL_ALLOCATED: (None, lambda p, d: p.referral()),
    events.REFERRAL_VISIT_LOGGED: (None, lambda p, d: p.referral(
        visit_date=_day(d["visit_date"]))),
    events.REFERRAL_REPORT_ISSUED: (None, lambda p, d: p.referral()),
    events.REFERRAL_CLOSED: (None, lambda p, d: p.referral(
        outcome=label(d["outcome"], "outcome"))),
    events.REFERRAL_WITHDRAWN: (None, lambda p, d: p.referral()),
    events.REFERRAL_OVERDUE: (None, lambda p, d: p.referral(
        clock=d["clock"], clock_name=label(d["clock"], "clock"),
        due_date=_day(d["due_date"]))),
    events.BOOKING_CONFIRMED: (None, lambda p, d: p.booking()),
    events.BOOKING_WAITLISTED: (None, lambda p, d: p.booking(
        waitlist_position=d["waitlist_position"])),
    events.BOOKING_PROMOTED: (None, lambda p, d: p.booking()),
    events.BOOKING_CANCELLED: (None, lambda p, d: p.booking(reason=label(d["reason"]))),
    events.CERTIFICATE_ISSUED: (None, lambda p, d: p.certificate_issued()),
    events.SESSION_CANCELLED: (None, lambda p, d: p.session_changed(
        link=planning._page("cpd_catalogue"))),
    events.SESSION_RESCHEDULED: (None, lambda p, d: p.session_changed(**_previous(d))),
}


def handle(post, event, uow):
    """The use case of one subscribed event, in its unit of work."""
    project, plan = _USES[event["type"]]
    if project is not None:
        project(uow, event["data"])
    if plan is not None:
        plan(planning.Planner(post, uow, event), event["data"])
