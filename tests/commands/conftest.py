"""Command unit tests: a service's use cases (its `commands.py`) against an
in-memory SQLite database, with no broker and no HTTP. The events a command
emits are in the unit of work's outbox table, read back with `emitted(db)`."""

import json

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool

from services.common import db as kit_db


def memory_database(service, metadata):
    """A `Database` for `service` on a fresh in-memory SQLite, its tables created."""
    url = f"sqlite:///file:{service}-{id(metadata)}-{kit_db.utcnow().timestamp()}?mode=memory&cache=shared&uri=true"
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    metadata.create_all(engine)
    kit_db._engines[url] = engine  # the Database looks its engine up by URL
    return kit_db.open_database(service, metadata, url=url)


def emitted(database, event_type=None):
    """The events the database's outbox holds, oldest first, as envelopes."""
    with database.session() as s:
        rows = s.execute(select(database.outbox.c.body).order_by(database.outbox.c.id)).all()
    bodies = [json.loads(r.body) for r in rows]
    return [b for b in bodies if event_type is None or b["type"] == event_type]


@pytest.fixture
def memory_db():
    made = []

    def make(service, metadata):
        database = memory_database(service, metadata)
        made.append(database)
        return database

    yield make
    for database in made:
        database.engine.dispose()
        kit_db._engines.pop(database.url, None)
