"""Group commit for a burst of deliveries of one kind.

At the end of a workshop a thousand people click a poll's buttons within seconds. One
transaction per click spends most of its time on statements every click repeats (scope, the
poll, its options, BEGIN and COMMIT). Here the first click of a quiet spell is written at once,
alone; the clicks that arrive while it is being written wait and are written together, in one
transaction. Nobody waits for a timer, and a burst costs a few statements per batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batches(Generic[T, R]):
    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]], *, max_size: int) -> None:
        self._run = run
        self._max_size = max_size
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """The result for `item`, once the batch that carried it is written."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write())
        return await future

    async def _write(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch = self._waiting[: self._max_size]
                del self._waiting[: self._max_size]
                results: Sequence[R | Exception]
                try:
                    results = await self._run([item for item, _ in batch])
                except Exception as e:  # `run` answers each item itself: this is a bug, not a refusal
                    results = [e] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # its submitter was cancelled meanwhile
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._writer = None
            for _, future in batch + self._waiting:  # cancelled (shutdown): nobody waits forever
                future.cancel()
            self._waiting.clear()
