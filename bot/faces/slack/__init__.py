"""Slack: slash command, Events API, interactivity, Home tab and the OAuth install (slack_bolt)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.faces.platform import Platform, Wiring
from bot.faces.slack import settings

if TYPE_CHECKING:
    from bot.faces.slack.face import SlackFace


def from_settings(wiring: Wiring) -> SlackFace | None:
    """On with a bot token (or the OAuth install's client id and secret) and the signing secret."""
    s = wiring.settings
    if not s.slack_enabled:
        return None
    from bot.faces.slack.face import SlackFace, web_client  # slack_bolt only when Slack is on

    installs = None
    if s.slack_oauth_enabled:
        from bot.faces.slack.oauth import SlackInstalls
        from bot.manifest import BOT_SCOPES

        installs = SlackInstalls(
            wiring.db.engine,
            client_id=s.slack_client_id,
            client_secret=s.slack_client_secret,
            scopes=[scope.strip() for scope in s.slack_scopes.split(",") if scope.strip()] or BOT_SCOPES,
            api_client=web_client(None, s.slack_api_url),
        )
    return SlackFace(
        wiring.core,
        token=s.slack_bot_token,
        signing_secret=s.slack_signing_secret,
        api_url=s.slack_api_url,
        installs=installs,
        inbox=wiring.inbox,
        purge_on_uninstall=s.purge_on_uninstall,
        admins_are_facilitators=s.slack_admins_are_facilitators,
    )


PLATFORM = Platform(
    "slack",
    from_settings,
    path_prefixes=("/slack/",),
    timed=True,
    secrets=settings.secrets,
    unsafe_reasons=settings.unsafe_reasons,
)
