"""Roles and kinds of organisation: the vocabulary of the visibility rule
(services/common/access.py), plain Python so a domain room may name them.

A role is held only at the kinds of organisation `HELD_AT` allows; the role
groups say who may do what where a service's `@api(roles=...)` and the portal's
pages must agree (a link the portal shows never answers 403)."""

from enum import StrEnum


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
CPD_BOOKERS = (*CPD_SELF_BOOKERS, Role.CPD_ADMIN)
CPD_LEADS = (Role.CPD_ADMIN,)
MESSAGE_READERS = (Role.TRUST_ADMIN, Role.OUTREACH_LEAD, Role.AUDITOR, Role.SENCO,
                   Role.PARTNER_REFERRER)
# the trust's need against training delivered (cpd's need-trend, the portal's chart)
NEED_TREND_READERS = (*CPD_ADMINS, Role.OUTREACH_LEAD)
