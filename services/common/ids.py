"""Identifiers of records: one way for every service."""

import uuid


def new_id() -> str:
    """A new random identifier (a UUID4 as text), for any record."""
    return str(uuid.uuid4())
