"""The web face over real HTTP: a facilitator's token, commands in, neutral replies out, and every
bad request a JSON refusal (never a 500)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from bot.faces.web.commands import PATH
from handlers.messages import Actor, Incoming
from storage.models import Member, UseCase, WebToken
from tests.support import make_settings, serve

ANN = Actor("console", "console", "ann", "Ann")
BO = Actor("console", "console", "bo", "Bo")


@pytest.fixture
async def web(db_url):
    running = await serve(make_settings(db_url, env={"ALIGNBOT_WEB_API": "on"}))
    yield running
    await running.stop()


async def say(running, actor: Actor, text: str, conversation: str = "general"):
    return await running.bot.core.handle(Incoming(actor=actor, conversation_id=conversation, text=text))


async def token_of(running, actor: Actor = ANN, conversation: str = "general") -> str:
    reply = await say(running, actor, "web token", conversation)
    assert reply.ok, reply.plain_text()
    return next(e.text for e in reply.elements if e.text.startswith("alignbot_"))


async def post(running, body, token: str | None = None, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    kw = {"json": body} if not isinstance(body, bytes) else {"data": body}
    resp = await running.http.post(running.url + PATH, headers=headers, **kw)
    return resp.status, await resp.json()


async def test_a_command_as_json_gets_the_neutral_reply_as_json(web):
    token = await token_of(web)
    status, answer = await post(web, {"text": 'usecase propose "Churn model"'}, token)
    assert status == 200 and answer["ok"] and answer["replayed"] is False
    status, answer = await post(web, {"text": "usecase list", "conversation": "general"}, token)
    assert status == 200 and answer["visibility"] in ("ephemeral", "channel")
    assert "Churn model" in str(answer["elements"]) and answer["elements"][0]["type"]
    async with web.bot.db.reading() as s:
        proposer = (
            await s.execute(select(Member.user_id).join(UseCase, UseCase.proposer_member_id == Member.id))
        ).scalar_one()
    assert proposer == "ann"  # the token acts as the facilitator who issued it


async def test_a_refused_command_is_a_reply_not_an_error(web):
    token = await token_of(web)
    status, answer = await post(web, {"text": "usecase frobnicate"}, token)
    assert status == 200 and answer["ok"] is False and "usecase" in str(answer["elements"])


async def test_only_the_hash_is_stored_and_a_new_token_replaces_the_old(web):
    first = await token_of(web)
    async with web.bot.db.reading() as s:
        stored = (await s.execute(select(WebToken.token_hash))).scalars().all()
    assert stored == [hashlib.sha256(first.encode()).hexdigest()]
    second = await token_of(web)
    assert (await post(web, {"text": "help"}, first))[0] == 401
    assert (await post(web, {"text": "help"}, second))[0] == 200
    assert (await say(web, ANN, "web token revoke")).ok
    assert (await post(web, {"text": "help"}, second))[0] == 401


async def test_stakeholders_cannot_make_tokens(web):
    await token_of(web)  # Ann started the initiative: she facilitates, Bo does not
    refused = await say(web, BO, "web token")
    assert not refused.ok
    async with web.bot.db.reading() as s:
        assert len((await s.execute(select(WebToken))).all()) == 1


async def test_a_token_opens_only_its_own_initiative(web):
    token = await token_of(web, conversation="general")
    await token_of(web, conversation="other")
    status, answer = await post(web, {"text": "usecase list", "conversation": "other"}, token)
    assert status == 403 and answer["ok"] is False


async def test_a_repeated_id_runs_once(web):
    token = await token_of(web)
    body = {"text": 'usecase propose "Once only"', "id": "script-run-1"}
    first, again = await post(web, body, token), await post(web, body, token)
    assert first[0] == again[0] == 200 and again[1]["replayed"] is True
    async with web.bot.db.reading() as s:
        assert len((await s.execute(select(UseCase))).all()) == 1


WRONG_AUTHORIZATIONS = [None, "", "Bearer", "Bearer nonsense", "Basic YWxpY2U6c2VjcmV0", "Bearer alignbot_" + "x" * 43]
MALFORMED_BODIES = [
    b"{not json",
    b"\xff\xfe",
    b"[" * 100_000,
    [],
    "usecase list",
    {},
    {"text": ""},
    {"text": 42},
    {"text": "x" * 4001},
    {"text": "help", "conversation": 7},
    {"text": "help", "id": ""},
]


async def test_no_or_a_wrong_token_is_401_json(web):
    await token_of(web)
    for authorization in WRONG_AUTHORIZATIONS:
        headers = {"Authorization": authorization} if authorization is not None else {}
        status, answer = await post(web, {"text": 'usecase propose "Sneaky"'}, **headers)
        assert (status, answer["ok"]) == (401, False) and "web token" in answer["error"], authorization
    async with web.bot.db.reading() as s:
        assert (await s.execute(select(UseCase))).first() is None


async def test_malformed_bodies_are_400_json_and_run_nothing(web):
    token = await token_of(web)
    for body in MALFORMED_BODIES:
        status, answer = await post(web, body, token)
        assert (status, answer["ok"]) == (400, False) and answer["error"], repr(body)[:80]
    async with web.bot.db.reading() as s:
        assert (await s.execute(select(UseCase))).first() is None


async def test_the_face_is_off_unless_asked_for(db_url):
    running = await serve(make_settings(db_url))
    try:
        resp = await running.http.post(running.url + PATH, json={"text": "help"})
        assert resp.status == 404 and "web" not in running.bot.faces
        assert "web token" not in running.bot.registry.commands
    finally:
        await running.stop()
