"""Pupils rules in plain Python (no nameko, no SQL)."""

import uuid


def new_organisation(data, *, actor, now):
    return {
        "id": str(uuid.uuid4()),
        "name": data["name"].strip(),
        "kind": data["kind"],
        "urn": data.get("urn"),
        "laestab": data.get("laestab"),
        "phase": data.get("phase"),
        "contact_email": data.get("contact_email"),
        "onboarded_at": now,
        "onboarded_by": actor,
    }


def onboarded_event(org):
    return {"org_id": org.id, "name": org.name, "urn": org.urn, "laestab": org.laestab,
            "kind": org.kind, "contact_email": org.contact_email}
