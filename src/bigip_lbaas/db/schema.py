"""Schema lifecycle: apply migrations, and refuse to run on a schema that is not current."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc

from bigip_lbaas.core.errors import DatabaseError, SchemaOutOfDate
from bigip_lbaas.db.session import Database, describe_url

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    head_rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert head_rev is not None
    return head_rev


def current(db: Database) -> str | None:
    try:
        with db.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except exc.SQLAlchemyError as err:
        raise DatabaseError(
            f"cannot connect to {describe_url(db.url)}: {_first_line(err)}"
        ) from err


def upgrade(db: Database) -> tuple[str | None, str]:
    """Bring the schema to head. Idempotent. Returns (revision before, revision after)."""
    before = current(db)
    cfg = _config()
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except exc.SQLAlchemyError as err:
        raise DatabaseError(
            f"upgrade of {describe_url(db.url)} failed: {_first_line(err)}"
        ) from err
    return before, head()


def require_current(db: Database) -> None:
    """Raise SchemaOutOfDate unless the database is at this code's head revision."""
    found = current(db)
    if found != head():
        raise SchemaOutOfDate(
            f"database {describe_url(db.url)} schema is at {found or 'nothing'}, this code needs "
            f"{head()}: run `bigip-lbaas db upgrade` with the same --config-file options"
        )


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None) or err
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def table_names(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())
