"""Teams' side of the settings: when the face is on, what `serve` refuses, what logs never show,
and how fast the bot may send.

The values themselves stay fields of `bot.settings.Settings` (TEAMS_* variables), which tests set
directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.ratelimit import TokenBuckets
    from bot.settings import Settings


def secrets(settings: Settings) -> Iterable[str]:
    return (settings.teams_app_password,)


def unsafe_reasons(settings: Settings) -> list[str]:
    if not settings.teams_app_id and not settings.dev and (settings.teams_app_password or settings.teams_app_tenant_id):
        return [
            "TEAMS_APP_PASSWORD or TEAMS_APP_TENANT_ID is set but TEAMS_APP_ID is not: without an app id "
            "nobody can check that requests come from Microsoft. Set TEAMS_APP_ID to the bot's Microsoft app "
            "id (Azure Bot > Configuration), or use `serve --dev` on a developer machine only."
        ]
    return []


def conversation_buckets() -> TokenBuckets:
    """Teams throttles above seven sends per second per conversation."""
    from bot.ratelimit import TokenBuckets

    return TokenBuckets(rate=7.0, burst=7)
