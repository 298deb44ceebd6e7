"""Request and response schemas of the CPD API."""

from urllib.parse import urlparse

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.common.paging import PageQuerySchema, page_schema
from services.contracts.sen import AREAS_OF_NEED
from services.contracts.text import single_line

from .domain import CourseStatus
from .payloads import calendar_path, verify_path

TEXT = [validate.Length(min=1, max=200), single_line]


def _https_url(value):
    parsed = urlparse(value)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise ValidationError("Must be an http(s) URL")


def _strict_bool(**kwargs):
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


class CourseCreateSchema(Schema):
    title = fields.String(required=True, validate=TEXT)
    summary = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    audience = fields.String(required=True, validate=TEXT)
    area_of_need = fields.String(required=True, validate=validate.OneOf(AREAS_OF_NEED))
    cpd_hours = fields.Float(required=True, allow_nan=False,
                             validate=validate.Range(min=0.25, max=200))
    price_pence = fields.Integer(load_default=0, strict=True,
                                 validate=validate.Range(min=0, max=10_000_00))
    prerequisites = fields.List(fields.String(validate=validate.Length(min=1, max=36)),
                                load_default=list, validate=validate.Length(max=10))
    requires_approval = _strict_bool(load_default=False)
    places_per_org = fields.Integer(load_default=None, allow_none=True, strict=True,
                                    validate=validate.Range(min=1, max=1000))


class CourseUpdateSchema(Schema):
    """A partial change; the area of need and prerequisites are fixed once created."""

    title = fields.String(validate=TEXT)
    summary = fields.String(validate=validate.Length(min=1, max=5000))
    audience = fields.String(validate=TEXT)
    cpd_hours = fields.Float(allow_nan=False, validate=validate.Range(min=0.25, max=200))
    price_pence = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000_00))
    requires_approval = _strict_bool()
    places_per_org = fields.Integer(allow_none=True, strict=True,
                                    validate=validate.Range(min=1, max=1000))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Change at least one field", field_name="body")


class SessionFields(Schema):
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    venue = fields.String(allow_none=True, validate=validate.Length(min=1, max=300))
    online_url = fields.String(allow_none=True, validate=[validate.Length(max=500), _https_url])
    facilitator = fields.String(validate=TEXT)
    capacity = fields.Integer(strict=True, validate=validate.Range(min=1, max=1000))


class SessionCreateSchema(SessionFields):
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    facilitator = fields.String(required=True, validate=TEXT)
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))

    @validates_schema
    def _somewhere(self, data, **kwargs):
        if not data.get("venue") and not data.get("online_url"):
            raise ValidationError("Give a venue or an online link", field_name="venue")


class SessionUpdateSchema(SessionFields):
    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Change at least one field", field_name="body")


class SessionSchema(Schema):
    id = fields.String()
    course_id = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    venue = fields.String(allow_none=True)
    online_url = fields.String(allow_none=True)
    facilitator = fields.String()
    capacity = fields.Integer()
    seats_taken = fields.Integer()
    places_left = fields.Method("_left")
    status = fields.String()
    sequence = fields.Integer()

    def _left(self, s):
        return max(s.capacity - s.seats_taken, 0)


class CourseSchema(Schema):
    id = fields.String()
    provider_org_id = fields.String()
    title = fields.String()
    summary = fields.String()
    audience = fields.String()
    area_of_need = fields.String()
    cpd_hours = fields.Float()
    price_pence = fields.Integer()
    prerequisites = fields.List(fields.String())
    requires_approval = fields.Boolean()
    places_per_org = fields.Integer(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    sessions = fields.Method("_sessions")

    def _sessions(self, c):
        return SessionSchema(many=True).dump(sorted(getattr(c, "loaded_sessions", []),
                                                    key=lambda s: s.starts_at))


class CourseListQuerySchema(PageQuerySchema):
    area_of_need = fields.String(validate=validate.OneOf(AREAS_OF_NEED))
    status = fields.String(validate=validate.OneOf([s.value for s in CourseStatus]))


CoursePageSchema = page_schema(CourseSchema, "CoursePage")


class AttendeeSchema(Schema):
    name = fields.String(required=True, validate=TEXT)
    email = fields.Email(required=True, validate=validate.Length(max=254))


class BookingCreateSchema(Schema):
    attendee = fields.Nested(AttendeeSchema, required=True)


class BookingSchema(Schema):
    id = fields.String()
    session_id = fields.String()
    course_id = fields.String()
    org_id = fields.String()
    person_id = fields.String()
    attendee = fields.Method("_attendee")
    status = fields.String()
    waitlist_position = fields.Method("_position")
    booked_at = fields.DateTime()
    confirmed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    attended = fields.Boolean(allow_none=True)
    charge_pence = fields.Integer()
    charge_term = fields.String(allow_none=True)
    calendar_path = fields.Method("_calendar")

    def _attendee(self, b):
        person = getattr(b, "person", None)
        return {"name": person.name, "email": person.email} if person else None

    def _position(self, b):
        return getattr(b, "waitlist_position", None)

    def _calendar(self, b):
        return calendar_path(b)


class AttendanceItemSchema(Schema):
    booking_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    attended = _strict_bool(required=True)


class AttendanceSchema(Schema):
    records = fields.List(fields.Nested(AttendanceItemSchema), required=True,
                          validate=validate.Length(min=1, max=1000))

    @validates("records")
    def _once_each(self, value, **kwargs):
        ids = [r.get("booking_id") for r in value]  # items may have failed validation
        if len(set(ids)) != len(ids):
            raise ValidationError("Each booking may appear once")


class AttendanceResultSchema(Schema):
    bookings = fields.List(fields.Nested(BookingSchema))
    certificates_issued = fields.List(fields.String())


class CertificateSchema(Schema):
    id = fields.String()
    course_id = fields.String()
    org_id = fields.String()
    person_id = fields.String()
    holder_name = fields.String()
    course_title = fields.String()
    cpd_hours = fields.Float()
    completed_on = fields.Date()
    issued_at = fields.DateTime()
    verification_code = fields.String()
    pdf_path = fields.Method("_pdf")
    verify_path = fields.Method("_verify")

    def _pdf(self, c):
        return f"/api/v1/cpd/certificates/{c.id}/pdf"

    def _verify(self, c):
        return verify_path(c.verification_code)


class VerificationSchema(Schema):
    valid = fields.Boolean()
    verification_code = fields.String()
    holder_name = fields.String()
    course_title = fields.String()
    cpd_hours = fields.Float()
    completed_on = fields.Date()
    provider = fields.String()


class RecordLineSchema(Schema):
    course_id = fields.String()
    course_title = fields.String()
    area_of_need = fields.String()
    cpd_hours = fields.Float()
    completed_on = fields.Date()
    certificate_id = fields.String()


class PersonRecordSchema(Schema):
    # null for a signed-in member of staff who has never booked (no person record yet)
    person_id = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    org_id = fields.String(allow_none=True)
    total_hours = fields.Float()
    courses = fields.List(fields.Nested(RecordLineSchema))
    certificates = fields.List(fields.Nested(CertificateSchema))


class OrgRecordSchema(Schema):
    org_id = fields.String()
    total_hours = fields.Float()
    people = fields.List(fields.Nested(PersonRecordSchema))


class RecordQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))


class ChargesQuerySchema(Schema):
    term = fields.String(validate=validate.Regexp(
        r"^\d{4}/\d{2} (autumn|spring|summer)$", error="Like '2026/27 autumn'"))


class ChargeRowSchema(Schema):
    org_id = fields.String()
    org_name = fields.String(allow_none=True)
    term = fields.String()
    places = fields.Integer()
    total_pence = fields.Integer()


class ChargesSchema(Schema):
    rows = fields.List(fields.Nested(ChargeRowSchema))
    total_pence = fields.Integer()


class EvaluationCreateSchema(Schema):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    will_change = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class EvaluationSchema(Schema):
    id = fields.String()
    course_id = fields.String()
    rating = fields.Integer()
    will_change = fields.String()
    submitted_at = fields.DateTime()


class EvaluationSummarySchema(Schema):
    course_id = fields.String()
    count = fields.Integer()
    average_rating = fields.Float(allow_none=True)
    distribution = fields.Dict(keys=fields.String(), values=fields.Integer())
    will_change = fields.List(fields.String())


class FeedSchema(Schema):
    feed_path = fields.String()


class TrendQuerySchema(Schema):
    terms = fields.Integer(load_default=3, validate=validate.Range(min=2, max=9))
    as_of = fields.Date()


class TrendTermSchema(Schema):
    term = fields.String()
    referrals = fields.Integer()
    places_attended = fields.Integer()
    cpd_hours = fields.Float()


class TrendAreaSchema(Schema):
    area_of_need = fields.String()
    terms = fields.List(fields.Nested(TrendTermSchema))
    rising = fields.Boolean()
    under_trained = fields.Boolean()


class TrendSchema(Schema):
    terms = fields.List(fields.String())
    areas = fields.List(fields.Nested(TrendAreaSchema))


class OfferSchema(Schema):
    id = fields.String()
    referral_id = fields.String()
    course_id = fields.String()
    course_title = fields.String()
    offered_at = fields.DateTime()
    sessions = fields.List(fields.Nested(SessionSchema))
