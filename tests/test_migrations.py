"""A first start killed in the middle of its migration leaves a database that the next start
migrates, on SQLite and PostgreSQL alike (one transaction, DDL included)."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import create_engine, inspect, pool

from storage.db import sync_url
from storage.migrate import heads, upgrade_sync
from tests.console import ROOT, run_console

# Killed at the Nth statement Alembic sends, well inside the first migration's CREATE TABLEs.
KILLED_MIDWAY = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
from storage.migrate import upgrade_sync

sent = 0

@event.listens_for(Engine, "before_cursor_execute")
def count(*_args):
    global sent
    sent += 1
    if sent == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)

upgrade_sync(sys.argv[1])
"""


def tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_first_migration_killed_midway_leaves_nothing_and_the_next_start_migrates(empty_db_url):
    proc = subprocess.run([sys.executable, "-c", KILLED_MIDWAY, empty_db_url, "25"], cwd=ROOT, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    assert tables(empty_db_url) <= {"alembic_version"}  # no half-made schema (the version table may be empty)
    out = run_console(["usecase propose \"Churn model\" --impact 4 --feasibility 3"], empty_db_url)
    assert "UC-1" in out
    assert "job_claim" in tables(empty_db_url)


def test_an_upgrade_records_the_head_in_the_same_transaction(empty_db_url):
    upgrade_sync(empty_db_url)
    engine = create_engine(sync_url(empty_db_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as c:
            assert set(c.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()) == heads()
    finally:
        engine.dispose()


def test_a_schema_half_made_by_an_older_version_is_explained_not_a_traceback(tmp_path):
    url = f"sqlite:///{tmp_path / 'alignbot.db'}"
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.begin() as c:  # what an interrupted non-transactional first migration left
        c.exec_driver_sql("CREATE TABLE job_claim (id INTEGER PRIMARY KEY)")
    engine.dispose()
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade", "--db", url], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "has tables but no recorded schema version" in proc.stderr
    assert "delete the SQLite file" in proc.stderr
