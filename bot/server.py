"""One aiohttp server: Slack on /slack/events, Teams on /api/messages, health on /healthz."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

if TYPE_CHECKING:
    from bot.app import Alignbot

MAX_BODY = 1024 * 1024


def build_web_app(bot: Alignbot) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)

    if bot.slack is not None:
        slack_app = bot.slack.app

        async def slack_events(request: web.Request) -> web.Response:
            bolt_request = await to_bolt_request(request)
            return await to_aiohttp_response(await slack_app.async_dispatch(bolt_request))

        app.router.add_post("/slack/events", slack_events)

    if bot.teams is not None:
        app.router.add_post("/api/messages", bot.teams.handle)

    async def lifecycle(_app: web.Application):
        await bot.start()
        yield
        await bot.stop()

    app.cleanup_ctx.append(lifecycle)
    return app
