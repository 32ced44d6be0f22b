"""Claim-and-send of due reminders: the database decides, APScheduler only wakes us.

A sweep claims due `pending` rows (conditional update; `FOR UPDATE SKIP LOCKED` on PostgreSQL)
and, in the same transaction, turns each into outbox rows (dedupe key per reminder and
recipient) and marks it `sent`; so with any number of replicas a reminder goes out once, and a
crash before commit leaves it pending for the next sweep. A reminder found more than `grace` after
its time (the bot was down) is recorded as `missed` instead of sent; one found later than
`LATE_AFTER` but within the grace is sent and marked late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from handlers import milestones as ms_rules
from handlers import plan_rules as rules
from handlers.messages import elements_to_json
from handlers.raci import recipients
from schedules.timer import Timer
from storage.db import Database
from storage.models import Initiative, Milestone, Reminder
from storage.repos import plan as repo
from storage.repos import record

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=24)
LATE_AFTER = timedelta(minutes=2)
SWEEP_SECONDS = 30
SWEEP_JOB = "reminder-sweep"
NEXT_JOB = "reminder-next"
RETRY_LEFT = timedelta(seconds=1)


class ReminderSender:
    def __init__(
        self,
        db: Database,
        *,
        instance: str,
        clock: Callable[[], datetime],
        default_timezone: str = "UTC",
        grace: timedelta = DEFAULT_GRACE,
        on_queued: Callable[[], None] = lambda: None,
        batch: int = 200,
    ) -> None:
        self.db = db
        self.instance = instance
        self.clock = clock
        self.default_timezone = default_timezone
        self.grace = grace
        self.on_queued = on_queued
        self.batch = batch
        self.timer: Timer | None = None

    async def sweep(self) -> int:
        """Claim and dispatch everything due now, batch by batch; returns how many were claimed."""
        total = 0
        while True:
            claimed, queued = await self._sweep_once()
            total += claimed
            if queued:
                self.on_queued()
            if claimed < self.batch:
                return total

    async def _sweep_once(self) -> tuple[int, int]:
        queued = 0
        async with self.db.transaction() as s:
            now = self.clock()
            rows = await repo.claim_due(s, now, self.instance, self.batch)
            for r in rows:
                queued += await self._dispatch(s, r, now)
        return len(rows), queued

    async def _dispatch(self, s, r: Reminder, now: datetime) -> int:
        ms = await s.get(Milestone, r.milestone_id) if r.milestone_id else None
        if ms is None or ms.status != "open":
            r.state = "cancelled"
            return 0
        initiative, workspace = await repo.scope_of(s, r.initiative_id)
        cal = await ms_rules.load_calendar(s, initiative)
        tz = ms_rules.zone(initiative, self.default_timezone)
        nth = int(r.payload.get("nth", 0))
        if r.kind == "overdue":
            await ms_rules.plan_overdue(s, initiative, ms, nth + 1, cal, tz, now)
        if now - r.due_at > self.grace:
            r.state = "missed"
            return 0
        elements = elements_to_json(ms_rules.reminder_elements(ms, r.kind, r.payload, now.astimezone(tz).date(), cal))
        queued = 0
        targets = [("user", uid) for uid in await self._people(s, initiative, ms, r, nth)]
        if (r.kind == "before" and r.payload.get("offset") == 0) or not targets:
            targets.append(("channel", initiative.conversation_id))
        for kind, target in targets:
            queued += await record.enqueue(
                s,
                workspace_id=workspace.id,
                initiative_id=initiative.id,
                target_kind=kind,
                target_id=target,
                payload={"elements": elements},
                now=now,
                dedupe_key=f"reminder:{r.id}:{kind}:{target}",
            )
        r.state, r.sent_at, r.late = "sent", now, now - r.due_at > LATE_AFTER
        return queued

    async def _people(self, s, initiative: Initiative, ms: Milestone, r: Reminder, nth: int) -> list[str]:
        """Owners, else the Responsible of the linked activity; from the second overdue, also the
        Accountable. A snooze goes only to whoever snoozed."""
        if r.kind == "snooze":
            return [str(r.payload["user_id"])]
        people = [m.user_id for m in (await repo.owners(s, [ms.id])).get(ms.id, []) if m.active]
        activity = await repo.activity_for(s, initiative.id, ms, ms_rules.deliverable_of(ms))
        if not people and activity is not None:
            people = [m.user_id for m in await recipients(s, initiative.id, activity.id, "nudge")]
        if r.kind == "overdue" and rules.escalates(nth) and activity is not None:
            people += [m.user_id for m in await recipients(s, initiative.id, activity.id, "escalation")]
        return list(dict.fromkeys(people))

    # ---- timers ----

    def attach(self, timer: Timer) -> None:
        """The periodic sweep catches what no timer fired (another replica's rows, a crash);
        `NEXT_JOB` fires at the earliest pending reminder so it goes out on time."""
        self.timer = timer
        timer.every(SWEEP_JOB, SWEEP_SECONDS, self.tick)

    async def tick(self) -> None:
        try:
            await self.sweep()
        except Exception:
            log.exception("reminder sweep failed; the periodic sweep retries")
            return
        await self.arm()

    async def arm(self) -> None:
        """Never raises: without this timer the periodic sweep still sends, only later."""
        if self.timer is None or not self.timer.running:
            return
        try:
            # A write transaction on purpose: on SQLite it queues behind this process's writers
            # instead of contending with them for the file lock.
            async with self.db.transaction() as s:
                due = await repo.next_due(s)
        except Exception:
            log.warning("could not read the next reminder time; the periodic sweep covers it", exc_info=True)
            return
        if due is None:
            self.timer.cancel(NEXT_JOB)
            return
        # The injectable clock may run ahead of the wall clock (tests, replays): wait its distance.
        # A row already due that this sweep left (another replica holds it) is retried a moment later.
        now = self.clock()
        wait = due - now if due > now else RETRY_LEFT
        self.timer.at(NEXT_JOB, datetime.now(UTC) + wait, self.tick)
