"""The one visibility rule (docs/architecture.md, "Tenancy"): what a principal may see and do.

Every service asks this module; none keeps its own copy.

- A role is held only at the kinds of organisation in `HELD_AT`; a token that
  carries a role its organisation may not hold is refused at the door (403).
- A role is trust-wide only when the token's organisation is the trust itself
  (`org_kind == "trust"`); the same role at a school sees that school alone.
- A partner school sees only what it made (referrals name it as the school).
- A parent sees only the pupils in its `pupils` claim.
- `portal` (the portal's service principal) sees no records at all: it may
  call only the endpoints that name it.

Where the organisation's kind comes from: a signed `org_kind` claim, set by
whoever issues the token from the authoritative organisation record (senctl
reads the pupils service's organisations; the portal has `org_kind` from the
sign-in lookup). The services verify it like `org` itself, with the trust's
public key: no call, no projection lag, and the same answer in every service.

Services narrow further for their own reasons (an outreach practitioner sees
the referrals allocated to them); they never widen.
"""

from enum import StrEnum

from sqlalchemy import false

from .problems import Forbidden


class OrgKind(StrEnum):
    """The kinds of organisation (the `org_kind` claim; organisation.onboarded)."""

    TRUST = "trust"
    TRUST_SCHOOL = "trust_school"
    ARB = "arb"
    PARTNER_SCHOOL = "partner_school"


class Role(StrEnum):
    """Every role a token may carry. `@api(roles=...)` accepts only these."""

    TRUST_ADMIN = "trust_admin"
    OUTREACH = "outreach"
    OUTREACH_LEAD = "outreach_lead"
    PORTAL = "portal"
    CPD_ADMIN = "cpd_admin"
    AUDITOR = "auditor"
    PARTNER_REFERRER = "partner_referrer"
    SENCO = "senco"
    TEACHER = "teacher"
    PARENT = "parent"


TRUST, TRUST_SCHOOL, ARB, PARTNER_SCHOOL = (OrgKind.TRUST, OrgKind.TRUST_SCHOOL, OrgKind.ARB,
                                            OrgKind.PARTNER_SCHOOL)
ORG_KINDS = tuple(OrgKind)
SCHOOLS = (TRUST_SCHOOL, ARB, PARTNER_SCHOOL)
PUPIL_SCHOOLS = (TRUST_SCHOOL, ARB)  # schools whose pupils the trust keeps records of

# role -> the kinds of organisation that may hold it (README: "Roles and where
# they may be held").
HELD_AT = {
    Role.TRUST_ADMIN: (TRUST,),
    Role.OUTREACH: (TRUST,),
    Role.OUTREACH_LEAD: (TRUST,),
    Role.PORTAL: (TRUST,),
    # The trust's CPD hub, or a school's CPD lead (its own staff's bookings and records).
    Role.CPD_ADMIN: (TRUST, *SCHOOLS),
    Role.AUDITOR: ORG_KINDS,
    Role.PARTNER_REFERRER: (PARTNER_SCHOOL,),
    Role.SENCO: SCHOOLS,
    Role.TEACHER: SCHOOLS,
    Role.PARENT: PUPIL_SCHOOLS,
}
assert set(HELD_AT) == set(Role), "every role says where it may be held"
ROLES = frozenset(Role)


def roles(*names):
    """`names` as Roles; an unknown name fails here, where it is written."""
    return tuple(Role(n) for n in names)


NO_RECORDS = frozenset({Role.PORTAL, Role.PARENT})  # never trust-wide, whatever the org


def refused_roles(roles, org_kind):
    """The roles of `roles` an organisation of `org_kind` may not hold."""
    return sorted(r for r in roles if org_kind not in HELD_AT.get(r, ()))


def check_held(principal):
    """403 unless every role of the token may be held at its organisation's kind."""
    refused = refused_roles(principal.roles, principal.org_kind)
    if refused:
        raise Forbidden(f"The role {', '.join(refused)} is not held at an organisation "
                        f"of this kind")


def is_trust(principal):
    return principal.org_kind == TRUST


def trust_wide(principal, roles=None):
    """Whether the principal reads across every organisation: only at the trust, and
    (if `roles` is given) only with one of those roles. Parents and the portal never."""
    if not is_trust(principal):
        return False
    held = principal.roles - NO_RECORDS
    return bool(held & set(roles)) if roles is not None else bool(held)


def sees_org(principal, org_id, roles=None):
    """Whether the principal may see what belongs to organisation `org_id` (parents
    and the portal: nothing by organisation; a parent sees pupils, `sees_pupil`)."""
    if not principal.roles - NO_RECORDS:
        return False
    return trust_wide(principal, roles) or (org_id is not None and org_id == principal.org)


def org_clause(principal, column, roles=None):
    """WHERE clauses limiting `column` (an organisation id) to what the principal sees."""
    if trust_wide(principal, roles):
        return []
    if not principal.roles - NO_RECORDS:
        return [false()]  # nothing
    return [column == principal.org]


def scoped_org(principal, requested=None, roles=None):
    """Which organisation a query is about: `requested` (None: all) for a trust-wide
    principal; otherwise the principal's own (asking for another is refused as
    not found, so a school cannot learn which organisations exist)."""
    from .problems import NotFound
    if trust_wide(principal, roles):
        return requested
    if requested and requested != principal.org:
        raise NotFound("No such organisation")
    return principal.org


def sees_pupil(principal, pupil_id, org_id, roles=None):
    """Whether the principal may see pupil `pupil_id` of organisation `org_id`: a
    parent only the pupils its token names; staff their organisation's."""
    if pupil_id in principal.pupils and org_id == principal.org and "parent" in principal.roles:
        return True
    return sees_org(principal, org_id, roles)


def sees_person(principal, address, org_id=None, roles=None):
    """Whether the principal may see or act for the person at `address` (an email):
    that person, or staff of the organisation the person belongs to."""
    if address and principal.sub.strip().lower() == address.strip().lower():
        return True
    return org_id is not None and sees_org(principal, org_id, roles)


# -- role groups -------------------------------------------------------------------
# Who may do what, where a service's `@api(roles=...)` and the portal's pages must
# agree (a link the portal shows never answers 403). A service's other groups
# live beside its entrypoints.
REFERRAL_READERS = (Role.PARTNER_REFERRER, Role.OUTREACH, Role.OUTREACH_LEAD, Role.TRUST_ADMIN,
                    Role.AUDITOR)
TRIAGERS = (Role.OUTREACH_LEAD, Role.TRUST_ADMIN)
PRACTITIONERS = (Role.OUTREACH, Role.OUTREACH_LEAD, Role.TRUST_ADMIN)
PUPIL_READERS = (Role.TRUST_ADMIN, Role.SENCO, Role.TEACHER)
PUPIL_WRITERS = (Role.TRUST_ADMIN, Role.SENCO)
PROVISION_READERS = (Role.SENCO, Role.TEACHER, Role.TRUST_ADMIN, Role.AUDITOR)
PROVISION_REPORT_READERS = (Role.SENCO, Role.TRUST_ADMIN, Role.AUDITOR)
CPD_SELF_BOOKERS = (Role.SENCO, Role.TEACHER, Role.OUTREACH, Role.OUTREACH_LEAD,
                    Role.TRUST_ADMIN)
CPD_ADMINS = (Role.CPD_ADMIN, Role.TRUST_ADMIN)
# the trust-wide need against training (cpd's need trend, the portal's chart of it)
NEED_TREND_READERS = (*CPD_ADMINS, Role.OUTREACH_LEAD)
CPD_BOOKERS = (*CPD_SELF_BOOKERS, Role.CPD_ADMIN)
CPD_LEADS = (Role.CPD_ADMIN,)
MESSAGE_READERS = (Role.TRUST_ADMIN, Role.OUTREACH_LEAD, Role.AUDITOR, Role.SENCO,
                   Role.PARTNER_REFERRER)
