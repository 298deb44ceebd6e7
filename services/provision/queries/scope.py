"""What a principal may see and write in provision: the kit's one visibility rule
(services/common/access.py); writing another organisation's records needs
trust_admin (at the trust). Another organisation's record is not found, never
forbidden."""

from services.common import access, errors
from services.common.access import Role

from ..models import Assignment, CatalogueEntry, Cycle, Pupil, Target

TRUST_WRITERS = (Role.TRUST_ADMIN,)


def writable(principal, org_id):
    return access.sees_org(principal, org_id, roles=TRUST_WRITERS)


def visible(principal, org_id, write=False):
    return writable(principal, org_id) if write else access.sees_org(principal, org_id)


def pupil(s, principal, pupil_id, field=None, write=False):
    """The pupil of the projection, if the principal may see (or write) it; else 404,
    or 422 naming `field` when the pupil was named in a request body."""
    found = s.get(Pupil, pupil_id)
    if found is None or not visible(principal, found.org_id, write):
        raise errors.RuleBroken("No such pupil", field=field) if field else errors.NotFound(
            "No such pupil")
    return found


def entry(s, principal, entry_id, write=False):
    found = s.get(CatalogueEntry, entry_id)
    if found is None:
        raise errors.NotFound("No such catalogue entry")
    if found.org_id is None:
        if write and not principal.has_any(TRUST_WRITERS):
            raise errors.NotFound("No such catalogue entry")  # shared entries: trust_admin edits
    elif not visible(principal, found.org_id, write):
        raise errors.NotFound("No such catalogue entry")
    return found


def _record(s, principal, model, record_id, what, write):
    found = s.get(model, record_id)
    if found is None or not visible(principal, found.org_id, write):
        raise errors.NotFound(f"No such {what}")
    return found


def assignment(s, principal, assignment_id, write=False):
    return _record(s, principal, Assignment, assignment_id, "assignment", write)


def target(s, principal, target_id, write=False):
    return _record(s, principal, Target, target_id, "target", write)


def cycle(s, principal, cycle_id, write=False):
    return _record(s, principal, Cycle, cycle_id, "cycle", write)


def organisation(principal, org_id, write=False):
    """404 unless the principal may see (or write) organisation `org_id`'s settings."""
    if not visible(principal, org_id, write):
        raise errors.NotFound("No such organisation")
