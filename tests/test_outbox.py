"""The outbox sender: exactly-once claiming, retries honouring Retry-After, failures kept."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

from sqlalchemy import select

from bot.faces.slack.face import SlackFace
from handlers.messages import Text, elements_to_json
from schedules.outbox import OutboxSender
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Outbox
from storage.repos import outbox as outbox_repo
from storage.repos import record, scope
from tests.support import BOT_TOKEN, SIGNING_SECRET


async def queue(db: Database, n: int, target: str = "U9") -> None:
    now = datetime.now(UTC)
    async with db.transaction() as s:
        ws = await scope.workspace(s, "slack", "T1", now)
        initiative, _ = await scope.initiative(s, ws, "C1", name="c", creator="U1", is_private=False, now=now)
        for i in range(n):
            await record.enqueue(
                s,
                workspace_id=ws.id,
                initiative_id=initiative.id,
                target_kind="user",
                target_id=f"{target}{i % 7}",
                payload={"elements": elements_to_json([Text(f"n{i}")])},
                now=now,
            )


def slack_sender(db: Database, slack_api, name: str) -> OutboxSender:
    face = SlackFace(core=None, token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=slack_api.url)  # type: ignore[arg-type]
    return OutboxSender(db, {"slack": face}, instance=name, clock=lambda: datetime.now(UTC))


async def states(db: Database) -> dict[str, int]:
    async with db.reading() as s:
        rows = (await s.execute(select(Outbox.state))).scalars().all()
    return {k: rows.count(k) for k in set(rows)}


async def test_two_senders_send_each_row_once(db_url, slack_api):
    await upgrade(db_url)
    db = Database(db_url)
    try:
        await queue(db, 60)
        a, b = slack_sender(db, slack_api, "a"), slack_sender(db, slack_api, "b")
        while sum(await asyncio.gather(a.drain(10), b.drain(10))):
            pass
        posts = slack_api.of("chat.postMessage")
        texts = sorted(p.params["blocks"][0]["text"]["text"] for p in posts)
        assert texts == sorted(f"n{i}" for i in range(60))
        assert await states(db) == {"sent": 60}
    finally:
        await db.dispose()


async def test_429_is_retried_after_retry_after_and_then_sent(sqlite_url, slack_api):
    await upgrade(sqlite_url)
    db = Database(sqlite_url)
    try:
        await queue(db, 1)
        # The web client retries a 429 itself; three in a row exhaust it and reach the outbox.
        slack_api.fail_next("chat.postMessage", 429, headers={"Retry-After": "1"}, times=3)
        sender = slack_sender(db, slack_api, "a")
        sender.start()
        sender.wake()
        await slack_api.wait_for("chat.postMessage", 4, timeout=15)
        calls = slack_api.of("chat.postMessage")
        gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
        assert all(g >= 0.9 for g in gaps), gaps
        for _ in range(100):
            if await states(db) == {"sent": 1}:
                break
            await asyncio.sleep(0.05)
        assert await states(db) == {"sent": 1}
        await sender.stop()
    finally:
        await db.dispose()


async def test_permanent_failure_is_recorded_not_lost(sqlite_url, slack_api):
    await upgrade(sqlite_url)
    db = Database(sqlite_url)
    try:
        await queue(db, 1)
        slack_api.fail_next("chat.postMessage", 200, body={"ok": False, "error": "channel_not_found"})
        await slack_sender(db, slack_api, "a").drain()
        async with db.reading() as s:
            row = (await s.execute(select(Outbox))).scalar_one()
        assert row.state == "failed" and "channel_not_found" in row.last_error and row.attempts == 1
    finally:
        await db.dispose()


async def test_a_drain_records_each_row_with_its_own_result(db_url, slack_api):
    """Sends finishing together are recorded together; each row still keeps its own post."""
    await upgrade(db_url)
    db = Database(db_url)
    try:
        await queue(db, 30)
        assert await slack_sender(db, slack_api, "a").drain() == 30
        async with db.reading() as s:
            rows = (await s.execute(select(Outbox))).scalars().all()
        posted = {
            (p.params["channel"], p.params["blocks"][0]["text"]["text"]) for p in slack_api.of("chat.postMessage")
        }
        assert {(r.state, r.attempts, r.last_error) for r in rows} == {("sent", 1, "")}
        # The fake answers a post to a person with their DM channel: U9x -> D9x.
        assert all(r.result["channel"] == "D" + r.target_id[1:] and r.sent_at is not None for r in rows)
        assert len({r.result["ts"] for r in rows}) == 30
        assert {(r.target_id, r.payload["elements"][0]["text"]) for r in rows} == posted
    finally:
        await db.dispose()


async def test_enqueue_many_skips_rows_queued_before_by_their_dedupe_key(db_url):
    await upgrade(db_url)
    db = Database(db_url)
    try:
        now = datetime.now(UTC)
        async with db.transaction() as s:
            ws = await scope.workspace(s, "slack", "T1", now)
            rows = [
                {
                    "workspace_id": ws.id,
                    "initiative_id": None,
                    "target_kind": "user",
                    "target_id": f"U{i}",
                    "payload": {"elements": elements_to_json([Text(f"n{i}")])},
                    "dedupe_key": f"k{i}",
                }
                for i in range(3)
            ]
            assert await outbox_repo.enqueue_many(s, rows[:2], now) == 2
        async with db.transaction() as s:
            assert await outbox_repo.enqueue_many(s, rows, now) == 1
        assert await states(db) == {"pending": 3}
    finally:
        await db.dispose()
