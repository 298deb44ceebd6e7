"""Request and response schemas of the pupils API."""

import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.auth import ROLES
from services.common.paging import MAX_OFFSET, PageQuerySchema, page_schema
from services.contracts.events import ORG_KINDS
from services.contracts.sen import (
    AREAS_OF_NEED,
    NEED_TYPES,
    SEN_PROVISION,
    is_temporary_upn,
    validate_upn,
)

from . import domain

PHASES = ("nursery", "primary", "middle", "secondary", "all_through", "post_16")


class OrganisationCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    urn = fields.String(load_default=None, allow_none=True,
                        validate=validate.Regexp(r"^\d{6}$", error="A URN is 6 digits"))
    laestab = fields.String(load_default=None, allow_none=True,
                            validate=validate.Regexp(r"^\d{7}$", error="A LAESTAB is 7 digits"))
    phase = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PHASES))
    contact_email = fields.Email(load_default=None, allow_none=True)

    @validates_schema
    def _schools_have_numbers(self, data, **kwargs):
        if data["kind"] != "trust":
            errors = {k: ["Required for a school or ARB"] for k in ("urn", "laestab")
                      if not data.get(k)}
            if errors:
                raise ValidationError(errors)


class OrganisationSchema(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    urn = fields.String(allow_none=True)
    laestab = fields.String(allow_none=True)
    phase = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    onboarded_at = fields.DateTime()


class OrganisationPageSchema(Schema):
    items = fields.List(fields.Nested(OrganisationSchema))
    total = fields.Integer()


# -- pupils -------------------------------------------------------------------------

NAME = validate.Length(min=1, max=100)
MOBILE = re.compile(r"^(?:\+44\s?7|07)(?:\s?\d){9}$")
CONSENT_TRUE = {True}
CONSENT_FALSE = {False}


class UpnField(fields.String):
    """A UPN, validated by python-stdnum and stored compact (upper case, no spaces)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return validate_upn(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def _not_future(value):
    if value > date.today():
        raise ValidationError("Must not be in the future")


def _plausible_dob(value):
    _not_future(value)
    if (date.today() - value).days > 26 * 366:
        raise ValidationError("Not a plausible date of birth for a pupil (over 25)")


class GuardianInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    relationship = fields.String(required=True, validate=validate.Length(min=1, max=50))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    mobile = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        MOBILE, error="Not a UK mobile number"))
    preferred_channel = fields.String(required=True, validate=validate.OneOf(("email", "sms")))
    preferred_language = fields.String(load_default="en", validate=validate.Regexp(
        r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", error="A language tag such as en or pl"))
    parental_responsibility = fields.Boolean(required=True)

    @validates_schema
    def _channel_has_address(self, data, **kwargs):
        if data["preferred_channel"] == "email" and not data.get("email"):
            raise ValidationError({"email": ["Required when the preferred channel is email"]})
        if data["preferred_channel"] == "sms" and not data.get("mobile"):
            raise ValidationError({"mobile": ["Required when the preferred channel is sms"]})


class GuardianSchema(GuardianInSchema):
    id = fields.String()


class GuardiansBodySchema(Schema):
    guardians = fields.List(fields.Nested(GuardianInSchema), required=True,
                            validate=validate.Length(max=6))


class SenFieldsMixin:
    @validates_schema
    def _census_rules(self, data, **kwargs):
        if "sen_status" not in data:
            return
        errors = domain.sen_errors(data["sen_status"], data.get("primary_need"),
                                   data.get("secondary_need"))
        if errors:
            raise ValidationError(errors)


class PupilCreateSchema(SenFieldsMixin, Schema):
    org_id = fields.String(load_default=None, allow_none=True)  # trust_admin only
    upn = UpnField(required=True)
    legal_surname = fields.String(required=True, validate=NAME)
    forename = fields.String(required=True, validate=NAME)
    date_of_birth = fields.Date(required=True, validate=_plausible_dob)
    year_group = fields.Integer(required=True, validate=validate.Range(min=-2, max=14))
    sen_status = fields.String(load_default="N", validate=validate.OneOf(SEN_PROVISION))
    primary_need = fields.String(load_default=None, allow_none=True,
                                 validate=validate.OneOf(NEED_TYPES))
    secondary_need = fields.String(load_default=None, allow_none=True,
                                   validate=validate.OneOf(NEED_TYPES))
    sen_effective_date = fields.Date(load_default=None, allow_none=True, validate=_not_future)
    guardians = fields.List(fields.Nested(GuardianInSchema), load_default=list,
                            validate=validate.Length(max=6))


class PupilUpdateSchema(Schema):
    upn = UpnField()
    legal_surname = fields.String(validate=NAME)
    forename = fields.String(validate=NAME)
    date_of_birth = fields.Date(validate=_plausible_dob)
    year_group = fields.Integer(validate=validate.Range(min=-2, max=14))

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change")


class SenStatusChangeSchema(SenFieldsMixin, Schema):
    sen_status = fields.String(required=True, validate=validate.OneOf(SEN_PROVISION))
    primary_need = fields.String(load_default=None, allow_none=True,
                                 validate=validate.OneOf(NEED_TYPES))
    secondary_need = fields.String(load_default=None, allow_none=True,
                                   validate=validate.OneOf(NEED_TYPES))
    effective_date = fields.Date(load_default=None, allow_none=True, validate=_not_future)


class SenEntrySchema(Schema):
    status = fields.String()
    primary_need = fields.String(allow_none=True)
    secondary_need = fields.String(allow_none=True)
    areas_of_need = fields.Function(lambda e: domain.areas_of_need(e.primary_need,
                                                                   e.secondary_need))
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    org_id = fields.String()
    recorded_by = fields.String()


class UpnChangeSchema(Schema):
    old_upn = fields.String(allow_none=True)
    new_upn = fields.String(allow_none=True)
    changed_at = fields.DateTime()


class PupilSchema(Schema):
    id = fields.String()
    org_id = fields.String()
    upn = fields.String(allow_none=True)
    upn_is_temporary = fields.Function(lambda p: bool(p.upn) and is_temporary_upn(p.upn))
    legal_surname = fields.String()
    forename = fields.String()
    date_of_birth = fields.Date(allow_none=True)
    year_group = fields.Integer(allow_none=True)
    sen_status = fields.String()
    primary_need = fields.String(allow_none=True)
    secondary_need = fields.String(allow_none=True)
    areas_of_need = fields.Function(lambda p: domain.areas_of_need(p.primary_need,
                                                                   p.secondary_need))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ReferralLinkSchema(Schema):
    referral_id = fields.String()
    reference = fields.String()
    linked_at = fields.DateTime()


class PupilDetailSchema(PupilSchema):
    guardians = fields.List(fields.Nested(GuardianSchema))
    upn_history = fields.List(fields.Nested(UpnChangeSchema))
    referrals = fields.List(fields.Nested(ReferralLinkSchema))


class PupilListQuerySchema(PageQuerySchema):
    org_id = fields.String()  # trust_admin: one organisation of the trust
    year_group = fields.Integer(validate=validate.Range(min=-2, max=14))
    sen_status = fields.String(validate=validate.OneOf(SEN_PROVISION))
    need_type = fields.String(validate=validate.OneOf(NEED_TYPES))
    area_of_need = fields.String(validate=validate.OneOf(AREAS_OF_NEED))
    q = fields.String(validate=validate.Length(min=2, max=100))


PupilPageSchema = page_schema(PupilSchema, "PupilPage")


class SenHistorySchema(Schema):
    items = fields.List(fields.Nested(SenEntrySchema))


# -- census readiness ----------------------------------------------------------------

class CensusQuerySchema(Schema):
    org_id = fields.String()  # trust_admin: which organisation


class CensusIssueSchema(Schema):
    rule = fields.String()
    field = fields.String()
    detail = fields.String()


class CensusPupilSchema(Schema):
    pupil_id = fields.String()
    upn = fields.String(allow_none=True)
    issues = fields.List(fields.Nested(CensusIssueSchema))


class CensusReportSchema(Schema):
    org_id = fields.String()
    census_date = fields.Date()
    checked = fields.Integer()
    failing = fields.List(fields.Nested(CensusPupilSchema))


# -- passports -----------------------------------------------------------------------

SECTION = validate.Length(max=5000)


class PassportDraftSchema(Schema):
    about_me = fields.String(required=True, validate=SECTION)
    strengths = fields.String(required=True, validate=SECTION)
    needs = fields.String(required=True, validate=SECTION)
    what_helps = fields.String(required=True, validate=SECTION)
    what_does_not_help = fields.String(required=True, validate=SECTION)
    pupil_voice = fields.String(required=True, validate=SECTION)


class PassportVersionSchema(PassportDraftSchema):
    id = fields.String()
    version = fields.Integer()
    status = fields.String()
    org_id = fields.String()
    created_at = fields.DateTime()
    created_by = fields.String()
    published_at = fields.DateTime(allow_none=True)


class PassportVersionsSchema(Schema):
    items = fields.List(fields.Nested(PassportVersionSchema))
    current = fields.Nested(PassportVersionSchema, allow_none=True)


# -- EHC plans -----------------------------------------------------------------------

PAUSE_REASONS = ("school_closure", "exceptional_personal_circumstances", "absent_from_area",
                 "missed_appointment")


class EhcPlanCreateSchema(Schema):
    request_date = fields.Date(required=True, validate=_not_future)
    phase_transfer_year = fields.Integer(load_default=None, allow_none=True,
                                         validate=validate.Range(min=2000, max=2100))


class EhcPlanUpdateSchema(Schema):
    decision_to_assess_on = fields.Date(allow_none=True, validate=_not_future)
    assessment_refused = fields.Boolean()
    decision_to_issue_on = fields.Date(allow_none=True, validate=_not_future)
    issue_refused = fields.Boolean()
    issued_on = fields.Date(allow_none=True, validate=_not_future)
    last_review_on = fields.Date(allow_none=True, validate=_not_future)
    phase_transfer_year = fields.Integer(allow_none=True,
                                         validate=validate.Range(min=2000, max=2100))
    phase_transfer_amended_on = fields.Date(allow_none=True, validate=_not_future)

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change")


class EhcPauseCreateSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(PAUSE_REASONS))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError({"ends_on": ["Must not be before starts_on"]})


class EhcPauseEndSchema(Schema):
    ends_on = fields.Date(required=True)


class EhcPauseSchema(Schema):
    id = fields.String()
    reason = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)


class DeadlineSchema(Schema):
    due = fields.Date(allow_none=True)
    done_on = fields.Date(allow_none=True)


class EhcPlanSchema(Schema):
    id = fields.String()
    pupil_id = fields.String()
    request_date = fields.Date()
    decision_to_assess_on = fields.Date(allow_none=True)
    assessment_refused = fields.Boolean()
    decision_to_issue_on = fields.Date(allow_none=True)
    issue_refused = fields.Boolean()
    issued_on = fields.Date(allow_none=True)
    last_review_on = fields.Date(allow_none=True)
    phase_transfer_year = fields.Integer(allow_none=True)
    phase_transfer_amended_on = fields.Date(allow_none=True)
    pauses = fields.List(fields.Nested(EhcPauseSchema))
    deadlines = fields.Dict(keys=fields.String(), values=fields.Nested(DeadlineSchema))


class EhcPlanListSchema(Schema):
    items = fields.List(fields.Nested(EhcPlanSchema))


# -- moves, import, audit, erasure ----------------------------------------------------

class ConsentSchema(Schema):
    given = fields.Boolean(required=True, truthy=CONSENT_TRUE, falsy=CONSENT_FALSE)
    given_by = fields.String(required=True, validate=validate.Length(min=1, max=200))
    date = fields.Date(required=True, validate=_not_future)

    @validates_schema
    def _given(self, data, **kwargs):
        if data["given"] is not True:
            raise ValidationError({"given": ["A move needs recorded consent"]})


class MoveCreateSchema(Schema):
    to_org_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    moved_on = fields.Date(required=True)
    consent = fields.Nested(ConsentSchema, required=True)


class MoveSchema(Schema):
    id = fields.String()
    pupil_id = fields.String()
    from_org_id = fields.String()
    to_org_id = fields.String()
    moved_on = fields.Date()
    consent_given_by = fields.String()
    consent_date = fields.Date()


class ImportQuerySchema(Schema):
    org = fields.String()  # trust_admin: the organisation's id or URN


class ImportErrorSchema(Schema):
    row = fields.Integer()
    field = fields.String()
    reason = fields.String()


class ImportReportSchema(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    errors = fields.List(fields.Nested(ImportErrorSchema))


class AuditQuerySchema(Schema):
    pupil_id = fields.String()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class AuditEntrySchema(Schema):
    at = fields.DateTime()
    actor = fields.String()
    actor_org_id = fields.String()
    pupil_id = fields.String()
    pupil_org_id = fields.String()
    endpoint = fields.String()


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEntrySchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class ErasureSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))
    confirm_pupil_id = fields.String(required=True)


class ErasureResultSchema(Schema):
    pupil_id = fields.String()
    mode = fields.String()


# -- the staff directory and sign-in lookup -------------------------------------------

# Roles a staff membership may carry: every kit role but the parent's (a guardian is
# known from the pupils' guardians) and the portal's own service principal.
STAFF_ROLES = tuple(sorted(ROLES - {"parent", "portal"}))


def _lower(value):
    return value.strip().lower() if isinstance(value, str) else value


class StaffRolesField(fields.List):
    def __init__(self, **kwargs):
        super().__init__(fields.String(validate=validate.OneOf(STAFF_ROLES)),
                         validate=validate.Length(min=1, max=len(STAFF_ROLES)), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return sorted(set(super()._deserialize(value, attr, data, **kwargs)))


class StaffCreateSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    org_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    roles = StaffRolesField(required=True)
    active = fields.Boolean(load_default=True)

    @post_load
    def _normalise(self, data, **kwargs):
        return {**data, "email": _lower(data["email"]), "name": data["name"].strip()}


class StaffUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    roles = StaffRolesField()
    active = fields.Boolean()

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one of name, roles, active")


class StaffMemberSchema(Schema):
    id = fields.String()
    email = fields.String()
    name = fields.String()
    org_id = fields.String()
    roles = fields.Function(lambda m: [r for r in m.roles.split(",") if r])
    active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class StaffQuerySchema(PageQuerySchema):
    org_id = fields.String(validate=validate.Length(min=1, max=36))
    email = fields.String(validate=validate.Length(min=1, max=254))


StaffPageSchema = page_schema(StaffMemberSchema, "StaffPage")


class SignInLookupSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))

    @post_load
    def _normalise(self, data, **kwargs):
        return {"email": _lower(data["email"])}


class SignInMembershipSchema(Schema):
    org_id = fields.String()
    org_name = fields.String()
    org_kind = fields.String()
    roles = fields.List(fields.String())
    name = fields.String()


class SignInGuardianSchema(Schema):
    pupil_id = fields.String()
    org_id = fields.String()
    org_name = fields.String()
    pupil_name = fields.String()


class SignInLookupResultSchema(Schema):
    staff = fields.List(fields.Nested(SignInMembershipSchema))
    guardian_of = fields.List(fields.Nested(SignInGuardianSchema))


# -- what a parent may read: the published passport, the EHC plan's dates ------------

class ParentPassportSchema(Schema):
    """A published passport version as the child's parent reads it (no drafts, no
    staff identities)."""

    id = fields.String()
    version = fields.Integer()
    status = fields.String()
    about_me = fields.String()
    strengths = fields.String()
    needs = fields.String()
    what_helps = fields.String()
    what_does_not_help = fields.String()
    pupil_voice = fields.String()
    published_at = fields.DateTime(allow_none=True)


class ParentPassportVersionsSchema(Schema):
    items = fields.List(fields.Nested(ParentPassportSchema))
    current = fields.Nested(ParentPassportSchema, allow_none=True)


class ParentEhcPlanSchema(Schema):
    """An EHC plan's dates and statutory deadlines, and the next annual review."""

    id = fields.String()
    pupil_id = fields.String()
    request_date = fields.Date()
    decision_to_assess_on = fields.Date(allow_none=True)
    decision_to_issue_on = fields.Date(allow_none=True)
    issued_on = fields.Date(allow_none=True)
    last_review_on = fields.Date(allow_none=True)
    next_review_due = fields.Function(
        lambda p: (p["deadlines"].get("annual_review") or {}).get("due"))
    deadlines = fields.Dict(keys=fields.String(), values=fields.Nested(DeadlineSchema))


class ParentEhcPlanListSchema(Schema):
    items = fields.List(fields.Nested(ParentEhcPlanSchema))
