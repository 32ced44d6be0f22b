"""Drains the outbox: claim due rows, send them through their platform, record what happened.

Claiming is one conditional update of a batch (`state='pending'` -> `'sending'`; `FOR UPDATE SKIP
LOCKED` on PostgreSQL), so two processes never send the same row. The claim is a short lease
(`ALIGNBOT_LEASE_SECONDS`) that a heartbeat renews while the row is being sent; a row whose lease
ran out (its sender died) is handed back, marked uncertain, and taken over by any replica within
seconds. Before sending an uncertain row again the face looks for the row's idempotency mark at
the platform (Slack message metadata) and records it sent if it is there. Rows for different
destinations are sent concurrently (bounded), a destination's own rows in order; a Retry-After
pauses only that destination; each platform face paces its targets. Successful sends
are recorded together: while one "sent" transaction runs, the sends finishing meanwhile queue for
the next (group commit), so a burst costs a few transactions, not one per message.
A failure is retried with back-off (Retry-After when the platform gave one) and, after the last
attempt, stays visible as `failed` with its error.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import update

from storage.db import Database
from storage.models import Outbox
from storage.repos import outbox as repo

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=10)
UNCERTAIN = "uncertain: "  # last_error prefix: an attempt that may have reached the platform


def wall_clock() -> datetime:
    """Leases say whether a sender is alive: wall time, never a clock a test or a replay set."""
    return datetime.now(UTC)


class SendError(Exception):
    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False, uncertain: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        # The platform may have taken the message before failing (a 500 after posting, a timeout):
        # the next attempt looks for it before sending again.
        self.uncertain = uncertain


@dataclass(frozen=True)
class Envelope:
    """What a face needs to send one outbox row."""

    workspace_external_id: str
    conversation_id: str  # the initiative's conversation, for buttons' scope hints
    target_kind: str  # user | channel
    target_id: str
    payload: dict[str, Any]
    row_id: int = 0  # the idempotency mark the face leaves on what it sends
    # Set when an earlier attempt may have been sent: look for the mark from this time on first.
    uncertain_since: datetime | None = None


class Delivery(Protocol):
    async def deliver(self, envelope: Envelope) -> dict[str, Any]: ...


class OutboxSender:
    """Claims due rows and sends them, each destination (workspace, target) in order and on its
    own: a throttled or slow channel delays only its own messages. Claiming is serialised; the
    sends of one claim run while the next claim is made."""

    def __init__(
        self,
        db: Database,
        deliveries: dict[str, Delivery],
        *,
        instance: str,
        clock: Callable[[], datetime],
        max_attempts: int = 5,
        concurrency: int = 16,
        lease: timedelta = LEASE,
        wall: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.db = db
        self.deliveries = deliveries
        self.instance = instance
        self.clock = clock
        self.wall = wall
        self.lease = lease
        self.max_attempts = max_attempts
        self._sem = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._claim_lock = asyncio.Lock()
        self._destinations: dict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._queued: dict[tuple[str, str], int] = defaultdict(int)  # groups holding or awaiting the lock
        self._paused: dict[tuple[str, str], float] = {}  # destination -> loop time it may send again
        self._sending: set[asyncio.Task] = set()
        self._inflight: set[int] = set()
        self._marks = _SentMarks(db, clock)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="outbox")

    async def stop(self, grace: float = 0.0) -> None:
        """Stop the loop; with `grace`, first send what is due (the replies of the requests that
        just finished) and let the sends under way finish (SIGTERM)."""
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if grace > 0:
            try:
                await asyncio.wait_for(self.drain(), grace)
            except Exception as e:  # what is left is sent by the next process, never lost
                log.warning("outbox: could not send what was due before stopping: %s: %s", type(e).__name__, e)
        if self._sending:
            if grace > 0:
                _, late = await asyncio.wait(set(self._sending), timeout=grace)
                if late:
                    log.warning("outbox: sends still under way after %.0f s; their rows will be re-claimed", grace)
            for task in set(self._sending):
                task.cancel()
            await asyncio.gather(*self._sending, return_exceptions=True)
        try:
            await self._marks.written()
        except Exception as e:
            log.warning("outbox: could not record the last sends (%s); they are looked up before any resend", e)

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while await self._dispatch():
                    pass
            except Exception:
                log.exception("outbox drain failed; will retry on the next wake")

    async def drain(self, limit: int = 200) -> int:
        """Send what is due now and wait for those sends; returns how many rows this call claimed."""
        sends: list[asyncio.Task] = []
        claimed = await self._dispatch(limit, sends)
        if sends:
            await asyncio.gather(*sends)
        await self._marks.written()
        return claimed

    async def heartbeat(self) -> None:
        """Renew the claims of the rows being sent, so a live sender is never taken over."""
        if not self._inflight:
            return
        try:
            async with self.db.aside() as s:
                await repo.renew(s, list(self._inflight), self.instance, self.wall() + self.lease)
        except Exception as e:
            log.warning("outbox: could not renew %d claim(s): %s: %s", len(self._inflight), type(e).__name__, e)

    async def _dispatch(self, limit: int = 200, sends: list[asyncio.Task] | None = None) -> int:
        """Claim due rows and start sending them, one task per destination."""
        async with self._claim_lock:
            claimed = await self._claim(limit)
        groups: dict[tuple[str, str], list] = defaultdict(list)
        for row in claimed:
            self._inflight.add(row[0])
            groups[(row[1].workspace_external_id, row[1].target_id)].append(row)
        for destination, rows in groups.items():
            task = asyncio.create_task(self._send_group(destination, rows), name="outbox-send")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
            if sends is not None:
                sends.append(task)
        return len(claimed)

    async def _claim(self, limit: int) -> list[tuple[int, Envelope, str, int]]:
        async with self.db.transaction() as s:
            rows = await repo.claim_due(s, self.clock(), self.instance, limit, self.wall(), self.lease)
        return [
            (
                row_id,
                Envelope(
                    external_id,
                    conversation or "",
                    kind,
                    target,
                    payload,
                    row_id=row_id,
                    uncertain_since=created if (error or "").startswith(UNCERTAIN) else None,
                ),
                platform,
                attempts,
            )
            for row_id, attempts, kind, target, payload, platform, external_id, conversation, error, created in rows
        ]

    async def _send_group(self, destination: tuple[str, str], rows: list[tuple[int, Envelope, str, int]]) -> None:
        # The destination's lock keeps its rows in order across claims; the semaphore bounds how
        # many destinations send at once.
        self._queued[destination] += 1
        try:
            async with self._destinations[destination], self._sem:
                for row_id, env, platform, attempts in rows:
                    paused = self._paused.get(destination, 0.0) - asyncio.get_running_loop().time()
                    if paused > 0:  # throttled: this destination's rows wait, nobody else's
                        await self._defer(row_id, paused)
                        continue
                    await self._send_one(destination, row_id, env, platform, attempts)
        finally:
            for row_id, *_ in rows:
                self._inflight.discard(row_id)
            self._queued[destination] -= 1
            if not self._queued[destination]:  # nobody else waits for this destination: forget it
                del self._queued[destination], self._destinations[destination]

    async def _send_one(
        self, destination: tuple[str, str], row_id: int, env: Envelope, platform: str, attempts: int
    ) -> None:
        delivery = self.deliveries.get(platform)
        try:
            if delivery is None:
                raise SendError(f"{platform} is not configured on this server", permanent=True)
            result = await delivery.deliver(env)
        except Exception as e:  # every failure is recorded, none is lost
            retry_after = e.retry_after if isinstance(e, SendError) else None
            permanent = isinstance(e, SendError) and e.permanent
            uncertain = not isinstance(e, SendError) or e.uncertain
            error = f"{UNCERTAIN if uncertain else ''}{type(e).__name__}: {e}"
            await self._record_failure(row_id, attempts + 1, error, retry_after, permanent)
            if retry_after is not None:
                # Paused from after the row's own next attempt was set, so the rows deferred behind
                # it come due no earlier than it and the destination's messages keep their order
                # (pausing first let a slow failure record make the next row due before this one).
                self._paused[destination] = asyncio.get_running_loop().time() + retry_after
            return
        self._marks.add(row_id, result or {})

    async def _defer(self, row_id: int, seconds: float) -> None:
        async with self.db.transaction() as s:
            await repo.defer(s, row_id, self.clock() + timedelta(seconds=seconds))
        asyncio.get_running_loop().call_later(seconds, self.wake)

    async def _record_failure(
        self, row_id: int, attempts: int, error: str, retry_after: float | None, permanent: bool
    ) -> None:
        failed = permanent or attempts >= self.max_attempts
        delay = retry_after if retry_after is not None else min(300.0, 2.0**attempts) * random.uniform(0.5, 1.0)
        log.warning("outbox row %s attempt %s failed: %s", row_id, attempts, error)
        async with self.db.transaction() as s:
            await s.execute(
                update(Outbox)
                .where(Outbox.id == row_id)
                .values(
                    state="failed" if failed else "pending",
                    attempts=attempts,
                    last_error=error[:2000],
                    next_attempt_at=self.clock() + timedelta(seconds=delay),
                )
            )
        if not failed:
            asyncio.get_running_loop().call_later(delay, self.wake)


class _SentMarks:
    """Sent rows waiting to be recorded `sent`: one writer at a time takes all that have
    accumulated, so the number of transactions follows the database's pace, not the sends'."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
        self._waiting: list[tuple[int, dict[str, Any]]] = []
        self._writer: asyncio.Task | None = None

    def add(self, row_id: int, result: dict[str, Any]) -> None:
        self._waiting.append((row_id, result))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="outbox-sent")

    async def written(self) -> None:
        """Wait until every row added so far is recorded (re-raising a failed write)."""
        while self._writer is not None:
            writer = self._writer
            await writer
            if writer is self._writer:
                self._writer = None

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            async with self.db.transaction() as s:
                await repo.mark_sent(s, batch, self.clock())
