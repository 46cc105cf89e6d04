"""Run a role's Alembic migrations on its database (``vaxtrace db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData

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
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(conn, on=False)
        try:
            with conn.begin():
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                if sqlite:
                    _check_foreign_keys(conn)
        finally:
            if sqlite:
                _sqlite_foreign_keys(conn, on=True)


def _sqlite_foreign_keys(conn: Connection, *, on: bool) -> None:
    """SQLite alters a table by building a copy, dropping the table and renaming the copy;
    with foreign keys enforced, dropping a table that others refer to fails. Enforcement can
    only be switched outside a transaction (SQLite's own procedure for altering a table), so
    on the raw connection, before the migration's transaction begins."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_foreign_keys(conn: Connection) -> None:
    """What enforcement would have refused during the migration, refused at its end."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")


def revision(engine: Engine, role: str, message: str) -> None:
    """Autogenerate a new revision (a developer tool, not used at run time)."""
    config = alembic_config(role, engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)
