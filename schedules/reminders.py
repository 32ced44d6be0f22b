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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers import milestone_reminders as ms_rules
from handlers import plan_rules as rules
from handlers.activities import recipients
from handlers.messages import elements_to_json
from schedules.timer import Timer
from schedules.worker import QueueingWorker
from storage.models import Milestone, RaciActivity, Reminder
from storage.repos import outbox as outbox_repo
from storage.repos import plan as repo

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=24)
LATE_AFTER = timedelta(minutes=2)
SWEEP_SECONDS = 30
SWEEP_JOB = "reminder-sweep"
NEXT_JOB = "reminder-next"
RETRY_LEFT = timedelta(seconds=1)
# Reminders claimed and dispatched per transaction: a sweep starts small, so the first messages
# leave within milliseconds of the due time, and doubles while rows keep coming, so a burst takes
# few transactions (a batch's cost is mostly per statement, not per row).
FIRST_BATCH = 25
MAX_BATCH = 200


def _nth(r: Reminder) -> int:
    return int(r.payload.get("nth", 0))


def _split_cancelled(
    rows: list[Reminder], milestones: dict[int, Milestone]
) -> tuple[list[tuple[Reminder, Milestone]], list[int]]:
    """The reminders still to send, with their milestone, and the ids of those cancelled: a
    milestone deleted or no longer open has nothing left to remind of."""
    live: list[tuple[Reminder, Milestone]] = []
    cancelled: list[int] = []
    for r in rows:
        ms = milestones.get(r.milestone_id) if r.milestone_id else None
        if ms is None or ms.status != "open":
            cancelled.append(r.id)
        else:
            live.append((r, ms))
    return live, cancelled


def _targets(r: Reminder, people: list[str], conversation_id: str) -> list[tuple[str, str]]:
    """Each person privately; the channel too on the day itself, and instead when nobody is named,
    so a reminder is never sent to no one."""
    targets = [("user", uid) for uid in people]
    if (r.kind == "before" and r.payload.get("offset") == 0) or not targets:
        targets.append(("channel", conversation_id))
    return targets


async def _linked_activities(s, asking: list[tuple[Reminder, Milestone]]) -> dict[int, RaciActivity]:
    """The RACI activity linked to each milestone, by milestone id: one query per initiative."""
    by_initiative: dict[int, list[tuple[Milestone, str | None]]] = defaultdict(list)
    for r, ms in asking:
        by_initiative[r.initiative_id].append((ms, ms_rules.deliverable_of(ms)))
    activities: dict[int, RaciActivity] = {}
    for initiative_id, linked in by_initiative.items():
        activities.update(await repo.activities_for(s, initiative_id, linked))
    return activities


async def _routed(
    s, r: Reminder, owners: list[str], activity: RaciActivity | None, escalating: bool
) -> list[str]:
    """Who one reminder goes to, each once (see `ReminderSender._people`)."""
    if r.kind == "snooze":
        return [str(r.payload["user_id"])]
    people = owners
    if not people and activity is not None:
        people = [m.user_id for m in await recipients(s, r.initiative_id, activity.id, "nudge")]
    if escalating and activity is not None:
        people = people + [m.user_id for m in await recipients(s, r.initiative_id, activity.id, "escalation")]
    return list(dict.fromkeys(people))


@dataclass(eq=False, kw_only=True)
class ReminderSender(QueueingWorker):
    grace: timedelta = DEFAULT_GRACE
    first_batch: int = FIRST_BATCH
    max_batch: int = MAX_BATCH
    timer: Timer | None = field(default=None, init=False)

    async def sweep(self) -> int:
        """Claim and dispatch everything due now, batch by batch; returns how many were claimed.

        Each batch commits (and wakes the outbox) before the next is claimed, so the first
        messages are on their way while later batches are still being dispatched."""
        total, batch = 0, self.first_batch
        while True:
            claimed, queued = await self._sweep_once(batch)
            total += claimed
            if queued:
                self.on_queued()
            if claimed < batch:
                return total
            batch = min(self.max_batch, batch * 2)

    async def _sweep_once(self, batch: int) -> tuple[int, int]:
        async with self.db.transaction() as s:
            now = self.clock()
            rows = await repo.claim_due(s, now, self.instance, batch)
            queued = await self._dispatch(s, rows, now) if rows else 0
        return len(rows), queued

    async def _dispatch(self, s, rows: list[Reminder], now: datetime) -> int:
        """Turn claimed reminders into outbox rows, loading what they share once per batch."""
        milestones = await repo.milestones_by_id(s, [r.milestone_id for r in rows if r.milestone_id])
        live, cancelled = _split_cancelled(rows, milestones)
        scopes = await repo.scopes_of(s, list({r.initiative_id for r, _ in live})) if live else {}
        people = await self._people(s, live) if live else {}
        calendars: dict[int, rules.Calendar] = {}
        messages: list[dict] = []
        sent: list[int] = []
        missed: list[int] = []
        for r, ms in live:
            initiative, workspace = scopes[r.initiative_id]
            if initiative.id not in calendars:
                calendars[initiative.id] = await ms_rules.load_calendar(s, initiative)
            cal = calendars[initiative.id]
            tz = ms_rules.zone(initiative, self.default_timezone)
            if r.kind == "overdue":
                await ms_rules.plan_overdue(s, initiative, ms, _nth(r) + 1, cal, tz, now)
            if now - r.due_at > self.grace:
                missed.append(r.id)
                continue
            elements = elements_to_json(
                ms_rules.reminder_elements(ms, r.kind, r.payload, now.astimezone(tz).date(), cal)
            )
            messages += [
                {
                    "workspace_id": workspace.id,
                    "initiative_id": initiative.id,
                    "target_kind": kind,
                    "target_id": target,
                    "payload": {"elements": elements},
                    "dedupe_key": f"reminder:{r.id}:{kind}:{target}",
                }
                for kind, target in _targets(r, people[r.id], initiative.conversation_id)
            ]
            sent.append(r.id)
        await repo.record_outcomes(s, now, sent=sent, missed=missed, cancelled=cancelled, late_after=LATE_AFTER)
        return await outbox_repo.enqueue_many(s, messages, now)

    async def _people(self, s, live: list[tuple[Reminder, Milestone]]) -> dict[int, list[str]]:
        """Per reminder id: owners, else the Responsible of the linked activity; from the second
        overdue, also the Accountable. A snooze goes only to whoever snoozed."""
        owners = await repo.owners(s, [ms.id for r, ms in live if r.kind != "snooze"])
        people = {r.id: [m.user_id for m in owners.get(ms.id, []) if m.active] for r, ms in live}
        escalating = {r.id for r, _ in live if r.kind == "overdue" and rules.escalates(_nth(r))}
        # The activity only matters without owners or when escalating: look it up only then.
        activities = await _linked_activities(
            s, [(r, ms) for r, ms in live if r.kind != "snooze" and (not people[r.id] or r.id in escalating)]
        )
        for r, ms in live:
            people[r.id] = await _routed(s, r, people[r.id], activities.get(ms.id), r.id in escalating)
        return people

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
        # A row already due that this sweep left (another replica holds it) is retried a moment later.
        now = self.clock()
        self.timer.after(NEXT_JOB, due - now if due > now else RETRY_LEFT, self.tick)
