"""The floors: the frameworks alone, on the same aiohttp stack `alignbot serve` uses.

`python -m bench.floors slack --port P` is a bare slack_bolt AsyncApp that verifies the signature
and only acks `/align`; `python -m bench.floors teams --port P` is a bare botbuilder
ActivityHandler behind a CloudAdapter (no app id, as `serve --dev`) that replies "ok" to every
message. Whatever Alignbot adds on top of these is ours to answer for.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from aiohttp import web


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def slack_floor() -> web.Application:
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    base = os.environ["SLACK_API_URL"]
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=base if base.endswith("/") else base + "/")
    bolt = AsyncApp(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=False,
        ignoring_self_events_enabled=True,
    )

    @bolt.command("/align")
    async def only_ack(ack) -> None:
        await ack()

    app = web.Application(client_max_size=1024 * 1024)

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", _healthz)
    return app


@dataclass(frozen=True)
class _AuthConfig:
    APP_ID: str = ""
    APP_PASSWORD: str = ""
    APP_TENANTID: str = ""
    APP_TYPE: str = "MultiTenant"


def teams_floor() -> web.Application:
    from botbuilder.core import ActivityHandler, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    class OkBot(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity("ok")

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_AuthConfig()))
    bot = OkBot()
    app = web.Application(client_max_size=1024 * 1024)

    async def messages(request: web.Request) -> web.StreamResponse:
        return await adapter.process(request, bot) or web.Response(status=201)

    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", _healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["slack", "teams"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = slack_floor() if args.kind == "slack" else teams_floor()
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
