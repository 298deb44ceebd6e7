"""Events published by the provision service.

Identifiers, dates, codes and scores only: never a target's wording or a
review note (free text about a child stays in the provision database)."""

from marshmallow import Schema, fields, validate

from ..registry import event
from ..sen import AREAS_OF_NEED

TIERS = ("universal", "targeted", "specialist")


@event("provision.assigned", 1, "provision",
       "Provision from the catalogue was assigned to a pupil or a group of pupils.")
class ProvisionAssignedV1(Schema):
    assignment_id = fields.String(required=True)
    org_id = fields.String(required=True)
    catalogue_id = fields.String(required=True)
    pupil_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    area_of_need = fields.String(required=True, validate=validate.OneOf(AREAS_OF_NEED))
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    sessions_per_week = fields.Decimal(required=True, as_string=True)
    statutory = fields.Boolean(required=True)
    target_ids = fields.List(fields.String(), load_default=list)


@event("provision.ended", 1, "provision",
       "An assignment ended before its planned end date (the reason is a code).")
class ProvisionEndedV1(Schema):
    assignment_id = fields.String(required=True)
    org_id = fields.String(required=True)
    pupil_ids = fields.List(fields.String(), required=True)
    ended_on = fields.Date(required=True)
    reason = fields.String(required=True)
    statutory = fields.Boolean(required=True)
    review_cycle_id = fields.String(load_default=None, allow_none=True)


@event("provision.review_due", 1, "provision",
       "An assess-plan-do-review cycle's review falls due within the lead time, or is overdue "
       "(once per review date).")
class ProvisionReviewDueV1(Schema):
    cycle_id = fields.String(required=True)
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    review_date = fields.Date(required=True)
    overdue = fields.Boolean(required=True)


@event("outcome.recorded", 1, "provision",
       "Progress against a pupil's target was recorded at a review: level (not yet started … "
       "exceeded) and the old -2 … +2 progress.")
class OutcomeRecordedV1(Schema):
    outcome_id = fields.String(required=True)
    target_id = fields.String(required=True)
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    cycle_id = fields.String(load_default=None, allow_none=True)
    reviewed_on = fields.Date(required=True)
    progress = fields.Integer(required=True, validate=validate.Range(min=-2, max=2))
    met = fields.Boolean(required=True)
    # the named level (provision/domain.py LEVELS); progress is derived from it
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        ("not_yet_started", "working_towards", "partially_met", "met", "exceeded")))


@event("apdr_cycle.opened", 1, "provision",
       "An assess-plan-do-review cycle was opened for a pupil (evidence of the graduated approach).")
class ApdrCycleOpenedV1(Schema):
    cycle_id = fields.String(required=True)
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    number = fields.Integer(required=True)
    started_on = fields.Date(required=True)
    review_date = fields.Date(required=True)


@event("apdr_cycle.reviewed", 1, "provision",
       "An assess-plan-do-review cycle was reviewed (evidence of the graduated approach).")
class ApdrCycleReviewedV1(Schema):
    cycle_id = fields.String(required=True)
    pupil_id = fields.String(required=True)
    org_id = fields.String(required=True)
    number = fields.Integer(required=True)
    reviewed_on = fields.Date(required=True)
    targets_reviewed = fields.Integer(required=True)
    targets_met = fields.Integer(required=True)
