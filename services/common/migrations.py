"""Alembic, driven from code: each service keeps its revisions in
services/<service>/migrations/versions and its env.py calls `run_env`."""

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import create_engine, pool

from . import settings


def alembic_config(service, url=None):
    cfg = Config()
    cfg.set_main_option("script_location",
                        str(Path(__file__).resolve().parents[1] / service / "migrations"))
    cfg.attributes["service"] = service
    cfg.attributes["url"] = url or settings.database_url(service)
    return cfg


def upgrade(service, url=None, revision="head"):
    command.upgrade(alembic_config(service, url), revision)


def run_env(metadata):
    """Body of every service's migrations/env.py."""
    cfg = context.config
    url = cfg.attributes.get("url") or settings.database_url(cfg.attributes["service"])
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
