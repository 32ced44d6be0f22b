"""Operating with the database down (issue #19, point 9): the poll clock, which ticks every
second, logs its failure once and then at most once a minute with a count, and backs off; `serve`
started without a reachable database prints one line (password masked) and exits 2."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime

import psycopg
from sqlalchemy import select

from schedules.polls import PollClock
from storage.db import Database
from storage.models import UseCase
from tests.console import ROOT
from tests.serve_process import serve_env
from tests.support import make_settings, serve
from tests.test_hardening_duplicates import pg_conninfo

UNREACHABLE = "postgresql://alignbot:s3cret-pw@127.0.0.1:1/alignbot"  # port 1: refused at once


async def test_the_poll_clock_logs_a_dead_database_once_a_minute_and_backs_off(caplog):
    db = Database(UNREACHABLE)
    clock = PollClock(db, instance="t", clock=lambda: datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    seconds = [0.0]
    clock.failures.clock = lambda: seconds[0]
    tried = 0
    real_reading = db.reading

    def counting_reading():
        nonlocal tried
        tried += 1
        return real_reading()

    db.reading = counting_reading  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(120):  # two minutes of one tick a second
                await clock.tick()
                seconds[0] += 1.0
        lines = [r for r in caplog.records if r.name == "schedules.polls"]
        assert 2 <= len(lines) <= 3, [r.getMessage() for r in lines]
        assert all(r.exc_info is None and len(r.getMessage()) < 500 for r in lines)
        assert "failed (1 time since it last worked)" in lines[0].getMessage()
        assert "times since it last worked" in lines[1].getMessage()
        assert tried <= 10, tried  # backing off: pauses of 2, 4, ... up to 60 s between tries
    finally:
        await db.dispose()


async def test_serve_without_its_database_says_so_in_one_line_and_exits_2():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", "0", "--dev",
        cwd=ROOT, env=serve_env(UNREACHABLE, ALIGNBOT_LOG_LEVEL="WARNING"), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert proc.returncode == 2, lines
    assert len(lines) == 1, lines
    assert "cannot reach the database at postgresql://alignbot:***@127.0.0.1:1/alignbot" in lines[0]
    assert "s3cret-pw" not in lines[0] and "ALIGNBOT_DATABASE_URL" in lines[0]


async def test_a_connection_dropped_mid_transaction_is_retried_once_not_apologised_for(pg_url, slack_api, caplog):
    """pg_terminate_backend on the transactions waiting for a lock (point 8): each is tried once
    more on a fresh connection and takes effect once; nobody gets "nothing was saved"."""
    titles = ["churn model", "fraud scoring", "supply forecast", "pricing engine"]
    running = await serve(make_settings(pg_url, slack_api_url=slack_api.url))
    try:
        assert (await running.slash("member list")).status == 200  # the initiative exists
        info = pg_conninfo(pg_url)
        with psycopg.connect(**info) as lock, psycopg.connect(**info, autocommit=True) as admin:
            lock.execute("LOCK TABLE processed_event IN ACCESS EXCLUSIVE MODE")
            sends = [asyncio.create_task(running.slash(f'usecase propose "{t}"')) for t in titles]
            waiting = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"

            async def all_waiting() -> None:
                while len(admin.execute(waiting).fetchall()) < len(titles):
                    await asyncio.sleep(0.02)

            await asyncio.wait_for(all_waiting(), 10)
            killed = admin.execute(f"SELECT pg_terminate_backend(pid) FROM ({waiting}) w").fetchall()
            lock.rollback()
        assert len(killed) == len(titles)
        answers = [await (await s).text() for s in sends]
        await slack_api.wait_for("chat.postMessage", len(titles), timeout=20)
        async with running.bot.db.reading() as s:
            stored = sorted((await s.execute(select(UseCase.title))).scalars())
        assert sorted(x.lower() for x in stored) == sorted(titles)
        assert not any("nothing was saved" in a for a in answers), answers
        assert not [r for r in caplog.records if "handler failed" in r.getMessage()]
    finally:
        await running.stop()
