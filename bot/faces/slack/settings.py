"""Slack's side of the settings: when the face is on, what `serve` refuses, what logs never show,
and how fast the bot may post.

The values themselves stay fields of `bot.settings.Settings` (SLACK_* variables), which tests and
the console set directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.ratelimit import TokenBuckets
    from bot.settings import Settings


def secrets(settings: Settings) -> Iterable[str]:
    return (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token,
            settings.slack_client_secret)  # fmt: skip


def unsafe_reasons(settings: Settings) -> list[str]:
    problems = []
    if settings.slack_bot_token and not settings.slack_signing_secret:
        problems.append(
            "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: without it nobody can tell Slack's "
            "requests from forged ones. Copy the signing secret from the Slack app's Basic Information page."
        )
    if bool(settings.slack_client_id) != bool(settings.slack_client_secret):
        problems.append(
            "Only one of SLACK_CLIENT_ID and SLACK_CLIENT_SECRET is set: the OAuth install needs both. Copy "
            "them from the Slack app's Basic Information page, or unset both to use SLACK_BOT_TOKEN."
        )
    if settings.slack_oauth_enabled and not settings.slack_signing_secret:
        problems.append(
            "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set but SLACK_SIGNING_SECRET is not: without it nobody can "
            "tell Slack's requests from forged ones. Copy it from the Slack app's Basic Information page."
        )
    if settings.slack_oauth_enabled and settings.slack_bot_token:
        problems.append(
            "Both SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set: with the OAuth install every "
            "workspace's token comes from its installation. Unset SLACK_BOT_TOKEN (or the client id and secret "
            "for a single workspace)."
        )
    return problems


def channel_buckets() -> TokenBuckets:
    """Slack allows about one message per second per channel (short bursts pass)."""
    from bot.ratelimit import TokenBuckets

    return TokenBuckets(rate=1.0, burst=3)
