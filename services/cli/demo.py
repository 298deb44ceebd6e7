"""`senctl demo`: the demo trust a newcomer can walk, from demo_people.py.

Idempotent: what exists is left as it is. Everything goes through the services'
own commands (validated by their API schemas, with their events in the outbox,
so the running services hear about it): pupils' onboarding, pupil register,
passport, EHC plan and staff directory; referrals' agreements.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from stdnum.gb.upn import calc_check_digit

from services.common.db import open_database, utcnow

from . import demo_people

ACTOR = "senctl-demo"
ENGLAND = ZoneInfo("Europe/London")


def today():
    return datetime.now(ENGLAND).date()


def year_group(dob, on):
    """The National Curriculum year group (0 = reception) of a birth date on a day."""
    start = on.year if on.month >= 9 else on.year - 1
    cohort = dob.year if dob.month >= 9 else dob.year - 1
    return start - cohort - 5


def demo_upn(org, serial):
    """A valid permanent UPN: check letter, LA, establishment, year, serial."""
    body = f"{org['laestab']}26{serial:03d}"
    return calc_check_digit(body) + body


def _databases():
    from services.pupils.models import Base as PupilsBase
    from services.referrals.models import Base as ReferralsBase
    return (open_database("pupils", PupilsBase.metadata),
            open_database("referrals", ReferralsBase.metadata))


def seed(out=print, pupils_db=None, referrals_db=None):
    """Seed the demo; print one line per organisation. Returns {org key: org id}."""
    if pupils_db is None or referrals_db is None:
        pupils_db, referrals_db = _databases()
    ids = {}
    for data in demo_people.ORGANISATIONS:
        org = _organisation(pupils_db, data)
        ids[data["key"]] = org.id
        out(f"{org.kind}\t{org.id}\t{org.urn or '-'}\t{org.name}")
    added = {"pupils": 0, "staff": 0, "agreements": 0}
    for key, pupils in demo_people.PUPILS.items():
        org = demo_people.org(key)
        for pupil in pupils:
            added["pupils"] += _pupil(pupils_db, ids[key], org, {
                **pupil, "guardians": demo_people.guardians_of(key, pupil)})
    for person in demo_people.PEOPLE:
        added["staff"] += _staff(pupils_db, ids[person["org"]], person)
    for agreement in demo_people.AGREEMENTS:
        added["agreements"] += _agreement(referrals_db, ids[agreement["org"]], agreement)
    out(f"demo: added {_count(added['pupils'], 'pupil')}, "
        f"{_count(added['staff'], 'staff membership')} and "
        f"{_count(added['agreements'], 'agreement')} (what already existed was kept)")
    return ids


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _organisation(db, data):
    from services.pupils import queries
    from services.pupils.commands import organisations
    from services.pupils.models import Organisation
    from services.pupils.schemas import OrganisationCreateSchema
    fields = {k: data.get(k) for k in ("name", "kind", "urn", "laestab", "phase",
                                       "contact_email")}
    if data["urn"]:
        found = queries.find_organisation(db, data["urn"])
    else:
        with db.session() as s:
            found = s.execute(select(Organisation).where(
                Organisation.name == data["name"], Organisation.kind == data["kind"])
            ).scalars().first()
    return found or organisations.onboard(db, OrganisationCreateSchema().load(fields),
                                          actor=ACTOR)


def _pupil(db, org_id, org, spec):
    """Register one demo pupil (with guardians, passport and EHC plan) once."""
    from services.pupils.commands import ehc_plans, passports, pupils
    from services.pupils.models import EhcPlan, Pupil
    from services.pupils.schemas import (
        EhcPlanCreateSchema,
        EhcPlanUpdateSchema,
        PassportDraftSchema,
        PupilCreateSchema,
    )
    upn = demo_upn(org, spec["serial"])
    on = today()
    with db.unit_of_work() as uow:
        if uow.session.execute(select(Pupil.id).where(Pupil.upn == upn)).first():
            return 0
        body = PupilCreateSchema().load({
            "upn": upn, "legal_surname": spec["legal_surname"], "forename": spec["forename"],
            "date_of_birth": spec["date_of_birth"],
            "year_group": year_group(date.fromisoformat(spec["date_of_birth"]), on),
            "sen_status": spec["sen_status"], "primary_need": spec["primary_need"],
            "secondary_need": spec["secondary_need"], "guardians": spec.get("guardians", [])})
        pupil = pupils.create_pupil(uow, org_id, body, actor=ACTOR, today=on)
        if spec.get("passport"):
            version = passports.save_passport_draft(
                uow, pupil, PassportDraftSchema().load(spec["passport"]), actor=ACTOR)
            passports.publish_passport(uow, pupil, version.version, actor=ACTOR)
        if spec.get("plan") and not uow.session.execute(select(EhcPlan.id).where(
                EhcPlan.pupil_id == pupil.id)).first():
            plan_data = dict(spec["plan"])
            plan = ehc_plans.create_plan(uow, pupil, EhcPlanCreateSchema().load(
                {"request_date": plan_data.pop("request_date")}))
            ehc_plans.update_plan(uow, plan, EhcPlanUpdateSchema().load(plan_data))
    return 1


def _staff(db, org_id, person):
    from services.pupils.commands import staff
    from services.pupils.models import StaffMember
    from services.pupils.schemas import StaffCreateSchema
    body = StaffCreateSchema().load({"email": person["email"], "name": person["name"],
                                     "org_id": org_id, "roles": person["roles"]})
    with db.unit_of_work() as uow:
        if uow.session.execute(select(StaffMember.id).where(
                StaffMember.email == body["email"], StaffMember.org_id == org_id)).first():
            return 0
        staff.add_member(uow, body, actor=ACTOR)
    return 1


def _agreement(db, school_org_id, spec):
    """This term's agreement with a partner school, once (the referrals service's own
    command; a second for the same school and term is refused by its constraint)."""
    from services.common.errors import Conflict
    from services.contracts.school_calendar import term_of
    from services.referrals import commands
    from services.referrals.schemas import AgreementCreateSchema
    year, term = term_of(today())
    body = AgreementCreateSchema().load({
        "school_org_id": school_org_id, "academic_year": year, "term": term,
        **{k: v for k, v in spec.items() if k != "org"}})
    try:
        commands.create_agreement(db, body, ACTOR, utcnow())
    except Conflict:
        return 0
    return 1

