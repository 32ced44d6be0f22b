"""What the workers that queue messages for initiatives (reminders, digests, the poll clock) are
given: one definition, so a new worker takes the same arguments and a new argument reaches all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime

from storage.db import Database


@dataclass(eq=False)
class QueueingWorker:
    db: Database
    _: KW_ONLY
    instance: str  # this replica's name: it signs the claims
    clock: Callable[[], datetime]
    default_timezone: str = "UTC"  # for an initiative that has not set its own
    on_queued: Callable[[], None] = lambda: None  # wakes the outbox after a commit that queued messages
