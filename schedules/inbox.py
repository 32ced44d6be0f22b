"""The inbox: deliveries acked before their work could finish, kept so that no ack precedes
durability.

A face that cannot finish a delivery within the platform's ack budget calls `hold` (one INSERT in
a transaction of its own, which on PostgreSQL does not queue behind the slow ones) and acks only
once it is written; then it goes on working the delivery itself and calls `done`, which deletes
the row. While it works, a heartbeat renews the row's short lease. A row whose lease runs out (the
process died, or stalled past the lease) is taken over by any replica's sweep, through the same
conditional update as reminders, and worked again by its face's `resume`: the delivery key makes
the effect happen once whoever finishes, and the reply, if it was meant for everyone, left with
the effect through the outbox. Rows are deleted once worked, so the raw delivery (a voter's
choice included) lives only while it is in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from handlers.messages import Incoming, incoming_to_json
from storage.db import Database
from storage.repos import inbox as repo

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=10)
MAX_ATTEMPTS = 5
SWEEP_JOB = "inbox-sweep"
HEARTBEAT_JOB = "inbox-heartbeat"


def wall_clock() -> datetime:
    """Leases measure whether a process is alive, so they run on the wall clock, never on a
    clock a test or a replay set."""
    return datetime.now(UTC)


class Resumer(Protocol):
    async def resume(self, incoming: dict[str, Any], route: dict[str, Any]) -> bool:
        """Work a held delivery again; False when it failed on our side (try again later)."""
        ...


class Inbox:
    def __init__(
        self,
        db: Database,
        *,
        instance: str,
        lease: timedelta = LEASE,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.db = db
        self.instance = instance
        self.lease = lease
        self.clock = clock
        self.resumers: dict[str, Resumer] = {}
        self._held: set[int] = set()
        self._sweeping = asyncio.Lock()
        self._waiting: list[tuple[str, str, dict[str, Any], asyncio.Future[int | None]]] = []
        self._writer: asyncio.Task | None = None
        self._resuming: set[asyncio.Task] = set()

    async def hold(self, platform: str, incoming: Incoming, route: dict[str, Any]) -> int | None:
        """Write the delivery, claimed by this process; its id, or None when a twin already holds
        its key (Slack retried an event while its first delivery was held). Raises when the
        database cannot take the row: then the face must not ack.

        Deliveries arriving together are written together (one INSERT while the previous one
        runs), so a burst of slow clicks needs a connection or two, not one each."""
        if not incoming.delivery_key:
            raise ValueError("a delivery without a key cannot be held (nothing would de-duplicate its retry)")
        written: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        payload = {"incoming": incoming_to_json(incoming), "route": route}
        self._waiting.append((incoming.delivery_key, platform, payload, written))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="inbox-hold")
        return await asyncio.shield(written)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self.db.aside() as s:
                    ids = await repo.hold_many(
                        s, [(key, platform, payload) for key, platform, payload, _ in batch],
                        self.instance, self.clock(), self.lease,
                    )  # fmt: skip
            except Exception as e:
                for *_, written in batch:
                    if not written.done():
                        written.set_exception(e)
                continue
            for key, _, _, written in batch:
                row_id = ids.get(key)
                if row_id is not None:
                    self._held.add(row_id)
                if not written.done():
                    written.set_result(row_id)

    async def done(self, row_id: int) -> None:
        """The delivery was worked and answered: forget it."""
        self._held.discard(row_id)
        async with self.db.aside() as s:
            await repo.forget(s, row_id)

    async def again(self, row_id: int) -> None:
        """Working it failed on our side: hand it back now, so the next sweep tries again."""
        self._held.discard(row_id)
        async with self.db.aside() as s:
            await repo.release(s, row_id, self.instance)

    async def heartbeat(self) -> None:
        """Renew the leases of the rows this process works, so nobody takes them over."""
        if not self._held:
            return
        try:
            async with self.db.aside() as s:
                await repo.renew(s, list(self._held), self.instance, self.clock() + self.lease)
        except Exception as e:
            log.warning("inbox: could not renew %d lease(s): %s: %s", len(self._held), type(e).__name__, e)

    async def sweep(self, limit: int = 50) -> int:
        """Take over the rows whose worker died and start working them (each in a task, so a slow
        one never holds up the timer); returns how many were taken."""
        if self._sweeping.locked():
            return 0
        async with self._sweeping:
            async with self.db.aside() as s:
                rows = await repo.take_over(s, self.clock(), self.instance, self.lease, limit, MAX_ATTEMPTS)
            for row in rows:
                self._held.add(row[0])
                task = asyncio.create_task(self._resume(*row), name="inbox-resume")
                self._resuming.add(task)
                task.add_done_callback(self._resuming.discard)
            return len(rows)

    async def stop(self, grace: float) -> None:
        """Let deliveries being resumed finish (SIGTERM); what is left is taken over after its lease."""
        if self._resuming:
            await asyncio.wait(set(self._resuming), timeout=grace)

    async def _resume(self, row_id: int, platform: str, payload: dict[str, Any]) -> None:
        resumer = self.resumers.get(platform)
        try:
            if resumer is None:
                raise RuntimeError(f"{platform} is not configured on this server")
            worked = await resumer.resume(payload["incoming"], payload.get("route") or {})
        except Exception:
            log.exception("inbox: resuming delivery %s failed; it is retried after its lease", row_id)
            self._held.discard(row_id)
            return
        if worked:
            await self.done(row_id)
        else:
            await self.again(row_id)

    async def tick(self) -> None:
        try:
            while await self.sweep():
                pass
        except Exception as e:
            log.warning("inbox sweep failed: %s: %s", type(e).__name__, e)

    def attach(self, timer) -> None:
        seconds = max(1.0, self.lease.total_seconds() / 3)
        timer.every(HEARTBEAT_JOB, seconds, self.heartbeat)
        timer.every(SWEEP_JOB, seconds, self.tick)
