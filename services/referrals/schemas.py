"""Request and response schemas of the referrals API."""

import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.common.paging import PageQuerySchema, page_schema
from services.contracts.events.common import StaffSchema
from services.contracts.sen import AREAS_OF_NEED, NEED_TYPES, validate_upn
from services.contracts.text import single_line

from . import domain

NAME = [validate.Length(min=1, max=100), single_line]


def _not_future(value):
    if value > date.today():
        raise ValidationError("Must not be in the future")


def _upn(value):
    try:
        validate_upn(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class PupilSchema(Schema):
    first_name = fields.String(required=True, validate=NAME)
    last_name = fields.String(required=True, validate=NAME)
    date_of_birth = fields.Date(required=True, validate=_not_future)
    upn = fields.String(load_default=None, allow_none=True, validate=_upn)

    @validates("date_of_birth")
    def _plausible_age(self, value, **kwargs):
        if (date.today() - value).days > 26 * 366:
            raise ValidationError("Outreach referrals are for children and young people up to 25")


class ContactSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), single_line])
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(required=True, validate=[
        validate.Length(min=6, max=30),
        validate.Regexp(r"^\+?[0-9 ()-]+$", error="Not a valid phone number")])


class ConsentSchema(Schema):
    given = fields.Boolean(required=True, truthy={True}, falsy={False})
    date = fields.Date(required=True, validate=_not_future)
    given_by = fields.String(required=True, validate=validate.Length(min=1, max=200))

    @validates("given")
    def _must_be_given(self, value, **kwargs):
        if value is not True:
            raise ValidationError("A referral needs parental consent")


class CycleSchema(Schema):
    """One assess-plan-do-review cycle the school has already run."""

    started_on = fields.Date(required=True, validate=_not_future)
    reviewed_on = fields.Date(load_default=None, allow_none=True, validate=_not_future)
    provision = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    outcome = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _in_order(self, data, **kwargs):
        if data.get("reviewed_on") and data.get("started_on") \
                and data["reviewed_on"] < data["started_on"]:
            raise ValidationError("Must not be before started_on", field_name="reviewed_on")


class ReferralCreateSchema(Schema):
    pupil = fields.Nested(PupilSchema, required=True)
    contact = fields.Nested(ContactSchema, required=True)
    areas_of_need = fields.List(fields.String(validate=validate.OneOf(AREAS_OF_NEED)),
                                required=True, validate=validate.Length(min=1, max=4))
    need_types = fields.List(fields.String(validate=validate.OneOf(NEED_TYPES)),
                             load_default=list)
    concerns = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    support_so_far = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    parental_consent = fields.Nested(ConsentSchema, required=True)
    graduated_approach = fields.List(fields.Nested(CycleSchema), load_default=list,
                                     validate=validate.Length(max=20))

    @validates_schema
    def _no_repeats(self, data, **kwargs):
        for key in ("areas_of_need", "need_types"):
            values = data.get(key) or []
            if len(set(values)) != len(values):
                raise ValidationError("Each value may appear once", field_name=key)


class ReferralDraftSchema(ReferralCreateSchema):
    """A draft: any subset of a referral's fields; submitting checks completeness."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


def _iso(value):
    return value.isoformat() if value is not None else None


class ReferralSchema(Schema):
    """A referral as the API returns it."""

    id = fields.String()
    reference = fields.String()
    status = fields.String()
    # what the caller may do next (set per caller by the service: for_caller)
    allowed_actions = fields.Function(lambda r: list(getattr(r, "caller_actions", ())))
    school_org_id = fields.String()
    pupil = fields.Method("_pupil")
    contact = fields.Method("_contact")
    areas_of_need = fields.List(fields.String())
    need_types = fields.List(fields.String())
    concerns = fields.String(allow_none=True)
    support_so_far = fields.String(allow_none=True)
    parental_consent = fields.Method("_consent")
    graduated_approach = fields.Raw()
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    first_submitted_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    info_question = fields.String(allow_none=True)
    info_answer = fields.String(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    panel_override = fields.Boolean()
    override_reason = fields.String(allow_none=True)
    agreement_id = fields.String(allow_none=True)
    waiting = fields.Boolean()
    waiting_since = fields.DateTime(allow_none=True)
    practitioner = fields.Method("_practitioner")
    report = fields.Method("_report")
    outcome = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)

    def _pupil(self, r):
        return {"first_name": r.pupil_first_name, "last_name": r.pupil_last_name,
                "date_of_birth": _iso(r.pupil_date_of_birth), "upn": r.pupil_upn}

    def _contact(self, r):
        return {"name": r.contact_name, "email": r.contact_email, "phone": r.contact_phone}

    def _consent(self, r):
        return {"given": r.consent_given, "date": _iso(r.consent_date),
                "given_by": r.consent_given_by}

    def _practitioner(self, r):
        if r.practitioner_sub is None:
            return None
        return {"sub": r.practitioner_sub, "name": r.practitioner_name,
                "email": r.practitioner_email}

    def _report(self, r):
        if r.report_id is None:
            return None
        return {"id": r.report_id, "summary": r.report_summary,
                "recommendations": r.recommendations or [],
                "issued_at": _iso(r.report_issued_at)}


ReferralPageSchema = page_schema(ReferralSchema, "ReferralPage")


class ListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(domain.STATUSES))
    school_org_id = fields.String(validate=validate.Length(min=1, max=36))
    waiting = fields.Boolean()
    # csv or xlsx: every referral the filters match (not one page), as a spreadsheet
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))


class ReportQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "pdf")))


class ReportSchema(Schema):
    """The issued outreach report (format=pdf: the document with visits and hours)."""

    id = fields.String(attribute="report_id")
    referral_id = fields.String(attribute="id")
    reference = fields.String()
    summary = fields.String(attribute="report_summary")
    recommendations = fields.Function(lambda r: r.recommendations or [])
    issued_at = fields.DateTime(attribute="report_issued_at")


# -- transitions -----------------------------------------------------------------

class SubmitSchema(Schema):
    info_answer = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(min=1, max=10_000))


class RequestInfoSchema(Schema):
    question = fields.String(required=True, validate=validate.Length(min=1, max=5_000))


class AcceptSchema(Schema):
    """Optional: a triage panel may accept a referral whose criteria are unmet, with
    its reason (recorded on the referral)."""

    panel_override = fields.Boolean(load_default=False)
    override_reason = fields.String(load_default=None, allow_none=True,
                                    validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _reason_with_override(self, data, **kwargs):
        reason = (data.get("override_reason") or "").strip()
        if data.get("panel_override") and not reason:
            raise ValidationError("Give the panel's reason for accepting",
                                  field_name="override_reason")
        if reason and not data.get("panel_override"):
            raise ValidationError("Only with panel_override", field_name="override_reason")


class DeclineSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(domain.DECLINE_REASONS))


class AllocateSchema(Schema):
    practitioner = fields.Nested(StaffSchema, required=True)


class VisitCreateSchema(Schema):
    visit_date = fields.Date(required=True, validate=_not_future)
    minutes = fields.Integer(required=True, strict=True,
                             validate=validate.Range(min=1, max=600))
    seen = fields.List(fields.String(validate=validate.OneOf(domain.SEEN)), required=True,
                       validate=validate.Length(min=1, max=len(domain.SEEN)))
    observations = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    recommendations = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    override = fields.Boolean(load_default=False)


class VisitSchema(Schema):
    id = fields.String()
    referral_id = fields.String()
    agreement_id = fields.String()
    visit_date = fields.Date()
    minutes = fields.Integer()
    seen = fields.List(fields.String())
    observations = fields.String()
    recommendations = fields.String()
    practitioner_sub = fields.String()
    override = fields.Boolean()
    override_by = fields.String(allow_none=True)
    logged_at = fields.DateTime()


class RecommendationSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=5_000))
    course_id = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(min=1, max=36))
    provision = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(min=1, max=200))


class ReportCreateSchema(Schema):
    summary = fields.String(required=True, validate=validate.Length(min=1, max=50_000))
    recommendations = fields.List(fields.Nested(RecommendationSchema), load_default=list,
                                  validate=validate.Length(max=50))


class CloseSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(domain.OUTCOMES))


class TransitionSchema(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    action = fields.String(allow_none=True)
    actor = fields.String()
    at = fields.DateTime()


class CriterionSchema(Schema):
    name = fields.String()
    met = fields.Boolean()
    detail = fields.String()


class TriageSchema(Schema):
    referral_id = fields.String()
    agreement_id = fields.String(allow_none=True)
    all_met = fields.Boolean()
    criteria = fields.List(fields.Nested(CriterionSchema))


class OverdueItemSchema(Schema):
    referral_id = fields.String()
    reference = fields.String()
    school_org_id = fields.String()
    status = fields.String()
    clock = fields.String()
    due_date = fields.Date()


class OverdueListSchema(Schema):
    items = fields.List(fields.Nested(OverdueItemSchema))


# -- agreements ------------------------------------------------------------------

def _academic_year(value):
    match = re.fullmatch(r"(\d{4})/(\d{2})", value)
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise ValidationError("Use the form 2026/27")


HOURS = validate.Range(min=0, max=5_000)


class AgreementUpdateSchema(Schema):
    hours_bought = fields.Float(validate=HOURS)
    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=1_000))
    min_cycles = fields.Integer(validate=validate.Range(min=0, max=10))
    consent_required = fields.Boolean()
    upn_required = fields.Boolean()


class AgreementCreateSchema(AgreementUpdateSchema):
    school_org_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    academic_year = fields.String(required=True, validate=_academic_year)
    term = fields.String(required=True, validate=validate.OneOf(domain.TERMS))
    hours_bought = fields.Float(required=True, validate=HOURS)
    capacity = fields.Integer(load_default=None, allow_none=True,
                              validate=validate.Range(min=0, max=1_000))
    min_cycles = fields.Integer(load_default=2, validate=validate.Range(min=0, max=10))
    consent_required = fields.Boolean(load_default=True)
    upn_required = fields.Boolean(load_default=False)


_hours = domain.hours


class AgreementSchema(Schema):
    id = fields.String()
    school_org_id = fields.String()
    academic_year = fields.String()
    term = fields.String()
    starts_on = fields.Function(lambda a: domain.term_dates(a.academic_year, a.term)[0])
    ends_on = fields.Function(lambda a: domain.term_dates(a.academic_year, a.term)[1])
    hours_bought = fields.Function(lambda a: _hours(a.minutes_bought))
    hours_used = fields.Function(lambda a: _hours(getattr(a, "minutes_used", 0)))
    hours_left = fields.Function(lambda a: _hours(a.minutes_bought - getattr(a, "minutes_used", 0)))
    capacity = fields.Integer(allow_none=True)
    places_held = fields.Function(lambda a: getattr(a, "places_held", 0))
    waiting = fields.Function(lambda a: getattr(a, "waiting_count", 0))
    min_cycles = fields.Integer()
    consent_required = fields.Boolean()
    upn_required = fields.Boolean()
    created_at = fields.DateTime()


class AgreementListSchema(Schema):
    items = fields.List(fields.Nested(AgreementSchema))


class StatementLineSchema(Schema):
    visit_date = fields.Date()
    reference = fields.String()
    minutes = fields.Integer()
    hours = fields.Function(lambda line: _hours(line["minutes"]))
    override = fields.Boolean()
    balance_hours = fields.Function(lambda line: _hours(line["balance_minutes"]))


class StatementSchema(Schema):
    agreement = fields.Nested(AgreementSchema)
    hours_bought = fields.Function(lambda s: _hours(s["minutes_bought"]))
    hours_used = fields.Function(lambda s: _hours(s["minutes_used"]))
    hours_left = fields.Function(lambda s: _hours(s["minutes_left"]))
    overridden_hours = fields.Function(
        lambda s: _hours(sum(line["minutes"] for line in s["lines"] if line["override"])))
    lines = fields.List(fields.Nested(StatementLineSchema))
