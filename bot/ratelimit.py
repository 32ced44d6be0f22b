"""Token buckets per destination, so the bot stays under each platform's posting limits.

Each platform sets its rate in its own folder (`bot/faces/slack/settings.py`: about one message
per second per channel; `bot/faces/teams/settings.py`: seven sends per second per conversation).
Waiting here is `asyncio.sleep`: other requests keep being served while one channel's messages
queue.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass
class _Bucket:
    tokens: float
    updated: float
    lock: asyncio.Lock


class TokenBuckets:
    """`rate` tokens per second per key, at most `burst` saved up."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    async def acquire(self, key: str) -> float:
        """Take one token for `key`, waiting as long as needed; returns the seconds waited."""
        b = self._bucket(key)
        waited = 0.0
        async with b.lock:  # one waiter per key at a time keeps the order of a channel's messages
            while True:
                self._refill(b)
                if b.tokens >= 1:
                    b.tokens -= 1
                    return waited
                pause = (1 - b.tokens) / self.rate
                waited += pause
                await asyncio.sleep(pause)

    def _bucket(self, key: str) -> _Bucket:
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full()
            b = self._buckets[key] = _Bucket(self.burst, self.clock(), asyncio.Lock())
        return b

    def _refill(self, b: _Bucket) -> None:
        now = self.clock()
        b.tokens = min(self.burst, b.tokens + (now - b.updated) * self.rate)
        b.updated = now

    def _forget_full(self) -> None:
        """A full, idle bucket is the same as no bucket: drop those to bound memory."""
        for key, b in list(self._buckets.items()):
            self._refill(b)
            if b.tokens >= self.burst and not b.lock.locked():
                del self._buckets[key]


RETRYABLE_TEAMS = frozenset({412, 429, 502, 503, 504})


def backoff_delay(
    attempt: int, *, base: float = 0.5, cap: float = 8.0, jitter: Callable[[], float] | None = None
) -> float:
    """Exponential back-off with full jitter: attempt 1 waits up to `base`, doubling up to `cap`."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return ceiling * (jitter or random.random)()


def retry_after(headers: object, *, cap: float = 60.0) -> float | None:
    """The Retry-After header in seconds (only the delta-seconds form; a date falls back to back-off)."""
    get = getattr(headers, "get", None)
    raw = get("Retry-After") if get else None
    try:
        return min(cap, max(0.0, float(raw))) if raw is not None else None
    except (TypeError, ValueError):
        return None


async def with_retries(
    send: Callable[[], Awaitable[T]],
    *,
    status_of: Callable[[BaseException], tuple[int | None, object]],
    retryable: frozenset[int] = RETRYABLE_TEAMS,
    attempts: int = 4,
    cap: float = 8.0,
) -> T:
    """Run `send`, retrying the statuses a platform uses for "later" (throttled, busy, gateway).

    `status_of` reads (HTTP status, response headers) from an exception. Waits honour Retry-After
    when given, else bounded exponential back-off with jitter; the last failure is re-raised.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await send()
        except Exception as e:
            status, headers = status_of(e)
            if status not in retryable or attempt == attempts:
                raise
            wait = retry_after(headers)
            await asyncio.sleep(wait if wait is not None else backoff_delay(attempt, cap=cap))
    raise AssertionError("unreachable")
