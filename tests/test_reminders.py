"""Reminders end to end: milestone commands through the real core, rows claimed by the real
sender, messages through the real outbox into the recording fake Slack API, time from an
injectable clock (one test uses the real APScheduler timer)."""

from __future__ import annotations

import asyncio
import time as wall
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import Alignbot, create_app
from handlers.messages import Action, Actor, Incoming, Reply
from schedules.reminders import SWEEP_SECONDS
from storage.migrate import upgrade
from storage.models import Milestone, Outbox, Reminder
from tests.support import make_settings


class Clock:
    """A settable clock; `follow_wall` makes it advance with real time from where it was set."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._wall: float | None = None

    def __call__(self) -> datetime:
        if self._wall is None:
            return self.now
        return self.now + timedelta(seconds=wall.monotonic() - self._wall)

    def set(self, now: datetime) -> None:
        self.now = now
        if self._wall is not None:
            self._wall = wall.monotonic()

    def follow_wall(self) -> None:
        self._wall = wall.monotonic()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def say(bot: Alignbot, text: str, user: str = "U1", name: str = "alice") -> Reply:
    reply = await bot.core.handle(Incoming(Actor("slack", "T1", user, name), "C1", "assessment", text=text))
    assert reply is not None
    return reply


async def click(bot: Alignbot, action_id: str, value: str, user: str) -> Reply:
    reply = await bot.core.handle(
        Incoming(Actor("slack", "T1", user, user), "C1", action=Action(action_id, value), conversation_is_hint=True)
    )
    assert reply is not None
    return reply


async def make_bot(db_url: str, slack_api, clock: Clock, **settings) -> Alignbot:
    await upgrade(db_url)
    return create_app(make_settings(db_url, slack_api_url=slack_api.url, **settings), clock=clock)


async def tick(bot: Alignbot, clock: Clock, at: datetime) -> int:
    """Move the clock, sweep, and push the outbox: what a timer firing at `at` would do."""
    clock.set(at)
    claimed = await bot.reminders.sweep()
    while await bot.outbox.drain():
        pass
    return claimed


async def reminders(bot: Alignbot) -> list[Reminder]:
    async with bot.db.reading() as s:
        return list((await s.execute(select(Reminder).order_by(Reminder.due_at, Reminder.id))).scalars())


def dm_texts(slack_api, channel: str) -> list[str]:
    return [c.params["text"] for c in slack_api.of("chat.postMessage") if c.params["channel"] == channel]


def reminders_to(slack_api, channel: str) -> list[str]:
    """Only the milestone messages (RACI assignment notices go to the same people)."""
    return [t for t in dm_texts(slack_api, channel) if "MS-" in t]


async def test_milestone_reminders_fire_once_on_time_with_buttons(db_url, slack_api):
    clock = Clock(utc(2026, 12, 1, 10))
    bot = await make_bot(db_url, slack_api, clock)
    try:
        reply = await say(bot, 'milestone add "Architecture review" --due 2026-12-14 --owner <@U2|bob>')
        assert reply.ok, reply.plain_text()
        due = [(r.kind, r.payload, r.due_at) for r in await reminders(bot)]
        assert due == [
            ("before", {"offset": 3}, utc(2026, 12, 9, 9)),
            ("before", {"offset": 1}, utc(2026, 12, 11, 9)),
            ("before", {"offset": 0}, utc(2026, 12, 14, 9)),
            ("overdue", {"nth": 1}, utc(2026, 12, 16, 9)),
        ]
        assert await tick(bot, clock, utc(2026, 12, 9, 8, 59, 59)) == 0
        assert await tick(bot, clock, utc(2026, 12, 9, 9)) == 1
        assert await tick(bot, clock, utc(2026, 12, 9, 9, 1)) == 0
        posts = slack_api.of("chat.postMessage")
        assert len(posts) == 1 and posts[0].params["channel"] == "U2"
        assert "MS-1 Architecture review is due 2026-12-14, in 3 working day(s)" in posts[0].params["text"]
        buttons = [e for b in posts[0].params["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [b["action_id"] for b in buttons] == ["milestone.done", "milestone.snooze:1d", "milestone.snooze:1w"]
        await tick(bot, clock, utc(2026, 12, 11, 9))
        await tick(bot, clock, utc(2026, 12, 14, 9))  # due day: the owner and the channel
        assert len(dm_texts(slack_api, "U2")) == 3
        assert dm_texts(slack_api, "C1") == ["Due today: MS-1 Architecture review."]
        assert all(not r.late for r in await reminders(bot) if r.state == "sent")
    finally:
        await bot.stop()


async def test_overdue_every_two_working_days_escalates_to_accountable_from_the_second(sqlite_url, slack_api):
    clock = Clock(utc(2026, 12, 1, 10))
    bot = await make_bot(sqlite_url, slack_api, clock)
    try:
        for line in (
            "raci init",
            "raci assign ACT-2 R <@U3|rita> A <@U4|axel>",
            "plan init --start 2026-12-01 --weeks short",
        ):
            reply = await say(bot, line)
            assert reply.ok, (line, reply.plain_text())
        show = (await say(bot, "milestone show MS-2")).plain_text()
        assert "Activity: ACT-2 Gap analysis" in show
        ms2_due = date(2026, 12, 14)  # short plan: MS-1 Dec 1-7, MS-2 Dec 8-14
        assert f"Due: {ms2_due.isoformat()}" in show
        await tick(bot, clock, utc(2026, 12, 14, 9))  # due day: no owner, so the Responsible
        assert reminders_to(slack_api, "U3") == ["Due today: MS-2 Assess current infrastructure."]
        await tick(bot, clock, utc(2026, 12, 16, 9))  # first overdue: R only
        await tick(bot, clock, utc(2026, 12, 18, 9))  # second: R and A
        await tick(bot, clock, utc(2026, 12, 22, 9))  # third: R and A
        assert len(reminders_to(slack_api, "U3")) == 4
        assert [t.split(" was due")[0] for t in reminders_to(slack_api, "U4")] == [
            "Overdue: MS-2 Assess current infrastructure"
        ] * 2
        assert "(4 working day(s) ago)" in reminders_to(slack_api, "U4")[0]
    finally:
        await bot.stop()


async def test_done_remove_and_moving_cancel_or_reschedule_pending_reminders(db_url, slack_api):
    clock = Clock(utc(2026, 12, 1, 10))
    bot = await make_bot(db_url, slack_api, clock)
    try:
        for line in (
            'milestone add "A" --due 2026-12-14 --owner <@U2|bob>',
            'milestone add "B" --due 2026-12-14 --owner <@U2|bob>',
            'milestone add "C" --due 2026-12-14 --owner <@U2|bob>',
            'milestone add "D" --due 2026-12-14 --owner <@U2|bob> --after MS-3',
        ):
            assert (await say(bot, line)).ok
        assert (await say(bot, "milestone done MS-1", user="U2", name="bob")).ok  # an owner may close it
        assert (await say(bot, "milestone remove MS-2")).ok
        moved = await say(bot, "milestone edit MS-3 --due 2026-12-16")
        assert "Moved with it by the same working days: MS-4 to 2026-12-16" in moved.plain_text()
        states = {(r.milestone_id, r.state) for r in await reminders(bot)}
        assert {(1, "pending"), (2, "pending")} & states == set()
        pending = [r for r in await reminders(bot) if r.state == "pending"]
        assert {r.due_at for r in pending if r.milestone_id == 3} == {
            utc(2026, 12, 11, 9),
            utc(2026, 12, 15, 9),
            utc(2026, 12, 16, 9),
            utc(2026, 12, 18, 9),
        }
        # Done between planning and sending (another replica, no cancel yet): still nothing goes out.
        async with bot.db.transaction() as s:
            await s.execute(update(Milestone).where(Milestone.number == 4).values(status="done"))
        for day in range(9, 24):
            await tick(bot, clock, utc(2026, 12, day, 9))
        texts = dm_texts(slack_api, "U2")
        assert texts and all(t.count("MS-3 C") == 1 for t in texts)
        assert not any(m in t for t in texts for m in ("MS-1 ", "MS-2 ", "MS-4 "))
        assert "Due today: MS-3 C." in texts
        assert not any("2026-12-14" in t for t in texts)
    finally:
        await bot.stop()


async def test_restart_sends_late_within_grace_once_and_records_older_as_missed(db_url, slack_api):
    clock = Clock(utc(2026, 12, 1, 10))
    first = await make_bot(db_url, slack_api, clock)
    assert (await say(first, 'milestone add "Review" --due 2026-12-14 --owner <@U2|bob>')).ok
    await first.stop()  # down from Dec 1 until Dec 11 09:30: the 3-day reminder is 48 h late
    clock.set(utc(2026, 12, 11, 9, 30))
    second = await make_bot(db_url, slack_api, clock)
    try:
        await second.start(migrate_db=False)
        posts = await slack_api.wait_for("chat.postMessage", 1)
        assert "in 1 working day(s)" in posts[0].params["text"]
        kinds = {(r.payload.get("offset"), r.state, r.late) for r in await reminders(second)}
        assert (3, "missed", False) in kinds and (1, "sent", True) in kinds
        await second.reminders.tick()
        while await second.outbox.drain():
            pass
        assert len(slack_api.of("chat.postMessage")) == 1
    finally:
        await second.stop()


async def test_grace_is_configurable(sqlite_url, slack_api):
    clock = Clock(utc(2026, 12, 1, 10))
    bot = await make_bot(sqlite_url, slack_api, clock, reminder_grace_hours=72)
    try:
        assert (await say(bot, 'milestone add "Review" --due 2026-12-14 --owner <@U2|bob>')).ok
        await tick(bot, clock, utc(2026, 12, 11, 9, 30))
        assert sorted(
            (r.payload.get("offset"), r.state, r.late) for r in await reminders(bot) if r.state != "pending"
        ) == [
            (1, "sent", True),
            (3, "sent", True),
        ]
    finally:
        await bot.stop()


@pytest.mark.parametrize(
    "zone, change",
    [
        ("Europe/Berlin", date(2026, 3, 29)),
        ("Europe/Berlin", date(2026, 10, 25)),
        ("America/New_York", date(2026, 3, 8)),
        ("America/New_York", date(2026, 11, 1)),
    ],
)
async def test_dst_nine_local_on_both_sides_once(sqlite_url, slack_api, zone, change):
    tz = ZoneInfo(zone)
    clock = Clock(datetime.combine(change - timedelta(days=5), datetime.min.time(), tzinfo=UTC))
    bot = await make_bot(sqlite_url, slack_api, clock)
    try:
        for line in (
            f"plan timezone {zone}",
            "plan workdays mon-sun",
            f'milestone add "Go live" --due {change + timedelta(days=1)} --owner <@U2|bob> --remind 2d,1d,0d',
        ):
            assert (await say(bot, line)).ok, line
        sent_at: list[datetime] = []
        hour, end = clock.now, clock.now + timedelta(days=9)
        while hour < end:
            before = len(slack_api.of("chat.postMessage"))
            await tick(bot, clock, hour)
            sent_at += [hour] * (
                len([c for c in slack_api.of("chat.postMessage")[before:] if c.params["channel"] == "U2"])
            )
            hour += timedelta(hours=1)
        # Before (2d, 1d, 0d) and the first overdue (2 working days after): each once, at 09:00 local.
        assert [t.astimezone(tz).hour for t in sent_at] == [9, 9, 9, 9]
        assert [t.astimezone(tz).date() for t in sent_at] == [
            change - timedelta(days=1),
            change,
            change + timedelta(days=1),
            change + timedelta(days=3),
        ]
        assert len({t.astimezone(tz).utcoffset() for t in sent_at}) == 2
    finally:
        await bot.stop()


async def test_snooze_and_done_buttons_from_the_reminder(sqlite_url, slack_api):
    clock = Clock(utc(2026, 12, 9, 9))
    bot = await make_bot(sqlite_url, slack_api, clock)
    try:
        assert (await say(bot, 'milestone add "Review" --due 2026-12-14 --owner <@U2|bob>')).ok
        snoozed = await click(bot, "milestone.snooze:1d", "1", "U2")
        assert "again in 1 day (2026-12-10 09:00)" in snoozed.plain_text()
        assert not (await click(bot, "milestone.snooze:1d", "99", "U2")).ok
        await tick(bot, clock, utc(2026, 12, 10, 9))
        assert dm_texts(slack_api, "U2") == ["Reminder (snoozed): MS-1 Review is due 2026-12-14."]
        assert not (await click(bot, "milestone.done", "1", "U5")).ok  # not an owner, not a facilitator
        assert "marked MS-1 Review done" in (await click(bot, "milestone.done", "1", "U2")).plain_text()
        assert (
            await say(bot, "milestone snooze MS-1 1w", user="U2")
        ).plain_text() == "MS-1 is done; there is nothing to snooze."
        for day in range(11, 20):
            await tick(bot, clock, utc(2026, 12, day, 9))
        assert len(dm_texts(slack_api, "U2")) == 1
    finally:
        await bot.stop()


async def test_real_timer_fires_a_reminder_created_200ms_ahead(sqlite_url, slack_api):
    clock = Clock(utc(2026, 12, 9, 8, 59, 59, 800000))
    clock.follow_wall()
    bot = await make_bot(sqlite_url, slack_api, clock)
    try:
        await bot.start(migrate_db=False)
        clock.set(utc(2026, 12, 9, 8, 59, 59, 800000))  # the 3-day reminder is due in 200 ms
        started = wall.monotonic()
        assert (await say(bot, 'milestone add "Review" --due 2026-12-14 --owner <@U2|bob>')).ok
        # Sent by the timer's wake: the periodic sweep would come only after the wait below.
        assert SWEEP_SECONDS > 10
        posts = await slack_api.wait_for("chat.postMessage", 1, timeout=10)
        assert posts[0].at - started >= 0.1  # not before it was due
        assert posts[0].params["channel"] == "U2"
        job = bot.timer.scheduler.get_job("reminder-sweep")
        assert job is not None and job.coalesce is True and job.misfire_grace_time == 60
    finally:
        await bot.stop()


async def test_failed_reminder_send_is_retried_after_429_then_shown_when_it_fails(sqlite_url, slack_api):
    clock = Clock(utc(2026, 12, 9, 8))
    clock.follow_wall()
    bot = await make_bot(sqlite_url, slack_api, clock)
    try:
        assert (await say(bot, 'milestone add "Review" --due 2026-12-14 --owner <@U2|bob>')).ok
        slack_api.fail_next("chat.postMessage", 429, headers={"Retry-After": "1"}, times=3)
        bot.outbox.start()
        clock.set(utc(2026, 12, 9, 9))
        await bot.reminders.sweep()
        calls = await slack_api.wait_for("chat.postMessage", 4, timeout=15)
        assert calls[3].at - calls[2].at >= 0.9  # the outbox waited Retry-After before its retry
        assert len(slack_api.of("chat.postMessage")) == 4
        # A permanent failure is kept and shown in `plan show`.
        slack_api.fail_next("chat.postMessage", 200, body={"ok": False, "error": "channel_not_found"})
        clock.set(utc(2026, 12, 11, 9))
        await bot.reminders.sweep()
        await slack_api.wait_for("chat.postMessage", 5, timeout=10)
        for _ in range(200):
            async with bot.db.reading() as s:
                if (await s.execute(select(Outbox).where(Outbox.state == "failed"))).first():
                    break
            await asyncio.sleep(0.02)
        shown = (await say(bot, "plan show")).plain_text()
        assert "1 reminder message(s) could not be delivered:" in shown
        assert "MS-1 reminder to @U2 failed after 1 attempt(s): SendError: slack channel_not_found" in shown
    finally:
        await bot.stop()


async def test_a_burst_is_dispatched_in_growing_batches_each_waking_the_outbox(db_url, slack_api):
    """Nine reminders due at once with batches of 2, then 4: the outbox is woken after each
    batch commits (sending starts before the burst is dispatched), and each goes out once."""
    clock = Clock(utc(2026, 12, 1, 10))
    bot = await make_bot(db_url, slack_api, clock)
    try:
        for i in range(9):
            reply = await say(bot, f'milestone add "Step {i}" --due 2026-12-14 --owner <@U{i + 10}|p{i}>')
            assert reply.ok, reply.plain_text()
        wakes: list[int] = []
        bot.reminders.on_queued = lambda: wakes.append(len(wakes))
        bot.reminders.first_batch, bot.reminders.max_batch = 2, 4
        assert await tick(bot, clock, utc(2026, 12, 9, 9)) == 9
        assert len(wakes) == 3  # batches of 2, 4 and 3
        assert sorted(p.params["channel"] for p in slack_api.of("chat.postMessage") if "MS-" in p.params["text"]) == [
            f"U{i + 10}" for i in range(9)
        ]
        assert {r.state for r in await reminders(bot) if r.due_at == utc(2026, 12, 9, 9)} == {"sent"}
    finally:
        await bot.stop()
