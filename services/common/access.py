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

from sqlalchemy import false

from services.contracts.roles import (  # noqa: F401  (the rule's vocabulary, re-exported)
    ARB,
    CPD_ADMINS,
    CPD_BOOKERS,
    CPD_LEADS,
    CPD_SELF_BOOKERS,
    HELD_AT,
    MESSAGE_READERS,
    NEED_TREND_READERS,
    ORG_KINDS,
    PARTNER_SCHOOL,
    PRACTITIONERS,
    PROVISION_READERS,
    PROVISION_REPORT_READERS,
    PUPIL_READERS,
    PUPIL_SCHOOLS,
    PUPIL_WRITERS,
    REFERRAL_READERS,
    ROLES,
    SCHOOLS,
    TRIAGERS,
    TRUST,
    TRUST_SCHOOL,
    OrgKind,
    Role,
)

from .problems import Forbidden

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
