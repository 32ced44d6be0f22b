"""App manifests: Slack's (YAML, one paste to install) and the Teams app package (zip).

The commands people see in each app's own menu (Teams' command list, the slash command's usage
hint) are the registry's `menu=True` commands, so a renamed or added command cannot drift."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.faces.slack.face import COMMAND
from handlers.registry import Registry

ASSETS = Path(__file__).parent / "assets"
BOT_SCOPES = [
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    "files:write",
    "channels:read",
    "groups:read",
    "im:history",  # message.im: a DM to the bot is a command
    "app_mentions:read",  # app_mention: @Alignbot in a channel is a command
]
BOT_EVENTS = [
    "app_home_opened",
    "app_uninstalled",
    "tokens_revoked",
    "member_left_channel",  # flags people who left (their RACI roles need a new owner)
    "member_joined_channel",
    "message.im",
    "app_mention",
]


class ManifestError(ValueError):
    """An argument the platform would refuse the manifest for, said for the person typing it."""


def check_url(url: str) -> str:
    """Both platforms call the bot over HTTPS at a real host name."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ManifestError(
            f"--url must be an https:// address with a host name (got {url!r}), e.g. https://bot.example.com"
        )
    return url


def check_app_id(app_id: str) -> str:
    """Teams app and bot ids are GUIDs (the Azure bot registration's Microsoft App ID)."""
    try:
        uuid.UUID(app_id)
    except (ValueError, TypeError, AttributeError):
        raise ManifestError(
            f"--app-id must be the bot's Microsoft App ID, a GUID such as 00000000-0000-0000-0000-000000000000 "
            f"(got {app_id!r})"
        ) from None
    if len(app_id) != 36:
        raise ManifestError(f"--app-id must be written as 8-4-4-4-12 hex digits (got {app_id!r})")
    return app_id


def slack_manifest(base_url: str, registry: Registry) -> str:
    events = check_url(base_url).rstrip("/") + "/slack/events"
    manifest = {
        "display_information": {
            "name": "Alignbot",
            "description": "Use cases, KPIs, risks, votes, RACI and reminders for your data-platform assessment",
        },
        "features": {
            "bot_user": {"display_name": "alignbot", "always_online": True},
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": True},
            "slash_commands": [
                {
                    "command": COMMAND,
                    "url": events,
                    "description": "Alignbot: type /align help",
                    "usage_hint": " | ".join(spec.name for spec in registry.menu()),
                    "should_escape": True,
                }
            ],
            "shortcuts": [
                {
                    "name": "Propose as use case",
                    "type": "message",
                    "callback_id": "propose_use_case",
                    "description": "Open the use-case form with this message as the description",
                }
            ],
        },
        "oauth_config": {
            "redirect_urls": [base_url.rstrip("/") + "/slack/oauth_redirect"],  # the multi-workspace install
            "scopes": {"bot": BOT_SCOPES},
        },
        "settings": {
            "event_subscriptions": {
                "request_url": events,
                "bot_events": BOT_EVENTS,
            },
            "interactivity": {"is_enabled": True, "request_url": events},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }
    return yaml.safe_dump(manifest, sort_keys=False)


def teams_manifest(app_id: str, url: str, registry: Registry, *, privacy_url: str = "", terms_url: str = "") -> dict:
    """The app package's manifest; the privacy and terms pages are `serve`'s own unless given."""
    check_app_id(app_id)
    host = urlsplit(check_url(url)).netloc
    return {
        "$schema": "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json",
        "manifestVersion": "1.17",
        "version": "1.0.0",
        "id": app_id,
        "developer": {
            "name": "Alignbot",
            "websiteUrl": url,
            "privacyUrl": check_url(privacy_url) if privacy_url else url.rstrip("/") + "/privacy",
            "termsOfUseUrl": check_url(terms_url) if terms_url else url.rstrip("/") + "/terms",
        },
        "name": {"short": "Alignbot", "full": "Alignbot: stakeholder alignment"},
        "description": {
            "short": "Use cases, KPIs, risks, votes, RACI and reminders",
            "full": "Runs the stakeholder-alignment work of a data-platform assessment: propose use cases, "
            "suggest KPIs, report risks, vote, take RACI roles and get milestone reminders.",
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#1F6FEB",
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team", "groupChat"],
                "supportsFiles": True,  # file-consent cards (exports) need it
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": ["personal", "team", "groupChat"],
                        "commands": [{"title": s.name, "description": s.summary} for s in registry.menu()],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host],
    }


def write_teams_package(
    out: Path, registry: Registry, *, app_id: str, url: str, privacy_url: str = "", terms_url: str = ""
) -> None:
    manifest = teams_manifest(app_id, url, registry, privacy_url=privacy_url, terms_url=terms_url)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=2))
        z.write(ASSETS / "color.png", "color.png")
        z.write(ASSETS / "outline.png", "outline.png")
