"""APScheduler 3.11 as the process's alarm clock, and nothing more.

Jobs hold no state worth keeping: each one wakes a loop that asks the database what is due and
claims it. So a restart loses nothing, and a job that fires on two replicas sends once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    # A timer that was late (busy loop, suspended laptop) fires once, not once per missed period;
    # the database sweep catches up on whatever the missed runs would have found.
    "coalesce": True,
    # A wake that comes while the last run of its job is still busy returns at once (see _tracked):
    # APScheduler would refuse it itself, but with a WARNING printed at the console prompt.
    "max_instances": 2,
    "misfire_grace_time": 60,
}


class Timer:
    def __init__(self) -> None:
        self.scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
        self._running: set[asyncio.Task] = set()

    def start(self) -> None:
        if not self.scheduler.running:
            self.scheduler.start()

    async def shutdown(self, grace: float = 10.0) -> None:
        """Let jobs already running finish (up to `grace` seconds) before stopping: cancelling one
        midway would leave its claim to the lease and log a CancelledError traceback."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        if self._running:
            await asyncio.wait(list(self._running), timeout=grace)
        self.scheduler.shutdown(wait=False)

    def every(self, job_id: str, seconds: float, func: Callable[[], Awaitable[object]]) -> None:
        self.scheduler.add_job(self._tracked(func), "interval", seconds=seconds, id=job_id, replace_existing=True)

    def after(self, job_id: str, wait: timedelta, func: Callable[[], Awaitable[object]]) -> None:
        """Fire once after `wait`; an earlier wake for the same id is replaced. A wait, not a time:
        the app's clock may be set to another day than the machine's, which APScheduler runs on."""
        self.scheduler.add_job(
            self._tracked(func), "date", run_date=datetime.now(UTC) + wait, id=job_id, replace_existing=True
        )

    def _tracked(self, func: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        busy = False

        async def run() -> None:
            nonlocal busy
            if busy:
                log.debug("%s is still running; this wake is skipped", run.__qualname__)
                return
            busy = True
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await func()
            finally:
                busy = False
                self._running.discard(task)

        run.__qualname__ = getattr(func, "__qualname__", "job")
        return run

    def cancel(self, job_id: str) -> None:
        if self.scheduler.get_job(job_id):
            self.scheduler.remove_job(job_id)

    @property
    def running(self) -> bool:
        return self.scheduler.running
