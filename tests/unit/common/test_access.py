"""The one visibility rule (services/common/access.py): roles held only at the
kinds of organisation that may hold them; trust-wide only at the trust."""

import pytest

from services.common import access
from services.common.auth import Principal, authorise
from services.common.problems import Forbidden, NotFound


def p(org, kind, *roles, sub="x@example.org", pupils=()):
    return Principal(sub=sub, org=org, roles=frozenset(roles), org_kind=kind,
                     pupils=frozenset(pupils))


MATRIX = {
    "trust_admin": {"trust"}, "outreach": {"trust"}, "outreach_lead": {"trust"},
    "portal": {"trust"}, "cpd_admin": {"trust", "trust_school", "arb", "partner_school"},
    "auditor": {"trust", "trust_school", "arb", "partner_school"},
    "partner_referrer": {"partner_school"},
    "senco": {"trust_school", "arb", "partner_school"},
    "teacher": {"trust_school", "arb", "partner_school"},
    "parent": {"trust_school", "arb"},
}


@pytest.mark.parametrize("role", sorted(MATRIX))
@pytest.mark.parametrize("kind", access.ORG_KINDS)
def test_a_role_is_refused_at_the_door_at_a_kind_that_may_not_hold_it(role, kind):
    principal = p("o", kind, role)
    if kind in MATRIX[role]:
        authorise(principal, {role})
    else:
        with pytest.raises(Forbidden):
            authorise(principal, {role})


def test_the_matrix_covers_every_role():
    assert set(MATRIX) == set(access.ROLES)


def test_a_role_is_trust_wide_only_at_the_trust():
    assert access.trust_wide(p("t", "trust", "auditor"))
    for kind in access.SCHOOLS:
        auditor = p("s1", kind, "auditor")
        assert not access.trust_wide(auditor)
        assert access.sees_org(auditor, "s1") and not access.sees_org(auditor, "s2")
    # A token that claims the trust's roles at a school is refused before any of this.
    with pytest.raises(Forbidden):
        authorise(p("s1", "partner_school", "trust_admin"), {"trust_admin"})


def test_scoped_org_and_clauses():
    trust = p("t", "trust", "trust_admin")
    school = p("s1", "trust_school", "senco")
    assert access.scoped_org(trust, None) is None and access.scoped_org(trust, "s2") == "s2"
    assert access.scoped_org(school, None) == "s1" and access.scoped_org(school, "s1") == "s1"
    with pytest.raises(NotFound):
        access.scoped_org(school, "s2")


def test_parents_see_their_pupils_only_and_the_portal_nothing():
    parent = p("s1", "trust_school", "parent", pupils=["pupil-1"])
    assert access.sees_pupil(parent, "pupil-1", "s1")
    assert not access.sees_pupil(parent, "pupil-2", "s1")
    assert not access.trust_wide(parent) and not access.sees_org(parent, "s1")
    portal = p("t", "trust", "portal", sub="portal")
    assert not access.trust_wide(portal) and not access.sees_org(portal, "t")


def test_every_demo_person_holds_roles_their_organisation_may_hold():
    from services.cli import demo_people
    for person in demo_people.PEOPLE:
        kind = demo_people.org(person["org"])["kind"]
        assert access.refused_roles(person["roles"], kind) == [], person["email"]
    for parent in demo_people.PARENTS:
        assert access.refused_roles(["parent"], demo_people.org(parent["org"])["kind"]) == []
