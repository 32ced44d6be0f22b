"""The timer only wakes: a wake that finds its job still busy is skipped without a word at the
console prompt (APScheduler itself would print a WARNING for it)."""

from __future__ import annotations

import asyncio
import logging

from schedules.timer import Timer


class Signal(logging.Handler):
    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


async def test_a_wake_while_the_last_run_is_busy_is_skipped_quietly(caplog):
    caplog.set_level(logging.DEBUG)
    skipped = Signal("is still running; this wake is skipped")
    logging.getLogger("schedules.timer").addHandler(skipped)
    timer = Timer()
    timer.start()
    started, release, runs = asyncio.Event(), asyncio.Event(), []

    async def slow() -> None:
        runs.append(1)
        started.set()
        await release.wait()

    try:
        timer.every("slow", 0.02, slow)
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.wait_for(skipped.seen.wait(), 10)
        assert runs == [1]
        release.set()
    finally:
        logging.getLogger("schedules.timer").removeHandler(skipped)
        await timer.shutdown()
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("apscheduler")]
    assert loud == []
