"""Request and response schemas of the pupils API."""

import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.access import OrgKind, Role
from services.common.auth import ROLES
from services.common.paging import MAX_OFFSET, PageQuerySchema, page_schema
from services.contracts.events import ORG_KINDS
from services.contracts.names import label, year_group_name
from services.contracts.sen import (
    AREAS_OF_NEED,
    NEED_TYPES,
    SEN_PROVISION,
    is_temporary_upn,
    validate_upn,
)
from services.contracts.text import single_line

from . import domain

PHASES = ("nursery", "primary", "middle", "secondary", "all_through", "post_16")


class OrganisationCreateSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), single_line])
    kind = fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    urn = fields.String(load_default=None, allow_none=True,
                        validate=validate.Regexp(r"^\d{6}$", error="A URN is 6 digits"))
    laestab = fields.String(load_default=None, allow_none=True,
                            validate=validate.Regexp(r"^\d{7}$", error="A LAESTAB is 7 digits"))
    phase = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PHASES))
    contact_email = fields.Email(load_default=None, allow_none=True)

    @validates_schema
    def _schools_have_numbers(self, data, **kwargs):
        if data["kind"] != OrgKind.TRUST:
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

NAME = [validate.Length(min=1, max=100), single_line]
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


class YearGroupField(fields.Field):
    """A national curriculum year: -2..14 (N1, N2, Reception = 0, Year 1..14) or as an
    MIS writes it ("Reception", "Year 6", "Nursery 1", "R", "N1"), or census code "X"
    (National Curriculum not followed). Loads as (year_group, nc_not_followed)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update({
            "description": "-2..14, or 'R', 'Reception', 'Year 6', 'Nursery 1', 'N1', or 'X' "
                           "(National Curriculum not followed)",
            "example": 6})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError(f"Found {value!r}: {domain.YEAR_GROUPS_ALLOWED}")
        if isinstance(value, int):
            if -2 <= value <= 14:
                return value, False
            raise ValidationError(f"Found {value}: allowed {domain.YEAR_GROUPS_ALLOWED}")
        if isinstance(value, str):
            try:
                return domain.parse_year_group(value)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
        raise ValidationError(f"Allowed: {domain.YEAR_GROUPS_ALLOWED}")


class _YearGroupLoad:
    @post_load
    def _split_year_group(self, data, **kwargs):
        if "year_group" in data:
            data["year_group"], data["nc_not_followed"] = data["year_group"]
        return data


def _nc_year(p):
    """The census NCyearActual code: N1, N2, R, 1..14 or X."""
    if getattr(p, "nc_not_followed", False):
        return "X"
    if p.year_group is None:
        return None
    return {-2: "N1", -1: "N2", 0: "R"}.get(p.year_group, str(p.year_group))


REG_GROUP = validate.Length(min=1, max=30)


def _not_future(value):
    if value > date.today():
        raise ValidationError("Must not be in the future")


def _plausible_dob(value):
    _not_future(value)
    if (date.today() - value).days > 26 * 366:
        raise ValidationError("Not a plausible date of birth for a pupil (over 25)")


class GuardianInSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), single_line])
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


class PupilCreateSchema(_YearGroupLoad, SenFieldsMixin, Schema):
    org_id = fields.String(load_default=None, allow_none=True)  # trust_admin only
    upn = UpnField(required=True)
    legal_surname = fields.String(required=True, validate=NAME)
    forename = fields.String(required=True, validate=NAME)
    date_of_birth = fields.Date(required=True, validate=_plausible_dob)
    year_group = YearGroupField(required=True)
    registration_group = fields.String(load_default=None, allow_none=True, validate=REG_GROUP,
                                       metadata={"description": "Class / registration group"})
    sen_status = fields.String(load_default="N", validate=validate.OneOf(SEN_PROVISION))
    primary_need = fields.String(load_default=None, allow_none=True,
                                 validate=validate.OneOf(NEED_TYPES))
    secondary_need = fields.String(load_default=None, allow_none=True,
                                   validate=validate.OneOf(NEED_TYPES))
    sen_effective_date = fields.Date(load_default=None, allow_none=True, validate=_not_future)
    guardians = fields.List(fields.Nested(GuardianInSchema), load_default=list,
                            validate=validate.Length(max=6))


class PupilUpdateSchema(_YearGroupLoad, Schema):
    upn = UpnField()
    legal_surname = fields.String(validate=NAME)
    forename = fields.String(validate=NAME)
    date_of_birth = fields.Date(validate=_plausible_dob)
    year_group = YearGroupField()
    registration_group = fields.String(allow_none=True, validate=REG_GROUP)

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
    year_group = fields.Integer(allow_none=True,
                                metadata={"description": "-2..14; null when nc_year is X"})
    nc_year = fields.Function(_nc_year, metadata={
        "description": "Census NC year: N1, N2, R, 1..14 or X (National Curriculum not "
                       "followed)"})
    year_group_name = fields.Function(lambda p: year_group_name(_nc_year(p) if getattr(
        p, "nc_not_followed", False) else p.year_group))
    registration_group = fields.String(allow_none=True)
    sen_status = fields.String()
    sen_status_name = fields.Function(lambda p: label(p.sen_status))
    primary_need = fields.String(allow_none=True)
    primary_need_name = fields.Function(lambda p: label(p.primary_need) or None)
    secondary_need = fields.String(allow_none=True)
    secondary_need_name = fields.Function(lambda p: label(p.secondary_need) or None)
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
    registration_group = fields.String(validate=REG_GROUP, metadata={
        "description": "Only pupils of this class / registration group"})
    nc_not_followed = fields.Boolean(metadata={
        "description": "true: only pupils with NC year X"})
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
    severity = fields.String(validate=validate.OneOf(("error", "warning")), metadata={
        "description": "error: the census would reject it; warning: DfE's checks query it"})
    detail = fields.String()


class CensusPupilSchema(Schema):
    pupil_id = fields.String()
    upn = fields.String(allow_none=True)
    issues = fields.List(fields.Nested(CensusIssueSchema), metadata={
        "description": "What the census would reject"})
    warnings = fields.List(fields.Nested(CensusIssueSchema), metadata={
        "description": "What DfE's checks query but accept with a reason (e.g. a year group "
                       "not the one expected from the date of birth)"})


class CensusReportSchema(Schema):
    org_id = fields.String()
    census_date = fields.Date()
    checked = fields.Integer()
    failing = fields.List(fields.Nested(CensusPupilSchema))
    warnings = fields.List(fields.Nested(CensusPupilSchema), metadata={
        "description": "Pupils with warnings only, no errors (e.g. a year group not the "
                       "one expected from the date of birth, age on 31 August)"})


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


class PassportQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "pdf")))


class PassportVersionsSchema(Schema):
    items = fields.List(fields.Nested(PassportVersionSchema))
    current = fields.Nested(PassportVersionSchema, allow_none=True)


# -- EHC plans -----------------------------------------------------------------------

PAUSE_REASONS = domain.PAUSE_REASONS
TRANSFER_KINDS = validate.OneOf(domain.PHASE_TRANSFER_KINDS)
KIND_DOC = ("reg. 18(1)(a) between_phases: before 15 February of the year of transfer; "
            "18(1)(b) secondary_to_post16: before 31 March; 18(2) between_post16: at least "
            "5 months before phase_transfer_on")


class EhcPlanCreateSchema(Schema):
    request_date = fields.Date(required=True, validate=_not_future)
    phase_transfer_year = fields.Integer(load_default=None, allow_none=True,
                                         validate=validate.Range(min=2000, max=2100))
    phase_transfer_kind = fields.String(load_default=None, allow_none=True,
                                        validate=TRANSFER_KINDS,
                                        metadata={"description": KIND_DOC})
    phase_transfer_on = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "The day of the move (needed for between_post16)"})


class EhcPlanUpdateSchema(Schema):
    decision_to_assess_on = fields.Date(allow_none=True, validate=_not_future)
    assessment_refused = fields.Boolean()
    decision_to_issue_on = fields.Date(allow_none=True, validate=_not_future)
    issue_refused = fields.Boolean()
    draft_plan_sent_on = fields.Date(allow_none=True, validate=_not_future, metadata={
        "description": "Draft plan (or proposed amendments) sent: 15 days to comment "
                       "(reg. 13(1), 22(2))"})
    draft_comments_on = fields.Date(allow_none=True, validate=_not_future)
    issued_on = fields.Date(allow_none=True, validate=_not_future)
    last_review_on = fields.Date(allow_none=True, validate=_not_future, metadata={
        "description": "The annual review meeting (s.44; the 4-week decision of reg. "
                       "20(10) counts from it)"})
    review_decision = fields.String(allow_none=True,
                                    validate=validate.OneOf(domain.REVIEW_DECISIONS))
    review_decision_on = fields.Date(allow_none=True, validate=_not_future)
    amendment_notice_on = fields.Date(allow_none=True, validate=_not_future, metadata={
        "description": "Amendment notice sent: final amended plan within 8 weeks (reg. 22)"})
    amended_plan_issued_on = fields.Date(allow_none=True, validate=_not_future)
    phase_transfer_year = fields.Integer(allow_none=True,
                                         validate=validate.Range(min=2000, max=2100))
    phase_transfer_kind = fields.String(allow_none=True, validate=TRANSFER_KINDS,
                                        metadata={"description": KIND_DOC})
    phase_transfer_on = fields.Date(allow_none=True)
    phase_transfer_amended_on = fields.Date(allow_none=True, validate=_not_future)

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change")


class EhcPauseCreateSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(PAUSE_REASONS), metadata={
        "description": "A lawful exception (SEND Regulations 2014 reg. 5(4), 10(4), 13(3)): "
                       "school_closure (4 weeks or more), exceptional_personal_circumstances, "
                       "absent_from_area (4 weeks or more). missed_appointment is refused: it "
                       "excuses only other bodies' 6-week advice deadline."})
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "The day the clock runs again (school reopens, person back)"})

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError({"ends_on": ["Must not be before starts_on"]})


class EhcPauseEndSchema(Schema):
    ends_on = fields.Date(required=True)


class EhcPauseSchema(Schema):
    id = fields.String()
    reason = fields.String()
    reason_name = fields.Function(lambda p: label(p.reason))
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)


class DeadlineSchema(Schema):
    due = fields.Date(allow_none=True, metadata={"description": "The last lawful day"})
    done_on = fields.Date(allow_none=True)


class EhcPlanSchema(Schema):
    id = fields.String()
    pupil_id = fields.String()
    request_date = fields.Date()
    decision_to_assess_on = fields.Date(allow_none=True)
    assessment_refused = fields.Boolean()
    decision_to_issue_on = fields.Date(allow_none=True)
    issue_refused = fields.Boolean()
    draft_plan_sent_on = fields.Date(allow_none=True)
    draft_comments_on = fields.Date(allow_none=True)
    issued_on = fields.Date(allow_none=True)
    last_review_on = fields.Date(allow_none=True)
    review_decision = fields.String(allow_none=True)
    review_decision_on = fields.Date(allow_none=True)
    amendment_notice_on = fields.Date(allow_none=True)
    amended_plan_issued_on = fields.Date(allow_none=True)
    phase_transfer_year = fields.Integer(allow_none=True)
    phase_transfer_kind = fields.String(allow_none=True)
    phase_transfer_on = fields.Date(allow_none=True)
    phase_transfer_amended_on = fields.Date(allow_none=True)
    pauses = fields.List(fields.Nested(EhcPauseSchema))
    deadlines = fields.Dict(keys=fields.String(), values=fields.Nested(DeadlineSchema),
                            metadata={"description": "decision_to_assess, decision_to_issue, "
                                      "final_plan, draft_comments, annual_review, "
                                      "review_decision, amended_plan, phase_transfer"})


class OverduePlanSchema(Schema):
    plan_id = fields.String()
    pupil_id = fields.String()
    org_id = fields.String()
    deadline = fields.String()
    deadline_name = fields.Function(lambda o: label(o["deadline"]))
    due = fields.Date()
    days_overdue = fields.Integer()


class OverduePlanListSchema(Schema):
    items = fields.List(fields.Nested(OverduePlanSchema))


class OverdueQuerySchema(Schema):
    org_id = fields.String()  # trust_admin: one organisation
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")),
                           metadata={"description": "csv or xlsx: the list as a spreadsheet "
                                     "with each pupil's name, UPN, year and class"})


class EhcDueQuerySchema(OverdueQuerySchema):
    within_days = fields.Integer(load_default=28, validate=validate.Range(min=0, max=366),
                                 metadata={"description": "the deadlines due from today to "
                                           "this many days ahead, and every one overdue"})


class EhcPlanQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "pdf")),
                           metadata={"description": "pdf: the plan's timeline, its statutory "
                                     "dates and their status"})


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
STAFF_ROLES = tuple(sorted(ROLES - {Role.PARENT, Role.PORTAL}))


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
    org_kind = fields.String()
    pupil_name = fields.String()


class SignInLookupResultSchema(Schema):
    staff = fields.List(fields.Nested(SignInMembershipSchema))
    guardian_of = fields.List(fields.Nested(SignInGuardianSchema))


# -- what a parent may read: the published passport, the EHC plan's dates ------------

class ParentPassportSchema(PassportVersionSchema):
    """A published passport version as the child's parent reads it (no drafts, no
    staff identities)."""

    class Meta:
        exclude = ("org_id", "created_at", "created_by")


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
