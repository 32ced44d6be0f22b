"""The suite's "now": every app a test builds runs on a clock the test set, never the calendar.

In-process apps get `test_now=SUITE_NOW` from `make_settings` (or a clock of their own); the
console and `serve` subprocesses get it as ALIGNBOT_TEST_NOW. A test that needs another day says
so; a test asserting a date is then true on any day the suite runs.
"""

from __future__ import annotations

from datetime import UTC, datetime

SUITE_NOW = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # a Monday, before every date the tests write
SUITE_NOW_ENV = {"ALIGNBOT_TEST_NOW": SUITE_NOW.isoformat()}
