"""kill -9 of the real `serve` while the database is slow (issue #19, points 1 and 3).

Another session holds a lock on `processed_event`, so no command and no poll click can finish
within Slack's ack budget; each is written to the inbox (its own table) before its "Working on it…" ack. The process
is killed with everything acked and nothing stored; a fresh process on the same database takes the
inbox rows over once their lease runs out, and every acked command is stored once and announced
once (its channel reply goes through the outbox with the effect). The outcome is printed in the
form docs/operations.md's failure table quotes.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from urllib.parse import parse_qsl, urlencode

import aiohttp
import psycopg
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Ballot, InboxDelivery, Outbox, UseCase
from tests.serve_process import serve_env, start_serve
from tests.support import interaction_body, signed_headers, slash_body
from tests.test_hardening_duplicates import pg_conninfo
from tests.test_poll_slack import buttons, click, poll_message

TITLES = [
    "churn model", "fraud scoring", "supply forecast", "lakehouse migration", "pricing engine",
    "staff analytics", "invoice matching", "call routing", "fleet telemetry", "energy metering",
    "claims triage", "loyalty offers", "warehouse picking", "shift planning", "quality vision",
    "contract search", "demand sensing", "credit limits", "route optimiser", "sensor anomalies",
]  # fmt: skip


async def drained(db: Database, timeout: float = 60) -> None:
    """Until the inbox is empty and nothing is left to send (a condition, polled; not a fixed wait)."""

    async def check() -> None:
        while True:
            async with db.reading() as s:
                inbox = (await s.execute(select(func.count()).select_from(InboxDelivery))).scalar_one()
                busy = (
                    await s.execute(select(func.count()).select_from(Outbox).where(Outbox.state != "sent"))
                ).scalar_one()
            if inbox == 0 and busy == 0:
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(check(), timeout)


async def test_commands_acked_while_the_database_stalls_survive_kill_9(pg_url, slack_api):
    env = serve_env(pg_url, slack_api.url, ALIGNBOT_LEASE_SECONDS="2")
    first = await start_serve(env)
    db = Database(pg_url)
    try:
        async with aiohttp.ClientSession() as http:

            async def command(url: str, title: str, n: int) -> tuple[int, str]:
                # one channel each: Slack's pacing (1 post a second per channel) is not what is tested
                text = f'usecase propose "{title}"'
                body = dict(parse_qsl(slash_body(text, channel=f"C{n + 1}", trigger_id=f"trig.crash.{n}")))
                body["response_url"] = slack_api.url + f"response.{n}"
                raw = urlencode(body)
                async with http.post(url + "/slack/events", data=raw.encode(), headers=signed_headers(raw)) as r:
                    return r.status, await r.text()

            async def vote(url: str, voter: str) -> int:
                raw = interaction_body(click(pick, voter))
                async with http.post(url + "/slack/events", data=raw.encode(), headers=signed_headers(raw)) as r:
                    return r.status

            assert (await command(first.url, "kickoff dashboard", 0))[0] == 200  # the initiative exists
            await slack_api.wait_for("chat.postMessage", 1, timeout=20)
            poll = dict(parse_qsl(slash_body('poll start "Lunch?" --method single --options "Pizza; Sushi"')))
            raw = urlencode(poll)
            async with http.post(first.url + "/slack/events", data=raw.encode(), headers=signed_headers(raw)) as r:
                assert r.status == 200
            pick = {b["action_id"]: b for b in buttons((await poll_message(None, slack_api, 2))["blocks"])}[
                "poll.pick:1:1"
            ]
            with psycopg.connect(**pg_conninfo(pg_url)) as lock:
                lock.execute("LOCK TABLE processed_event IN ACCESS EXCLUSIVE MODE")
                answers, votes = await asyncio.gather(
                    asyncio.gather(*(command(first.url, t, n) for n, t in enumerate(TITLES, 1))),
                    asyncio.gather(*(vote(first.url, f"V{n:02d}") for n in range(len(TITLES)))),
                )
                first.proc.kill()  # kill -9: nothing of the acked work was stored
                await first.proc.wait()
                lock.rollback()
        acked = [t for t, (status, text) in zip(TITLES, answers, strict=True) if status == 200]
        clicks = sum(1 for status in votes if status == 200)
        assert clicks == len(TITLES), votes
        assert all("Working on it" in text for status, text in answers if status == 200)
        assert len(acked) == len(TITLES), answers  # PostgreSQL: the inbox takes every one in time
        async with db.reading() as s:
            held = (await s.execute(select(func.count()).select_from(InboxDelivery))).scalar_one()
            assert held == len(acked) + clicks

        second = await start_serve(env)
        try:
            await slack_api.wait_for("chat.postMessage", 2 + len(acked), timeout=60)
            await slack_api.wait_for("chat.postEphemeral", clicks, timeout=60)
            await drained(db)
        finally:
            second.terminate()
            assert await second.wait() == 0
        async with db.reading() as s:
            stored = Counter(title.lower() for title in (await s.execute(select(UseCase.title))).scalars())
            ballots = (await s.execute(select(func.count()).select_from(Ballot))).scalar_one()
        confirmations = len(slack_api.of("chat.postEphemeral"))
        blocks = [json.dumps(c.params["blocks"]).lower() for c in slack_api.of("chat.postMessage")]
        posts = Counter(t for b in blocks for t in acked if t in b)
        print(
            f"\nkill -9 during a stall: acked {len(acked)}, stored {sum(stored[t] for t in acked)}, "
            f"sent {sum(posts[t] for t in acked)}, duplicates {sum(max(0, posts[t] - 1) for t in acked)}, "
            f"lost {sum(1 for t in acked if posts[t] == 0 or stored[t] == 0)}"
        )
        refused = [c.params.get("text", "")[:200] for c in slack_api.calls if c.method.startswith("response.")]
        print(
            f"kill -9 during a stall, poll clicks: acked {clicks}, stored {ballots}, "
            f"confirmations sent {confirmations}, duplicates {max(0, confirmations - clicks)}, lost {clicks - ballots}"
        )
        assert ballots == clicks and confirmations == clicks
        assert all(stored[t] == 1 for t in acked), ([t for t in acked if stored[t] != 1], refused)
        assert all(posts[t] == 1 for t in acked), posts
    finally:
        await first.stop()
        await db.dispose()
