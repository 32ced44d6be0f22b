"""App manifests: Slack's (YAML, one paste to install) and the Teams app package (zip)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import yaml

from bot.faces.slack.face import COMMAND

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


def slack_manifest(base_url: str) -> str:
    events = base_url.rstrip("/") + "/slack/events"
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
                    "usage_hint": 'help | usecase propose "TITLE" | usecase list',
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
                "bot_events": [
                    "app_home_opened",
                    "app_uninstalled",
                    "tokens_revoked",
                    "member_left_channel",  # flags people who left (their RACI roles need a new owner)
                    "member_joined_channel",
                    "message.im",
                    "app_mention",
                ],
            },
            "interactivity": {"is_enabled": True, "request_url": events},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }
    return yaml.safe_dump(manifest, sort_keys=False)


def teams_manifest(app_id: str, url: str) -> dict:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return {
        "$schema": "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json",
        "manifestVersion": "1.17",
        "version": "1.0.0",
        "id": app_id,
        "developer": {
            "name": "Alignbot",
            "websiteUrl": url,
            "privacyUrl": url.rstrip("/") + "/privacy",
            "termsOfUseUrl": url.rstrip("/") + "/terms",
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
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": ["personal", "team", "groupChat"],
                        "commands": [
                            {"title": "help", "description": "List the commands"},
                            {"title": "usecase propose", "description": "Propose a use case"},
                            {"title": "usecase list", "description": "List the use cases"},
                        ],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host],
    }


def write_teams_package(out: Path, *, app_id: str, url: str) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(teams_manifest(app_id, url), indent=2))
        z.write(ASSETS / "color.png", "color.png")
        z.write(ASSETS / "outline.png", "outline.png")
