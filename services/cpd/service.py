"""CPD service entrypoints: each calls a command or a query and returns.

Who does what (the token's `org` and `roles`; there is no staff directory):
- `cpd_admin` of the organisation that provides a course (the trust's hub)
  manages it: sessions, publishing, cancelling, attendance, bookings, charges,
  evaluations. Another organisation's draft course is not found (404).
- `cpd_admin` of any organisation is also its CPD lead: books places for its
  own staff (naming them by name and email), approves or declines its staff's
  bookings where a course needs approval, cancels them, reads its CPD records.
- Staff (`senco`, `teacher`, `outreach`, `outreach_lead`, `trust_admin`) book
  themselves: the token's `sub` is linked to the person they name (by email
  within their organisation), and later finds their bookings, record and feed.
- `trust_admin` and `auditor` read their organisation's CPD records; the
  trust-wide need/training report is for the trust organisation's
  `cpd_admin` and `trust_admin`.

Use cases are in commands/, scoped reads in queries/, rules in domain.py, event
data in payloads.py, the calendar and the certificate PDF in adapters/.
"""

from werkzeug.wrappers import Response

from services.common.access import (
    CPD_BOOKERS,
    CPD_LEADS,
    CPD_SELF_BOOKERS,
    NEED_TREND_READERS,
    Role,
)
from services.common.config import ConfigProvider
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider, utcnow
from services.common.http import api
from services.common.outbox import OutboxRelay
from services.common.service import PlatformService
from services.contracts import events
from services.documents import responses as documents
from services.documents import sheets

from .adapters.calendar import CalendarProvider
from .adapters.certificates import CertificateRenderer
from .commands import attendance, bookings, courses, offers, sessions
from .config import CpdConfig
from .models import Base
from .payloads import verify_path
from .queries import bookings as booking_reads
from .queries import certificates as certificate_reads
from .queries import courses as course_reads
from .queries import offers as offer_reads
from .schemas import (
    AttendanceResultSchema,
    AttendanceSchema,
    BookingCreateSchema,
    BookingSchema,
    CertificateSchema,
    ChargesQuerySchema,
    ChargesSchema,
    CourseCreateSchema,
    CourseListQuerySchema,
    CoursePageSchema,
    CourseSchema,
    CourseUpdateSchema,
    EvaluationCreateSchema,
    EvaluationSchema,
    EvaluationSummarySchema,
    FeedSchema,
    OfferSchema,
    OrgRecordSchema,
    PersonRecordSchema,
    RecordQuerySchema,
    SessionCreateSchema,
    SessionSchema,
    SessionUpdateSchema,
    TrendQuerySchema,
    TrendSchema,
    VerificationSchema,
)

ADMIN = CPD_LEADS  # the provider of a course; a school's CPD lead
READERS = (*CPD_SELF_BOOKERS, Role.CPD_ADMIN, Role.AUDITOR)
RECORD_READERS = (Role.CPD_ADMIN, Role.TRUST_ADMIN, Role.AUDITOR)  # an organisation's records


def _ics(payload, filename):
    return Response(payload, content_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


class CpdService(PlatformService):
    name = "cpd"
    config = ConfigProvider(CpdConfig)
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()
    calendar = CalendarProvider()
    certificates = CertificateRenderer()

    # -- courses -----------------------------------------------------------------

    @api("POST", "/api/v1/cpd/courses", roles=ADMIN, body=CourseCreateSchema,
         response=CourseSchema, status=201, summary="Create a draft course")
    def create_course(self, request, principal, body):
        return courses.create_course(self.db, principal, body, utcnow())

    @api("GET", "/api/v1/cpd/courses", roles=READERS, query=CourseListQuerySchema,
         response=CoursePageSchema, summary="Published courses, and your own drafts")
    def list_courses(self, request, principal, query):
        return course_reads.list_courses(self.db, principal, query)

    @api("GET", "/api/v1/cpd/courses/<string:course_id>", roles=READERS, response=CourseSchema,
         summary="One course with its sessions and places left")
    def get_course(self, request, principal, course_id):
        return course_reads.get_course(self.db, principal, course_id)

    @api("PATCH", "/api/v1/cpd/courses/<string:course_id>", roles=ADMIN,
         body=CourseUpdateSchema, response=CourseSchema,
         summary="Change a course you provide (a new price applies to new places only)")
    def update_course(self, request, principal, body, course_id):
        return courses.update_course(self.db, principal, course_id, body)

    @api("POST", "/api/v1/cpd/courses/<string:course_id>/sessions", roles=ADMIN,
         body=SessionCreateSchema, response=SessionSchema, status=201,
         summary="Add a session to a course you provide")
    def add_session(self, request, principal, body, course_id):
        return courses.add_session(self.db, principal, course_id, body, utcnow())

    @api("POST", "/api/v1/cpd/courses/<string:course_id>/publish", roles=ADMIN,
         response=CourseSchema, summary="Publish a course: open it for booking")
    def publish_course(self, request, principal, course_id):
        return courses.publish_course(self.db, principal, course_id)

    # -- sessions ----------------------------------------------------------------

    @api("PATCH", "/api/v1/cpd/sessions/<string:session_id>", roles=ADMIN,
         body=SessionUpdateSchema, response=SessionSchema,
         summary="Change a session; booked staff get an updated invitation")
    def update_session(self, request, principal, body, session_id):
        return sessions.update_session(self.db, principal, session_id, body, utcnow())

    @api("POST", "/api/v1/cpd/sessions/<string:session_id>/cancel", roles=ADMIN,
         response=SessionSchema, summary="Cancel a session: everyone booked is told")
    def cancel_session(self, request, principal, session_id):
        return sessions.cancel_session(self.db, principal, session_id, utcnow())

    @api("GET", "/api/v1/cpd/sessions/<string:session_id>/bookings", many=True, roles=ADMIN,
         response=BookingSchema, summary="Bookings on a session (a CPD lead sees their own staff's)")
    def list_session_bookings(self, request, principal, session_id):
        return booking_reads.session_bookings(self.db, principal, session_id)

    # -- bookings -------------------------------------------------------------

    @api("POST", "/api/v1/cpd/sessions/<string:session_id>/bookings", roles=CPD_BOOKERS,
         body=BookingCreateSchema, response=BookingSchema, status=201,
         summary="Book a place: yourself, or (as your school's CPD lead) a member of your staff")
    def create_booking(self, request, principal, body, session_id):
        return bookings.create_booking(self.db, principal, session_id, body["attendee"],
                                       utcnow(), default_limit=self.config.places_per_org)

    @api("GET", "/api/v1/cpd/bookings/<string:booking_id>", roles=CPD_BOOKERS,
         response=BookingSchema, summary="One booking")
    def get_booking(self, request, principal, booking_id):
        return booking_reads.get_booking(self.db, principal, booking_id)

    @api("GET", "/api/v1/cpd/me/bookings", many=True, roles=CPD_BOOKERS, response=BookingSchema,
         summary="Your own bookings")
    def my_bookings(self, request, principal):
        return booking_reads.my_bookings(self.db, principal)

    @api("POST", "/api/v1/cpd/bookings/<string:booking_id>/cancel", roles=CPD_BOOKERS,
         response=BookingSchema, summary="Cancel a booking; the first on the waitlist moves up")
    def cancel_booking(self, request, principal, booking_id):
        return bookings.cancel_booking(self.db, principal, booking_id)

    @api("POST", "/api/v1/cpd/bookings/<string:booking_id>/approve", roles=ADMIN,
         response=BookingSchema, summary="Approve a booking of your staff (CPD lead)")
    def approve_booking(self, request, principal, booking_id):
        return bookings.decide(self.db, principal, booking_id, approve=True)

    @api("POST", "/api/v1/cpd/bookings/<string:booking_id>/decline", roles=ADMIN,
         response=BookingSchema, summary="Decline a booking of your staff (CPD lead)")
    def decline_booking(self, request, principal, booking_id):
        return bookings.decide(self.db, principal, booking_id, approve=False)

    # -- calendar ---------------------------------------------------------------

    @api("GET", "/api/v1/cpd/calendar/<string:key>.ics", public=True,
         summary="A booking's iCalendar invitation (the key is in the booking's events): "
                 "tentative while pending or waitlisted, confirmed with a place, cancelled after")
    def booking_invitation(self, request, key):
        booking, session, course, person = booking_reads.invitation(self.db, key)
        return _ics(self.calendar.invitation(booking, session, course, person,
                                             self.config.organiser_email), "invitation.ics")

    @api("GET", "/api/v1/cpd/me/feed", roles=CPD_BOOKERS, response=FeedSchema,
         summary="Where your personal calendar feed is (subscribe to it in a calendar app)")
    def my_feed(self, request, principal):
        return booking_reads.my_feed(self.db, principal)

    @api("GET", "/api/v1/cpd/feeds/<string:key>.ics", public=True,
         summary="A member of staff's calendar feed (the key comes from /me/feed)")
    def staff_feed(self, request, key):
        person, rows = booking_reads.staff_feed(self.db, key)
        return _ics(self.calendar.feed(rows, person, self.config.organiser_email), "cpd.ics")

    # -- attendance and certificates ----------------------------------------------

    @api("PUT", "/api/v1/cpd/sessions/<string:session_id>/attendance", roles=ADMIN,
         body=AttendanceSchema, response=AttendanceResultSchema,
         summary="Mark who attended; completing every session issues the certificate")
    def mark_attendance(self, request, principal, body, session_id):
        return attendance.mark_attendance(self.db, principal, session_id, body["records"])

    @api("GET", "/api/v1/cpd/certificates/<string:certificate_id>", roles=READERS,
         response=CertificateSchema, summary="One certificate")
    def get_certificate(self, request, principal, certificate_id):
        return certificate_reads.get_certificate(self.db, principal, certificate_id,
                                                 RECORD_READERS)

    @api("GET", "/api/v1/cpd/certificates/<string:certificate_id>/pdf", roles=READERS,
         summary="The certificate as PDF")
    def certificate_pdf(self, request, principal, certificate_id):
        cert, provider = certificate_reads.certificate_with_provider(
            self.db, principal, certificate_id, RECORD_READERS)
        verify_url = self.config.verify_base_url.rstrip("/") + verify_path(cert.verification_code)
        pdf = self.certificates.render_pdf(cert, provider, verify_url)
        return Response(pdf, content_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="certificate-{cert.verification_code}.pdf"'})

    @api("GET", "/api/v1/cpd/certificates/verify/<string:code>", public=True,
         response=VerificationSchema, summary="Check a certificate's verification code (public)")
    def verify_certificate(self, request, code):
        return certificate_reads.verify(self.db, code)

    # -- CPD records -------------------------------------------------------------

    @api("GET", "/api/v1/cpd/records/me", roles=CPD_BOOKERS, response=PersonRecordSchema,
         summary="Your CPD record: courses, hours, certificates")
    def my_record(self, request, principal):
        return certificate_reads.my_record(self.db, principal)

    @api("GET", "/api/v1/cpd/records/people/<string:person_id>", roles=RECORD_READERS,
         response=PersonRecordSchema, summary="A member of your staff's CPD record")
    def person_record(self, request, principal, person_id):
        return certificate_reads.person_record(self.db, principal, person_id)

    @api("GET", "/api/v1/cpd/records", roles=RECORD_READERS, query=RecordQuerySchema,
         response=OrgRecordSchema,
         summary="Your organisation's CPD record (format=csv or xlsx: a spreadsheet, "
                 "one row per person and completed course)")
    def org_record(self, request, principal, query):
        fmt = query["format"]
        if fmt == "json":
            return certificate_reads.org_record(self.db, principal)
        rows = certificate_reads.org_record_rows(self.db, principal)
        return documents.document(sheets.cpd_records(rows, fmt), fmt, "cpd-records")

    # -- charges ------------------------------------------------------------------

    @api("GET", "/api/v1/cpd/charges", roles=RECORD_READERS, query=ChargesQuerySchema,
         response=ChargesSchema,
         summary="Traded places per organisation and term (what you charge, and what you owe)")
    def charges(self, request, principal, query):
        return booking_reads.charges(self.db, principal, query)

    # -- evaluation -------------------------------------------------------------

    @api("POST", "/api/v1/cpd/courses/<string:course_id>/evaluations", roles=CPD_BOOKERS,
         body=EvaluationCreateSchema, response=EvaluationSchema, status=201,
         summary="Rate a course you attended and say what you will change")
    def evaluate_course(self, request, principal, body, course_id):
        return courses.evaluate_course(self.db, principal, course_id, body)

    @api("GET", "/api/v1/cpd/courses/<string:course_id>/evaluations", roles=ADMIN,
         response=EvaluationSummarySchema, summary="Evaluation results of a course you provide")
    def course_evaluations(self, request, principal, course_id):
        return course_reads.course_evaluations(self.db, principal, course_id)

    # -- need against training -----------------------------------------------------

    @api("GET", "/api/v1/cpd/reports/need-trend", roles=NEED_TREND_READERS,
         query=TrendQuerySchema, response=TrendSchema,
         summary="Trust-wide: areas of need in closed referrals against training delivered")
    def need_trend(self, request, principal, query):
        return offer_reads.need_trend(self.db, principal, query["terms"], query.get("as_of"))

    @api("GET", "/api/v1/cpd/offers", many=True, roles=ADMIN, response=OfferSchema,
         summary="Sessions offered to your school after outreach recommended a course")
    def list_offers(self, request, principal):
        return offer_reads.offers_for(self.db, principal)

    # -- events in -----------------------------------------------------------------

    @subscribe(events.ORGANISATION_ONBOARDED)
    def on_organisation_onboarded(self, event, uow):
        offers.organisation_onboarded(uow, event["data"])

    @subscribe(events.REFERRAL_CLOSED)
    def on_referral_closed(self, event, uow):
        offers.referral_closed(uow, event, self.config.offer_sessions)
