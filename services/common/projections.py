"""The organisation projection: every service but pupils (which owns the record)
keeps a local copy of `organisation.onboarded`, the same columns everywhere.

    class Organisation(OrganisationProjection, Base):
        sen_budget = ...            # a service may add columns of its own

    @subscribe(events.ORGANISATION_ONBOARDED)
    def on_organisation_onboarded(self, event, uow):
        upsert_organisation(uow.session, Organisation, event["data"])
"""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column


class OrganisationProjection:
    """Columns of the local copy of an onboarded organisation (a mixin)."""

    __tablename__ = "organisations"
    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    urn: Mapped[str | None] = mapped_column(String(6))
    # lower-cased; where a service signs people in or writes to the school office
    contact_email: Mapped[str | None] = mapped_column(String(254), index=True)


def upsert_organisation(session, model, data):
    """Create or update `model`'s row for the organisation in `data` (the event's
    data); returns the row."""
    org = session.get(model, data["org_id"]) or model(org_id=data["org_id"])
    org.name, org.kind, org.urn = data["name"], data["kind"], data.get("urn")
    org.contact_email = (data.get("contact_email") or "").strip().lower() or None
    session.add(org)
    return org
