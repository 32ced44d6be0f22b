"""Slack workspace admins facilitate every initiative of their workspace, only when configured."""

from __future__ import annotations

import pytest

from handlers.context import CoreConfig
from handlers.core import Core
from handlers.messages import Actor, Incoming
from handlers.registry import Registry
from storage.db import Database
from storage.migrate import upgrade
from tests.support import make_settings, serve

DENIED = "Only a facilitator of this initiative can use `member promote`"


@pytest.mark.parametrize("admins_facilitate", [True, False])
async def test_a_stakeholder_who_is_a_workspace_admin_may_facilitate_only_when_configured(
    db_url, slack_api, admins_facilitate
):
    slack_api.admins = {"U9"}
    settings = make_settings(db_url, slack_api_url=slack_api.url, slack_admins_are_facilitators=admins_facilitate)
    server = await serve(settings)
    try:
        assert (await server.slash("member list", user="U1")).status == 200  # U1 creates the initiative
        for user in ("U8", "U9"):  # both join as stakeholders
            assert (await server.slash("member list", user=user)).status == 200
        plain = await server.slash("member promote <@U3>", user="U8")
        assert DENIED in await plain.text()
        admin = await server.slash("member promote <@U3>", user="U9")
        if admins_facilitate:
            assert DENIED not in await admin.text()
            # the channel's reply and the promoted person's DM leave through the outbox, in either order
            posts = await slack_api.wait_for("chat.postMessage", 2)
            [post] = [p for p in posts if p.params["channel"] == "C1"]
            assert "is now a facilitator" in post.params["text"]
            again = await server.slash("member promote <@U4>", user="U9")
            assert DENIED not in await again.text()
            asked = [c.params["user"] for c in slack_api.of("users.info")]
            assert asked.count("U9") == 1  # cached, not asked on every command
        else:
            assert DENIED in await admin.text()
            assert slack_api.of("users.info") == []  # nobody is asked when the setting is off
            assert [c for c in slack_api.of("chat.postMessage") if c.params.get("channel") == "C1"] == []
    finally:
        await server.stop()


@pytest.mark.parametrize("configured", [True, False])
async def test_the_core_honours_the_admin_flag_only_when_configured(sqlite_url, configured):
    await upgrade(sqlite_url)
    db = Database(sqlite_url)
    core = Core(db, Registry.discover(), CoreConfig(workspace_admins_are_facilitators=configured))

    def line(text: str, user: str, admin: bool = False) -> Incoming:
        actor = Actor("slack", "T1", user, user, is_workspace_admin=admin)
        return Incoming(actor=actor, conversation_id="C1", text=text)

    try:
        await core.handle(line("member list", "U1"))
        reply = await core.handle(line("member promote <@U3>", "U9", admin=True))
        assert reply is not None and reply.ok is configured
        summary = await core.handle(line("summary --post", "U9", admin=True))  # a facilitator-only option
        assert summary is not None and summary.ok is configured
    finally:
        await db.dispose()
