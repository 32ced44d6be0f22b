"""What a platform is to the rest of the bot: a `Platform` registered once, building one `Face`.

Like bolt-python's and botbuilder's adapters, a face only translates between its platform and the
neutral messages of handlers/; the app factory, the server, the CLI, the metrics and `serve`'s
checks of the settings loop over the registered platforms (`bot/faces/__init__.py`) instead of
naming them. A platform's package `__init__` holds its `Platform` and must stay cheap to import:
its SDK is imported only when `from_settings` turns the face on (the console starts without
aiohttp or slack_bolt).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from schedules.outbox import SendError

if TYPE_CHECKING:
    from aiohttp import web

    from bot.settings import Settings
    from handlers.clock import Clock
    from handlers.core import Core
    from schedules.inbox import Inbox
    from schedules.outbox import Envelope
    from storage.db import Database

Roster = Callable[[str, str], Awaitable[list[str]]]


@dataclass(frozen=True)
class Wiring:
    """What the app factory hands every face it builds."""

    settings: Settings
    core: Core
    db: Database
    clock: Clock
    inbox: Inbox  # where a face holds a delivery it acked before working it (Slack's 3 s)
    console_out: TextIO | None = None


class Face:
    """One platform's face. The defaults suit a face that only answers requests."""

    name = ""
    # `serve` lists it under "platforms on:" (a face that receives requests, not the console's printer).
    listens = True
    # Who is in a conversation (poll reminders to non-voters); None: the platform cannot tell.
    roster: Roster | None = None

    def routes(self) -> list[web.RouteDef]:
        """The aiohttp routes of this platform's endpoints, mounted by `serve`."""
        return []

    async def deliver(self, envelope: Envelope) -> dict[str, Any]:
        """Send what the outbox holds for this platform."""
        raise SendError(f"{self.name} cannot send messages on its own", permanent=True)

    async def open(self) -> None:
        """Before the first request (connections, sessions)."""

    async def finish_in_flight(self, grace: float) -> None:
        """On shutdown, before the outbox stops: let answers already acked go out."""

    async def close(self) -> None:
        """After the outbox has stopped."""


def no_reasons(_settings: Settings) -> list[str]:
    return []


def no_secrets(_settings: Settings) -> Iterable[str]:
    return ()


@dataclass(frozen=True)
class Platform:
    """The registration of a platform: its name, how it turns on, and what the app asks of it.

    `from_settings` returns None when the settings leave the platform off. `commands` names
    modules whose `@command` records join the registry when the face is on (a platform's own
    commands, such as the web face's `web token`). `timed` platforms have an answer deadline
    (Slack's 3 s), so their answer times go into the ack-latency histogram; requests whose path
    starts with one of `path_prefixes` are counted under the platform's name.
    """

    name: str
    from_settings: Callable[[Wiring], Face | None]
    path_prefixes: tuple[str, ...] = ()
    timed: bool = False
    commands: tuple[str, ...] = ()
    secrets: Callable[[Settings], Iterable[str]] = no_secrets
    unsafe_reasons: Callable[[Settings], list[str]] = no_reasons
