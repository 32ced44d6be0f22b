"""Test helpers: signed Slack requests, Bot Framework activities, a running `alignbot serve`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.app import Alignbot, create_app
from bot.settings import Settings
from storage.models import Outbox
from tests.clock import SUITE_NOW

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
_trigger = itertools.count(1)


def table_text(payload: Any) -> str:
    """Every row of the Slack table blocks and Adaptive Card Tables in a payload, one line a row,
    cells joined by two spaces (as the console aligns them), for tests that look for a row."""
    lines: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict) and x.get("type") == "table":
            lines.extend("  ".join(c.get("text", "") for c in row) for row in x.get("rows", []))
        elif isinstance(x, dict) and x.get("type") == "TableRow":
            lines.append("  ".join(i.get("text", "") for cell in x.get("cells", []) for i in cell.get("items", [])))
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(payload)
    return "\n".join(lines)


def slack_signature(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    secret: str = SIGNING_SECRET,
) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": slack_signature(body, ts, secret),
    }


def slash_body(
    text: str,
    *,
    user: str = "U1",
    team: str = "T1",
    channel: str = "C1",
    channel_name: str = "assessment",
    user_name: str | None = None,
    trigger_id: str | None = None,
) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": team,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user_name or user.lower(),
            "command": "/align",
            "text": text,
            "response_url": "",
            "trigger_id": trigger_id or f"trig.{next(_trigger)}.{uuid.uuid4().hex[:6]}",
            "api_app_id": "A1",
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def view_submission(
    view: dict[str, Any], values: dict[str, Any], *, user: str = "U1", team: str = "T1"
) -> dict[str, Any]:
    """A view_submission payload for a modal the bot opened, with `values` as Slack would send them."""
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        raw = values.get(block["block_id"])
        if kind == "plain_text_input" or kind == "number_input":
            v = {"type": kind, "value": raw}
        elif kind == "static_select":
            v = {
                "type": kind,
                "selected_option": {"value": raw, "text": {"type": "plain_text", "text": str(raw)}} if raw else None,
            }
        elif kind == "multi_static_select":
            v = {"type": kind, "selected_options": [{"value": x} for x in (raw or [])]}
        elif kind == "users_select":
            v = {"type": kind, "selected_user": raw}
        elif kind == "datepicker":
            v = {"type": kind, "selected_date": raw}
        else:
            v = {"type": kind, "value": raw}
        state[block["block_id"]] = {"value": v}
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": "test"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A1",
        "trigger_id": f"trig.{next(_trigger)}",
        "view": {
            **view,
            "id": view.get("id") or f"V{uuid.uuid4().hex[:8]}",
            "hash": uuid.uuid4().hex[:10],
            "state": {"values": state},
        },
    }


def block_action(
    action_id: str,
    value: str,
    *,
    user: str = "U1",
    team: str = "T1",
    channel: str = "C1",
    message_ts: str = "1700000000.000100",
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": team, "domain": "test"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A1",
        "trigger_id": f"trig.{next(_trigger)}",
        "channel": {"id": channel, "name": "assessment"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "message": {"ts": message_ts, "blocks": []},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "value": value,
                "action_ts": f"{time.time():.6f}.{uuid.uuid4().hex[:6]}",
            }
        ],
    }


def slack_event(event: dict[str, Any], *, team: str = "T1", event_id: str | None = None, bot_user: str = "UBOT") -> str:
    """An Events API delivery (event_callback) as Slack signs and sends it."""
    return json.dumps(
        {
            "token": "legacy",
            "team_id": team,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": bot_user, "is_bot": True}],
            "event": event,
        }
    )


def _said(kind: str, text: str, user: str, channel: str, team: str, extra: dict[str, Any]) -> dict[str, Any]:
    ts = f"{time.time():.6f}"
    return {"type": kind, "channel": channel, "user": user, "team": team, "text": text, "ts": ts, "event_ts": ts,
            **extra}  # fmt: skip


def dm_event(text: str, *, user: str = "U1", channel: str = "D1", team: str = "T1", **extra: Any) -> dict[str, Any]:
    """A message.im event: someone wrote to the bot in its DM."""
    return _said("message", text, user, channel, team, {"channel_type": "im", **extra})


def mention_event(text: str, *, user: str = "U1", channel: str = "C1", team: str = "T1", **extra: Any) -> dict:
    """An app_mention event: `<@UBOT> ...` in a channel."""
    return _said("app_mention", text, user, channel, team, extra)


def message_activity(
    text: str,
    *,
    service_url: str,
    user: str = "aad-1",
    name: str = "Alice",
    conversation: str = "conv-1",
    tenant: str = "tenant-1",
    value: dict | None = None,
    conversation_type: str = "channel",
    activity_id: str | None = None,
) -> dict[str, Any]:
    return {
        "type": "message",
        "id": activity_id or uuid.uuid4().hex,
        "timestamp": "2026-11-26T10:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:{user}", "name": name, "aadObjectId": user},
        "conversation": {"id": conversation, "tenantId": tenant, "conversationType": conversation_type},
        "recipient": {"id": "28:bot", "name": "Alignbot"},
        "text": text,
        "textFormat": "plain",
        "channelData": {"tenant": {"id": tenant}},
        **({"value": value} if value is not None else {}),
    }


async def teams_reply(bot: Alignbot, connector: Any, activity: dict[str, Any], timeout: float = 10.0) -> list[dict]:
    """What the bot answered a Teams message activity: the activities of its reply's outbox row
    (each carries the row id in `channelData.alignbotOutboxId`), once the row is recorded sent.
    The row is committed before the activity's HTTP answer, so it is there to be looked up."""
    key = f"teams:{activity['conversation']['id']}:{activity['id']}"

    async def sent() -> int:
        while True:
            async with bot.db.reading() as s:
                found = (
                    await s.execute(
                        select(Outbox.id, Outbox.state).where(Outbox.dedupe_key.in_([f"reply:{key}", f"refusal:{key}"]))
                    )
                ).one_or_none()
            assert found is not None, f"no reply was queued for {key}"
            if found.state in ("sent", "failed"):
                return found.id
            await asyncio.sleep(0.02)  # polled: the condition is the row's state

    try:
        row_id = await asyncio.wait_for(sent(), timeout)
    except TimeoutError:
        raise AssertionError(f"the reply to {key} was not sent within {timeout} s") from None
    return await connector.wait_for_marked(row_id, timeout)


@dataclass
class Running:
    """`alignbot serve`'s web app on 127.0.0.1 with an OS-chosen port."""

    bot: Alignbot
    runner: web.AppRunner
    url: str
    http: aiohttp.ClientSession

    async def slack(self, body: str, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        resp = await self.http.post(
            self.url + "/slack/events", data=body.encode(), headers=headers or signed_headers(body)
        )
        await resp.read()
        return resp

    async def slash(self, text: str, **kw: Any) -> aiohttp.ClientResponse:
        return await self.slack(slash_body(text, **kw))

    async def event(self, body: str, *, retry: int = 0) -> aiohttp.ClientResponse:
        headers = signed_headers(body, content_type="application/json")
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.slack(body, headers)

    async def interact(self, payload: dict[str, Any]) -> aiohttp.ClientResponse:
        return await self.slack(interaction_body(payload))

    async def teams(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        resp = await self.http.post(self.url + "/api/messages", json=activity, headers=headers or {})
        await resp.read()
        return resp

    async def stop(self) -> None:
        await self.http.close()
        await self.runner.cleanup()


async def serve(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Running:
    bot = create_app(settings, **({"clock": clock} if clock else {}))
    runner = web.AppRunner(bot.web_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return Running(bot, runner, f"http://127.0.0.1:{port}", aiohttp.ClientSession())


def make_settings(
    db_url: str, *, slack_api_url: str = "", teams: bool = False, teams_app_id: str = "", **extra: Any
) -> Settings:
    return Settings(
        database_url=db_url,
        slack_bot_token=BOT_TOKEN if slack_api_url else "",
        slack_signing_secret=SIGNING_SECRET if slack_api_url else "",
        slack_api_url=slack_api_url or "https://slack.invalid/api/",
        teams_app_id=teams_app_id,
        dev=teams,
        secret="test-secret",
        instance=f"test-{uuid.uuid4().hex[:6]}",
        **({"test_now": SUITE_NOW} | extra),
    )
