"""The web face: POST a command as JSON, get the neutral reply back as JSON.

For scripts and tests. The bearer token names an initiative and the facilitator who issued it
(`web token`); the command runs as that person, in that initiative's conversation, through the
same core as every other face. Every refusal is JSON with a status that says whose mistake it
was: 401 no or unknown token, 400 a body that is not the command JSON, 403 a conversation that
is not the token's.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from bot.faces.platform import Face
from bot.faces.web import tokens
from bot.faces.web.commands import PATH
from handlers.core import Core
from handlers.messages import Actor, Incoming, Reply, reply_to_json
from storage.db import Database

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # what Slack takes in a slash command
MAX_ID = 100


def _bearer(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(tokens.PREFIX) or len(token) > 200:
        return None
    return token


def _refusal(status: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="alignbot"'} if status == 401 else None
    return web.json_response({"ok": False, "error": message}, status=status, headers=headers)


def _command(body: Any) -> tuple[str, str | None, str | None] | str:
    """(text, conversation, id) from the body, or what is wrong with it."""
    if not isinstance(body, dict):
        return 'the body must be a JSON object such as {"text": "usecase list"}'
    text, conversation, key = body.get("text"), body.get("conversation"), body.get("id")
    if not isinstance(text, str) or not text.strip():
        return '"text" must be the command, as a non-empty string'
    if len(text) > MAX_TEXT:
        return f'"text" is longer than {MAX_TEXT} characters'
    if conversation is not None and not isinstance(conversation, str):
        return '"conversation" must be a string when given'
    if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_ID):
        return f'"id" must be a string of 1 to {MAX_ID} characters when given'
    return text, conversation, key


class WebFace(Face):
    name = "web"

    def __init__(self, core: Core, db: Database) -> None:
        self.core = core
        self.db = db

    def routes(self) -> list[web.RouteDef]:
        return [web.post(PATH, self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        token = _bearer(request.headers.get("Authorization", ""))
        if token is None:
            return _refusal(401, "send the initiative's token as `Authorization: Bearer <token>` (see `web token`)")
        async with self.db.reading() as s:
            holder = await tokens.holder(s, token)
        if holder is None:
            return _refusal(401, "this token is not (or no longer) valid; a facilitator can make one with `web token`")
        try:  # JSON is UTF-8 (RFC 8259)
            parsed = _command(json.loads(await request.read()))
        except (ValueError, RecursionError):
            return _refusal(400, "the body is not JSON")
        if isinstance(parsed, str):
            return _refusal(400, parsed)
        text, conversation, key = parsed
        if conversation is not None and conversation != holder.conversation_id:
            return _refusal(403, "this token belongs to another conversation's initiative")
        reply = await self.core.handle(
            Incoming(
                actor=Actor(holder.platform, holder.workspace_id, holder.user_id, holder.display_name),
                conversation_id=holder.conversation_id,
                text=text,
                delivery_key=f"web:{holder.token_id}:{key}" if key else None,
            )
        )
        answer = reply or Reply([], replayed=True)  # None: a repeated id whose first answer was silence
        return web.json_response(reply_to_json(answer) | {"replayed": answer.replayed})
