"""Provision service entrypoints: each calls one command or query and returns.

Scope (queries/scope.py, on the kit's one rule in services/common/access.py): senco
and teacher act in their own organisation (a teacher records sessions and reviews,
and reads); trust_admin acts trust-wide; auditor reads only, trust-wide when their
token's organisation is the trust, else in their own organisation. Another
organisation's record is not found (404), never forbidden."""

from services.common.access import PROVISION_READERS, PROVISION_REPORT_READERS, Role
from services.common.config import ConfigProvider, load
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider, utcnow
from services.common.http import api
from services.common.outbox import OutboxRelay
from services.common.service import PlatformService
from services.common.timers import timer
from services.contracts import events

from .adapters import DocumentRenderer
from .commands import assignments as assigning
from .commands import calendar as calendars
from .commands import catalogue as cataloguing
from .commands import cycles as apdr
from .commands import projection
from .commands import targets as targeting
from .config import ProvisionConfig
from .models import Base
from .queries import assignments as assignment_views
from .queries import calendar as calendar_views
from .queries import catalogue as catalogue_views
from .queries import costs as cost_views
from .queries import cycles as cycle_views
from .queries import impact as impact_views
from .queries import maps
from .queries import targets as target_views
from .schemas import (
    AssignmentCreateSchema,
    AssignmentEndSchema,
    AssignmentQuerySchema,
    AssignmentSchema,
    CalendarBodySchema,
    CalendarSchema,
    CatalogueCreateSchema,
    CatalogueEntrySchema,
    CatalogueQuerySchema,
    CatalogueUpdateSchema,
    ClassMapQuerySchema,
    ClassMapSchema,
    CostQuerySchema,
    CycleCreateSchema,
    CycleReviewSchema,
    CycleSchema,
    DueQuerySchema,
    MapQuerySchema,
    OutcomeCreateSchema,
    OutcomeSchema,
    PupilMapSchema,
    RecommendationQuerySchema,
    RecommendationSchema,
    ReportQuerySchema,
    ReviewsDueSchema,
    SessionCreateSchema,
    SessionSchema,
    SettingsSchema,
    TargetCreateSchema,
    TargetSchema,
)

P = "/api/v1/provision"
READERS = PROVISION_READERS
REPORT_READERS = PROVISION_REPORT_READERS
WRITERS = (Role.SENCO, Role.TRUST_ADMIN)  # catalogue, assignments, targets, cycles
RECORDERS = (Role.SENCO, Role.TEACHER, Role.TRUST_ADMIN)  # sessions, outcomes, reviews


def _today():
    return utcnow().date()


class ProvisionService(PlatformService):
    name = "provision"
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()
    config = ConfigProvider(ProvisionConfig)
    documents = DocumentRenderer()

    def _settings(self):
        """The container's settings (a worker made by nameko's worker_factory has none)."""
        return self.config if isinstance(self.config, ProvisionConfig) else load(
            ProvisionConfig, self.name)

    # -- catalogue ------------------------------------------------------------------

    @api("POST", f"{P}/catalogue", roles=WRITERS, body=CatalogueCreateSchema,
         response=CatalogueEntrySchema, status=201, summary="Add provision to the catalogue")
    def create_catalogue_entry(self, request, principal, body):
        return cataloguing.create_entry(self.db, principal, body)

    @api("GET", f"{P}/catalogue", many=True, roles=READERS, query=CatalogueQuerySchema,
         response=CatalogueEntrySchema, summary="Your catalogue and the trust's shared entries")
    def list_catalogue(self, request, principal, query):
        return catalogue_views.list_entries(self.db, principal, query)

    @api("GET", f"{P}/catalogue/<string:entry_id>", roles=READERS,
         response=CatalogueEntrySchema, summary="One catalogue entry")
    def get_catalogue_entry(self, request, principal, entry_id):
        return catalogue_views.get_entry(self.db, principal, entry_id)

    @api("PATCH", f"{P}/catalogue/<string:entry_id>", roles=WRITERS,
         body=CatalogueUpdateSchema, response=CatalogueEntrySchema,
         summary="Change a catalogue entry's wording, cost or availability")
    def update_catalogue_entry(self, request, principal, body, entry_id):
        return cataloguing.update_entry(self.db, principal, entry_id, body)

    # -- organisation settings ----------------------------------------------------

    @api("PUT", f"{P}/organisations/<string:org_id>/settings", roles=WRITERS,
         body=SettingsSchema, response=SettingsSchema,
         summary="Set the notional SEN budget (trust_admin) and staff role rates")
    def put_settings(self, request, principal, body, org_id):
        return cataloguing.put_settings(self.db, principal, org_id, body)

    @api("GET", f"{P}/organisations/<string:org_id>/settings", roles=REPORT_READERS,
         response=SettingsSchema, summary="The SEN budget and staff role rates")
    def get_settings(self, request, principal, org_id):
        return catalogue_views.get_settings(self.db, principal, org_id)

    # -- school calendar --------------------------------------------------------------

    @api("PUT", f"{P}/organisations/<string:org_id>/calendar/<string:year>", roles=WRITERS,
         body=CalendarBodySchema, response=CalendarSchema,
         summary="Set a school's term dates and INSET days for an academic year (2026-27)")
    def put_calendar(self, request, principal, body, org_id, year):
        return calendars.set_calendar(self.db, principal, org_id, year, body)

    @api("GET", f"{P}/organisations/<string:org_id>/calendar/<string:year>", roles=READERS,
         response=CalendarSchema,
         summary="A school's school days for a year: its own dates or the LA pattern")
    def get_calendar(self, request, principal, org_id, year):
        return calendar_views.get_calendar(self.db, principal, org_id, year)

    # -- assignments ------------------------------------------------------------------

    @api("POST", f"{P}/assignments", roles=WRITERS, body=AssignmentCreateSchema,
         response=AssignmentSchema, status=201,
         summary="Assign provision to a pupil or a group of pupils")
    def create_assignment(self, request, principal, body):
        return assigning.assign(self.db, principal, body)

    @api("GET", f"{P}/assignments", many=True, roles=READERS, query=AssignmentQuerySchema,
         response=AssignmentSchema, summary="The provision map: assignments")
    def list_assignments(self, request, principal, query):
        return assignment_views.list_assignments(self.db, principal, query)

    @api("GET", f"{P}/assignments/<string:assignment_id>", roles=READERS,
         response=AssignmentSchema, summary="One assignment")
    def get_assignment(self, request, principal, assignment_id):
        return assignment_views.get_assignment(self.db, principal, assignment_id)

    @api("POST", f"{P}/assignments/<string:assignment_id>/sessions", roles=RECORDERS,
         body=SessionCreateSchema, response=SessionSchema, status=201,
         summary="Record a session delivered and who attended")
    def record_session(self, request, principal, body, assignment_id):
        return assigning.record_session(self.db, principal, assignment_id, body, _today())

    @api("POST", f"{P}/assignments/<string:assignment_id>/end", roles=WRITERS,
         body=AssignmentEndSchema, response=AssignmentSchema,
         summary="End provision early, with a reason (statutory provision needs a review)")
    def end_assignment(self, request, principal, body, assignment_id):
        return assigning.end(self.db, principal, assignment_id, body)

    # -- targets and outcomes ---------------------------------------------------------

    @api("POST", f"{P}/targets", roles=WRITERS, body=TargetCreateSchema, response=TargetSchema,
         status=201, summary="Set a SMART target for a pupil")
    def create_target(self, request, principal, body):
        return targeting.create_target(self.db, principal, body)

    @api("GET", f"{P}/targets/<string:target_id>", roles=READERS, response=TargetSchema,
         summary="One target and its outcomes")
    def get_target(self, request, principal, target_id):
        return target_views.get_target(self.db, principal, target_id)

    @api("POST", f"{P}/targets/<string:target_id>/outcomes", roles=RECORDERS,
         body=OutcomeCreateSchema, response=OutcomeSchema, status=201,
         summary="Record progress on a target at a review")
    def record_outcome(self, request, principal, body, target_id):
        return targeting.record_outcome(self.db, principal, target_id, body, _today())

    # -- assess-plan-do-review cycles ---------------------------------------------

    @api("POST", f"{P}/cycles", roles=WRITERS, body=CycleCreateSchema, response=CycleSchema,
         status=201, summary="Open an assess-plan-do-review cycle for a pupil")
    def create_cycle(self, request, principal, body):
        return apdr.open_cycle(self.db, principal, body)

    @api("POST", f"{P}/cycles/<string:cycle_id>/review", roles=RECORDERS,
         body=CycleReviewSchema, response=CycleSchema,
         summary="Review a cycle, with progress on each target reviewed")
    def review_cycle(self, request, principal, body, cycle_id):
        return apdr.review_cycle(self.db, principal, cycle_id, body, _today())

    @api("GET", f"{P}/cycles/<string:cycle_id>", roles=READERS, response=CycleSchema,
         summary="One assess-plan-do-review cycle")
    def get_cycle(self, request, principal, cycle_id):
        return cycle_views.get_cycle(self.db, principal, cycle_id)

    @api("GET", f"{P}/reviews/due", roles=READERS, query=DueQuerySchema,
         response=ReviewsDueSchema,
         summary="Open cycles whose review is due soon, and those overdue")
    def reviews_due(self, request, principal, query):
        return cycle_views.reviews_due(self.db, principal, query, _today())

    @timer("review_timer_seconds", eager=True)  # PROVISION_REVIEW_TIMER_SECONDS
    def announce_reviews(self):
        """Emit provision.review_due ahead of each review, once per review date.

        The check runs at start and then hourly rather than once a day: it is
        idempotent (a cycle remembers the review date it announced), so a restart
        never skips a day and a repeat never announces twice."""
        apdr.announce_reviews(self.db, _today(), self._settings().review_lead_days)

    # -- maps, costs and impact reports -----------------------------------------------

    @api("GET", f"{P}/pupils/<string:pupil_id>/map", roles=READERS, response=PupilMapSchema,
         query=MapQuerySchema,
         summary="A pupil's provision map: provision, targets, cycles and cost "
                 "(format=pdf: the costed provision map; csv or xlsx: its rows)")
    def pupil_map(self, request, principal, query, pupil_id):
        return maps.pupil_map(self.db, principal, pupil_id, query["format"], _today(),
                              self.documents)

    @api("GET", f"{P}/map", roles=REPORT_READERS, query=ClassMapQuerySchema,
         response=ClassMapSchema,
         summary="A class's or year group's provision map, pupil by pupil: provision, "
                 "frequency, staff, cost, dates, outcomes and APDR cycles, with totals (the "
                 "costed map a local authority asks for with an EHC needs assessment request)")
    def class_map(self, request, principal, query):
        return maps.class_map(self.db, principal, query, _today())

    @api("GET", f"{P}/costs", roles=REPORT_READERS, query=CostQuerySchema,
         summary="Cost to date and projected to the end of the year, against the SEN budget")
    def costs(self, request, principal, query):
        return cost_views.costs(self.db, principal, query, _today(), self.documents)

    @api("GET", f"{P}/reports/impact", roles=REPORT_READERS, query=ReportQuerySchema,
         summary="What works where: targets met, progress and cost, by provision, "
                 "organisation or trust-wide")
    def impact(self, request, principal, query):
        return impact_views.report(self.db, principal, query, _today(), self.documents)

    @api("GET", f"{P}/recommendations", many=True, roles=REPORT_READERS,
         query=RecommendationQuerySchema, response=RecommendationSchema,
         summary="Provision outreach recommended when closing this school's referrals")
    def list_recommendations(self, request, principal, query):
        return catalogue_views.list_recommendations(self.db, principal, query)

    # -- the other services' events -------------------------------------------------

    @subscribe(events.ORGANISATION_ONBOARDED)
    def on_organisation_onboarded(self, event, uow):
        projection.organisation_onboarded(uow, event["data"])

    @subscribe(events.PUPIL_REGISTERED)
    def on_pupil_registered(self, event, uow):
        projection.pupil_registered(uow, event["data"])

    @subscribe(events.PUPIL_UPDATED)
    def on_pupil_updated(self, event, uow):
        projection.pupil_updated(uow, event["data"])

    @subscribe(events.PUPIL_SEN_STATUS_CHANGED)
    def on_pupil_sen_status_changed(self, event, uow):
        projection.pupil_registered(uow, event["data"])  # the same upsert

    @subscribe(events.PUPIL_MOVED)
    def on_pupil_moved(self, event, uow):
        projection.pupil_moved(uow, event["data"])

    @subscribe(events.REFERRAL_CLOSED)
    def on_referral_closed(self, event, uow):
        projection.referral_closed(uow, event["data"], event["occurred_at"])

    @subscribe(events.PUPIL_ERASED)
    def on_pupil_erased(self, event, uow):
        projection.pupil_erased(uow, event["data"])
