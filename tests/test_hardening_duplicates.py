"""Redeliveries and slow storage: one effect and one reply per delivery, and Slack acked in time."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlencode

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from storage.models import AuditEvent, Outbox, ProcessedEvent, UseCase
from tests.support import message_activity, signed_headers, slash_body, teams_reply, view_submission


async def count(server, model) -> int:
    async with server.bot.db.reading() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def settled(server) -> None:
    """Every Slack listener that was acked has finished what it does after the ack."""
    await server.bot.slack.finish_in_flight(10)


def retry_headers(body: str, n: int) -> dict[str, str]:
    headers = signed_headers(body)
    if n:
        headers |= {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"}
    return headers


def pg_conninfo(url: str) -> dict:
    u = make_url(url)
    return dict(host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database)


@asynccontextmanager
async def write_lock(db_url: str):
    """Another connection holds the tables our writes need: slow storage for real, not a mock.

    The lock is taken in a worker thread: the server runs in this event loop, and a transaction it has
    open must be able to finish while we wait for the lock (a blocking wait here deadlocked the two
    until sqlite3's 30 s timeout)."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(db_url).database, isolation_level=None, timeout=30, check_same_thread=False)
        await asyncio.to_thread(conn.execute, "BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    else:
        conn = await asyncio.to_thread(psycopg.connect, **pg_conninfo(db_url))
        try:
            await asyncio.to_thread(conn.execute, "LOCK TABLE processed_event IN ACCESS EXCLUSIVE MODE")
            yield
        finally:
            conn.rollback()
            conn.close()


def failing_inserts(db_url: str, on: bool) -> None:
    """A trigger that makes every new use case fail inside the database, like a storage outage."""
    if db_url.startswith("sqlite"):
        with sqlite3.connect(make_url(db_url).database, isolation_level=None) as conn:
            if on:
                conn.execute("CREATE TRIGGER down BEFORE INSERT ON use_case BEGIN SELECT RAISE(ABORT, 'down'); END")
            else:
                conn.execute("DROP TRIGGER down")
        return
    with psycopg.connect(**pg_conninfo(db_url), autocommit=True) as conn:
        if on:
            conn.execute(
                "CREATE FUNCTION down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'down'; END $$"
            )
            conn.execute("CREATE TRIGGER down BEFORE INSERT ON use_case FOR EACH ROW EXECUTE FUNCTION down()")
        else:
            conn.execute("DROP TRIGGER down ON use_case")
            conn.execute("DROP FUNCTION down()")


async def test_the_same_slash_command_four_times_at_once_is_one_effect_and_one_post(server, slack_api):
    body = slash_body('usecase propose "Exactly once"', trigger_id="trig.dup4")
    responses = await asyncio.gather(*(server.slack(body, retry_headers(body, n)) for n in range(4)))
    assert [r.status for r in responses] == [200] * 4
    await slack_api.wait_for("chat.postMessage")
    await settled(server)
    assert len(slack_api.of("chat.postMessage")) == 1
    assert await count(server, UseCase) == 1
    assert await count(server, AuditEvent) == 1


async def test_the_same_teams_activity_four_times_at_once_is_one_effect_and_one_reply(server, connector):
    activity = message_activity('usecase propose "Exactly once"', service_url=connector.url, activity_id="act-dup4")
    responses = await asyncio.gather(*(server.teams(activity) for _ in range(4)))
    assert all(r.status in (200, 201) for r in responses)
    # Each response is sent after its turn, so every reply any of them queued is in the outbox by now.
    assert len(await teams_reply(server.bot, connector, activity)) == 1
    assert await count(server, Outbox) == 1
    assert len(connector.activities) == 1
    assert await count(server, UseCase) == 1


async def test_a_slack_retry_of_a_request_that_failed_takes_effect_once(server, slack_api, db_url):
    body = slash_body('usecase propose "After the outage"', trigger_id="trig.retry")
    failing_inserts(db_url, True)
    first = await server.slack(body)
    assert first.status == 200
    assert "nothing was saved" in str(await first.json())
    assert await count(server, UseCase) == 0
    assert await count(server, ProcessedEvent) == 0  # the failure did not mark the delivery as done

    failing_inserts(db_url, False)
    acks = []
    for n in (1, 2):  # Slack's retries: the first one does the work, the second finds it done
        ack = await server.slack(body, retry_headers(body, n))
        assert ack.status == 200
        acks.append(await ack.text())
    await slack_api.wait_for("chat.postMessage")
    await settled(server)
    assert await count(server, UseCase) == 1
    assert len(slack_api.of("chat.postMessage")) == 1
    # The second is answered as the first was, not refused as a near-duplicate of its own use case.
    assert "close title" not in acks[1] and acks[1] == acks[0]


async def test_slack_is_acked_within_3_seconds_while_the_database_is_locked(server, slack_api, db_url):
    """An ack never precedes durability (issue #19): PostgreSQL takes the delivery into the inbox
    (its own table, not locked) and acks "Working on it…"; SQLite, whose one writer is held by
    another process, cannot, so the command is not acked (503) and nothing is stored."""
    body = dict(parse_qsl(slash_body('usecase propose "Slow storage"')))
    body["response_url"] = slack_api.url + "response.slow"
    raw = urlencode(body)
    async with write_lock(db_url):
        started = time.monotonic()
        resp = await server.slack(raw)
        elapsed = time.monotonic() - started
        assert elapsed < 3.0, elapsed
        if db_url.startswith("sqlite"):
            assert resp.status == 503
        else:
            assert resp.status == 200 and "Working on it" in str(await resp.json())
    if db_url.startswith("sqlite"):
        await server.slash('usecase propose "After the lock"')  # a barrier: the refused one is gone by now
        posts = await slack_api.wait_for("chat.postMessage", timeout=15)
        assert "After the lock" in str(posts[0].params["blocks"]) and await count(server, UseCase) == 1
        return
    posts = await slack_api.wait_for("chat.postMessage", timeout=15)  # the answer follows the unlock
    assert "Slow storage" in str(posts[0].params["blocks"])
    assert await count(server, UseCase) == 1


async def test_a_modal_submission_is_acked_within_3_seconds_while_the_database_is_locked(server, slack_api, db_url):
    await server.slash("usecase propose", channel="C9")
    view = (await slack_api.wait_for("views.open"))[0].params["view"]
    async with write_lock(db_url):
        started = time.monotonic()
        resp = await server.interact(view_submission(view, {"title": "Submitted while slow"}))
        assert time.monotonic() - started < 3.0
        assert resp.status == (503 if db_url.startswith("sqlite") else 200)
    if db_url.startswith("sqlite"):  # not acked: the modal shows Slack's error and stays open
        resp = await server.interact(view_submission(view, {"title": "Submitted again"}))
        assert resp.status == 200
    posts = await slack_api.wait_for("chat.postMessage", timeout=15)
    title = "Submitted again" if db_url.startswith("sqlite") else "Submitted while slow"
    assert posts[0].params["channel"] == "C9" and title in str(posts[0].params["blocks"])
    assert await count(server, UseCase) == 1
