"""Events published by the cpd service (staff training).

Booking and certificate events carry what notify needs to write to the member
of staff concerned (name and email: staff, never pupils), the course title and
the session's dates, plus a path to the booking's iCalendar invitation
(`calendar_path`, served without a token; the path holds an unguessable key)."""

from marshmallow import Schema, fields, validate

from ..registry import event
from ..sen import AREAS_OF_NEED
from .common import ContactSchema

BOOKING_STATUSES = ("pending_approval", "confirmed", "waitlisted", "cancelled", "declined")
CALENDAR_STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED")  # iCalendar STATUS


class SessionTimesSchema(Schema):
    session_id = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    venue = fields.String(load_default=None, allow_none=True)
    online_url = fields.String(load_default=None, allow_none=True)
    facilitator = fields.String(load_default=None, allow_none=True)


class _Calendar(Schema):
    """Optional: what a calendar invitation of the booking needs (older events lack it)."""

    course_summary = fields.String(load_default=None, allow_none=True)
    cpd_hours = fields.Float(load_default=None, allow_none=True)
    calendar_sequence = fields.Integer(load_default=None, allow_none=True)  # iCalendar SEQUENCE
    calendar_status = fields.String(load_default=None, allow_none=True,
                                    validate=validate.OneOf(CALENDAR_STATUSES))


class _Booking(_Calendar):
    booking_id = fields.String(required=True)
    course_id = fields.String(required=True)
    course_title = fields.String(required=True)
    org_id = fields.String(required=True)  # the attendee's organisation
    attendee = fields.Nested(ContactSchema, required=True)
    session = fields.Nested(SessionTimesSchema, required=True)
    status = fields.String(required=True, validate=validate.OneOf(BOOKING_STATUSES))
    calendar_path = fields.String(required=True)


@event("course.published", 1, "cpd", "A course was published with its sessions and is open for booking.")
class CoursePublishedV1(Schema):
    course_id = fields.String(required=True)
    provider_org_id = fields.String(required=True)
    title = fields.String(required=True)
    area_of_need = fields.String(required=True, validate=validate.OneOf(AREAS_OF_NEED))
    cpd_hours = fields.Float(required=True)
    price_pence = fields.Integer(required=True)
    sessions = fields.List(fields.Nested(SessionTimesSchema), required=True)


class AttendeeSchema(ContactSchema):
    booking_id = fields.String(required=True)
    org_id = fields.String(required=True)


@event("session.cancelled", 1, "cpd",
       "A session was cancelled; every booking on it (confirmed, waitlisted or pending) ends.")
class SessionCancelledV1(_Calendar):
    course_id = fields.String(required=True)
    course_title = fields.String(required=True)
    session = fields.Nested(SessionTimesSchema, required=True)
    attendees = fields.List(fields.Nested(AttendeeSchema), required=True)


@event("session.rescheduled", 1, "cpd",
       "A session's date, times or place changed; invitations were updated (new SEQUENCE).")
class SessionRescheduledV1(_Calendar):
    course_id = fields.String(required=True)
    course_title = fields.String(required=True)
    session = fields.Nested(SessionTimesSchema, required=True)
    previous = fields.Nested(SessionTimesSchema, required=True)
    attendees = fields.List(fields.Nested(AttendeeSchema), required=True)


@event("booking.approval_requested", 1, "cpd",
       "A member of staff booked a course that needs their school's CPD lead to approve it.")
class BookingApprovalRequestedV1(_Booking):
    pass


@event("booking.confirmed", 1, "cpd", "A booking holds a place on the session.")
class BookingConfirmedV1(_Booking):
    pass


@event("booking.waitlisted", 1, "cpd", "The session was full: the booking is on its waitlist.")
class BookingWaitlistedV1(_Booking):
    waitlist_position = fields.Integer(required=True)


@event("booking.promoted", 1, "cpd",
       "A place came free and the first booking on the waitlist now holds it.")
class BookingPromotedV1(_Booking):
    pass


@event("booking.cancelled", 1, "cpd", "A booking was cancelled (or its approval declined).")
class BookingCancelledV1(_Booking):
    reason = fields.String(required=True, validate=validate.OneOf(
        ("cancelled_by_attendee", "cancelled_by_cpd_lead", "cancelled_by_provider", "declined")))


@event("certificate.issued", 1, "cpd",
       "A member of staff attended every session of a course; the certificate adds its hours.")
class CertificateIssuedV1(Schema):
    certificate_id = fields.String(required=True)
    course_id = fields.String(required=True)
    course_title = fields.String(required=True)
    org_id = fields.String(required=True)
    attendee = fields.Nested(ContactSchema, required=True)
    cpd_hours = fields.Float(required=True)
    verification_code = fields.String(required=True)
    verify_path = fields.String(required=True)


@event("course.offered", 1, "cpd",
       "A closed referral recommended a course: the school's CPD lead is offered its next sessions.")
class CourseOfferedV1(Schema):
    offer_id = fields.String(required=True)
    school_org_id = fields.String(required=True)
    contact_email = fields.Email(load_default=None, allow_none=True)  # the school's, if known
    referral_contact = fields.Nested(ContactSchema, required=True)  # who referred
    referral_id = fields.String(required=True)
    reference = fields.String(required=True)
    course_id = fields.String(required=True)
    course_title = fields.String(required=True)
    sessions = fields.List(fields.Nested(SessionTimesSchema), required=True)
