"""Certificates (the holder, their school's record readers, the course's
provider), public verification by code, and CPD records: a person's, and their
organisation's (JSON, or rows for the CSV/xlsx export)."""

from sqlalchemy import select

from services.common.errors import NotFound

from .. import domain
from ..models import Certificate, Course, CpdRecord, Organisation, Person
from .bookings import my_person
from .courses import is_provider


def certificate_for(s, principal, certificate_id, record_readers):
    """(certificate, course) if the caller may see it, else 404: its holder, the
    `record_readers` of the holder's organisation, or the course's provider."""
    cert = s.get(Certificate, certificate_id)
    if cert is None:
        raise NotFound("No such certificate")
    person = s.get(Person, cert.person_id)
    course = s.get(Course, cert.course_id)
    same_org = principal.org == cert.org_id
    allowed = ((same_org and person.sub == principal.sub)
               or (same_org and principal.has_any(record_readers))
               or is_provider(principal, course))
    if not allowed:
        raise NotFound("No such certificate")
    return cert, course


def get_certificate(db, principal, certificate_id, record_readers):
    with db.session() as s:
        return certificate_for(s, principal, certificate_id, record_readers)[0]


def certificate_with_provider(db, principal, certificate_id, record_readers):
    """(certificate, the provider's name) for the PDF."""
    with db.session() as s:
        cert, course = certificate_for(s, principal, certificate_id, record_readers)
        provider = s.get(Organisation, course.provider_org_id)
    return cert, provider.name if provider else "SEN Trust"


def verify(db, code):
    """What a certificate's public check shows, else 404."""
    if len(code) > 40:
        raise NotFound("No certificate has this code")
    with db.session() as s:
        cert = s.execute(select(Certificate).where(
            Certificate.verification_code == domain.normalise_code(code))).scalar_one_or_none()
        if cert is None:
            raise NotFound("No certificate has this code")
        course = s.get(Course, cert.course_id)
        provider = s.get(Organisation, course.provider_org_id)
    return {"valid": True, "verification_code": cert.verification_code,
            "holder_name": cert.holder_name, "course_title": cert.course_title,
            "cpd_hours": cert.cpd_hours, "completed_on": cert.completed_on,
            "provider": provider.name if provider else course.provider_org_id}


# -- CPD records -------------------------------------------------------------------------

def person_records(s, people):
    ids = [p.id for p in people]
    lines, certs = {}, {}
    if ids:
        for r in s.execute(select(CpdRecord).where(CpdRecord.person_id.in_(ids))
                           .order_by(CpdRecord.completed_on)).scalars():
            lines.setdefault(r.person_id, []).append(r)
        for c in s.execute(select(Certificate).where(Certificate.person_id.in_(ids))
                           .order_by(Certificate.issued_at)).scalars():
            certs.setdefault(c.person_id, []).append(c)
    return [{"person_id": p.id, "name": p.name, "email": p.email, "org_id": p.org_id,
             "total_hours": round(sum(r.cpd_hours for r in lines.get(p.id, [])), 2),
             "courses": lines.get(p.id, []), "certificates": certs.get(p.id, [])}
            for p in people]


def my_record(db, principal):
    """The caller's own record (empty for someone who has never booked)."""
    with db.session() as s:
        person = my_person(s, principal)
        if person is None:
            return {"person_id": None, "name": None, "email": None, "org_id": principal.org,
                    "total_hours": 0.0, "courses": [], "certificates": []}
        return person_records(s, [person])[0]


def person_record(db, principal, person_id):
    """A member of the caller's organisation's staff's record."""
    with db.session() as s:
        person = s.get(Person, person_id)
        if person is None or person.org_id != principal.org:
            raise NotFound("No such member of staff")
        return person_records(s, [person])[0]


def _org_people(s, principal):
    people = s.execute(select(Person).where(Person.org_id == principal.org)
                       .order_by(Person.name, Person.id)).scalars().all()
    return person_records(s, people)


def org_record(db, principal):
    """The caller's organisation's records, person by person."""
    with db.session() as s:
        people = _org_people(s, principal)
    return {"org_id": principal.org,
            "total_hours": round(sum(r["total_hours"] for r in people), 2), "people": people}


def export_rows(records, organisation):
    """Records (as person_records builds them) as rows for a spreadsheet
    (services/documents/sheets.py `cpd_records`): one per person per completed
    course, named, with the organisation's name."""
    rows = []
    for rec in records:
        codes = {c.course_id: c.verification_code for c in rec["certificates"]}
        rows.extend({"name": rec["name"], "email": rec["email"], "organisation": organisation,
                     "course_title": line.course_title, "area_of_need": line.area_of_need,
                     "cpd_hours": f"{line.cpd_hours:g}", "completed_on": line.completed_on,
                     "verification_code": codes.get(line.course_id)}
                    for line in rec["courses"])
    return rows


def org_record_rows(db, principal):
    """The caller's organisation's records (scoped as org_record) for a spreadsheet."""
    with db.session() as s:
        people = _org_people(s, principal)
        org = s.get(Organisation, principal.org)
    return export_rows(people, org.name if org else principal.org)
