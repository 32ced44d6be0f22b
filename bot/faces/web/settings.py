"""The web face's one setting, read from the environment the Settings came from (`Settings.env`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

ENABLE = "ALIGNBOT_WEB_API"


def enabled(settings: Settings) -> bool:
    """Off unless asked for: a JSON endpoint is one more door, even if only tokens open it."""
    return (settings.env.get(ENABLE) or "").strip().lower() in ("1", "true", "yes", "on")
