"""The web face: commands as JSON over HTTP, authenticated by a per-initiative token (scripts, tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.faces.platform import Platform, Wiring
from bot.faces.web import settings

if TYPE_CHECKING:
    from bot.faces.web.face import WebFace


def from_settings(wiring: Wiring) -> WebFace | None:
    """On with ALIGNBOT_WEB_API=on."""
    if not settings.enabled(wiring.settings):
        return None
    from bot.faces.web.face import WebFace  # aiohttp only when it is on (the console starts without it)

    return WebFace(wiring.core, wiring.db)


PLATFORM = Platform("web", from_settings, path_prefixes=("/api/web/",), commands=("bot.faces.web.commands",))
