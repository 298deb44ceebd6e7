"""Pupils service entrypoints: parse, authorise, call the domain, respond."""

import io
import logging
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from services.common import settings
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider
from services.common.http import api, json_response
from services.common.outbox import OutboxRelay
from services.common.problems import Conflict, NotFound, Unprocessable
from services.common.service import PlatformService
from services.common.timers import timer_from_setting

from . import directory, importer, onboarding, records
from .models import Base, EhcPlan, Organisation, Pupil
from .schemas import (
    AuditPageSchema,
    AuditQuerySchema,
    CensusQuerySchema,
    CensusReportSchema,
    EhcPauseCreateSchema,
    EhcPauseEndSchema,
    EhcPauseSchema,
    EhcPlanCreateSchema,
    EhcPlanListSchema,
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
    ParentEhcPlanListSchema,
    ParentPassportVersionsSchema,
    PassportDraftSchema,
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

READERS = ("trust_admin", "senco", "teacher")  # teacher: read-only
WRITERS = ("trust_admin", "senco")
PARENT = "parent"  # a guardian: the published passport and the EHC plan's dates only
STAFF_ADMIN = ("trust_admin",)
STAFF_READERS = ("trust_admin", "senco")  # a senco: their own organisation's staff
STAFF = "/api/v1/staff/<string:member_id>"
ENGLAND = ZoneInfo("Europe/London")
PUPIL = "/api/v1/pupils/<string:pupil_id>"
PLAN = PUPIL + "/ehc-plans/<string:plan_id>"


def today():
    return datetime.now(ENGLAND).date()


def parent_pupil(session, principal, pupil_id):
    """A parent's child: named in the token's pupils claim and still in the pupils'
    guardians with this address and parental responsibility; 404 otherwise."""
    pupil = session.execute(select(Pupil).where(
        Pupil.id == pupil_id, Pupil.anonymised_at.is_(None))).scalar_one_or_none()
    if (pupil is None or pupil_id not in principal.pupils
            or not directory.is_guardian(session, principal.sub, pupil_id)):
        raise NotFound("No such pupil")
    return pupil


def is_parent(principal):
    return PARENT in principal.roles and not principal.has_any(READERS)


def detail(session, pupil):
    row = {c.key: getattr(pupil, c.key) for c in pupil.__table__.columns}
    return SimpleNamespace(**row, guardians=records.guardians_of(session, pupil.id),
                           upn_history=records.upn_history(session, pupil.id),
                           referrals=records.referrals_of(session, pupil.id))


class PupilsService(PlatformService):
    name = "pupils"
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()

    # -- organisations ---------------------------------------------------------------

    @api("POST", "/api/v1/organisations", roles=("trust_admin",),
         body=OrganisationCreateSchema, response=OrganisationSchema, status=201,
         summary="Onboard an organisation")
    def onboard_organisation(self, request, principal, body):
        return onboarding.onboard(self.db, body, actor=principal.sub)

    @api("GET", "/api/v1/organisations", roles=("trust_admin", "auditor"),
         response=OrganisationPageSchema, summary="List the trust's organisations")
    def list_organisations(self, request, principal):
        with self.db.session() as s:
            items = s.execute(select(Organisation).order_by(Organisation.name)).scalars().all()
        return {"items": items, "total": len(items)}

    # -- pupils and the SEN register --------------------------------------------------

    @api("POST", "/api/v1/pupils", roles=WRITERS, body=PupilCreateSchema,
         response=PupilDetailSchema, status=201, summary="Add a pupil to an organisation")
    def create_pupil(self, request, principal, body):
        with self.db.unit_of_work() as uow:
            org = records.target_org(uow.session, principal, body.pop("org_id"))
            pupil = records.create_pupil(uow, org.id, body, actor=principal.sub, today=today())
            return detail(uow.session, pupil)

    @api("GET", "/api/v1/pupils", roles=READERS, query=PupilListQuerySchema,
         response=PupilPageSchema, summary="List or search pupils (filters, paging)")
    def list_pupils(self, request, principal, query):
        return records.list_and_audit(self.db, principal, query)

    @api("GET", PUPIL, roles=READERS, response=PupilDetailSchema, summary="Get one pupil")
    def get_pupil(self, request, principal, pupil_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id)
            records.audit(uow.session, principal, [pupil], "get_pupil")
            return detail(uow.session, pupil)

    @api("PATCH", PUPIL, roles=WRITERS, body=PupilUpdateSchema, response=PupilDetailSchema,
         summary="Change a pupil's details (a temporary UPN may become the permanent one)")
    def update_pupil(self, request, principal, body, pupil_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            records.update_pupil(uow, pupil, body, actor=principal.sub)
            return detail(uow.session, pupil)

    @api("PUT", PUPIL + "/guardians", roles=WRITERS, body=GuardiansBodySchema,
         response=PupilDetailSchema, summary="Replace a pupil's guardians")
    def put_guardians(self, request, principal, body, pupil_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            records.replace_guardians(uow, pupil, body["guardians"], actor=principal.sub)
            return detail(uow.session, pupil)

    @api("POST", PUPIL + "/sen-status", roles=WRITERS, body=SenStatusChangeSchema,
         response=PupilDetailSchema, summary="Change SEN provision (E/K/N) and ranked needs")
    def change_sen_status(self, request, principal, body, pupil_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            records.change_sen_status(uow, pupil, body, actor=principal.sub, today=today())
            return detail(uow.session, pupil)

    @api("GET", PUPIL + "/sen-register", roles=READERS, response=SenHistorySchema,
         summary="A pupil's dated SEN register history")
    def sen_register(self, request, principal, pupil_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id)
            records.audit(uow.session, principal, [pupil], "sen_register")
            return {"items": records.sen_history(uow.session, pupil.id)}

    @api("GET", "/api/v1/pupils/census-readiness", roles=("trust_admin", "senco"),
         query=CensusQuerySchema, response=CensusReportSchema,
         summary="Pupils who would fail the census rules, with the rule broken")
    def census_readiness(self, request, principal, query):
        with self.db.unit_of_work() as uow:
            org_id = records.scoped_org_id(uow.session, principal, query.get("org_id"))
            report = records.census_report(uow.session, org_id, today())
            listed = [SimpleNamespace(id=f["pupil_id"], org_id=org_id)
                      for f in report["failing"]]
            records.audit(uow.session, principal, listed, "census_readiness")
        return report

    # -- passports -------------------------------------------------------------------

    @api("POST", PUPIL + "/passport/versions", roles=WRITERS, body=PassportDraftSchema,
         response=PassportVersionSchema, status=201, summary="Save a new passport draft")
    def save_passport_draft(self, request, principal, body, pupil_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            return records.save_passport_draft(uow, pupil, body, actor=principal.sub)

    @api("POST", PUPIL + "/passport/versions/<int:version>/publish", roles=WRITERS,
         response=PassportVersionSchema, summary="Publish a passport version")
    def publish_passport(self, request, principal, pupil_id, version):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            return records.publish_passport(uow, pupil, version, actor=principal.sub)

    @api("GET", PUPIL + "/passport", roles=READERS + (PARENT,),
         response=PassportVersionsSchema,
         summary="A pupil's passport: the current published version and every version "
                 "(a parent: the latest published version only)")
    def get_passport(self, request, principal, pupil_id):
        parent = is_parent(principal)
        with self.db.unit_of_work() as uow:
            pupil = (parent_pupil(uow.session, principal, pupil_id) if parent
                     else records.get_pupil(uow.session, principal, pupil_id))
            records.audit(uow.session, principal, [pupil], "get_passport")
            items = records.passport_versions(uow.session, pupil.id)
        published = [v for v in items if v.status == "published"]
        current = published[-1] if published else None
        if parent:
            return json_response(ParentPassportVersionsSchema().dump(
                {"items": [current] if current else [], "current": current}))
        return {"items": items, "current": current}

    # -- EHC plans -------------------------------------------------------------------

    @api("POST", PUPIL + "/ehc-plans", roles=WRITERS, body=EhcPlanCreateSchema,
         response=EhcPlanSchema, status=201, summary="Record an EHC needs assessment request")
    def create_plan(self, request, principal, body, pupil_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            if uow.session.execute(select(EhcPlan.id).where(
                    EhcPlan.pupil_id == pupil.id)).first():
                raise Conflict("The pupil already has an EHC plan record",
                               errors={"request_date": ["A plan already exists"]})
            plan = records.create_plan(uow.session, pupil, body)
            return records.plan_view(uow.session, plan)

    @api("GET", PUPIL + "/ehc-plans", roles=READERS + (PARENT,), response=EhcPlanListSchema,
         summary="A pupil's EHC plans with their statutory deadlines (a parent: the "
                 "dates, deadlines and next review)")
    def list_plans(self, request, principal, pupil_id):
        parent = is_parent(principal)
        with self.db.unit_of_work() as uow:
            pupil = (parent_pupil(uow.session, principal, pupil_id) if parent
                     else records.get_pupil(uow.session, principal, pupil_id))
            records.audit(uow.session, principal, [pupil], "list_plans")
            plans = uow.session.execute(select(EhcPlan).where(
                EhcPlan.pupil_id == pupil.id)).scalars().all()
            items = [records.plan_view(uow.session, p) for p in plans]
        if parent:
            return json_response(ParentEhcPlanListSchema().dump({"items": items}))
        return {"items": items}

    @api("PATCH", PLAN, roles=WRITERS, body=EhcPlanUpdateSchema, response=EhcPlanSchema,
         summary="Record the steps of an EHC plan (decisions, issue, reviews)")
    def update_plan(self, request, principal, body, pupil_id, plan_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            plan = records.get_plan(uow.session, pupil, plan_id)
            records.update_plan(uow.session, plan, body)
            return records.plan_view(uow.session, plan)

    @api("POST", PLAN + "/pauses", roles=WRITERS, body=EhcPauseCreateSchema,
         response=EhcPauseSchema, status=201, summary="Pause the 20-week clock (lawful exception)")
    def add_pause(self, request, principal, body, pupil_id, plan_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            plan = records.get_plan(uow.session, pupil, plan_id)
            return records.add_pause(uow.session, plan, body)

    @api("POST", PLAN + "/pauses/<string:pause_id>/end", roles=WRITERS,
         body=EhcPauseEndSchema, response=EhcPlanSchema, summary="Restart the clock")
    def end_pause(self, request, principal, body, pupil_id, plan_id, pause_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            plan = records.get_plan(uow.session, pupil, plan_id)
            records.end_pause(uow.session, plan, pause_id, body["ends_on"])
            return records.plan_view(uow.session, plan)

    @timer_from_setting("EHCP_TIMER_SECONDS", 86400, eager=True)
    def ehcp_reminders(self):
        """Daily: ehcp.review_due / ehcp.deadline_at_risk ahead of each deadline, once."""
        lead = int(settings.get("EHCP_LEAD_WORKING_DAYS", default="10", service=self.name))
        try:
            sent = records.send_due_reminders(self.db, today(), lead_working_days=lead)
        except IntegrityError:  # another replica's timer sent them first: once is kept
            log.info("ehcp timer: reminders already sent by another instance")
            return
        log.info("ehcp timer: %d reminders emitted", len(sent))

    @subscribe("referrals", "referral.accepted")
    def on_referral_accepted(self, event, uow):
        """Link the referred pupil, by UPN, when the referring school is a trust school
        or ARB that keeps them here."""
        records.link_referral(uow.session, event["data"])

    # -- moves, import ---------------------------------------------------------------

    @api("POST", PUPIL + "/moves", roles=WRITERS, body=MoveCreateSchema, response=MoveSchema,
         status=201, summary="Move a pupil to another organisation of the trust")
    def move_pupil(self, request, principal, body, pupil_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            return records.move_pupil(uow, pupil, body, actor=principal.sub)

    @api("POST", "/api/v1/pupils/imports", roles=WRITERS, query=ImportQuerySchema,
         response=ImportReportSchema, summary="Import an MIS CSV export (body: text/csv)")
    def import_pupils(self, request, principal, query):
        with self.db.session() as s:
            org = records.target_org(s, principal, query.get("org"), field="org")
        lines = io.TextIOWrapper(request.stream, encoding="utf-8-sig", newline="")
        report = importer.import_csv(self.db, org.id, lines, actor=principal.sub,
                                     today=today())
        return report.as_dict()

    # -- the staff directory and the portal's sign-in lookup ---------------------------

    @api("GET", "/api/v1/staff", roles=STAFF_READERS, query=StaffQuerySchema,
         response=StaffPageSchema,
         summary="The staff directory (a school's senco: their own organisation's staff)")
    def list_staff(self, request, principal, query):
        with self.db.session() as s:
            return directory.list_members(s, principal, query)

    @api("POST", "/api/v1/staff", roles=STAFF_ADMIN, body=StaffCreateSchema,
         response=StaffMemberSchema, status=201,
         summary="Give a person roles at an organisation")
    def add_staff(self, request, principal, body):
        with self.db.unit_of_work() as uow:
            return directory.add_member(uow, body, actor=principal.sub)

    @api("GET", STAFF, roles=STAFF_READERS, response=StaffMemberSchema,
         summary="One staff membership")
    def get_staff(self, request, principal, member_id):
        with self.db.session() as s:
            return directory.get_member(s, principal, member_id)

    @api("PATCH", STAFF, roles=STAFF_ADMIN, body=StaffUpdateSchema,
         response=StaffMemberSchema, summary="Change a membership's name, roles or active flag")
    def change_staff(self, request, principal, body, member_id):
        with self.db.unit_of_work() as uow:
            member = directory.get_member(uow.session, principal, member_id, lock=True)
            return directory.change_member(uow, member, body, actor=principal.sub)

    @api("DELETE", STAFF, roles=STAFF_ADMIN, status=204,
         summary="Remove a membership from the directory")
    def remove_staff(self, request, principal, member_id):
        with self.db.unit_of_work() as uow:
            member = directory.get_member(uow.session, principal, member_id, lock=True)
            directory.remove_member(uow, member, actor=principal.sub)
        return Response(status=204)

    @api("POST", "/api/v1/sign-in/lookup", roles=("portal",), body=SignInLookupSchema,
         response=SignInLookupResultSchema,
         summary="The portal's sign-in: an address's memberships and the pupils it is a "
                 "guardian of (the same answer shape for an unknown address)")
    def sign_in_lookup(self, request, principal, body):
        with self.db.session() as s:
            return directory.sign_in_lookup(s, body["email"])

    # -- audit, subject access and erasure ---------------------------------------------

    @api("GET", "/api/v1/pupils/audit", roles=("auditor",), query=AuditQuerySchema,
         response=AuditPageSchema, summary="Who read which pupil record, when, where")
    def audit_log(self, request, principal, query):
        with self.db.session() as s:
            return records.audit_page(s, principal, query)

    @api("GET", PUPIL + "/export", roles=("trust_admin",),
         summary="Subject access: everything this service holds about a pupil")
    def export_pupil(self, request, principal, pupil_id):
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id)
            records.audit(uow.session, principal, [pupil], "export_pupil")
            data = records.subject_access_export(uow.session, pupil)
        return json_response(data)

    @api("POST", PUPIL + "/erasure", roles=("trust_admin",), body=ErasureSchema,
         response=ErasureResultSchema,
         summary="Erase a pupil, or anonymise where the SEN record must be kept")
    def erase_pupil(self, request, principal, body, pupil_id):
        if body["confirm_pupil_id"] != pupil_id:
            raise Unprocessable("Confirm the pupil id",
                                errors={"confirm_pupil_id": ["Does not match the pupil"]})
        with self.db.unit_of_work() as uow:
            pupil = records.get_pupil(uow.session, principal, pupil_id, lock=True)
            mode = records.erase_pupil(uow, pupil, actor=principal.sub)
        return {"pupil_id": pupil_id, "mode": mode}
