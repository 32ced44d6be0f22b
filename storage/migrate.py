"""Alembic, driven from code: `alignbot db upgrade`, and on first use of a database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.db import sync_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def heads() -> set[str]:
    """The revisions the code expects a current database to be at."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def upgrade(url: str, revision: str = "head") -> None:
    """Alembic is blocking; it runs at start-up in a worker thread, never inside a handler."""
    await asyncio.to_thread(upgrade_sync, url, revision)
