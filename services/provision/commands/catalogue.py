"""The catalogue and an organisation's settings (SEN budget, staff role rates)."""

from services.common import errors
from services.common.db import utcnow
from services.common.ids import new_id

from .. import domain
from ..models import CatalogueEntry, Organisation, RoleRate
from ..queries import catalogue as catalogue_views
from ..queries import scope


def create_entry(db, principal, body):
    """A school's entry (senco: their own school), or a trust-wide shared one
    (trust_admin: `org_id` None)."""
    body = dict(body)
    org_id = body.pop("org_id")
    if principal.has_any(scope.TRUST_WRITERS):
        pass  # None: a trust-wide shared entry
    elif org_id is not None and org_id != principal.org:
        raise errors.RuleBroken("You can only add to your own organisation's catalogue",
                                field="org_id")
    else:
        org_id = principal.org
    if body["cost_amount"] is None:
        body["cost_amount"] = domain.ZERO
    with db.unit_of_work() as uow:
        entry = CatalogueEntry(id=new_id(), org_id=org_id, active=True,
                               created_by=principal.sub, created_at=utcnow(), **body)
        uow.session.add(entry)
    return entry


def update_entry(db, principal, entry_id, body):
    with db.unit_of_work() as uow:
        entry = scope.entry(uow.session, principal, entry_id, write=True)
        for key, value in body.items():
            setattr(entry, key, value)
    return entry


def put_settings(db, principal, org_id, body):
    """Role rates (senco, trust_admin); the notional SEN budget (trust_admin only)."""
    scope.organisation(principal, org_id, write=True)
    with db.unit_of_work() as uow:
        s = uow.session
        org = s.get(Organisation, org_id) or Organisation(org_id=org_id)
        s.add(org)
        if "sen_budget" in body:
            if not principal.has_any(scope.TRUST_WRITERS):
                raise errors.RuleBroken("Only the trust sets the notional SEN budget",
                                        field="sen_budget")
            org.sen_budget = body["sen_budget"]
        for role, rate in body["role_rates"].items():
            row = s.get(RoleRate, (org_id, role)) or RoleRate(org_id=org_id, role=role)
            row.hourly_rate = rate
            s.add(row)
        s.flush()
        return catalogue_views.settings_view(s, org_id)
