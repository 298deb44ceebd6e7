"""Events published by the referrals service.

Every referral event names the referral, its reference, the referring school
and the referring contact (so notify can write to them without asking)."""

from marshmallow import Schema, fields, validate

from ..registry import event
from ..sen import AREAS_OF_NEED, NEED_TYPES
from .common import ContactSchema, StaffSchema


class _Pupil(Schema):
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    date_of_birth = fields.Date(required=True)
    upn = fields.String(load_default=None, allow_none=True)


class _Referral(Schema):
    referral_id = fields.String(required=True)
    reference = fields.String(required=True)
    school_org_id = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    # added (optional): strictly increasing per referral, so consumers can order its events
    sequence = fields.Integer(load_default=None, allow_none=True)


@event("referral.submitted", 1, "referrals", "A partner school submitted an outreach referral.")
class ReferralSubmittedV1(_Referral):
    areas_of_need = fields.List(
        fields.String(validate=validate.OneOf(AREAS_OF_NEED)), required=True,
        validate=validate.Length(min=1),
    )
    submitted_at = fields.AwareDateTime(required=True)
    # added (optional): true when the school answers a request for more information
    resubmission = fields.Boolean(load_default=False)


@event("referral.info_requested", 1, "referrals",
       "Outreach asked the school for more information before triage.")
class ReferralInfoRequestedV1(_Referral):
    pass


@event("referral.accepted", 1, "referrals", "Outreach accepted the referral at triage.")
class ReferralAcceptedV1(_Referral):
    pupil_upn = fields.String(load_default=None, allow_none=True)
    waiting = fields.Boolean(load_default=False)  # over the term's cap: waits for a place
    # added (optional): what the pupils service needs to create or link the pupil
    pupil = fields.Nested(_Pupil, load_default=None, allow_none=True)
    areas_of_need = fields.List(fields.String(validate=validate.OneOf(AREAS_OF_NEED)),
                                load_default=list)
    need_types = fields.List(fields.String(validate=validate.OneOf(NEED_TYPES)),
                             load_default=list)
    agreement_id = fields.String(load_default=None, allow_none=True)


@event("referral.declined", 1, "referrals", "Outreach declined the referral, with a reason.")
class ReferralDeclinedV1(_Referral):
    reason = fields.String(required=True)  # a reason code, not free text about the child


@event("referral.allocated", 1, "referrals", "The referral was allocated to a practitioner.")
class ReferralAllocatedV1(_Referral):
    practitioner = fields.Nested(StaffSchema, required=True)


@event("referral.visit_logged", 1, "referrals", "An outreach visit was logged.")
class ReferralVisitLoggedV1(_Referral):
    visit_id = fields.String(required=True)
    visit_date = fields.Date(required=True)
    minutes = fields.Integer(required=True)


@event("referral.report_issued", 1, "referrals", "The outreach report was issued to the school.")
class ReferralReportIssuedV1(_Referral):
    report_id = fields.String(required=True)


@event("referral.closed", 1, "referrals",
       "The referral was closed with an outcome; recommendations may name CPD courses.")
class ReferralClosedV1(_Referral):
    outcome = fields.String(required=True)
    areas_of_need = fields.List(fields.String(validate=validate.OneOf(AREAS_OF_NEED)),
                                load_default=list)
    recommended_course_ids = fields.List(fields.String(), load_default=list)
    recommended_provision = fields.List(fields.String(), load_default=list)


@event("referral.withdrawn", 1, "referrals", "The school withdrew the referral before acceptance.")
class ReferralWithdrawnV1(_Referral):
    pass


@event("referral.overdue", 1, "referrals",
       "A referral breached its acknowledgement or triage clock (once per breach).")
class ReferralOverdueV1(_Referral):
    clock = fields.String(required=True, validate=validate.OneOf(("acknowledge", "triage")))
    due_date = fields.Date(required=True)


@event("referral.place_granted", 1, "referrals",
       "A waiting accepted referral got a place under its agreement's cap (added event).")
class ReferralPlaceGrantedV1(_Referral):
    agreement_id = fields.String(required=True)
