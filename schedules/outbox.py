"""Drains the outbox: claim due rows, send them through their platform, record what happened.

Claiming is one conditional update of a batch (`state='pending'` -> `'sending'`; `FOR UPDATE SKIP
LOCKED` on PostgreSQL), so two processes never send the same row; a row left in `sending` by a
crashed process is handed back after a lease. Rows for different targets are sent concurrently
(bounded), a target's own rows in order; each platform face paces its targets. Successful sends
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
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import update

from storage.db import Database
from storage.models import Outbox
from storage.repos import outbox as repo

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)


class SendError(Exception):
    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


@dataclass(frozen=True)
class Envelope:
    """What a face needs to send one outbox row."""

    workspace_external_id: str
    conversation_id: str  # the initiative's conversation, for buttons' scope hints
    target_kind: str  # user | channel
    target_id: str
    payload: dict[str, Any]


class Delivery(Protocol):
    async def deliver(self, envelope: Envelope) -> dict[str, Any]: ...


class OutboxSender:
    def __init__(
        self,
        db: Database,
        deliveries: dict[str, Delivery],
        *,
        instance: str,
        clock: Callable[[], datetime],
        max_attempts: int = 5,
        concurrency: int = 16,
    ) -> None:
        self.db = db
        self.deliveries = deliveries
        self.instance = instance
        self.clock = clock
        self.max_attempts = max_attempts
        self._sem = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._drain_lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="outbox")

    async def stop(self, grace: float = 0.0) -> None:
        """Stop the loop; with `grace`, first let a drain under way finish its sends (SIGTERM)."""
        if self._task:
            held = False
            if grace > 0:
                try:
                    await asyncio.wait_for(self._drain_lock.acquire(), grace)
                    held = True
                except TimeoutError:
                    log.warning("outbox: sends still under way after %.0f s; their rows will be re-claimed", grace)
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            finally:
                if held:
                    self._drain_lock.release()
            self._task = None

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while await self.drain():
                    pass
            except Exception:
                log.exception("outbox drain failed; will retry on the next wake")

    async def drain(self, limit: int = 200) -> int:
        """Send what is due now; returns how many rows this call claimed."""
        async with self._drain_lock:
            claimed = await self._claim(limit)
            if not claimed:
                return 0
            groups: dict[tuple, list] = defaultdict(list)
            for row in claimed:
                groups[(row[1].workspace_external_id, row[1].target_id)].append(row)
            marks = _SentMarks(self.db, self.clock)
            try:
                await asyncio.gather(*(self._send_group(g, marks) for g in groups.values()))
            finally:
                await marks.written()
            return len(claimed)

    async def _claim(self, limit: int) -> list[tuple[int, Envelope, str, int]]:
        async with self.db.transaction() as s:
            rows = await repo.claim_due(s, self.clock(), self.instance, limit, LEASE)
        return [
            (row_id, Envelope(external_id, conversation or "", kind, target, payload), platform, attempts)
            for row_id, attempts, kind, target, payload, platform, external_id, conversation in rows
        ]

    async def _send_group(self, rows: list[tuple[int, Envelope, str, int]], marks: _SentMarks) -> None:
        async with self._sem:
            for row_id, env, platform, attempts in rows:  # in order, one target at a time
                await self._send_one(row_id, env, platform, attempts, marks)

    async def _send_one(self, row_id: int, env: Envelope, platform: str, attempts: int, marks: _SentMarks) -> None:
        delivery = self.deliveries.get(platform)
        try:
            if delivery is None:
                raise SendError(f"{platform} is not configured on this server", permanent=True)
            result = await delivery.deliver(env)
        except Exception as e:  # every failure is recorded, none is lost
            retry_after = e.retry_after if isinstance(e, SendError) else None
            permanent = isinstance(e, SendError) and e.permanent
            await self._record_failure(row_id, attempts + 1, f"{type(e).__name__}: {e}", retry_after, permanent)
            return
        marks.add(row_id, result or {})

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
