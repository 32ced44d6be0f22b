"""Teams replies survive a crash and a failing Bot Connector (issue #19, point 3).

A reply to a message activity is an outbox row written with the command's effect, so kill -9 of
the real `serve` after the ack cannot lose it, and a redelivery (answered silently from the
ledger) cannot post it again. The outcome is printed in the form docs/operations.md's failure
table quotes.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import aiohttp
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Outbox, UseCase
from tests.serve_process import serve_env, start_serve
from tests.support import message_activity, teams_reply
from tests.test_faults_crash import TITLES as CRASH_TITLES
from tests.test_faults_crash import drained

TITLES = [
    *CRASH_TITLES,
    "badge access",
    "canteen waste",
    "parking sensors",
    "print spend",
    "travel policy",
    "vendor risk",
    "license audit",
    "meeting rooms",
    "helpdesk bots",
    "onboarding flow",
]  # fmt: skip  (distinct enough that none is refused as a near-duplicate of another)
CONVERSATIONS = ("19:crash-a@thread.v2", "19:crash-b@thread.v2", "19:crash-c@thread.v2")


def replies_naming(connector, title: str) -> int:
    """How many activities the person saw that answer the proposal of `title` ("UC-n: title")."""
    return sum(1 for a in connector.activities if f": {title}" in json.dumps(a.get("attachments", [])))


async def test_teams_replies_acked_before_kill_9_are_sent_once_after_restart(pg_url, connector):
    env = serve_env(pg_url, ALIGNBOT_LEASE_SECONDS="2")
    activities = [
        message_activity(f'usecase propose "{title}"', service_url=connector.url,
                         conversation=CONVERSATIONS[n % len(CONVERSATIONS)], user=f"aad-{n % 5}")
        for n, title in enumerate(TITLES)
    ]  # fmt: skip
    # Until the kill the Connector refuses every reply (503), so nothing of the burst reaches a
    # person through the first process: whatever is seen later was sent after the restart.
    connector.fail_next(503, times=100_000)
    first = await start_serve(env)
    db = Database(pg_url)
    try:
        async with aiohttp.ClientSession() as http:

            async def deliver(url: str, activity: dict) -> tuple[str, int]:
                try:
                    async with http.post(url + "/api/messages", json=activity) as r:
                        return activity["id"], r.status
                except aiohttp.ClientError:
                    return activity["id"], 0  # the process died first: Teams will send it again

            acked: set[str] = set()
            for done in asyncio.as_completed([deliver(first.url, a) for a in activities]):
                key, status = await done
                if status in (200, 201):
                    acked.add(key)
                if len(acked) >= len(TITLES) // 2 and first.proc.returncode is None:
                    first.proc.kill()  # kill -9 mid-burst, with half the burst acked
                    await first.proc.wait()
            await first.wait()
            assert acked, "nothing was acked before the kill"
            async with db.reading() as s:
                unsent = (
                    await s.execute(select(func.count()).select_from(Outbox).where(Outbox.state != "sent"))
                ).scalar_one()
            assert unsent >= len(acked)  # every acked reply was waiting in the outbox, none was sent
            assert not connector.activities

            connector.stop_failing()
            second = await start_serve(env)
            try:
                # Teams resends what got no 2xx; an acked one sent again stays silent (its key is in the ledger).
                again = [a for a in activities if a["id"] not in acked] + [a for a in activities if a["id"] in acked][
                    :5
                ]
                results = await asyncio.gather(*(deliver(second.url, a) for a in again))
                assert all(status in (200, 201) for _, status in results), results
                await connector.wait_for(len(TITLES), timeout=45)
                await drained(db, timeout=45)
            finally:
                second.terminate()
                assert await second.wait() == 0
        async with db.reading() as s:
            stored = Counter((await s.execute(select(UseCase.title))).scalars())
        by_id = {a["id"]: t for a, t in zip(activities, TITLES, strict=True)}
        sent = {t: replies_naming(connector, t) for t in TITLES}
        print(
            f"\nTeams kill -9 mid-burst: acked {len(acked)}, stored {sum(stored[by_id[k]] for k in acked)}, "
            f"sent {sum(sent[by_id[k]] for k in acked)}, duplicates {sum(max(0, n - 1) for n in sent.values())}, "
            f"lost {sum(1 for k in acked if sent[by_id[k]] == 0 or stored[by_id[k]] == 0)} "
            f"(redelivered {len(again)}, of them acked {len(again) - (len(TITLES) - len(acked))})"
        )
        assert all(stored[t] == 1 for t in TITLES), stored
        assert all(n == 1 for n in sent.values()), sent
        assert len(connector.activities) == len(TITLES)  # nothing else: no apology, no second copy
    finally:
        await first.stop()
        await db.dispose()


async def test_a_reply_the_connector_refused_with_500_is_sent_again_and_seen_once(server, connector):
    connector.fail_next(500)  # recorded as an attempt, answered 500, not shown to anyone
    activity = message_activity('usecase propose "Through the outage"', service_url=connector.url)
    assert (await server.teams(activity)).status in (200, 201)
    (reply,) = await teams_reply(server.bot, connector, activity, timeout=20)
    assert "UC-1: Through the outage" in json.dumps(reply["attachments"])
    attempts = await connector.wait_for_attempts(2)
    async with server.bot.db.reading() as s:
        row = (await s.execute(select(Outbox))).scalar_one()
    print(
        f"\nTeams Connector 500 on a reply: queued 1, attempts {len(attempts)}, sent {len(connector.activities)}, "
        f"duplicates {len(connector.activities) - 1}, lost 0"
    )
    assert (row.state, row.attempts) == ("sent", 2)  # refused once, then sent by the outbox after its back-off
    assert len(connector.activities) == 1 and "Sorry" not in json.dumps(connector.activities)
