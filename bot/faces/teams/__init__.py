"""Microsoft Teams: Bot Framework activities on /api/messages, Adaptive Cards (botbuilder)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.faces.platform import Platform, Wiring
from bot.faces.teams import settings

if TYPE_CHECKING:
    from bot.faces.teams.face import TeamsFace


def from_settings(wiring: Wiring) -> TeamsFace | None:
    """On with an app id; without one only with `serve --dev` (an open endpoint otherwise)."""
    s = wiring.settings
    if not s.teams_enabled:
        return None
    from bot.faces.teams.face import TeamsFace  # botbuilder only when Teams is on

    return TeamsFace(
        wiring.core,
        wiring.db,
        app_id=s.teams_app_id,
        app_password=s.teams_app_password,
        tenant_id=s.teams_app_tenant_id,
        openid_metadata_url=s.teams_openid_metadata_url,
    )


PLATFORM = Platform(
    "teams",
    from_settings,
    path_prefixes=("/api/messages",),
    timed=True,
    secrets=settings.secrets,
    unsafe_reasons=settings.unsafe_reasons,
)
