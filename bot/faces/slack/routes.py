"""Slack's endpoints on `serve`'s aiohttp app: the Events API and, with the OAuth install, the
install and redirect pages."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

if TYPE_CHECKING:
    from bot.faces.slack.face import SlackFace

log = logging.getLogger(__name__)

# RecursionError: JSON nested thousands deep (Python's parser gives up, which costs microseconds).
MALFORMED = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)


def slack_routes(face: SlackFace, signing_secret: str) -> list[web.RouteDef]:
    slack_app = face.app
    verifier = SignatureVerifier(signing_secret)

    async def slack_events(request: web.Request) -> web.Response:
        # The signature is checked on the raw bytes before anything is parsed: an unsigned body
        # costs one HMAC, whatever its nesting or declared charset. Slack sends UTF-8 only.
        try:
            body = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            return web.json_response({"error": "the body is not UTF-8"}, status=400)
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        well_formed = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
        if not well_formed or not verifier.is_valid(body, timestamp, request.headers.get("X-Slack-Signature", "")):
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            # Bolt types headers as a dict; aiohttp's read-only multidict is the mapping it reads.
            bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
            response = await slack_app.async_dispatch(bolt_request)
        except MALFORMED as e:
            # Bolt routes on keys it assumes are there (view.type, ...); a signed body without
            # them is the sender's mistake: 400, and nothing ran.
            log.warning("unusable Slack request: %s: %s", type(e).__name__, str(e)[:200])
            return web.json_response({"error": "the body is not a Slack request Alignbot understands"}, status=400)
        return await to_aiohttp_response(response)

    routes = [web.post("/slack/events", slack_events)]
    oauth_flow = slack_app.oauth_flow
    if oauth_flow is not None:
        # The install: a redirect to Slack carrying a fresh state (also set as a cookie), and
        # Slack's return, where the state is consumed and the installation stored.
        async def slack_install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await oauth_flow.handle_installation(await to_bolt_request(request)))

        async def slack_oauth_redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await oauth_flow.handle_callback(await to_bolt_request(request)))

        routes += [
            web.get(oauth_flow.install_path, slack_install),
            web.get(oauth_flow.redirect_uri_path, slack_oauth_redirect),
        ]
    return routes
