"""Pupils service entrypoints: each calls one use case (commands/) or read
(queries.py) and returns; the rules are in domain.py, the rooms in README.md."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Response

from services.common.access import PUPIL_READERS, PUPIL_WRITERS, Role
from services.common.config import ConfigProvider
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider
from services.common.errors import NotFound
from services.common.http import api, json_response, read_body
from services.common.outbox import OutboxRelay
from services.common.service import PlatformService
from services.common.timers import timer
from services.contracts import events

from . import queries
from .adapters import DocumentRenderer
from .commands import ehc_plans, imports, moves, organisations, passports, pupils, staff
from .config import PupilsConfig
from .models import Base
from .schemas import (
    AuditPageSchema,
    AuditQuerySchema,
    CensusQuerySchema,
    CensusReportSchema,
    EhcDueQuerySchema,
    EhcPauseCreateSchema,
    EhcPauseEndSchema,
    EhcPauseSchema,
    EhcPlanCreateSchema,
    EhcPlanListSchema,
    EhcPlanQuerySchema,
    EhcPlanSchema,
    EhcPlanUpdateSchema,
    ErasureResultSchema,
    ErasureSchema,
    GuardiansBodySchema,
    ImportQuerySchema,
    ImportReportSchema,
    MoveCreateSchema,
    MoveSchema,
    OrganisationCreateSchema,
    OrganisationPageSchema,
    OrganisationSchema,
    OverduePlanListSchema,
    OverdueQuerySchema,
    ParentEhcPlanListSchema,
    ParentEhcPlanSchema,
    ParentPassportVersionsSchema,
    PassportDraftSchema,
    PassportQuerySchema,
    PassportVersionSchema,
    PassportVersionsSchema,
    PupilCreateSchema,
    PupilDetailSchema,
    PupilListQuerySchema,
    PupilPageSchema,
    PupilUpdateSchema,
    SenHistorySchema,
    SenStatusChangeSchema,
    SignInLookupResultSchema,
    SignInLookupSchema,
    StaffCreateSchema,
    StaffMemberSchema,
    StaffPageSchema,
    StaffQuerySchema,
    StaffUpdateSchema,
)

log = logging.getLogger(__name__)

READERS = PUPIL_READERS  # a teacher: read-only
WRITERS = PUPIL_WRITERS
PARENT = Role.PARENT  # a guardian: the published passport and the EHC plan's dates only
TRUST_ADMIN = (Role.TRUST_ADMIN,)
ORG_READERS = (Role.TRUST_ADMIN, Role.AUDITOR)
REPORT_READERS = (Role.TRUST_ADMIN, Role.SENCO)  # census readiness, overdue EHC deadlines
STAFF_ADMIN = TRUST_ADMIN
STAFF_READERS = (Role.TRUST_ADMIN, Role.SENCO)  # a senco: their own organisation's staff
AUDITORS = (Role.AUDITOR,)
PORTAL = (Role.PORTAL,)
STAFF = "/api/v1/staff/<string:member_id>"
ENGLAND = ZoneInfo("Europe/London")
PUPIL = "/api/v1/pupils/<string:pupil_id>"
IMPORT_MAX_BYTES = 10_000_000  # an MIS export of a large school is well under 1 MB
PLAN = PUPIL + "/ehc-plans/<string:plan_id>"


def today():
    return datetime.now(ENGLAND).date()


class PupilsService(PlatformService):
    name = "pupils"
    config = ConfigProvider(PupilsConfig)
    db = DatabaseProvider(Base.metadata)
    documents = DocumentRenderer()
    relay = OutboxRelay()

    # -- organisations ---------------------------------------------------------------

    @api("POST", "/api/v1/organisations", roles=TRUST_ADMIN,
         body=OrganisationCreateSchema, response=OrganisationSchema, status=201,
         summary="Onboard an organisation")
    def onboard_organisation(self, request, principal, body):
        return organisations.onboard(self.db, body, actor=principal.sub)

    @api("GET", "/api/v1/organisations", roles=ORG_READERS,
         response=OrganisationPageSchema, summary="List the trust's organisations")
    def list_organisations(self, request, principal):
        return queries.list_organisations(self.db, principal)

    # -- pupils and the SEN register --------------------------------------------------

    @api("POST", "/api/v1/pupils", roles=WRITERS, body=PupilCreateSchema,
         response=PupilDetailSchema, status=201, summary="Add a pupil to an organisation")
    def create_pupil(self, request, principal, body):
        return pupils.register(self.db, principal, body, today=today())

    @api("GET", "/api/v1/pupils", roles=READERS, query=PupilListQuerySchema,
         response=PupilPageSchema, summary="List or search pupils (filters, paging)")
    def list_pupils(self, request, principal, query):
        return queries.list_and_audit(self.db, principal, query)

    @api("GET", PUPIL, roles=READERS, response=PupilDetailSchema, summary="Get one pupil")
    def get_pupil(self, request, principal, pupil_id):
        return queries.pupil(self.db, principal, pupil_id)

    @api("PATCH", PUPIL, roles=WRITERS, body=PupilUpdateSchema, response=PupilDetailSchema,
         summary="Change a pupil's details (a temporary UPN may become the permanent one)")
    def update_pupil(self, request, principal, body, pupil_id):
        return pupils.update(self.db, principal, pupil_id, body)

    @api("PUT", PUPIL + "/guardians", roles=WRITERS, body=GuardiansBodySchema,
         response=PupilDetailSchema, summary="Replace a pupil's guardians")
    def put_guardians(self, request, principal, body, pupil_id):
        return pupils.set_guardians(self.db, principal, pupil_id, body["guardians"])

    @api("POST", PUPIL + "/sen-status", roles=WRITERS, body=SenStatusChangeSchema,
         response=PupilDetailSchema, summary="Change SEN provision (E/K/N) and ranked needs")
    def change_sen_status(self, request, principal, body, pupil_id):
        return pupils.set_sen_status(self.db, principal, pupil_id, body, today=today())

    @api("GET", PUPIL + "/sen-register", roles=READERS, response=SenHistorySchema,
         summary="A pupil's dated SEN register history")
    def sen_register(self, request, principal, pupil_id):
        return queries.sen_register(self.db, principal, pupil_id)

    @api("GET", "/api/v1/pupils/census-readiness", roles=REPORT_READERS,
         query=CensusQuerySchema, response=CensusReportSchema,
         summary="Pupils who would fail the census rules, with the rule broken")
    def census_readiness(self, request, principal, query):
        return queries.census_readiness(self.db, principal, query.get("org_id"), today())

    # -- passports -------------------------------------------------------------------

    @api("POST", PUPIL + "/passport/versions", roles=WRITERS, body=PassportDraftSchema,
         response=PassportVersionSchema, status=201, summary="Save a new passport draft")
    def save_passport_draft(self, request, principal, body, pupil_id):
        return passports.save_draft(self.db, principal, pupil_id, body)

    @api("POST", PUPIL + "/passport/versions/<int:version>/publish", roles=WRITERS,
         response=PassportVersionSchema, summary="Publish a passport version")
    def publish_passport(self, request, principal, pupil_id, version):
        return passports.publish(self.db, principal, pupil_id, version)

    @api("GET", PUPIL + "/passport", roles=READERS + (PARENT,), query=PassportQuerySchema,
         response=PassportVersionsSchema,
         summary="A pupil's passport: the current published version and every version "
                 "(a parent: the latest published version only; format=pdf: the published "
                 "one-page profile as PDF)")
    def get_passport(self, request, principal, query, pupil_id):
        found = queries.passport(self.db, principal, pupil_id)
        current = found["current"]
        if query["format"] == "pdf":
            if current is None:
                raise NotFound("The pupil has no published passport yet")
            return self.documents.passport({
                "organisation": found["pupil"]["school"], "pupil": found["pupil"],
                "passport": PassportVersionSchema().dump(current)})
        if queries.is_parent(principal):
            return json_response(ParentPassportVersionsSchema().dump(
                {"items": [current] if current else [], "current": current}))
        return {"items": found["items"], "current": current}

    # -- EHC plans -------------------------------------------------------------------

    @api("POST", PUPIL + "/ehc-plans", roles=WRITERS, body=EhcPlanCreateSchema,
         response=EhcPlanSchema, status=201, summary="Record an EHC needs assessment request")
    def create_plan(self, request, principal, body, pupil_id):
        return ehc_plans.request(self.db, principal, pupil_id, body)

    @api("GET", PUPIL + "/ehc-plans", roles=READERS + (PARENT,), response=EhcPlanListSchema,
         summary="A pupil's EHC plans with their statutory deadlines (a parent: the "
                 "dates, deadlines and next review)")
    def list_plans(self, request, principal, pupil_id):
        found = queries.plans(self.db, principal, pupil_id)
        if queries.is_parent(principal):
            return json_response(ParentEhcPlanListSchema().dump(found))
        return found

    @api("GET", PLAN, roles=READERS + (PARENT,), query=EhcPlanQuerySchema,
         response=EhcPlanSchema,
         summary="One EHC plan with its statutory deadlines (a parent: the dates, "
                 "deadlines and next review; format=pdf: the plan's timeline as PDF)")
    def get_plan(self, request, principal, query, pupil_id, plan_id):
        view = queries.plan_timeline(self.db, principal, pupil_id, plan_id)
        if queries.is_parent(principal):
            view["plan"] = ParentEhcPlanSchema().dump(view["plan"])
        if query["format"] == "pdf":
            return self.documents.ehc_timeline(view, today=today())
        if queries.is_parent(principal):
            return json_response(view["plan"])
        return view["plan"]

    @api("PATCH", PLAN, roles=WRITERS, body=EhcPlanUpdateSchema, response=EhcPlanSchema,
         summary="Record the steps of an EHC plan (decisions, issue, reviews)")
    def update_plan(self, request, principal, body, pupil_id, plan_id):
        return ehc_plans.record_steps(self.db, principal, pupil_id, plan_id, body)

    @api("POST", PLAN + "/pauses", roles=WRITERS, body=EhcPauseCreateSchema,
         response=EhcPauseSchema, status=201, summary="Pause the 20-week clock (lawful exception)")
    def add_pause(self, request, principal, body, pupil_id, plan_id):
        return ehc_plans.pause(self.db, principal, pupil_id, plan_id, body)

    @api("POST", PLAN + "/pauses/<string:pause_id>/end", roles=WRITERS,
         body=EhcPauseEndSchema, response=EhcPlanSchema, summary="Restart the clock")
    def end_pause(self, request, principal, body, pupil_id, plan_id, pause_id):
        return ehc_plans.restart(self.db, principal, pupil_id, plan_id, pause_id,
                                 body["ends_on"])

    @api("GET", "/api/v1/pupils/ehc-plans/overdue", roles=REPORT_READERS,
         query=OverdueQuerySchema, response=OverduePlanListSchema,
         summary="Statutory EHC deadlines already past (the 6/16/20 weeks, annual review, "
                 "decision after review, amended plan, draft comments, phase transfer); "
                 "format=csv or xlsx: as a spreadsheet naming each pupil")
    def overdue_plans(self, request, principal, query):
        return self._deadlines(principal, query, None, "overdue_plans")

    @api("GET", "/api/v1/pupils/ehc-plans/due", roles=REPORT_READERS,
         query=EhcDueQuerySchema, response=OverduePlanListSchema,
         summary="Statutory EHC deadlines due within `within_days` (annual reviews among "
                 "them) and every one overdue, soonest first (days_overdue is negative for "
                 "one still to come); format=csv or xlsx: as a spreadsheet naming each pupil")
    def due_plans(self, request, principal, query):
        return self._deadlines(principal, query, query["within_days"], "due_plans")

    def _deadlines(self, principal, query, within_days, endpoint):
        """The EHC deadlines list as JSON, or (format=csv, xlsx) a spreadsheet of it."""
        fmt = query["format"]
        found = queries.overdue(self.db, principal, query.get("org_id"), today(),
                                within_days=within_days, named=fmt != "json",
                                endpoint=endpoint)
        if fmt == "json":
            return found
        return self.documents.ehc_deadlines(found["items"], fmt,
                                            endpoint.replace("_plans", "-ehc-deadlines"))

    @timer("ehcp_timer_seconds", eager=True)  # PUPILS_EHCP_TIMER_SECONDS
    def ehcp_reminders(self):
        """Daily: ehcp.review_due / ehcp.deadline_at_risk ahead of each deadline, once."""
        ehc_plans.daily_reminders(self.db, today(), self.config.ehcp_lead_working_days)

    @subscribe(events.REFERRAL_ACCEPTED)
    def on_referral_accepted(self, event, uow):
        """Link the referred pupil, by UPN, when the referring school is a trust school
        or ARB that keeps them here."""
        pupils.link_referral(uow.session, event["data"])

    # -- moves, import ---------------------------------------------------------------

    @api("POST", PUPIL + "/moves", roles=WRITERS, body=MoveCreateSchema, response=MoveSchema,
         status=201, summary="Move a pupil to another organisation of the trust")
    def move_pupil(self, request, principal, body, pupil_id):
        return moves.move(self.db, principal, pupil_id, body)

    @api("POST", "/api/v1/pupils/imports", roles=WRITERS, query=ImportQuerySchema,
         response=ImportReportSchema, max_body=IMPORT_MAX_BYTES,
         summary="Import an MIS CSV export (body: text/csv, at most 10 MB)")
    def import_pupils(self, request, principal, query):
        org = queries.import_target(self.db, principal, query.get("org"))
        raw = read_body(request, IMPORT_MAX_BYTES)  # whole, so a 413 imports nothing
        return imports.upload(self.db, org.id, raw, actor=principal.sub, today=today())

    # -- the staff directory and the portal's sign-in lookup ---------------------------

    @api("GET", "/api/v1/staff", roles=STAFF_READERS, query=StaffQuerySchema,
         response=StaffPageSchema,
         summary="The staff directory (a school's senco: their own organisation's staff)")
    def list_staff(self, request, principal, query):
        return queries.staff_page(self.db, principal, query)

    @api("POST", "/api/v1/staff", roles=STAFF_ADMIN, body=StaffCreateSchema,
         response=StaffMemberSchema, status=201,
         summary="Give a person roles at an organisation")
    def add_staff(self, request, principal, body):
        return staff.add(self.db, principal, body)

    @api("GET", STAFF, roles=STAFF_READERS, response=StaffMemberSchema,
         summary="One staff membership")
    def get_staff(self, request, principal, member_id):
        return queries.staff_member(self.db, principal, member_id)

    @api("PATCH", STAFF, roles=STAFF_ADMIN, body=StaffUpdateSchema,
         response=StaffMemberSchema, summary="Change a membership's name, roles or active flag")
    def change_staff(self, request, principal, body, member_id):
        return staff.change(self.db, principal, member_id, body)

    @api("DELETE", STAFF, roles=STAFF_ADMIN, status=204,
         summary="Remove a membership from the directory")
    def remove_staff(self, request, principal, member_id):
        staff.remove(self.db, principal, member_id)
        return Response(status=204)

    @api("POST", "/api/v1/sign-in/lookup", roles=PORTAL, body=SignInLookupSchema,
         response=SignInLookupResultSchema,
         summary="The portal's sign-in: an address's memberships and the pupils it is a "
                 "guardian of (the same answer shape for an unknown address)")
    def sign_in_lookup(self, request, principal, body):
        return queries.sign_in_lookup(self.db, body["email"])

    # -- audit, subject access and erasure ---------------------------------------------

    @api("GET", "/api/v1/pupils/audit", roles=AUDITORS, query=AuditQuerySchema,
         response=AuditPageSchema, summary="Who read which pupil record, when, where")
    def audit_log(self, request, principal, query):
        return queries.audit_page(self.db, principal, query)

    @api("GET", PUPIL + "/export", roles=TRUST_ADMIN,
         summary="Subject access: everything this service holds about a pupil")
    def export_pupil(self, request, principal, pupil_id):
        return json_response(queries.subject_access(self.db, principal, pupil_id))

    @api("POST", PUPIL + "/erasure", roles=TRUST_ADMIN, body=ErasureSchema,
         response=ErasureResultSchema,
         summary="Erase a pupil, or anonymise where the SEN record must be kept")
    def erase_pupil(self, request, principal, body, pupil_id):
        return pupils.erase(self.db, principal, pupil_id, body["confirm_pupil_id"])
