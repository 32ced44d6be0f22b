"""A fake Bot Framework Connector on 127.0.0.1 (port 0): activities sent to it are recorded.

Activities given to the bot carry `serviceUrl` = this server's URL, so every reply and every
proactive message of the Teams face lands here.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiohttp import web


class FakeBotConnector:
    def __init__(self) -> None:
        self.activities: list[dict[str, Any]] = []  # each with "_conversation_id" and "_path"
        self.attempts: list[dict[str, Any]] = []  # every activity posted, the ones answered with an error too
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.uploads: list[tuple[str, bytes, dict[str, str]]] = []
        self._failures: list[tuple[int, dict[str, str]]] = []
        self.members: dict[str, list[dict[str, str]]] = {}  # conversation -> ChannelAccounts (GET .../members)

    async def start(self) -> FakeBotConnector:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation_id}/activities", self._post)
        app.router.add_post("/v3/conversations/{conversation_id}/activities/{reply_to}", self._post)
        app.router.add_put("/v3/conversations/{conversation_id}/activities/{activity_id}", self._post)
        app.router.add_post("/v3/conversations", self._create_conversation)
        app.router.add_put("/upload/{name}", self._upload)  # stands in for OneDrive's upload URL
        app.router.add_get("/v3/conversations/{conversation_id}/members", self._members)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads.append((request.match_info["name"], await request.read(), dict(request.headers)))
        return web.json_response({"id": "file-1"}, status=201)

    def fail_next(self, status: int = 429, headers: dict[str, str] | None = None, times: int = 1) -> None:
        self._failures += [(status, headers or {})] * times

    def stop_failing(self) -> None:
        """Forget the failures not used yet: from now on every activity is accepted."""
        self._failures.clear()

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.json()
        body["_conversation_id"] = request.match_info["conversation_id"]
        body["_path"] = request.path
        body["_method"] = request.method
        async with self._changed:
            self.attempts.append(body)
            self._changed.notify_all()
            if self._failures:
                status, headers = self._failures.pop(0)
                return web.json_response({"error": {"code": "Throttled"}}, status=status, headers=headers)
            self.activities.append(body)
        return web.json_response({"id": f"act-{next(self._ids)}"})

    async def _members(self, request: web.Request) -> web.Response:
        return web.json_response(self.members.get(request.match_info["conversation_id"], []))

    async def _create_conversation(self, request: web.Request) -> web.Response:
        body = await request.json()
        member = (body.get("members") or [{}])[0].get("id", "user")
        return web.json_response({"id": f"personal-{member}", "activityId": f"act-{next(self._ids)}"})

    async def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Until `count` activities were accepted."""
        await self._until(self.activities, count, timeout)
        return self.activities

    async def wait_for_attempts(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Until `count` activities were posted, refused ones included."""
        await self._until(self.attempts, count, timeout)
        return self.attempts

    def marked(self, row_id: int) -> list[dict[str, Any]]:
        """The accepted activities sent for outbox row `row_id` (its `channelData.alignbotOutboxId`)."""
        return [a for a in self.activities if (a.get("channelData") or {}).get("alignbotOutboxId") == row_id]

    async def wait_for_marked(self, row_id: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Until an activity of outbox row `row_id` was accepted; all of them (a long reply is several cards)."""

        async def sent() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self.marked(row_id)))

        try:
            await asyncio.wait_for(sent(), timeout)
        except TimeoutError:
            raise AssertionError(f"nothing was sent for outbox row {row_id}") from None
        return self.marked(row_id)

    async def _until(self, seen: list[dict[str, Any]], count: int, timeout: float) -> None:
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(seen) >= count)

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(f"expected {count}, got {len(seen)}") from None
