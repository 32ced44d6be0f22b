"""Settings from the environment (and a `.env` file when present); nothing else reads os.environ."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_DB = "sqlite:///alignbot.db"
SLACK_API = "https://slack.com/api/"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DB
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = SLACK_API
    teams_app_id: str = ""
    teams_app_password: str = ""
    teams_app_tenant_id: str = ""
    timezone: str = "UTC"
    secret: str = "dev-only-secret"  # keys anonymous ballots; set ALIGNBOT_SECRET in production
    dev: bool = False
    instance: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
        env: dict[str, str] = {}
        if dotenv is not None and dotenv.exists():
            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        env.update(os.environ if environ is None else environ)
        get = env.get
        return cls(
            database_url=get("ALIGNBOT_DATABASE_URL") or DEFAULT_DB,
            slack_bot_token=get("SLACK_BOT_TOKEN", ""),
            slack_signing_secret=get("SLACK_SIGNING_SECRET", ""),
            slack_app_token=get("SLACK_APP_TOKEN", ""),
            slack_api_url=get("SLACK_API_URL") or SLACK_API,
            teams_app_id=get("TEAMS_APP_ID", ""),
            teams_app_password=get("TEAMS_APP_PASSWORD", ""),
            teams_app_tenant_id=get("TEAMS_APP_TENANT_ID", ""),
            timezone=get("ALIGNBOT_TIMEZONE") or "UTC",
            secret=get("ALIGNBOT_SECRET") or "dev-only-secret",
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def teams_enabled(self) -> bool:
        """Teams without an app id would be an open endpoint: only with --dev."""
        return bool(self.teams_app_id) or self.dev

    def unsafe_reasons(self) -> list[str]:
        """Configurations `serve` refuses, each with how to fix it."""
        problems = []
        if self.slack_bot_token and not self.slack_signing_secret:
            problems.append(
                "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: without it nobody can tell Slack's "
                "requests from forged ones. Copy the signing secret from the Slack app's Basic Information page."
            )
        return problems
