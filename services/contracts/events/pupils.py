"""Events published by the pupils service."""

from marshmallow import Schema, fields, validate

from ..registry import event
from ..sen import AREAS_OF_NEED, NEED_TYPES, SEN_PROVISION
from .common import ORG_KINDS


@event("organisation.onboarded", 1, "pupils",
       "An organisation joined the platform: the trust, one of its schools, an ARB or a partner school.")
class OrganisationOnboardedV1(Schema):
    org_id = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    urn = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^\d{6}$"))
    laestab = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^\d{7}$"))
    kind = fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    contact_email = fields.Email(load_default=None, allow_none=True)


class _SenFields(Schema):
    sen_status = fields.String(required=True, validate=validate.OneOf(SEN_PROVISION))
    primary_need = fields.String(required=True, allow_none=True,
                                 validate=validate.OneOf(NEED_TYPES))
    secondary_need = fields.String(load_default=None, allow_none=True,
                                   validate=validate.OneOf(NEED_TYPES))
    areas_of_need = fields.List(fields.String(validate=validate.OneOf(AREAS_OF_NEED)),
                                load_default=list)


@event("pupil.registered", 1, "pupils", "A pupil was added to a school's roll on the platform.")
class PupilRegisteredV1(_SenFields):
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    year_group = fields.Integer(required=True, allow_none=True)
    # added (optional): the class / registration group, so provision reads costs per class
    registration_group = fields.String(load_default=None, allow_none=True)


@event("pupil.updated", 1, "pupils",
       "A pupil's record changed (the fields named changed; fetch details by RPC if needed).")
class PupilUpdatedV1(Schema):
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    year_group = fields.Integer(required=True, allow_none=True)
    changed = fields.List(fields.String(), required=True)
    # added (optional): the class / registration group after the change
    registration_group = fields.String(load_default=None, allow_none=True)


@event("pupil.sen_status_changed", 1, "pupils",
       "A pupil's SEN provision (E/K/N) or ranked needs changed.")
class PupilSenStatusChangedV1(_SenFields):
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    previous_status = fields.String(required=True, allow_none=True,
                                    validate=validate.OneOf(SEN_PROVISION))
    effective_date = fields.Date(required=True)


class GuardianSchema(Schema):
    guardian_id = fields.String(required=True)
    name = fields.String(required=True)
    relationship = fields.String(required=True)
    email = fields.Email(load_default=None, allow_none=True)
    mobile = fields.String(load_default=None, allow_none=True)
    preferred_channel = fields.String(required=True, validate=validate.OneOf(("email", "sms")))
    preferred_language = fields.String(load_default="en")
    parental_responsibility = fields.Boolean(required=True)


@event("pupil.guardians_changed", 1, "pupils",
       "A pupil's guardians or their contact preferences changed (the full current list).")
class PupilGuardiansChangedV1(Schema):
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    guardians = fields.List(fields.Nested(GuardianSchema), required=True)


@event("pupil.moved", 1, "pupils", "A pupil moved to another organisation of the trust.")
class PupilMovedV1(Schema):
    pupil_id = fields.String(required=True)
    from_org_id = fields.String(required=True)
    to_org_id = fields.String(required=True)
    moved_on = fields.Date(required=True)


@event("pupil.erased", 1, "pupils",
       "A pupil's record was erased or anonymised on request: every service forgets them.")
class PupilErasedV1(Schema):
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    mode = fields.String(required=True, validate=validate.OneOf(("erased", "anonymised")))


@event("passport.published", 1, "pupils", "A new version of a pupil passport was published.")
class PassportPublishedV1(Schema):
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    passport_id = fields.String(required=True)
    version = fields.Integer(required=True)


# The statutory deadlines of pupils/domain.py: the 6/16/20 weeks (SEND Regulations 2014
# reg. 5, 10, 13), annual review (CFA 2014 s.44), phase transfer (reg. 18), the decision
# after a review (reg. 20(10)), the final amended plan (reg. 22), the 15 days to comment
# on a draft (reg. 13(1)).
EHCP_DEADLINES = ("decision_to_assess", "decision_to_issue", "final_plan", "annual_review",
                  "phase_transfer", "review_decision", "amended_plan", "draft_comments")


@event("ehcp.review_due", 1, "pupils", "An EHC plan's annual review falls due within the lead time.")
class EhcpReviewDueV1(Schema):
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    plan_id = fields.String(required=True)
    due_date = fields.Date(required=True)


@event("ehcp.deadline_at_risk", 1, "pupils",
       "A statutory EHC deadline is near and its step is not done.")
class EhcpDeadlineAtRiskV1(Schema):
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    plan_id = fields.String(required=True)
    deadline = fields.String(required=True, validate=validate.OneOf(EHCP_DEADLINES))
    due_date = fields.Date(required=True)


class _StaffMemberFields(Schema):
    member_id = fields.String(required=True)
    org_id = fields.String(required=True)
    email = fields.Email(required=True)  # how notify reaches a SENCO or a practitioner
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)


@event("staff.member_added", 1, "pupils",
       "A person was given roles at an organisation in the staff directory.")
class StaffMemberAddedV1(_StaffMemberFields):
    pass


@event("staff.member_changed", 1, "pupils",
       "A staff membership's name, roles or active flag changed (the current values).")
class StaffMemberChangedV1(_StaffMemberFields):
    changed = fields.List(fields.String(), required=True)


@event("staff.member_removed", 1, "pupils",
       "A staff membership was removed from the directory: the person no longer holds "
       "roles at that organisation.")
class StaffMemberRemovedV1(Schema):
    member_id = fields.String(required=True)
    org_id = fields.String(required=True)
    email = fields.Email(required=True)
