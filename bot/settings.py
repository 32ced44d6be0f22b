"""Settings from the environment (and a `.env` file when present); nothing else reads os.environ."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_DB = "sqlite:///alignbot.db"
SLACK_API = "https://slack.com/api/"
DEV_SECRET = "dev-only-secret"  # console and `serve --dev` only: `serve` refuses it


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
    teams_openid_metadata_url: str = ""  # where Bot Framework's signing keys are read; empty: Microsoft's
    timezone: str = "UTC"
    reminder_grace_hours: float = 24.0  # reminders found later than this after their time are missed, not sent
    secret: str = DEV_SECRET  # keys anonymous ballots; set ALIGNBOT_SECRET in production
    dev: bool = False
    instance: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    # production hardening (issue #8)
    slack_client_id: str = ""  # with the secret: multi-workspace OAuth install (bot/faces/slack/oauth.py)
    slack_client_secret: str = ""
    slack_scopes: str = ""  # comma-separated bot scopes asked for at install; empty: the manifest's
    purge_on_uninstall: bool = False  # app_uninstalled deletes the workspace's initiatives too
    slack_admins_are_facilitators: bool = False  # workspace admins/owners facilitate every initiative
    max_body_bytes: int = 1024 * 1024
    delivery_retention_hours: float = 24.0  # processed deliveries kept (>= 1 h) to spot redeliveries
    lease_seconds: float = 10.0  # a claim of a process that stops renewing it is taken over after this
    shutdown_seconds: float = 30.0  # how long SIGTERM waits for in-flight requests and sends
    log_level: str = "WARNING"
    max_items_per_kind: int = 5000  # UC-n, RISK-n, ... per initiative
    test_now: datetime | None = None  # tests only: the app's clock starts at this instant (ALIGNBOT_TEST_NOW)
    # The environment these settings were read from: a platform added later reads its own variables
    # here, in its folder (bot/faces/web/settings.py), instead of growing this class.
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
        env: dict[str, str] = {}
        if dotenv is not None and dotenv.exists():
            from dotenv import dotenv_values  # only when there is a file: the import costs start-up time

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
            teams_openid_metadata_url=get("TEAMS_OPENID_METADATA_URL", ""),
            timezone=get("ALIGNBOT_TIMEZONE") or "UTC",
            reminder_grace_hours=float(get("ALIGNBOT_REMINDER_GRACE_HOURS") or 24),
            secret=get("ALIGNBOT_SECRET") or DEV_SECRET,
            slack_client_id=get("SLACK_CLIENT_ID", ""),
            slack_client_secret=get("SLACK_CLIENT_SECRET", ""),
            slack_scopes=get("SLACK_SCOPES", ""),
            purge_on_uninstall=_flag(get("ALIGNBOT_PURGE_ON_UNINSTALL")),
            slack_admins_are_facilitators=_flag(get("ALIGNBOT_SLACK_ADMINS_ARE_FACILITATORS")),
            max_body_bytes=_number(get("ALIGNBOT_MAX_BODY_BYTES"), 1024 * 1024, int),
            delivery_retention_hours=max(1.0, _number(get("ALIGNBOT_DELIVERY_RETENTION_HOURS"), 24.0, float)),
            shutdown_seconds=_number(get("ALIGNBOT_SHUTDOWN_SECONDS"), 30.0, float),
            lease_seconds=max(2.0, _number(get("ALIGNBOT_LEASE_SECONDS"), 10.0, float)),
            log_level=(get("ALIGNBOT_LOG_LEVEL") or "WARNING").upper(),
            max_items_per_kind=max(1, _number(get("ALIGNBOT_MAX_ITEMS_PER_KIND"), 5000, int)),
            test_now=_instant(get("ALIGNBOT_TEST_NOW")),
            env=env,
        )

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def slack_enabled(self) -> bool:
        return bool((self.slack_bot_token or self.slack_oauth_enabled) and self.slack_signing_secret)

    @property
    def slack_oauth_enabled(self) -> bool:
        """Installed per workspace through /slack/install: tokens come from the installation store."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def secrets(self) -> list[str]:
        """Values that must never reach a log line: ours and each platform's."""
        from bot.faces import FACES

        return [self.secret, *(value for platform in FACES for value in platform.secrets(self))]

    @property
    def teams_enabled(self) -> bool:
        """Teams without an app id would be an open endpoint: only with --dev."""
        return bool(self.teams_app_id) or self.dev

    def unsafe_reasons(self) -> list[str]:
        """Configurations `serve` refuses, each with how to fix it."""
        from bot.faces import FACES

        problems = [problem for platform in FACES for problem in platform.unsafe_reasons(self)]
        if self.secret == DEV_SECRET and not self.dev:
            problems.append(
                "ALIGNBOT_SECRET is not set: it keys anonymous ballots, and with the built-in development value "
                "anyone who can read the database can tell who voted what. Set it to a long random value, e.g. "
                "`python3 -c 'import secrets; print(secrets.token_hex(32))'`, and keep it: a ballot cast under one "
                "secret is not found under another, so after a change a changed vote would count twice. Or use "
                "`serve --dev` on a developer machine only."
            )
        return problems


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


def _instant(raw: str | None) -> datetime | None:
    """An ISO 8601 instant; without a zone it is UTC. A value that is not one is refused: a test
    that thinks it set the clock must not run on the wall clock."""
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise SystemExit(f"alignbot: ALIGNBOT_TEST_NOW={raw!r} is not an ISO time such as 2026-11-16T08:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _number(raw: str | None, default, kind):
    try:
        return kind(raw) if raw not in (None, "") else default
    except ValueError:
        return default
