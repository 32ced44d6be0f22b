"""Alembic, driven from code: `alignbot db upgrade`, and on first use of a database.

Alembic is imported only when the schema has to change: at start-up one query against
`alembic_version` is compared with the head revisions read from the migration files, so a
database already at the latest schema costs neither Alembic's import (~0.15 s) nor its run.
"""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, pool, text

from storage.db import sync_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# `revision = '0001'` or `down_revision: str | None = None`, as Alembic's templates write them.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


class HalfMadeSchema(Exception):
    """Tables without a recorded schema version: a first start interrupted before migrations were
    one transaction. Said to the person with what to do; Alembic's "already exists" helps nobody."""


def upgrade_sync(url: str, revision: str = "head") -> None:
    from alembic import command
    from sqlalchemy.exc import DBAPIError

    try:
        command.upgrade(alembic_config(url), revision)
    except DBAPIError as e:
        if "already exists" not in str(e.orig) or current_revisions(url):
            raise
        raise HalfMadeSchema(
            f"the database {sync_url(url).split('@')[-1]} has tables but no recorded schema version: an earlier "
            "first start was stopped while it created them. Alignbot has stored nothing there yet; delete the "
            "SQLite file (or drop and re-create the PostgreSQL database) and start again."
        ) from None


def heads() -> set[str]:
    """The revisions the code expects a current database to be at: those no other migration
    revises. Read from the files' `revision`/`down_revision` lines, which is what Alembic reads
    too (tests check the two agree), without importing Alembic."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        revisions.add(ast.literal_eval(found["revision"]))
        down = ast.literal_eval(found.get("down_revision", "None"))
        revised.update([down] if isinstance(down, str) else down or ())
    return revisions - revised


def current_revisions(url: str) -> set[str] | None:
    """The revisions the database says it is at; None when that cannot be read (no database
    yet, no `alembic_version` table, unreachable), which Alembic then sorts out or reports."""
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except Exception:
        return None
    finally:
        engine.dispose()


def upgrade_if_behind(url: str) -> bool:
    """Upgrade to the head unless the database is already there; True when Alembic ran."""
    if current_revisions(url) == heads():
        return False
    upgrade_sync(url)
    return True


async def upgrade(url: str, revision: str = "head") -> None:
    """Alembic is blocking; it runs at start-up in a worker thread, never inside a handler."""
    if revision == "head":
        await asyncio.to_thread(upgrade_if_behind, url)
    else:
        await asyncio.to_thread(upgrade_sync, url, revision)
