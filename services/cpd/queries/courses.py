"""Courses as the caller may see them: published ones, and the drafts of the
organisation that provides them; evaluation results for the provider."""

from sqlalchemy import func, or_, select

from services.common.access import CPD_LEADS
from services.common.errors import NotAllowed, NotFound

from .. import domain
from ..models import Course, CourseSession, Evaluation


def is_provider(principal, course):
    return principal.org == course.provider_org_id and principal.has_any(CPD_LEADS)


def course_for(s, principal, course_id, manage=False):
    """The course if the caller may see it (manage: if they provide it)."""
    course = s.get(Course, course_id)
    if course is None:
        raise NotFound("No such course")
    if is_provider(principal, course):
        return course
    if course.status != domain.CourseStatus.PUBLISHED:
        raise NotFound("No such course")  # another organisation's draft
    if manage:
        raise NotAllowed("Only the course's provider may change it")
    return course


def with_sessions(s, courses):
    """Attach each course's sessions (as `loaded_sessions`, for CourseSchema)."""
    ids = [c.id for c in courses]
    by_course = {}
    if ids:
        for sess in s.execute(select(CourseSession).where(CourseSession.course_id.in_(ids))
                              .execution_options(populate_existing=True)).scalars():
            by_course.setdefault(sess.course_id, []).append(sess)
    for c in courses:
        c.loaded_sessions = by_course.get(c.id, [])
    return courses


def list_courses(db, principal, query):
    """A page of courses with their sessions: published, and your own drafts."""
    visible = Course.status == domain.CourseStatus.PUBLISHED
    if principal.has_any(CPD_LEADS):
        visible = or_(visible, Course.provider_org_id == principal.org)
    where = [visible]
    for key in ("area_of_need", "status"):
        if key in query:
            where.append(getattr(Course, key) == query[key])
    with db.session() as s:
        total = s.execute(select(func.count()).select_from(Course).where(*where)).scalar_one()
        items = s.execute(select(Course).where(*where).order_by(Course.created_at, Course.id)
                          .limit(query["limit"]).offset(query["offset"])).scalars().all()
        with_sessions(s, items)
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


def get_course(db, principal, course_id):
    with db.session() as s:
        return with_sessions(s, [course_for(s, principal, course_id)])[0]


def course_evaluations(db, principal, course_id):
    """The evaluation summary of a course the caller provides."""
    with db.session() as s:
        course = course_for(s, principal, course_id, manage=True)
        rows = s.execute(select(Evaluation.rating, Evaluation.will_change)
                         .where(Evaluation.course_id == course.id)
                         .order_by(Evaluation.submitted_at)).all()
    return {"course_id": course.id, **domain.evaluation_summary([tuple(r) for r in rows])}
