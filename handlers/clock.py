"""The app's one source of "now".

Everything that asks what time it is (handlers, schedules, rules' callers, rendering, the faces)
reads the clock the app factory was given, so a test sets the time instead of racing the calendar.
The timer (APScheduler) alone runs on the machine's clock: it is told how long to wait, never when.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def running_from(start: datetime, *, elapsed: Callable[[], float] = time.monotonic) -> Clock:
    """A clock that reads `start` now and then runs on at the machine's pace: timers, leases and
    deadlines behave as in real time, on the calendar day a test chose."""
    origin = elapsed()
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    start = start.astimezone(UTC)
    return lambda: start + timedelta(seconds=elapsed() - origin)
