"""Run a role's Alembic migrations on its database (``vaxtrace db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Engine, MetaData

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(role: str, engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS / role))
    config.attributes["engine"] = engine
    return config


def run_env(metadata: MetaData) -> None:
    """The body of every role's ``env.py``: migrate the connection ``upgrade`` handed over."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def upgrade(engine: Engine, role: str = "trace", revision: str = "head") -> None:
    """Bring ``engine``'s database to ``revision`` (idempotent)."""
    config = alembic_config(role, engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def revision(engine: Engine, role: str, message: str) -> None:
    """Autogenerate a new revision (a developer tool, not used at run time)."""
    config = alembic_config(role, engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)
