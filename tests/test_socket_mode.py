"""`alignbot serve --socket-mode`: Slack over a WebSocket instead of HTTP, against the fake's
apps.connections.open and its Socket Mode endpoint."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import select

from bot.app import create_app
from bot.cli import _socket_mode
from storage.models import UseCase
from tests.support import make_settings


async def test_a_slash_command_over_socket_mode_is_acked_and_stored(sqlite_url, slack_api):
    settings = make_settings(sqlite_url, slack_api_url=slack_api.url).with_(slack_app_token="xapp-test")
    app = create_app(settings)
    running = asyncio.create_task(_socket_mode(app, settings, "127.0.0.1", 0))
    try:
        await slack_api.wait_for("apps.connections.open")
        await slack_api.socket_outbox.put({
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "token": "legacy", "team_id": "T1", "team_domain": "test", "channel_id": "C9",
                "channel_name": "assessment", "user_id": "U1", "user_name": "ann", "command": "/align",
                "text": 'usecase propose "Over the socket" --impact 4', "response_url": "",
                "trigger_id": "trig.socket.1", "api_app_id": "A1",
            },
        })  # fmt: skip
        acks = await slack_api.wait_for("socket.ack")
        assert acks[0].params["envelope_id"] == "env-1"
        posts = await slack_api.wait_for("chat.postMessage")
        assert posts[0].params["channel"] == "C9"
        assert "UC-1: Over the socket" in str(posts[0].params["blocks"])
        async with app.db.reading() as s:
            assert [u.title for u in (await s.execute(select(UseCase))).scalars()] == ["Over the socket"]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running  # its runner's cleanup stops the app
