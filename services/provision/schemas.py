"""Request and response schemas of the provision API."""

from datetime import date, timedelta

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.paging import MAX_OFFSET
from services.contracts.names import label
from services.contracts.sen import AREAS_OF_NEED

from .domain import (
    COST_BASES,
    DELIVERY_ROLES,
    END_REASONS,
    LEGACY_PROGRESS,
    LEVEL_TO_LEGACY,
    LEVELS,
    PROGRESS,
    TIERS,
)

TEXT = validate.Length(min=1, max=5000)
ID = validate.Length(min=1, max=36)
AMOUNT = validate.Range(min=0, max=1_000_000)


def _money(**kw):
    return fields.Decimal(places=2, as_string=True, validate=AMOUNT, **kw)


def _score(**kw):
    return fields.Decimal(places=2, as_string=True,
                          validate=validate.Range(min=-100_000, max=100_000), **kw)


def _plausible(value):
    today = date.today()
    if not today - timedelta(days=3660) <= value <= today + timedelta(days=3660):
        raise ValidationError("Must be within ten years of today")


def _no_repeats(values):
    if len(set(values)) != len(values):
        raise ValidationError("Each value may appear once")


class Strict(Schema):
    class Meta:
        ordered = True


# -- catalogue ----------------------------------------------------------------------

class CatalogueCreateSchema(Strict):
    org_id = fields.String(load_default=None, allow_none=True, validate=ID)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    area_of_need = fields.String(required=True, validate=validate.OneOf(AREAS_OF_NEED))
    delivered_by = fields.String(required=True, validate=validate.OneOf(DELIVERY_ROLES))
    group_size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=40))
    session_minutes = fields.Integer(required=True, strict=True,
                                     validate=validate.Range(min=5, max=480))
    cost_basis = fields.String(required=True, validate=validate.OneOf(COST_BASES))
    cost_amount = _money(load_default=None, allow_none=True)
    evidence_notes = fields.String(load_default="", validate=validate.Length(max=5000))

    @validates_schema
    def _amount_unless_staff_rate(self, data, **kwargs):
        if data.get("cost_basis") != "staff_rate" and data.get("cost_amount") is None:
            raise ValidationError("Required unless the cost comes from staff rates",
                                  field_name="cost_amount")


class CatalogueUpdateSchema(Strict):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=5000))
    evidence_notes = fields.String(validate=validate.Length(max=5000))
    active = fields.Boolean(truthy={True}, falsy={False})
    cost_amount = _money()


class CatalogueEntrySchema(Schema):
    id = fields.String()
    org_id = fields.String(allow_none=True)
    shared = fields.Function(lambda e: e.org_id is None)
    name = fields.String()
    description = fields.String()
    tier = fields.String()
    area_of_need = fields.String()
    delivered_by = fields.String()
    group_size = fields.Integer()
    session_minutes = fields.Integer()
    cost_basis = fields.String()
    cost_amount = fields.Decimal(as_string=True)
    evidence_notes = fields.String()
    active = fields.Boolean()


class CatalogueQuerySchema(Schema):
    tier = fields.String(validate=validate.OneOf(TIERS))
    area_of_need = fields.String(validate=validate.OneOf(AREAS_OF_NEED))
    include_inactive = fields.Boolean(load_default=False)


# -- organisation settings ----------------------------------------------------------

class SettingsSchema(Strict):
    sen_budget = _money(allow_none=True)
    role_rates = fields.Dict(keys=fields.String(validate=validate.OneOf(DELIVERY_ROLES)),
                             values=fields.Decimal(places=2, as_string=True, validate=AMOUNT),
                             load_default=dict)


# -- school calendar ------------------------------------------------------------------

class SchoolTermSchema(Strict):
    term = fields.String(required=True, validate=validate.OneOf(("autumn", "spring", "summer")))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    half_term_starts_on = fields.Date(load_default=None, allow_none=True)
    half_term_ends_on = fields.Date(load_default=None, allow_none=True)


class CalendarBodySchema(Strict):
    terms = fields.List(fields.Nested(SchoolTermSchema), required=True,
                        validate=validate.Length(equal=3))
    inset_days = fields.List(fields.Date(), load_default=list,
                             validate=validate.Length(max=10), metadata={
                                 "description": "INSET and other closure days (usually 5)"})


class CalendarSchema(Schema):
    org_id = fields.String()
    academic_year = fields.String(metadata={"example": "2026/27"})
    source = fields.String(metadata={"description": "school (set by the school) or "
                                     "local_authority_pattern (the default)"})
    terms = fields.List(fields.Nested(SchoolTermSchema))
    inset_days = fields.List(fields.Date())
    school_days = fields.Integer(metadata={"description": "Days open to pupils (statutory "
                                           "year: 190)"})
    sessions = fields.Integer(metadata={"description": "Two a day (statutory year: 380)"})
    warnings = fields.List(fields.String())


# -- assignments --------------------------------------------------------------------

class AssignmentCreateSchema(Strict):
    catalogue_id = fields.String(required=True, validate=ID)
    pupil_ids = fields.List(fields.String(validate=ID), required=True,
                            validate=[validate.Length(min=1, max=40), _no_repeats])
    start_date = fields.Date(required=True, validate=_plausible)
    end_date = fields.Date(required=True, validate=_plausible)
    sessions_per_week = fields.Decimal(required=True, as_string=True, places=1,
                                       validate=validate.Range(min=0, max=25, min_inclusive=False))
    staff = fields.String(required=True, validate=validate.Length(min=1, max=200))
    statutory = fields.Boolean(load_default=False, truthy={True}, falsy={False})
    target_ids = fields.List(fields.String(validate=ID), load_default=list,
                             validate=[validate.Length(max=50), _no_repeats])

    @validates_schema
    def _dates(self, data, **kwargs):
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            raise ValidationError("Must be on or after the start date", field_name="end_date")


class AssignmentEndSchema(Strict):
    ended_on = fields.Date(required=True, validate=_plausible)
    reason = fields.String(required=True, validate=validate.OneOf(END_REASONS))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    review_cycle_id = fields.String(load_default=None, allow_none=True, validate=ID)


class AttendanceSchema(Strict):
    pupil_id = fields.String(required=True, validate=ID)
    attended = fields.Boolean(required=True, truthy={True}, falsy={False})


class SessionCreateSchema(Strict):
    held_on = fields.Date(required=True, validate=_plausible)
    minutes = fields.Integer(strict=True, load_default=None, allow_none=True,
                             validate=validate.Range(min=1, max=480))
    attendance = fields.List(fields.Nested(AttendanceSchema), required=True,
                             validate=validate.Length(min=1, max=40))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))

    @validates_schema
    def _once_each(self, data, **kwargs):
        ids = [a["pupil_id"] for a in data.get("attendance") or []]
        if len(set(ids)) != len(ids):
            raise ValidationError("Each pupil may appear once", field_name="attendance")


class SessionSchema(Schema):
    id = fields.String()
    assignment_id = fields.String()
    held_on = fields.Date()
    minutes = fields.Integer()
    register_size = fields.Integer()
    attended = fields.Integer()


class MemberSchema(Schema):
    pupil_id = fields.String()
    joined_on = fields.Date()
    left_on = fields.Date(allow_none=True)


class AssignmentSchema(Schema):
    id = fields.String()
    org_id = fields.String()
    catalogue_id = fields.String()
    provision = fields.String()
    tier = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    sessions_per_week = fields.Decimal(as_string=True)
    staff = fields.String()
    statutory = fields.Boolean()
    status = fields.String()
    ended_on = fields.Date(allow_none=True)
    end_reason = fields.String(allow_none=True)
    review_cycle_id = fields.String(allow_none=True)
    members = fields.List(fields.Nested(MemberSchema))
    target_ids = fields.List(fields.String())
    sessions_delivered = fields.Integer()


class AssignmentQuerySchema(Schema):
    org_id = fields.String(validate=ID)
    pupil_id = fields.String(validate=ID)
    status = fields.String(validate=validate.OneOf(("active", "ended")))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


# -- targets and outcomes -------------------------------------------------------------

class TargetCreateSchema(Strict):
    pupil_id = fields.String(required=True, validate=ID)
    description = fields.String(required=True, validate=TEXT)
    area_of_need = fields.String(required=True, validate=validate.OneOf(AREAS_OF_NEED))
    baseline = fields.String(required=True, validate=TEXT)
    expected_outcome = fields.String(required=True, validate=TEXT)
    measure = fields.String(required=True, validate=TEXT)
    due_date = fields.Date(required=True, validate=_plausible)
    baseline_score = _score(load_default=None, allow_none=True)
    target_score = _score(load_default=None, allow_none=True)
    score_unit = fields.String(load_default=None, allow_none=True,
                               validate=validate.Length(min=1, max=40))

    @validates_schema
    def _scores_together(self, data, **kwargs):
        if data.get("target_score") is not None and data.get("baseline_score") is None:
            raise ValidationError("A target score needs a baseline score",
                                  field_name="baseline_score")


LEVEL_DOC = ("Progress on the target: not_yet_started, working_towards, partially_met, met "
             "(the target score reached, where there is one) or exceeded (passed)")


class OutcomeCreateSchema(Strict):
    reviewed_on = fields.Date(required=True, validate=_plausible)
    level = fields.String(validate=validate.OneOf(LEVELS), metadata={"description": LEVEL_DOC})
    progress = fields.Integer(strict=True, validate=validate.OneOf(sorted(PROGRESS)),
                              metadata={"deprecated": True, "description":
                                        "Deprecated: the old scale -2..2 (1 met, 2 exceeded); "
                                        "send level instead"})
    note = fields.String(load_default="", validate=validate.Length(max=5000))
    score = _score(load_default=None, allow_none=True)
    cycle_id = fields.String(load_default=None, allow_none=True, validate=ID)

    @validates_schema
    def _one_level(self, data, **kwargs):
        if "level" not in data and "progress" not in data:
            raise ValidationError("Required: " + ", ".join(LEVELS), field_name="level")
        if "level" in data and "progress" in data:
            raise ValidationError("Send level or the old progress, not both",
                                  field_name="progress")

    @post_load
    def _to_level(self, data, **kwargs):
        if "level" not in data:
            data["level"] = LEGACY_PROGRESS[data.pop("progress")]
        data.pop("progress", None)
        return data


class OutcomeSchema(Schema):
    id = fields.String()
    target_id = fields.String()
    cycle_id = fields.String(allow_none=True)
    reviewed_on = fields.Date()
    level = fields.String(validate=validate.OneOf(LEVELS), metadata={"description": LEVEL_DOC})
    level_name = fields.Function(lambda o: label(o.level))
    progress = fields.Function(lambda o: LEVEL_TO_LEGACY[o.level], metadata={
        "deprecated": True, "description": "Deprecated: the old -2..2 scale, from level"})
    progress_label = fields.Function(lambda o: label(o.level))
    score = fields.Decimal(as_string=True, allow_none=True)
    note = fields.String()


class TargetSchema(Schema):
    id = fields.String()
    pupil_id = fields.String()
    org_id = fields.String()
    description = fields.String()
    area_of_need = fields.String()
    baseline = fields.String()
    expected_outcome = fields.String()
    measure = fields.String()
    due_date = fields.Date()
    baseline_score = fields.Decimal(as_string=True, allow_none=True)
    target_score = fields.Decimal(as_string=True, allow_none=True)
    score_unit = fields.String(allow_none=True)
    outcomes = fields.List(fields.Nested(OutcomeSchema))
    latest_level = fields.String(allow_none=True, validate=validate.OneOf(LEVELS))
    latest_level_name = fields.Function(lambda t: label(t["latest_level"]) or None)
    latest_progress = fields.Integer(allow_none=True, metadata={
        "deprecated": True, "description": "Deprecated: the old -2..2 scale, from latest_level"})
    met = fields.Boolean()
    score_gain = fields.Decimal(as_string=True, allow_none=True)
    percent_of_expected_gain = fields.Decimal(as_string=True, allow_none=True)


# -- cycles ---------------------------------------------------------------------------

class CycleCreateSchema(Strict):
    pupil_id = fields.String(required=True, validate=ID)
    started_on = fields.Date(required=True, validate=_plausible)
    review_date = fields.Date(required=True, validate=_plausible)
    assess = fields.String(load_default="", validate=validate.Length(max=10_000))
    plan = fields.String(load_default="", validate=validate.Length(max=10_000))
    do = fields.String(load_default="", validate=validate.Length(max=10_000))


class CycleReviewSchema(Strict):
    reviewed_on = fields.Date(required=True, validate=_plausible)
    note = fields.String(required=True, validate=TEXT)
    outcomes = fields.List(fields.Nested(lambda: CycleOutcomeSchema()), load_default=list,
                           validate=validate.Length(max=50))


class CycleOutcomeSchema(OutcomeCreateSchema):
    target_id = fields.String(required=True, validate=ID)

    class Meta:
        exclude = ("reviewed_on", "cycle_id")


class CycleSchema(Schema):
    id = fields.String()
    pupil_id = fields.String()
    org_id = fields.String()
    number = fields.Integer()
    started_on = fields.Date()
    assess = fields.String()
    plan = fields.String()
    do = fields.String()
    review_date = fields.Date()
    status = fields.String()
    reviewed_on = fields.Date(allow_none=True)
    review_note = fields.String(allow_none=True)
    overdue = fields.Boolean()


class DueCycleSchema(CycleSchema):
    year_group = fields.Integer(allow_none=True, metadata={
        "description": "The pupil's year group (from the pupils service's events)"})
    registration_group = fields.String(allow_none=True, metadata={
        "description": "The pupil's class / registration group, if recorded"})


class ReviewsDueSchema(Schema):
    due = fields.List(fields.Nested(DueCycleSchema), metadata={
        "description": "Open cycles whose review falls within within_days"})
    overdue = fields.List(fields.Nested(DueCycleSchema), metadata={
        "description": "Open cycles whose review date has passed"})


class DueQuerySchema(Schema):
    org_id = fields.String(validate=ID)
    within_days = fields.Integer(load_default=14, validate=validate.Range(min=0, max=365))


# -- pupil map, costs, reports ------------------------------------------------------

class PupilSchema(Schema):
    pupil_id = fields.String()
    org_id = fields.String()
    year_group = fields.Integer(allow_none=True)
    sen_status = fields.String(allow_none=True)
    primary_need = fields.String(allow_none=True)
    secondary_need = fields.String(allow_none=True)
    areas_of_need = fields.List(fields.String())


class CostSchema(Schema):
    to_date = fields.Decimal(as_string=True)
    projected = fields.Decimal(as_string=True)


class PupilMapSchema(Schema):
    pupil = fields.Nested(PupilSchema)
    assignments = fields.List(fields.Nested(AssignmentSchema))
    targets = fields.List(fields.Nested(TargetSchema))
    cycles = fields.List(fields.Nested(CycleSchema))
    cost = fields.Nested(CostSchema)


class ReportQuerySchema(Schema):
    org_id = fields.String(validate=ID)
    catalogue_id = fields.String(validate=ID)
    as_of = fields.Date(validate=_plausible)
    group_by = fields.String(load_default="provision", metadata={
        "description": "provision, provision and school, school, the trust, or pupil "
                       "(each pupil's targets and share of cost; rows carry pupil_id, "
                       "year_group and registration_group)"},
                             validate=validate.OneOf(("provision", "provision_org", "org",
                                                      "trust", "pupil")))
    format = fields.String(load_default="json",
                           validate=validate.OneOf(("json", "csv", "xlsx")))


class CostQuerySchema(Schema):
    org_id = fields.String(validate=ID)
    as_of = fields.Date(validate=_plausible)
    view = fields.String(load_default="summary", metadata={
        "description": "summary, or the costs per pupil, provision, tier, organisation or "
                       "class (registration group)"},
                         validate=validate.OneOf(("summary", "pupil", "provision", "tier", "org",
                                                  "class")))
    format = fields.String(load_default="json",
                           validate=validate.OneOf(("json", "csv", "xlsx")))


class MapQuerySchema(Schema):
    format = fields.String(load_default="json",
                           validate=validate.OneOf(("json", "pdf", "csv", "xlsx")))


class RecommendationSchema(Schema):
    referral_id = fields.String()
    reference = fields.String()
    org_id = fields.String()
    outcome = fields.String()
    areas_of_need = fields.List(fields.String())
    recommended_provision = fields.List(fields.String())
    closed_at = fields.DateTime()


class RecommendationQuerySchema(Schema):
    org_id = fields.String(validate=ID)


# -- the class / year-group provision map ---------------------------------------------

class ClassMapQuerySchema(Schema):
    org = fields.String(validate=ID, metadata={
        "description": "The school (required trust-wide; a school's staff: their own)"})
    org_id = fields.String(validate=ID, metadata={"description": "The same as org"})
    registration_group = fields.String(validate=validate.Length(min=1, max=30), metadata={
        "description": "Only this class / registration group"})
    year_group = fields.Integer(validate=validate.Range(min=-3, max=14), metadata={
        "description": "Only this year group (0 reception, -1 nursery)"})
    as_of = fields.Date(validate=_plausible, metadata={
        "description": "Costs to this day (default today)"})


class MoneySchema(Schema):
    to_date = fields.Decimal(as_string=True, metadata={"description": "Cost to date, £"})
    projected = fields.Decimal(as_string=True, metadata={
        "description": "To date plus what is planned to 31 August, £"})


class FrequencySchema(Schema):
    sessions_per_week = fields.Decimal(as_string=True)
    session_minutes = fields.Integer()
    hours_per_week = fields.Decimal(as_string=True, metadata={
        "description": "sessions a week × session length, in hours (2 places)"})


class MapOutcomeSchema(Schema):
    target_id = fields.String()
    description = fields.String()
    expected_outcome = fields.String(metadata={"description": "The outcome sought"})
    due_date = fields.Date()
    latest_level = fields.String(allow_none=True, validate=validate.OneOf(LEVELS))
    latest_level_name = fields.String(allow_none=True)
    latest_reviewed_on = fields.Date(allow_none=True)
    met = fields.Boolean()


class MapProvisionSchema(Schema):
    assignment_id = fields.String()
    catalogue_id = fields.String()
    provision = fields.String()
    tier = fields.String(validate=validate.OneOf(TIERS))
    area_of_need = fields.String()
    delivered_by = fields.String(validate=validate.OneOf(DELIVERY_ROLES), metadata={
        "description": "The role that delivers it"})
    staff = fields.String(metadata={"description": "Who delivers it, as recorded"})
    group_size = fields.Integer(metadata={"description": "Pupils in the group now (1: alone)"})
    frequency = fields.Nested(FrequencySchema)
    start_date = fields.Date()
    end_date = fields.Date(metadata={"description": "Ended on, if ended early; else planned"})
    status = fields.String(validate=validate.OneOf(("active", "ended")))
    end_reason = fields.String(allow_none=True)
    statutory = fields.Boolean(metadata={"description": "EHC plan provision (section F)"})
    cost = fields.Nested(MoneySchema, metadata={"description": "This pupil's share"})
    outcomes = fields.List(fields.Nested(MapOutcomeSchema), metadata={
        "description": "The pupil's targets this provision serves, with the latest review"})


class MapTotalsSchema(Schema):
    provisions = fields.Integer()
    hours_per_week = fields.Decimal(as_string=True, metadata={
        "description": "Hours a week of the provision running on the as-of day"})
    cost_to_date = fields.Decimal(as_string=True)
    cost_projected = fields.Decimal(as_string=True)


class MapPupilSchema(Schema):
    pupil_id = fields.String(metadata={"description": "The pupils service's record id (the "
                                       "portal adds the name and UPN)"})
    year_group = fields.Integer(allow_none=True)
    registration_group = fields.String(allow_none=True)
    sen_status = fields.String(allow_none=True, metadata={"description": "K or E"})
    primary_need = fields.String(allow_none=True)
    secondary_need = fields.String(allow_none=True)
    provisions = fields.List(fields.Nested(MapProvisionSchema))
    cycles = fields.List(fields.Nested(CycleSchema), metadata={
        "description": "The pupil's assess-plan-do-review cycles, oldest first"})
    totals = fields.Nested(MapTotalsSchema)


class ClassMapTotalsSchema(MapTotalsSchema):
    pupils = fields.Integer()


class ClassMapSchema(Schema):
    as_of = fields.Date()
    org_id = fields.String()
    organisation = fields.String(allow_none=True)
    registration_group = fields.String(allow_none=True)
    year_group = fields.Integer(allow_none=True)
    pupils = fields.List(fields.Nested(MapPupilSchema), metadata={
        "description": "By class, year group, then record id"})
    totals = fields.Nested(ClassMapTotalsSchema)
