"""The poll clock: closes polls at their deadline, sends reminders to non-voters, and keeps each
poll message current without flooding the platform.

APScheduler only wakes `tick` every second; the database says what is due and conditional
updates decide who does it, so two replicas close a poll once and a restart loses nothing (the
first tick closes whatever passed its deadline while we were down).

Coalescing: a poll whose tally changed gets at most one message update every `SPACING`; the
update renders the poll as it is when queued, and a later change queues another, so the last
update always shows the final count.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import elements_to_json
from handlers.polls import close_poll, poll_message, remind_non_voters
from schedules.failures import QuietFailures
from schedules.worker import QueueingWorker
from storage.models import Initiative, Poll, Workspace
from storage.repos import polls as repo
from storage.repos import record

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
SPACING = timedelta(seconds=2)

# platform -> (workspace external id, conversation id) -> the conversation's member ids
Roster = Callable[[str, str], Awaitable[list[str]]]


async def _scope_of(session: AsyncSession, poll_id: int) -> tuple[Poll, Initiative]:
    """A claimed reminder's poll and initiative; gone only if the poll was deleted meanwhile, which
    fails that reminder (logged and counted like any other failure), not the others."""
    found = await repo.poll_scope(session, poll_id)
    if found is None:
        raise LookupError(f"poll {poll_id} is gone")
    return found


@dataclass(eq=False, kw_only=True)
class PollClock(QueueingWorker):
    rosters: dict[str, Roster] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _stopped: bool = field(default=False, init=False)
    failures: QuietFailures = field(default_factory=lambda: QuietFailures("poll clock", log), init=False)

    def attach(self, timer) -> None:
        timer.every("poll-clock", TICK_SECONDS, self.tick)

    async def stop(self) -> None:
        """No new tick starts, and the one under way finishes (it may hold a transaction)."""
        self._stopped = True
        async with self._lock:
            pass

    async def tick(self) -> None:
        if self._stopped or self.failures.waiting():
            return
        async with self._lock:
            if self._stopped:
                return
            now = self.clock()
            try:
                async with self.db.reading() as s:  # one cheap look; most ticks find nothing to do
                    work = await repo.pending_work(s, now, SPACING)
            except Exception as e:  # the database is down: say so once a minute, not every second
                self.failures.failed(e)
                return
            self.failures.worked()
            steps = [
                step
                for step, due in zip((self.close_due, self.send_reminders, self.update_messages), work, strict=True)
                if due
            ]
            queued = 0
            for step in steps:
                try:
                    queued += await step()
                except Exception:
                    log.exception("poll clock step %s failed; the next tick retries", step.__name__)
            if queued:
                self.on_queued()

    async def close_due(self) -> int:
        now = self.clock()
        async with self.db.reading() as s:
            due = await repo.due_to_close(s, now)
        closed = 0
        for pid in due:
            async with self.db.transaction() as s:
                found = await repo.poll_scope(s, pid)
                if found and await close_poll(s, found[0], found[1], now, actor="alignbot", actor_name="deadline"):
                    closed += 1
        return closed

    async def send_reminders(self) -> int:
        now = self.clock()
        async with self.db.transaction() as s:
            won = await repo.claim_due_reminders(s, now, self.instance)
        sent = 0
        for rid, pid, key in won:
            try:
                async with self.db.reading() as s:
                    poll, initiative = await _scope_of(s, pid)
                    ws = await s.get(Workspace, initiative.workspace_id)
                roster: list[str] = []
                if ws is not None and ws.platform in self.rosters and poll.status == "open":
                    roster = await self.rosters[ws.platform](ws.external_id, initiative.conversation_id)
                async with self.db.transaction() as s:
                    poll, initiative = await _scope_of(s, pid)
                    n = await remind_non_voters(s, poll, initiative, key, roster, self.clock())
                    await repo.finish_reminder(s, rid, self.clock(), reminded=n)
                sent += n
            except Exception as e:  # recorded on the row; the lease would otherwise hand it back
                log.exception("poll reminder %s failed", rid)
                async with self.db.transaction() as s:
                    await repo.finish_reminder(s, rid, self.clock(), error=f"{type(e).__name__}: {e}")
        return sent

    async def update_messages(self) -> int:
        now = self.clock()
        async with self.db.reading() as s:
            ids = await repo.needing_update(s, now, SPACING)
        queued = 0
        for pid in ids:
            async with self.db.transaction() as s:
                found = await repo.poll_scope(s, pid)
                if not found:
                    continue
                poll, initiative = found
                ref = await repo.message_ref(s, poll)
                if ref is None:
                    continue  # the poll message itself is not sent yet
                if not ref:
                    await repo.skip_render(s, pid)
                    continue
                if await repo.update_in_flight(s, pid, now, SPACING):
                    continue
                version = await repo.claim_render(s, poll, now, SPACING)
                if version is None:
                    continue
                tz = ZoneInfo(initiative.timezone or self.default_timezone)
                elements = await poll_message(s, poll, tz)
                if await record.enqueue(
                    s,
                    workspace_id=initiative.workspace_id,
                    initiative_id=initiative.id,
                    target_kind="channel",
                    target_id=ref["channel"] or initiative.conversation_id,
                    payload={"elements": elements_to_json(elements), "update": ref},
                    now=now,
                    dedupe_key=f"poll-upd:{pid}:{version}",
                ):
                    queued += 1
        return queued
