"""Roles and isolation across every command the registry knows, with forged ids from outside.

The permission table is generated from `Registry.discover()`, so a command added later is
checked without editing this file: a stakeholder is refused every facilitator-only command with
a clear message and nothing changes; every command open to stakeholders is not refused for role.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.faces.slack.face import encode_value
from handlers.core import NOT_A_MEMBER
from handlers.messages import Action, Actor, FormSubmission, Incoming, reply_to_json
from handlers.registry import Registry
from storage.migrate import upgrade
from storage.models import Base, UseCase
from tests.support import block_action, make_settings, view_submission

REGISTRY = Registry.discover()
FACILITATOR_ONLY = sorted(n for n, c in REGISTRY.commands.items() if "stakeholder" not in c.roles)
OPEN_TO_STAKEHOLDERS = sorted(n for n, c in REGISTRY.commands.items() if "stakeholder" in c.roles)
FACILITATOR_ACTIONS = sorted(p for p, a in REGISTRY.actions.items() if "stakeholder" not in a.roles)
DENIED = "Only a facilitator of this initiative can use"


class Chat:
    """The core as the faces call it: deliveries from people in workspaces and conversations."""

    def __init__(self, app) -> None:
        self.app = app

    async def say(self, user: str, text: str, *, conv: str = "C1", ws: str = "T1"):
        return await self.app.core.handle(
            Incoming(actor=Actor("slack", ws, user, user), conversation_id=conv, conversation_name=conv, text=text)
        )

    async def send(self, user: str, *, conv: str = "C1", ws: str = "T1", hint: bool = False, **what):
        incoming = Incoming(Actor("slack", ws, user, user), conv, conv, conversation_is_hint=hint, **what)
        return await self.app.core.handle(incoming)

    async def snapshot(self) -> dict[str, int]:
        async with self.app.db.reading() as s:
            return {
                t.name: (await s.execute(select(func.count()).select_from(t))).scalar_one()
                for t in Base.metadata.sorted_tables
            }


@pytest.fixture
async def chat(sqlite_url):
    await upgrade(sqlite_url)
    app = create_app(make_settings(sqlite_url))
    yield Chat(app)
    await app.outbox.stop()
    await app.db.dispose()


def shown(reply) -> str:
    return json.dumps(reply_to_json(reply)) if reply is not None else ""


def test_the_permission_table_covers_both_roles():
    assert FACILITATOR_ONLY and OPEN_TO_STAKEHOLDERS
    assert {"member promote", "member demote"} <= set(FACILITATOR_ONLY)
    assert {"help", "usecase propose", "usecase list"} <= set(OPEN_TO_STAKEHOLDERS)


async def test_every_facilitator_only_command_is_refused_to_a_stakeholder_and_changes_nothing(chat):
    await chat.say("alice", "help")  # first speaker: the initiative's facilitator
    await chat.say("bob", "help")
    for name in FACILITATOR_ONLY:
        before = await chat.snapshot()
        reply = await chat.say("bob", name)
        assert reply is not None and not reply.ok, name
        assert f"{DENIED} `{name}`" in reply.plain_text(), (name, reply.plain_text())
        assert await chat.snapshot() == before, name
    for prefix in FACILITATOR_ACTIONS:
        before = await chat.snapshot()
        reply = await chat.send("bob", action=Action(f"{prefix}:1", "1"))
        assert not reply.ok and DENIED in reply.plain_text(), prefix
        assert await chat.snapshot() == before, prefix


async def test_no_command_open_to_stakeholders_is_refused_for_role(chat):
    await chat.say("alice", "help")
    for name in OPEN_TO_STAKEHOLDERS:
        reply = await chat.say("bob", name)
        assert DENIED not in shown(reply), name


async def test_a_promoted_stakeholder_may_and_a_demoted_one_may_not(chat):
    await chat.say("alice", "help")
    await chat.say("bob", "help")
    assert DENIED in (await chat.say("bob", "raci init")).plain_text()
    assert (await chat.say("alice", "member promote <@bob|bob>")).ok
    assert DENIED not in shown(await chat.say("bob", "raci init"))
    assert (await chat.say("alice", "member demote <@bob|bob>")).ok
    assert DENIED in (await chat.say("bob", 'raci activity add "Design"')).plain_text()


async def test_forged_ids_from_another_workspace_or_initiative_fail_cleanly(chat):
    assert (await chat.say("alice", 'usecase propose "Secret merger analytics" --impact 5')).ok
    before = await chat.snapshot()
    outsiders = [("mallory", "T2", "C1"), ("carol", "T1", "C2")]  # same channel id elsewhere; another channel
    for user, ws, _ in outsiders:  # a button or a form whose hidden conversation names alice's initiative
        for what in (
            {"action": Action("usecase.from_message:1", "UC-1")},
            {"action": Action("milestone.done:1", "1")},
            {"form": FormSubmission("usecase propose", {"title": "Planted"}, {})},
        ):
            reply = await chat.send(user, ws=ws, conv="C1", hint=True, **what)
            assert not reply.ok and reply.plain_text() == NOT_A_MEMBER, (user, what)
    assert await chat.snapshot() == before
    writes = (
        'usecase edit UC-1 --title "Pwned"',
        "usecase withdraw UC-1",
        'usecase require UC-1 "x"',
        "usecase status UC-1 rejected",
        'kpi suggest UC-1 "K" --baseline 1 --target 2 --unit x',
    )
    for user, ws, conv in outsiders:  # ids typed by hand: UC-1 of another initiative or workspace
        for line in ("usecase list", "usecase show UC-1", "export md", "summary"):
            assert "Secret merger" not in shown(await chat.say(user, line, ws=ws, conv=conv)), (user, line)
        for line in writes:
            reply = await chat.say(user, line, ws=ws, conv=conv)
            assert reply is not None and "Traceback" not in shown(reply), line
    after = await chat.snapshot()
    grown = {t for t in after if after[t] != before[t]}
    assert grown <= {"workspace", "initiative", "member", "processed_event", "audit_event", "counter"}, grown
    async with chat.app.db.reading() as s:
        cases = (await s.execute(select(UseCase))).scalars().all()
    assert [(c.title, c.status) for c in cases] == [("Secret merger analytics", "proposed")]


async def test_forged_button_values_and_modal_metadata_over_slack(server, slack_api):
    await server.slash('usecase propose "Private roadmap" --impact 3', team="T1", channel="C1", user="U1")
    await slack_api.wait_for("chat.postMessage")
    forged = block_action("milestone.done:1", encode_value("C1", "1"), user="U666", team="T2", channel="D666")
    assert (await server.interact(forged)).status == 200
    answers = await slack_api.wait_for("chat.postEphemeral")
    assert NOT_A_MEMBER in json.dumps(answers[0].params)

    await server.slash("usecase propose", team="T2", channel="C9", user="U666")
    view = (await slack_api.wait_for("views.open"))[0].params["view"]
    view["private_metadata"] = json.dumps({"command": "usecase propose", "channel": "C1"})  # edited by hand
    resp = await server.interact(view_submission(view, {"title": "Planted"}, user="U666", team="T2"))
    assert NOT_A_MEMBER in json.dumps(await resp.json())
    async with server.bot.db.reading() as s:
        assert [u.title for u in (await s.execute(select(UseCase))).scalars()] == ["Private roadmap"]


async def test_items_per_initiative_are_capped_and_the_refusal_stores_nothing(sqlite_url):
    await upgrade(sqlite_url)
    app = create_app(make_settings(sqlite_url, max_items_per_kind=2))
    chat = Chat(app)
    try:
        for title in ("Churn model", "Fraud scoring"):
            assert (await chat.say("alice", f'usecase propose "{title}"')).ok
        before = await chat.snapshot()
        reply = await chat.say("alice", 'usecase propose "Supply forecast"')
        assert not reply.ok and "most UC-n items allowed (2)" in reply.plain_text()
        assert "ALIGNBOT_MAX_ITEMS_PER_KIND" in reply.plain_text()
        assert await chat.snapshot() == before
        assert (await chat.say("alice", 'usecase propose "Supply forecast"', conv="C2")).ok  # per initiative
    finally:
        await app.outbox.stop()
        await app.db.dispose()
