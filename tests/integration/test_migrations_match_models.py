"""Each service's migrations, run from nothing to head, give exactly the tables its
models declare (on SQLite and on PostgreSQL): a model change without its migration,
or a migration that drifts from the models, fails here."""

import importlib

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.common.settings import SERVICES


def _diffs(url, metadata):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    # the version table is Alembic's own
    return [d for d in diffs if "alembic_version" not in repr(d)]


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_at_head_match_the_models(service, database_urls, engine_name):
    url = database_urls(service, engine_name)
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata
    assert _diffs(url, metadata) == []
