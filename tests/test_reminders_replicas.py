"""Two `alignbot serve` processes on one PostgreSQL database: every reminder and every weekly
digest goes out exactly once, counted at the recording fake Slack API."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlalchemy import func, select

from bot.app import create_app
from storage.migrate import upgrade
from storage.models import Milestone, MilestoneOwner, Outbox, Reminder
from storage.repos import plan as repo
from storage.repos import scope
from tests.support import make_settings
from tests.test_reminders import Clock, reminders, say, utc

N = 500


async def test_two_replicas_send_500_reminders_each_exactly_once(pg_url, slack_api):
    await upgrade(pg_url)
    clock = Clock(utc(2026, 12, 14, 9, 0, 5))
    clock.follow_wall()
    a = create_app(make_settings(pg_url, slack_api_url=slack_api.url), clock=clock)
    b = create_app(make_settings(pg_url, slack_api_url=slack_api.url), clock=clock)
    try:
        # Rows written by a third process (e.g. a replica that then crashed) before either started.
        async with a.db.transaction() as s:
            now = clock()
            ws = await scope.workspace(s, "slack", "T1", now)
            initiative, _ = await scope.initiative(s, ws, "C1", name="c", creator="U1", is_private=False, now=now)
            for i in range(N):
                member = await scope.member(s, initiative, f"U{i:03d}", f"u{i}", now)
                ms = Milestone(
                    initiative_id=initiative.id,
                    number=i + 1,
                    name=f"Step {i}",
                    due_date=date(2026, 12, 15),
                    remind_offsets="1",
                    status="open",
                    created_at=now,
                )
                s.add(ms)
                await s.flush()
                s.add(MilestoneOwner(milestone_id=ms.id, member_id=member.id))
                await repo.put_reminder(
                    s,
                    initiative_id=initiative.id,
                    key=f"ms:{ms.id}:2026-12-15:before:1",
                    kind="before",
                    milestone_id=ms.id,
                    due_at=utc(2026, 12, 14, 9),
                    payload={"offset": 1},
                    now=now,
                )
        await asyncio.gather(a.start(migrate_db=False), b.start(migrate_db=False))
        await slack_api.wait_for("chat.postMessage", N, timeout=120)
        await asyncio.gather(a.reminders.tick(), b.reminders.tick())  # any sweep after: nothing left
        while sum(await asyncio.gather(a.outbox.drain(), b.outbox.drain())):
            pass
        posts = slack_api.of("chat.postMessage")
        assert len(posts) == N
        assert sorted(p.params["channel"] for p in posts) == [f"U{i:03d}" for i in range(N)]
        rows = await reminders(a)
        assert {r.state for r in rows} == {"sent"} and len(rows) == N
        assert {r.claimed_by for r in rows} <= {a.settings.instance, b.settings.instance}
    finally:
        await asyncio.gather(a.stop(), b.stop())


async def test_weekly_digest_runs_once_per_period_with_two_schedulers(pg_url, slack_api):
    await upgrade(pg_url)
    clock = Clock(utc(2026, 11, 20, 12))  # the milestone is added while its due date is ahead
    a = create_app(make_settings(pg_url, slack_api_url=slack_api.url), clock=clock)
    b = create_app(make_settings(pg_url, slack_api_url=slack_api.url), clock=clock)
    try:
        assert (await say(a, 'milestone add "Late one" --due 2026-11-27 --owner <@U1|alice>')).ok
        clock.set(utc(2026, 11, 29, 12))  # a Sunday: the milestone is overdue now
        assert (await say(a, "digest schedule mon 09:00")).ok
        assert await asyncio.gather(a.digests.run_due(), b.digests.run_due()) == [[], []]  # not Monday yet
        clock.set(utc(2026, 11, 30, 9, 0, 30))
        runs = await asyncio.gather(a.digests.run_due(), b.digests.run_due(), a.digests.run_due())
        assert sorted(k for r in runs for k in r) == ["digest:1:2026-W49"]
        clock.set(utc(2026, 11, 30, 15))
        assert await asyncio.gather(a.digests.run_due(), b.digests.run_due()) == [[], []]
        while sum(await asyncio.gather(a.outbox.drain(), b.outbox.drain())):
            pass
        channel = [p for p in slack_api.of("chat.postMessage") if p.params["channel"] == "C1"]
        assert len([p for p in channel if "Weekly digest" in p.params["text"]]) == 1
        personal = [p for p in slack_api.of("chat.postMessage") if p.params["channel"] == "U1"]
        assert len(personal) == 1 and "MS-1" in str(personal[0].params["blocks"])
        clock.set(utc(2026, 12, 7, 9, 1))  # next period: once more
        runs = await asyncio.gather(a.digests.run_due(), b.digests.run_due())
        assert sorted(k for r in runs for k in r) == ["digest:1:2026-W50"]
        async with a.db.reading() as s:
            queued = (await s.execute(select(func.count()).where(Outbox.dedupe_key.like("digest:%")))).scalar_one()
        assert queued == 4  # channel + alice's personal list, in each of the two periods
        assert (await say(a, "digest off")).ok
        clock.set(utc(2026, 12, 14, 9, 1))
        assert await a.digests.run_due() == []
    finally:
        await asyncio.gather(a.stop(), b.stop())


async def test_a_digest_due_while_down_longer_than_the_grace_is_skipped(sqlite_url, slack_api):
    await upgrade(sqlite_url)
    clock = Clock(utc(2026, 11, 29, 12))
    bot = create_app(make_settings(sqlite_url, slack_api_url=slack_api.url), clock=clock)
    try:
        assert (await say(bot, "digest schedule mon 09:00")).ok
        clock.set(utc(2026, 12, 1, 9, 30))  # Tuesday, 24.5 h after Monday's run
        assert await bot.digests.run_due() == []
        clock.set(utc(2026, 12, 7, 9) + timedelta(hours=23))
        assert await bot.digests.run_due() == ["digest:1:2026-W50"]
    finally:
        await bot.stop()


async def test_pending_reminders_are_left_for_another_replica_when_claimed(pg_url):
    """A claimed (locked) row is skipped, not waited on: the other replica moves on."""
    await upgrade(pg_url)
    clock = Clock(utc(2026, 12, 14, 9, 0, 5))
    bot = create_app(make_settings(pg_url), clock=clock)
    other = create_app(make_settings(pg_url), clock=clock)
    try:
        async with bot.db.transaction() as s:
            ws = await scope.workspace(s, "slack", "T1", clock())
            initiative, _ = await scope.initiative(s, ws, "C1", name="c", creator="U1", is_private=False, now=clock())
            for i in range(2):
                await repo.put_reminder(
                    s,
                    initiative_id=initiative.id,
                    key=f"k{i}",
                    kind="before",
                    milestone_id=None,
                    due_at=utc(2026, 12, 14, 9),
                    payload={},
                    now=clock(),
                )
        async with bot.db.transaction() as s1:
            first = await repo.claim_due(s1, clock(), "one", 1)
            async with other.db.transaction() as s2:
                second = await asyncio.wait_for(repo.claim_due(s2, clock(), "two", 5), 5)
        assert len(first) == 1 and len(second) == 1 and first[0].key != second[0].key
        async with bot.db.reading() as s:
            assert sorted((await s.execute(select(Reminder.claimed_by))).scalars()) == ["one", "two"]
    finally:
        await asyncio.gather(bot.stop(), other.stop())
