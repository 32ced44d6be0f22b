"""The floors: the frameworks alone, on the same aiohttp stack `alignbot serve` uses.

`python -m bench.floors slack --port P` is a bare slack_bolt AsyncApp that verifies the signature
and only acks `/align`; `python -m bench.floors teams --port P` is a bare botbuilder
ActivityHandler behind a CloudAdapter (no app id, as `serve --dev`) that replies "ok" to every
message. Whatever Alignbot adds on top of these is ours to answer for.

`python -m bench.floors slack-stored --port P --db URL` is the same bare Bolt app, except that it
stores each command (one INSERT, one transaction, through storage/db.py's engine and its SQLite
write lock) before it acks. It is the least any bot can do that keeps the rule "an accepted input
is stored before the reply", so it shows how much of Alignbot's distance from the bare ack is that
rule on this stack rather than Alignbot's own work.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from aiohttp import web


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def slack_floor(db_url: str = "") -> web.Application:
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

    app = web.Application(client_max_size=1024 * 1024)
    if db_url:
        store = _DeliveryStore(db_url)
        app.on_startup.append(lambda _app: store.create())

        @bolt.command("/align")
        async def store_then_ack(ack, body) -> None:
            await store.add(body.get("trigger_id") or body.get("text", ""))
            await ack()

    else:

        @bolt.command("/align")
        async def only_ack(ack) -> None:
            await ack()

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", _healthz)
    return app


class _DeliveryStore:
    """One table, one row per command: Alignbot's engine settings, none of its model."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import Column, MetaData, String, Table

        from storage.db import Database

        self.db = Database(url)
        self.table = Table("floor_delivery", MetaData(), Column("key", String(200), primary_key=True))

    async def create(self) -> None:
        async with self.db.engine.begin() as conn:
            await conn.run_sync(self.table.metadata.create_all)

    async def add(self, key: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(self.table.insert().values(key=key))


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
    parser.add_argument("kind", choices=["slack", "slack-stored", "teams"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", default="", help="for slack-stored: the database URL")
    args = parser.parse_args()
    if args.kind == "teams":
        app = teams_floor()
    else:
        app = slack_floor(args.db if args.kind == "slack-stored" else "")
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
