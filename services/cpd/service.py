"""CPD service entrypoints: parse, authorise, call the domain, respond.

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

Queries, row locks, seat counters, the waitlist and certificates live in
records.py (how capacity is held is described there); the rules in domain.py.
"""

from datetime import date

from werkzeug.wrappers import Response

from services.common import settings
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider, utcnow
from services.common.http import api
from services.common.outbox import OutboxRelay
from services.common.problems import NotFound
from services.common.service import PlatformService

from . import calendar, certificates, domain, records
from .models import Base
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
    feed_path,
    verify_path,
)

ADMIN = records.ADMIN
BOOKERS = domain.STAFF_ROLES + ADMIN
READERS = domain.STAFF_ROLES + ADMIN + ("auditor",)


def _organiser_email():
    return settings.get("CPD_ORGANISER_EMAIL", "cpd@sen-trust.example")


def _verify_base_url():
    return settings.get("CPD_VERIFY_BASE_URL", "http://localhost:8003")


def _default_places_per_org():
    return int(settings.get("PLACES_PER_ORG", "0", service="cpd"))


def _offer_sessions():
    return int(settings.get("OFFER_SESSIONS", "3", service="cpd"))


def _ics(payload, filename):
    return Response(payload, content_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


class CpdService(PlatformService):
    name = "cpd"
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()

    # -- courses -----------------------------------------------------------------

    @api("POST", "/api/v1/cpd/courses", roles=ADMIN, body=CourseCreateSchema,
         response=CourseSchema, status=201, summary="Create a draft course")
    def create_course(self, request, principal, body):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            course = records.create_course(uow, principal, body, now)
        course.loaded_sessions = []
        return course

    @api("GET", "/api/v1/cpd/courses", roles=READERS, query=CourseListQuerySchema,
         response=CoursePageSchema, summary="Published courses, and your own drafts")
    def list_courses(self, request, principal, query):
        with self.db.session() as s:
            items, total = records.list_courses(s, principal, query)
        return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}

    @api("GET", "/api/v1/cpd/courses/<string:course_id>", roles=READERS, response=CourseSchema,
         summary="One course with its sessions and places left")
    def get_course(self, request, principal, course_id):
        with self.db.session() as s:
            course = records.course_for(s, principal, course_id)
            records.with_sessions(s, [course])
        return course

    @api("PATCH", "/api/v1/cpd/courses/<string:course_id>", roles=ADMIN,
         body=CourseUpdateSchema, response=CourseSchema,
         summary="Change a course you provide (a new price applies to new places only)")
    def update_course(self, request, principal, body, course_id):
        with self.db.unit_of_work() as uow:
            return records.update_course(uow, principal, course_id, body)

    @api("POST", "/api/v1/cpd/courses/<string:course_id>/sessions", roles=ADMIN,
         body=SessionCreateSchema, response=SessionSchema, status=201,
         summary="Add a session to a course you provide")
    def add_session(self, request, principal, body, course_id):
        now = utcnow()
        try:
            domain.check_session_times(body["starts_at"], body["ends_at"], now)
        except ValueError as exc:
            raise records.invalid_times(exc) from None
        with self.db.unit_of_work() as uow:
            return records.add_session(uow, principal, course_id, body, now)

    @api("POST", "/api/v1/cpd/courses/<string:course_id>/publish", roles=ADMIN,
         response=CourseSchema, summary="Publish a course: open it for booking")
    def publish_course(self, request, principal, course_id):
        with self.db.unit_of_work() as uow:
            return records.publish_course(uow, principal, course_id)

    # -- sessions ----------------------------------------------------------------

    @api("PATCH", "/api/v1/cpd/sessions/<string:session_id>", roles=ADMIN,
         body=SessionUpdateSchema, response=SessionSchema,
         summary="Change a session; booked staff get an updated invitation")
    def update_session(self, request, principal, body, session_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            return records.update_session(uow, principal, session_id, body, now)

    @api("POST", "/api/v1/cpd/sessions/<string:session_id>/cancel", roles=ADMIN,
         response=SessionSchema, summary="Cancel a session: everyone booked is told")
    def cancel_session(self, request, principal, session_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            return records.cancel_session(uow, principal, session_id, now)

    @api("GET", "/api/v1/cpd/sessions/<string:session_id>/bookings", many=True, roles=ADMIN,
         response=BookingSchema, summary="Bookings on a session (a CPD lead sees their own staff's)")
    def list_session_bookings(self, request, principal, session_id):
        with self.db.session() as s:
            rows = records.session_bookings(s, principal, session_id)
        position = 0
        out = []
        for booking, person in rows:
            booking.person = person
            if booking.status == domain.WAITLISTED:
                position += 1
                booking.waitlist_position = position
            out.append(booking)
        return out

    # -- bookings -------------------------------------------------------------

    @api("POST", "/api/v1/cpd/sessions/<string:session_id>/bookings", roles=BOOKERS,
         body=BookingCreateSchema, response=BookingSchema, status=201,
         summary="Book a place: yourself, or (as your school's CPD lead) a member of your staff")
    def create_booking(self, request, principal, body, session_id):
        now = utcnow()
        by_lead = principal.has_any(ADMIN)
        with self.db.unit_of_work() as uow:
            return records.create_booking(uow, principal, session_id, body["attendee"], now,
                                          by_lead=by_lead,
                                          default_limit=_default_places_per_org)

    @api("GET", "/api/v1/cpd/bookings/<string:booking_id>", roles=BOOKERS,
         response=BookingSchema, summary="One booking")
    def get_booking(self, request, principal, booking_id):
        with self.db.session() as s:
            return records.get_booking(s, principal, booking_id)

    @api("GET", "/api/v1/cpd/me/bookings", many=True, roles=BOOKERS, response=BookingSchema,
         summary="Your own bookings")
    def my_bookings(self, request, principal):
        with self.db.session() as s:
            return records.my_bookings(s, principal)

    @api("POST", "/api/v1/cpd/bookings/<string:booking_id>/cancel", roles=BOOKERS,
         response=BookingSchema, summary="Cancel a booking; the first on the waitlist moves up")
    def cancel_booking(self, request, principal, booking_id):
        with self.db.unit_of_work() as uow:
            return records.cancel_booking(uow, principal, booking_id)

    @api("POST", "/api/v1/cpd/bookings/<string:booking_id>/approve", roles=ADMIN,
         response=BookingSchema, summary="Approve a booking of your staff (CPD lead)")
    def approve_booking(self, request, principal, booking_id):
        with self.db.unit_of_work() as uow:
            return records.decide(uow, principal, booking_id, approve=True)

    @api("POST", "/api/v1/cpd/bookings/<string:booking_id>/decline", roles=ADMIN,
         response=BookingSchema, summary="Decline a booking of your staff (CPD lead)")
    def decline_booking(self, request, principal, booking_id):
        with self.db.unit_of_work() as uow:
            return records.decide(uow, principal, booking_id, approve=False)

    # -- calendar ---------------------------------------------------------------

    @api("GET", "/api/v1/cpd/calendar/<string:key>.ics", public=True,
         summary="A booking's iCalendar invitation (the key is in the booking's events): "
                 "tentative while pending or waitlisted, confirmed with a place, cancelled after")
    def booking_invitation(self, request, key):
        with self.db.session() as s:
            booking, session, course, person = records.invitation(s, key)
        return _ics(calendar.invitation(booking, session, course, person, _organiser_email()),
                    "invitation.ics")

    @api("GET", "/api/v1/cpd/me/feed", roles=BOOKERS, response=FeedSchema,
         summary="Where your personal calendar feed is (subscribe to it in a calendar app)")
    def my_feed(self, request, principal):
        with self.db.session() as s:
            person = records.my_person(s, principal)
        if person is None:
            raise NotFound("You have no bookings yet")
        return {"feed_path": feed_path(person)}

    @api("GET", "/api/v1/cpd/feeds/<string:key>.ics", public=True,
         summary="A member of staff's calendar feed (the key comes from /me/feed)")
    def staff_feed(self, request, key):
        with self.db.session() as s:
            person, rows = records.staff_feed(s, key)
        return _ics(calendar.feed(rows, person, _organiser_email()), "cpd.ics")

    # -- attendance and certificates ----------------------------------------------

    @api("PUT", "/api/v1/cpd/sessions/<string:session_id>/attendance", roles=ADMIN,
         body=AttendanceSchema, response=AttendanceResultSchema,
         summary="Mark who attended; completing every session issues the certificate")
    def mark_attendance(self, request, principal, body, session_id):
        with self.db.unit_of_work() as uow:
            bookings, issued = records.mark_attendance(uow, principal, session_id,
                                                       body["records"])
        return {"bookings": bookings, "certificates_issued": issued}

    @api("GET", "/api/v1/cpd/certificates/<string:certificate_id>", roles=READERS,
         response=CertificateSchema, summary="One certificate")
    def get_certificate(self, request, principal, certificate_id):
        with self.db.session() as s:
            cert, _ = records.certificate_for(s, principal, certificate_id)
        return cert

    @api("GET", "/api/v1/cpd/certificates/<string:certificate_id>/pdf", roles=READERS,
         summary="The certificate as PDF")
    def certificate_pdf(self, request, principal, certificate_id):
        with self.db.session() as s:
            cert, course = records.certificate_for(s, principal, certificate_id)
            provider = records.provider_of(s, course)
        name = provider.name if provider else "SEN Trust"
        pdf = certificates.render_pdf(cert, name, _verify_base_url().rstrip("/")
                                      + verify_path(cert.verification_code))
        return Response(pdf, content_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="certificate-{cert.verification_code}.pdf"'})

    @api("GET", "/api/v1/cpd/certificates/verify/<string:code>", public=True,
         response=VerificationSchema, summary="Check a certificate's verification code (public)")
    def verify_certificate(self, request, code):
        if len(code) > 40:
            raise NotFound("No certificate has this code")
        with self.db.session() as s:
            cert, course, provider = records.verify(s, code)
        return {"valid": True, "verification_code": cert.verification_code,
                "holder_name": cert.holder_name, "course_title": cert.course_title,
                "cpd_hours": cert.cpd_hours, "completed_on": cert.completed_on,
                "provider": provider.name if provider else course.provider_org_id}

    # -- CPD records -------------------------------------------------------------

    @api("GET", "/api/v1/cpd/records/me", roles=BOOKERS, response=PersonRecordSchema,
         summary="Your CPD record: courses, hours, certificates")
    def my_record(self, request, principal):
        with self.db.session() as s:
            person = records.my_person(s, principal)
            if person is None:
                return {"person_id": None, "name": None, "email": None, "org_id": principal.org,
                        "total_hours": 0.0, "courses": [], "certificates": []}
            return records.person_records(s, [person])[0]

    @api("GET", "/api/v1/cpd/records/people/<string:person_id>", roles=domain.RECORD_READERS,
         response=PersonRecordSchema, summary="A member of your staff's CPD record")
    def person_record(self, request, principal, person_id):
        with self.db.session() as s:
            person = records.staff_member(s, principal, person_id)
            return records.person_records(s, [person])[0]

    @api("GET", "/api/v1/cpd/records", roles=domain.RECORD_READERS, query=RecordQuerySchema,
         response=OrgRecordSchema, summary="Your organisation's CPD record (format=csv to export)")
    def org_record(self, request, principal, query):
        with self.db.session() as s:
            people = records.org_records(s, principal)
        if query["format"] == "csv":
            return Response(domain.records_csv(people), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition":
                                     'attachment; filename="cpd-records.csv"'})
        return {"org_id": principal.org,
                "total_hours": round(sum(r["total_hours"] for r in people), 2),
                "people": people}

    # -- charges ------------------------------------------------------------------

    @api("GET", "/api/v1/cpd/charges", roles=domain.RECORD_READERS, query=ChargesQuerySchema,
         response=ChargesSchema,
         summary="Traded places per organisation and term (what you charge, and what you owe)")
    def charges(self, request, principal, query):
        with self.db.session() as s:
            rows = records.charges(s, principal, query)
        out = [{"org_id": org, "term": term, "places": n, "total_pence": int(total),
                "org_name": name} for org, term, n, total, name in rows]
        return {"rows": out, "total_pence": sum(r["total_pence"] for r in out)}

    # -- evaluation -------------------------------------------------------------

    @api("POST", "/api/v1/cpd/courses/<string:course_id>/evaluations", roles=BOOKERS,
         body=EvaluationCreateSchema, response=EvaluationSchema, status=201,
         summary="Rate a course you attended and say what you will change")
    def evaluate_course(self, request, principal, body, course_id):
        with self.db.unit_of_work() as uow:
            return records.evaluate_course(uow, principal, course_id, body)

    @api("GET", "/api/v1/cpd/courses/<string:course_id>/evaluations", roles=ADMIN,
         response=EvaluationSummarySchema, summary="Evaluation results of a course you provide")
    def course_evaluations(self, request, principal, course_id):
        with self.db.session() as s:
            course, ratings = records.course_ratings(s, principal, course_id)
        return {"course_id": course.id, **domain.evaluation_summary(ratings)}

    # -- need against training -----------------------------------------------------

    @api("GET", "/api/v1/cpd/reports/need-trend", roles=("cpd_admin", "trust_admin"),
         query=TrendQuerySchema, response=TrendSchema,
         summary="Trust-wide: areas of need in closed referrals against training delivered")
    def need_trend(self, request, principal, query):
        as_of = query.get("as_of") or date.today()
        terms = domain.previous_terms(as_of, query["terms"])
        year, term = terms[0].split(" ")
        since = domain.term_dates(year, term)[0]
        with self.db.session() as s:
            referrals, places, hours = records.need_trend_rows(s, principal, since)
        return {"terms": terms, "areas": domain.need_trend(terms, referrals, places, hours)}

    @api("GET", "/api/v1/cpd/offers", many=True, roles=ADMIN, response=OfferSchema,
         summary="Sessions offered to your school after outreach recommended a course")
    def list_offers(self, request, principal):
        with self.db.session() as s:
            return records.offers_for(s, principal)

    # -- events in -----------------------------------------------------------------

    @subscribe("pupils", "organisation.onboarded")
    def on_organisation_onboarded(self, event, uow):
        records.upsert_organisation(uow, event["data"])

    @subscribe("referrals", "referral.closed")
    def on_referral_closed(self, event, uow):
        records.record_referral_closed(uow, event, offer_sessions=_offer_sessions)
