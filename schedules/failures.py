"""A timer job that fails every time it runs (the database is down) says so once, then at most
once a minute with a count, and backs off, instead of a traceback every second."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class QuietFailures:
    def __init__(
        self,
        what: str,
        logger: logging.Logger,
        *,
        every: float = 60.0,
        max_pause: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.log = logger
        self.every = every
        self.max_pause = max_pause
        self.clock = clock
        self.failures = 0  # since the last success
        self.unreported = 0
        self._last_report = float("-inf")
        self._resume_at = float("-inf")

    def waiting(self) -> bool:
        """True while backing off: the job should not even try."""
        return self.clock() < self._resume_at

    def failed(self, error: BaseException) -> None:
        now = self.clock()
        self.failures += 1
        self.unreported += 1
        self._resume_at = now + min(self.max_pause, 2.0 ** min(self.failures, 16))
        if self.failures == 1 or now - self._last_report >= self.every:
            self.log.error(
                "%s failed (%d time%s since it last worked): %s: %s",
                self.what,
                self.unreported,
                "" if self.unreported == 1 else "s",
                type(error).__name__,
                str(error).splitlines()[0][:300] if str(error) else "",
            )
            self._last_report, self.unreported = now, 0

    def worked(self) -> None:
        if self.failures:
            self.log.warning("%s works again after %d failure(s)", self.what, self.failures)
        self.failures = self.unreported = 0
        self._resume_at = float("-inf")
