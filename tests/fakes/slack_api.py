"""A recording fake of the Slack Web API on 127.0.0.1 (port 0).

Tests point SLACK_API_URL at it and assert on what the bot asked for; `wait_for` awaits a call
instead of sleeping. `fail_next` scripts an error (a 429 with Retry-After, a 500, ok=false), `fail_channel` one for
one channel only, and `posted_then=500` the worst kind: the message is posted, then the answer
is an error. Posted messages are kept per channel for conversations.history (with their
metadata when asked with include_all_metadata), which filters `oldest` by when each was posted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeSlackApi:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        self._failures: dict[str, list[tuple[int, dict[str, Any], dict[str, str], bool]]] = {}
        self._channel_failures: dict[tuple[str, str], list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> posted messages, oldest first
        self.answer_after_posting = asyncio.Event()  # cleared: chat.postMessage posts, then holds its answer
        self.answer_after_posting.set()
        self.members: dict[str, list[str]] = {}  # channel -> user ids for conversations.members
        self.admins: set[str] = set()  # user ids users.info reports as workspace admins
        # OAuth (oauth.v2.access): the code "code-T2" installs workspace T2. With rotation on, bot
        # tokens expire after `token_lifetime` seconds and come with a refresh token.
        self.rotation = False
        self.token_lifetime = 43200
        self._tokens = itertools.count(1)
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.socket_outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def start(self) -> FakeSlackApi:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_route("*", "/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api/"
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def fail_next(
        self,
        method: str,
        status: int = 429,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        posted_first: bool = False,
    ) -> None:
        """The next `times` calls of `method` fail; with `posted_first`, after doing their work."""
        body = body or {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}
        for _ in range(times):
            self._failures.setdefault(method, []).append((status, body, headers or {}, posted_first))

    def fail_channel(
        self, channel: str, status: int = 429, headers: dict[str, str] | None = None, times: int = 1
    ) -> None:
        """The next `times` chat.postMessage calls to `channel` fail; other channels are served."""
        body = {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}
        for _ in range(times):
            self._channel_failures.setdefault(("chat.postMessage", channel), []).append((status, body, headers or {}))

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.of(method)) >= count)

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"expected {count} {method} call(s), got {len(self.of(method))}: {[c.method for c in self.calls]}"
            ) from None
        return self.of(method)

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            ctype = request.headers.get("Content-Type", "")
            if "json" in ctype:
                params.update(await request.json())
            else:
                post = await request.post()
                for k, v in post.items():
                    params[k] = v if isinstance(v, str) else getattr(v, "filename", "")
        for key in ("blocks", "view", "attachments", "files"):
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass
        params["_auth"] = request.headers.get("Authorization", "")
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        await self._record(Call(method, params))
        channel_failures = self._channel_failures.get((method, str(params.get("channel", ""))))
        if channel_failures:
            status, body, headers = channel_failures.pop(0)
            return web.json_response(body, status=status, headers=headers)
        if self._failures.get(method):
            status, body, headers, posted_first = self._failures[method].pop(0)
            if posted_first:
                self._answer(method, params, request)
            return web.json_response(body, status=status, headers=headers)
        answer = self._answer(method, params, request)
        if method == "chat.postMessage":
            await self.answer_after_posting.wait()
        return web.json_response(answer)

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        await self._record(Call("upload", {"file_id": request.match_info["file_id"], "size": len(data)}))
        return web.Response(text="OK")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, send what tests queue in `socket_outbox`, record the acks."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})

        async def pump() -> None:
            while True:
                await ws.send_json(await self.socket_outbox.get())

        sender = asyncio.create_task(pump())
        try:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    await self._record(Call("socket.ack", json.loads(msg.data)))
        finally:
            sender.cancel()
        return ws

    def _answer(self, method: str, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        ts = f"{1700000000 + next(self._ts)}.000100"
        if method == "apps.connections.open":
            return {"ok": True, "url": str(request.url.with_path("/socket").with_query(None)).replace("http", "ws", 1)}
        if method == "oauth.v2.access":
            return self._oauth(params)
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "team_id": team_of_token(params.get("_auth", "")) or "T1",
                "team": "Test",
                "url": "https://test.slack.com/",
            }
        if method in ("chat.postMessage", "chat.update"):
            channel = params.get("channel", "")
            if method == "chat.postMessage" and channel.startswith("U"):
                channel = "D" + channel[1:]
            if method == "chat.postMessage":
                kept = {"ts": ts, "text": params.get("text", ""), "_at": time.time()}
                if params.get("metadata"):
                    kept["metadata"] = params["metadata"]
                self.messages.setdefault(channel, []).append(kept)
            return {
                "ok": True,
                "channel": channel,
                "ts": params.get("ts") or ts,
                "message": {"text": params.get("text", "")},
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            return {"ok": True, "view": {"id": f"V{next(self._ts)}", **(params.get("view") or {})}}
        if method == "conversations.members":
            return {
                "ok": True,
                "members": self.members.get(params.get("channel", ""), []),
                "response_metadata": {"next_cursor": ""},
            }
        if method == "conversations.history":
            oldest = float(params.get("oldest") or 0)
            with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
            found = [
                {k: v for k, v in m.items() if k != "_at" and (with_metadata or k != "metadata")}
                for m in reversed(self.messages.get(str(params.get("channel", "")), []))
                if m["_at"] >= oldest
            ]
            return {"ok": True, "messages": found, "has_more": False, "response_metadata": {"next_cursor": ""}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users", "U"))[1:]}}
        if method == "users.info":
            user = params.get("user", "")
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "name": user.lower(),
                    "real_name": user,
                    "deleted": False,
                    "is_admin": user in self.admins,
                },
            }
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts)}"
            base = str(request.url.with_path(f"/upload/{file_id}").with_query(None))
            return {"ok": True, "upload_url": base, "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = params.get("files") or []
            return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title", "")} for f in files]}
        return {"ok": True}

    def _oauth(self, params: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access: exchange an install code, or (grant_type=refresh_token) refresh a token."""
        if params.get("grant_type") == "refresh_token":
            team = team_of_token(params.get("refresh_token", ""))
            if not team:
                return {"ok": False, "error": "invalid_refresh_token"}
        else:
            code = str(params.get("code", ""))
            if not code.startswith("code-T"):
                return {"ok": False, "error": "invalid_code"}
            team = code.removeprefix("code-")
        n = next(self._tokens)
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": "A1",
            "token_type": "bot",
            "scope": "commands,chat:write,users:read",
            "bot_user_id": f"UBOT{team}",
            "team": {"id": team, "name": f"Workspace {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "UINSTALLER"},
        }
        if self.rotation:
            answer |= {
                "access_token": f"xoxe.xoxb-{team}-{n}",
                "refresh_token": f"xoxe-1-{team}-{n}",
                "expires_in": self.token_lifetime,
            }
        else:
            answer["access_token"] = f"xoxb-{team}-{n}"
        return answer


def team_of_token(token: str) -> str:
    """The workspace a token from `_oauth` was issued for ("Bearer xoxb-T2-3" -> "T2")."""
    for part in token.replace(" ", "-").split("-"):
        if part.startswith("T") and part[1:].isalnum():
            return part
    return ""
