"""The catalogue, an organisation's settings and outreach's recommendations."""

from sqlalchemy import select

from services.common import access

from ..models import CatalogueEntry, Organisation, Recommendation, RoleRate
from . import scope


def list_entries(db, principal, query):
    """The principal's catalogue and the trust's shared entries (trust-wide: all)."""
    with db.session() as s:
        q = select(CatalogueEntry)
        if not access.trust_wide(principal):
            q = q.where((CatalogueEntry.org_id == principal.org)
                        | CatalogueEntry.org_id.is_(None))
        for key in ("tier", "area_of_need"):
            if key in query:
                q = q.where(getattr(CatalogueEntry, key) == query[key])
        if not query["include_inactive"]:
            q = q.where(CatalogueEntry.active.is_(True))
        return s.execute(q.order_by(CatalogueEntry.name, CatalogueEntry.id)).scalars().all()


def get_entry(db, principal, entry_id):
    with db.session() as s:
        return scope.entry(s, principal, entry_id)


def settings_view(s, org_id):
    org = s.get(Organisation, org_id)
    rates = s.execute(select(RoleRate).where(RoleRate.org_id == org_id)).scalars()
    return {"sen_budget": org.sen_budget if org else None,
            "role_rates": {r.role: r.hourly_rate for r in rates}}


def get_settings(db, principal, org_id):
    with db.session() as s:
        scope.organisation(principal, org_id)
        return settings_view(s, org_id)


def list_recommendations(db, principal, query):
    with db.session() as s:
        org_id = access.scoped_org(principal, query.get("org_id"))
        q = select(Recommendation)
        if org_id is not None:
            q = q.where(Recommendation.org_id == org_id)
        return s.execute(q.order_by(Recommendation.closed_at.desc(),
                                    Recommendation.referral_id)).scalars().all()
