"""Multi-workspace Slack: install over OAuth, each workspace answered with its own token, token
rotation, and uninstalls (data kept or purged), over real HTTP against the fake Slack Web API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from urllib.parse import parse_qs, quote, urlparse

import pytest
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, select, update

from handlers.messages import Text, elements_to_json
from schedules.outbox import Envelope, SendError
from storage.models import SLACK_BOTS, SLACK_INSTALLATIONS, SLACK_OAUTH_STATES, Initiative, Workspace
from tests.fakes.slack_api import FakeSlackApi
from tests.support import Running, make_settings, serve, signed_headers, slash_body

COOKIE = "slack-app-oauth-state"


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    """Wait for a row to appear or go (work after Slack's ack runs on its own)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("the expected change in the database did not happen")
        await asyncio.sleep(0.05)


@pytest.fixture
async def oauth_server(db_url, slack_api: FakeSlackApi, request) -> AsyncIterator[Running]:
    extra = getattr(request, "param", {})
    settings = make_settings(db_url, slack_api_url=slack_api.url).with_(
        slack_bot_token="", slack_client_id="111.222", slack_client_secret="client-secret", **extra
    )
    running = await serve(settings)
    yield running
    await running.stop()


async def start_install(server: Running) -> str:
    resp = await server.http.get(server.url + "/slack/install", allow_redirects=False)
    assert resp.status == 302
    target = urlparse(resp.headers["Location"])
    query = parse_qs(target.query)
    assert target.netloc == "slack.com" and target.path == "/oauth/v2/authorize"
    assert query["client_id"] == ["111.222"] and "commands" in query["scope"][0]
    state = query["state"][0]
    assert resp.cookies[COOKIE].value == state  # the browser that started is the one that may finish
    return state


async def finish_install(server: Running, team: str, state: str, cookie: str | None = None) -> int:
    resp = await server.http.get(
        server.url + "/slack/oauth_redirect",
        params={"code": f"code-{team}", "state": state},
        headers={"Cookie": f"{COOKIE}={cookie or state}"},
        allow_redirects=False,
    )
    await resp.read()
    return resp.status


async def install(server: Running, team: str) -> None:
    assert await finish_install(server, team, await start_install(server)) == 200


async def bots_of(server: Running, team: str) -> list[dict]:
    async with server.bot.db.reading() as s:
        rows = await s.execute(select(SLACK_BOTS).where(SLACK_BOTS.c.team_id == team))
        return [dict(r) for r in rows.mappings()]


async def installations_of(server: Running, team: str) -> int:
    async with server.bot.db.reading() as s:
        rows = await s.execute(select(SLACK_INSTALLATIONS.c.id).where(SLACK_INSTALLATIONS.c.team_id == team))
        return len(rows.all())


async def initiatives_of(server: Running, team: str) -> int:
    async with server.bot.db.reading() as s:
        rows = await s.execute(
            select(Initiative.id).join(Workspace).where(Workspace.platform == "slack", Workspace.external_id == team)
        )
        return len(rows.all())


def posts_to(slack_api: FakeSlackApi, channel: str) -> list[str]:
    return [c.params["_auth"] for c in slack_api.of("chat.postMessage") if c.params.get("channel") == channel]


async def event(server: Running, team: str, ev: dict, event_id: str) -> None:
    body = json.dumps(
        {"type": "event_callback", "team_id": team, "api_app_id": "A1", "event": ev, "event_id": event_id,
         "event_time": int(time.time())}
    )  # fmt: skip
    resp = await server.slack(body, signed_headers(body, content_type="application/json"))
    assert resp.status == 200


async def test_install_stores_the_workspace_and_its_token(oauth_server, slack_api):
    await install(oauth_server, "T2")
    [bot] = await bots_of(oauth_server, "T2")
    assert bot["bot_token"].startswith("xoxb-T2-") and bot["client_id"] == "111.222"
    assert await installations_of(oauth_server, "T2") == 1
    [exchange] = slack_api.of("oauth.v2.access")
    assert exchange.params["code"] == "code-T2" and exchange.params["_auth"].startswith("Basic ")


async def test_a_forged_missing_or_expired_state_installs_nothing(oauth_server, slack_api):
    assert await finish_install(oauth_server, "T2", "forged-state") == 401  # never issued
    state = await start_install(oauth_server)
    assert await finish_install(oauth_server, "T2", state, cookie="another-browser") == 400
    async with oauth_server.bot.db.transaction() as s:  # the state outlives its 10 minutes
        await s.execute(
            update(SLACK_OAUTH_STATES).where(SLACK_OAUTH_STATES.c.state == state).values(expire_at=datetime(2000, 1, 1))
        )
    assert await finish_install(oauth_server, "T2", state) == 401
    assert slack_api.of("oauth.v2.access") == [] and await bots_of(oauth_server, "T2") == []
    state = await start_install(oauth_server)  # a fresh one still works, once
    assert await finish_install(oauth_server, "T2", state) == 200
    assert await finish_install(oauth_server, "T2", state) == 401


async def test_each_workspace_is_answered_with_its_own_token(oauth_server, slack_api):
    await install(oauth_server, "T2")
    await install(oauth_server, "T3")
    tokens = {t: (await bots_of(oauth_server, t))[0]["bot_token"] for t in ("T2", "T3")}
    assert tokens["T2"] != tokens["T3"]
    for team, channel in (("T2", "C2"), ("T3", "C3")):
        resp = await oauth_server.slash("member promote <@U2>", team=team, channel=channel)
        assert resp.status == 200
    # the channel post (the request's client) and the DM to U2 (the outbox) of each workspace
    await slack_api.wait_for("chat.postMessage", 4)
    assert posts_to(slack_api, "C2") == [f"Bearer {tokens['T2']}"]
    assert posts_to(slack_api, "C3") == [f"Bearer {tokens['T3']}"]
    assert sorted(posts_to(slack_api, "U2")) == sorted(f"Bearer {t}" for t in tokens.values())


async def test_a_workspace_that_never_installed_gets_nothing_done(oauth_server, slack_api):
    await install(oauth_server, "T2")
    answer_to = quote(slack_api.url + "response_url", safe="")
    body = slash_body("member promote <@U2>", team="T9", channel="C9")
    body = body.replace("response_url=&", f"response_url={answer_to}&")
    assert "response_url=http" in body
    assert (await oauth_server.slack(body)).status == 200
    [told] = await slack_api.wait_for("response_url")
    assert "install" in told.params["text"].lower()
    assert await initiatives_of(oauth_server, "T9") == 0 and posts_to(slack_api, "C9") == []


async def test_an_expiring_token_is_refreshed_before_use(oauth_server, slack_api):
    slack_api.rotation, slack_api.token_lifetime = True, 60  # inside the 2-hour refresh window
    await install(oauth_server, "T2")
    [first] = await bots_of(oauth_server, "T2")
    assert first["bot_refresh_token"] and first["bot_token"].startswith("xoxe.xoxb-T2-")
    slack_api.token_lifetime = 43200
    await oauth_server.slash("member promote <@U2>", team="T2", channel="C2")
    await slack_api.wait_for("chat.postMessage", 2)
    refreshes = [c for c in slack_api.of("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"]
    assert [c.params["refresh_token"] for c in refreshes] == [first["bot_refresh_token"]]
    [now] = await bots_of(oauth_server, "T2")
    assert now["bot_token"] != first["bot_token"] and now["bot_refresh_token"] != first["bot_refresh_token"]
    assert posts_to(slack_api, "C2") == [f"Bearer {now['bot_token']}"]
    assert posts_to(slack_api, "U2") == [f"Bearer {now['bot_token']}"]


@pytest.mark.parametrize(
    "oauth_server, kept",
    [({"purge_on_uninstall": True}, 0), ({"purge_on_uninstall": False}, 1)],
    indirect=["oauth_server"],
)
async def test_uninstall_forgets_the_tokens_and_keeps_or_purges_the_data(oauth_server, slack_api, kept):
    await install(oauth_server, "T2")
    await install(oauth_server, "T3")
    for team in ("T2", "T3"):
        await oauth_server.slash('usecase propose "Lakehouse"', team=team, channel=f"C{team[1]}")
    assert await initiatives_of(oauth_server, "T2") == 1
    await event(oauth_server, "T2", {"type": "app_uninstalled"}, "Ev-uninstall-1")

    async def forgotten() -> bool:
        return await bots_of(oauth_server, "T2") == [] and await installations_of(oauth_server, "T2") == 0

    await eventually(forgotten)
    await eventually(lambda: _equals(initiatives_of(oauth_server, "T2"), kept))
    assert await initiatives_of(oauth_server, "T3") == 1 and len(await bots_of(oauth_server, "T3")) == 1


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_revoked_bot_token_removes_the_installation_only(oauth_server, slack_api):
    await install(oauth_server, "T2")
    await oauth_server.slash('usecase propose "Lakehouse"', team="T2", channel="C2")
    await event(oauth_server, "T2", {"type": "tokens_revoked", "tokens": {"bot": ["UBOTT2"]}}, "Ev-revoke-1")
    await eventually(lambda: _equals(installations_of(oauth_server, "T2"), 0))
    assert await bots_of(oauth_server, "T2") == [] and await initiatives_of(oauth_server, "T2") == 1


def test_our_tables_have_the_shapes_slack_sdk_stores_use():
    """storage/ spells slack_sdk's tables out (it imports no platform SDK): they must not drift."""
    theirs = MetaData()
    expected = [
        (SLACK_INSTALLATIONS, SQLAlchemyInstallationStore.build_installations_table(theirs, "slack_installations")),
        (SLACK_BOTS, SQLAlchemyInstallationStore.build_bots_table(theirs, "slack_bots")),
        (SLACK_OAUTH_STATES, SQLAlchemyOAuthStateStore.build_oauth_states_table(theirs, "slack_oauth_states")),
    ]

    def shape(table):
        columns = {
            c.name: (type(c.type).__name__, getattr(c.type, "length", None), c.nullable, c.primary_key)
            for c in table.columns
        }
        indexes = {i.name: [c.name for c in i.columns] for i in table.indexes}
        return columns, indexes

    for ours, slack_sdk_table in expected:
        assert ours.name == slack_sdk_table.name
        assert shape(ours) == shape(slack_sdk_table)


async def test_an_outbox_message_for_an_uninstalled_workspace_fails_for_good(oauth_server, slack_api):
    await install(oauth_server, "T2")
    envelope = Envelope("T2", "C2", "channel", "C2", {"elements": elements_to_json([Text("Poll closed")])})
    await oauth_server.bot.slack.deliver(envelope)
    [post] = posts_to(slack_api, "C2")
    assert post == f"Bearer {(await bots_of(oauth_server, 'T2'))[0]['bot_token']}"
    await event(oauth_server, "T2", {"type": "app_uninstalled"}, "Ev-uninstall-2")
    await eventually(lambda: _equals(installations_of(oauth_server, "T2"), 0))
    with pytest.raises(SendError) as refused:
        await oauth_server.bot.slack.deliver(envelope)
    assert refused.value.permanent and "has not installed" in str(refused.value)
    assert len(posts_to(slack_api, "C2")) == 1
