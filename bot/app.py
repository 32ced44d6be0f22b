"""The one factory: builds storage, core, outbox, timer and faces from settings and wires them.

Nothing here is global: tests build as many apps as they like, each with its own database,
clock and fake platform URLs.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from bot.faces import FACES
from bot.faces.platform import Face, Wiring
from bot.pdf import find_chromium
from bot.settings import Settings
from handlers.clock import Clock, running_from, utc_now
from handlers.context import CoreConfig
from handlers.core import Core
from handlers.registry import Registry
from schedules.digests import DigestScheduler
from schedules.inbox import Inbox
from schedules.outbox import Delivery, OutboxSender
from schedules.polls import PollClock
from schedules.reminders import ReminderSender
from schedules.timer import Timer
from schedules.worker import QueueingWorker
from storage import migrate
from storage.db import Database
from storage.repos import record

if TYPE_CHECKING:
    from aiohttp import web  # serve only; the console never builds the web app

log = logging.getLogger(__name__)

OUTBOX_SWEEP_SECONDS = 5
DELIVERY_PURGE_SECONDS = 600
PLATFORM_NAMES = frozenset(platform.name for platform in FACES)
W = TypeVar("W", bound=QueueingWorker)


class Alignbot:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        console_out: TextIO | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock = clock or app_clock(settings)
        self.db = Database(settings.database_url)
        self.registry = Registry.discover()
        self._heads: set[str] | None = None
        self.timer = Timer()
        self.deliveries: dict[str, Delivery] = {}
        lease = timedelta(seconds=settings.lease_seconds)
        self.inbox = Inbox(self.db, instance=settings.instance, lease=lease)
        self.outbox = OutboxSender(self.db, self.deliveries, instance=settings.instance, clock=clock, lease=lease)
        self.reminders = self._worker(ReminderSender, grace=timedelta(hours=settings.reminder_grace_hours))
        self.digests = self._worker(DigestScheduler)
        self._background: set[asyncio.Task] = set()
        self.core = Core(
            self.db,
            self.registry,
            core_config(settings),
            clock=clock,
            on_queued=self.outbox.wake,
            on_timers_changed=self._rearm_reminders,
        )
        self.faces = self._faces_turned_on(Wiring(settings, self.core, self.db, clock, self.inbox, console_out))
        self.deliveries.update(self.faces)
        self.inbox.resumers.update({name: face for name, face in self.faces.items() if hasattr(face, "resume")})
        self.polls = self._worker(
            PollClock, rosters={name: face.roster for name, face in self.faces.items() if face.roster is not None}
        )

    def _worker(self, kind: type[W], **own: Any) -> W:
        """A worker that queues messages, with this app's database, instance name, clock and zone;
        it wakes the outbox after each commit that queued something."""
        settings = self.settings
        return kind(
            self.db,
            instance=settings.instance,
            clock=self.clock,
            default_timezone=settings.timezone,
            on_queued=self.outbox.wake,
            **own,
        )

    def _faces_turned_on(self, wiring: Wiring) -> dict[str, Face]:
        """Every registered platform the settings turn on (the console's printer always is), by
        name; their commands join the registry."""
        faces: dict[str, Face] = {}
        for platform in FACES:
            face = platform.from_settings(wiring)
            if face is not None:
                faces[platform.name] = face
                for module in platform.commands:
                    self.registry.add_module(importlib.import_module(module))
        return faces

    async def start(self, *, migrate_db: bool = True) -> None:
        if migrate_db:
            await migrate.upgrade(self.settings.database_url)
        for face in self.faces.values():
            await face.open()
        self.timer.start()
        self.timer.every("outbox-sweep", OUTBOX_SWEEP_SECONDS, self._sweep)
        self.timer.every("outbox-heartbeat", max(1.0, self.settings.lease_seconds / 3), self.outbox.heartbeat)
        self.timer.every("delivery-purge", DELIVERY_PURGE_SECONDS, self.purge_deliveries)
        self.outbox.start()
        self.outbox.wake()
        self.reminders.attach(self.timer)
        self.digests.attach(self.timer)
        self.polls.attach(self.timer)
        self.inbox.attach(self.timer)
        await self.inbox.tick()  # deliveries acked by a process that died before working them
        await self.reminders.tick()  # what fell due while we were down: late within the grace, else missed

    def _rearm_reminders(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reminders.arm())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _sweep(self) -> None:
        self.outbox.wake()

    async def purge_deliveries(self) -> int:
        """Forget deliveries older than the retention (never under an hour: Slack retries for minutes)."""
        hours = max(1.0, getattr(self.settings, "delivery_retention_hours", 24.0))
        async with self.db.transaction() as s:
            return await record.forget_deliveries_before(s, self.clock() - timedelta(hours=hours))

    async def migration_heads(self) -> set[str]:
        if self._heads is None:
            self._heads = await asyncio.to_thread(migrate.heads)
        return self._heads

    async def stop(self) -> None:
        """Graceful: answers already acked are posted and sends under way finish before closing."""
        grace = getattr(self.settings, "shutdown_seconds", 30.0)
        for face in self.faces.values():
            await face.finish_in_flight(grace)
        await self.inbox.stop(grace)
        await self.polls.stop()
        await self.timer.shutdown()
        await self.outbox.stop(grace)
        for face in self.faces.values():
            await face.close()
        await self.db.dispose()

    def __getattr__(self, name: str) -> Face | None:
        """`app.slack`, `app.teams`, ...: the face of a registered platform, None when it is off."""
        if name in PLATFORM_NAMES:
            return self.__dict__.get("faces", {}).get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def web_app(self) -> web.Application:
        from bot.server import build_web_app

        return build_web_app(self)


def core_config(settings: Settings) -> CoreConfig:
    return CoreConfig(
        timezone=settings.timezone,
        ballot_secret=settings.secret,
        max_items_per_kind=settings.max_items_per_kind,
        workspace_admins_are_facilitators=settings.slack_admins_are_facilitators,
        prints_pdf=find_chromium() is not None,
    )


def app_clock(settings: Settings) -> Clock:
    """The wall clock, or in tests the one ALIGNBOT_TEST_NOW sets."""
    return running_from(settings.test_now) if settings.test_now else utc_now


def create_app(settings: Settings, **kwargs) -> Alignbot:
    return Alignbot(settings, **kwargs)
