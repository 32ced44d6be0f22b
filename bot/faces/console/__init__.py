"""The console: `alignbot console` in a terminal or through a pipe; its printer shows what the
outbox sends to console conversations."""

from __future__ import annotations

import sys

from bot.faces.platform import Face, Platform, Wiring


def from_settings(wiring: Wiring) -> Face:
    """Always on: it needs nothing, and listens on no port."""
    from bot.faces.console.face import ConsoleDelivery

    return ConsoleDelivery(wiring.console_out or sys.stdout, wiring.clock)


PLATFORM = Platform("console", from_settings)
