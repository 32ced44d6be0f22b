"""Metrics in Prometheus format and structured logs that carry a request id and no secrets.

The metrics live in a registry owned by the app (no process-wide default registry), so tests can
build many apps side by side. Backlog figures are read from the database at scrape time, which
makes them right on every replica without coordination.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from aiohttp.http_exceptions import HttpProcessingError

if TYPE_CHECKING:
    from storage.db import Database

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id(offered: str | None = None) -> str:
    """Keep a load balancer's X-Request-Id when it looks like an id; otherwise make one."""
    return offered if offered and _SAFE_ID.match(offered) else uuid.uuid4().hex[:16]


class Metrics:
    """Built by the web app (`serve`), so the console, which never serves metrics, never imports
    prometheus_client."""

    def __init__(self, timed: frozenset[str] = frozenset()) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.timed = timed  # the platforms with an answer deadline, whose answer times are a histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "alignbot_requests",
            "HTTP requests by platform and outcome (ok, refused, error).",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "alignbot_ack_seconds",
            "Time from receiving a platform request to answering it (Slack wants < 3 s).",
            ["platform"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0, 10.0),
            registry=self.registry,
        )
        self.in_flight = Gauge("alignbot_http_in_flight", "Requests being handled now.", registry=self.registry)
        self.outbox = Gauge(
            "alignbot_outbox_messages", "Outbox rows by state (backlog: pending).", ["state"], registry=self.registry
        )
        self.reminders = Gauge(
            "alignbot_reminders", "Reminders sent, sent late, and failed.", ["state"], registry=self.registry
        )
        self.ready = Gauge("alignbot_ready", "1 when the database is reachable and migrated.", registry=self.registry)

    def observe(self, platform: str, status: int, seconds: float) -> None:
        outcome = "ok" if status < 400 else "refused" if status < 500 else "error"
        self.requests.labels(platform, outcome).inc()
        if platform in self.timed:
            self.ack_seconds.labels(platform).observe(seconds)

    async def refresh_from(self, db: Database) -> None:
        from sqlalchemy import func, select

        from storage.models import Outbox, Reminder

        async with db.reading() as s:
            by_state = dict((await s.execute(select(Outbox.state, func.count()).group_by(Outbox.state))).all())
            sent = (await s.execute(select(func.count()).where(Reminder.state == "sent"))).scalar_one()
            late = (await s.execute(select(func.count()).where(Reminder.late.is_(True)))).scalar_one()
            failed = (await s.execute(select(func.count()).where(Reminder.state == "failed"))).scalar_one()
        for state in ("pending", "sending", "sent", "failed"):
            self.outbox.labels(state).set(by_state.get(state, 0))
        self.reminders.labels("sent").set(sent)
        self.reminders.labels("late").set(late)
        self.reminders.labels("failed").set(failed)

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


# ---- logs -----------------------------------------------------------------------------------

_TOKEN_PATTERNS = (
    re.compile(r"xox[abposre]-[A-Za-z0-9-]+"),  # Slack bot/user/refresh tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),  # Slack app-level tokens
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),  # Authorization headers
    re.compile(r"(?i)((?:client_secret|password|signing_secret|token|code)=)[^&\s\"']+"),  # query strings
)


class Redactor(logging.Filter):
    """Removes tokens and the configured secrets from every record before any handler sees it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        for pattern in _TOKEN_PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + "[redacted]", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.scrub(message), None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        record.exc_info = None  # the scrubbed text replaces it
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        if record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, stream: TextIO, secrets: Iterable[str] = ()) -> logging.Handler:
    """JSON lines when nobody is watching (a pipe, a log collector); readable text on a terminal."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redactor(secrets))
    if stream.isatty():
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler


class QuietBadRequests(logging.Filter):
    """aiohttp logs a request its parser rejects (a 10 KB header, a broken request line) with a
    full ERROR traceback before answering it 400; that is the sender's mistake, not ours: one
    short warning line instead."""

    LOGGER = "aiohttp.server"

    @classmethod
    def install(cls) -> None:
        logger = logging.getLogger(cls.LOGGER)
        if not any(isinstance(f, cls) for f in logger.filters):
            logger.addFilter(cls())

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "refused a malformed HTTP request: %s", (str(error.message)[:200],)
            record.exc_info = record.exc_text = None
        return True
