"""Polls in Teams: Action.Execute invokes answered with the voter's card, no message in the chat."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from storage.models import Ballot, Outbox
from tests.support import message_activity


def card_text(card: dict) -> str:
    return str(card.get("body", []))


def invoke(data: dict, *, service_url: str, user: str, name: str) -> dict:
    activity = message_activity("", service_url=service_url, user=user, name=name)
    activity.update(
        type="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": data.get("alignbot_action", "x"), "data": data}},
    )
    return activity


async def test_votes_are_action_execute_invokes_answered_privately_with_the_card(server, connector):
    await server.teams(
        message_activity('poll start "Lunch?" --method single --options "Pizza; Sushi"', service_url=connector.url)
    )
    sent = await connector.wait_for(2, timeout=30)
    poll_card = next(a for a in sent if "POLL-1: Lunch?" in str(a))["attachments"][0]["content"]
    actions = {a["title"]: a for a in poll_card["actions"]}
    assert actions["2. Sushi"]["type"] == "Action.Execute" and actions["2. Sushi"]["verb"] == "poll.pick:1:2"
    before = len(connector.activities)

    resp = await server.teams(invoke(actions["2. Sushi"]["data"], service_url=connector.url, user="aad-2", name="Bo"))
    assert resp.status == 200
    body = await resp.json()
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Your vote on POLL-1 is recorded: 2. Sushi" in card_text(body["value"])

    ballot = await server.teams(
        invoke(actions["Your ballot"]["data"], service_url=connector.url, user="aad-2", name="Bo")
    )
    form = (await ballot.json())["value"]
    assert [i["id"] for i in form["body"] if "id" in i] == ["choice"]
    assert next(i for i in form["body"] if i.get("id") == "choice")["value"] == "2"  # prefilled
    submit = form["actions"][0]
    assert submit["type"] == "Action.Execute"
    changed = await server.teams(
        invoke({**submit["data"], "choice": "1"}, service_url=connector.url, user="aad-2", name="Bo")
    )
    assert "Your vote on POLL-1 is recorded: 1. Pizza" in card_text((await changed.json())["value"])
    bad = await server.teams(
        invoke({**submit["data"], "choice": "9"}, service_url=connector.url, user="aad-2", name="Bo")
    )
    assert "choose one of the poll's options" in card_text((await bad.json())["value"])

    async with server.bot.db.reading() as s:
        assert (await s.execute(select(func.count()).select_from(Ballot))).scalar_one() == 1
        assert (await s.execute(select(Ballot.choices))).scalar_one() == {"pick": 1}
    # The running tally arrives as an edit of the poll card, not as a new message.
    updated = await connector.wait_for(before + 1, timeout=30)
    edits = [a for a in updated[before:] if a["_method"] == "PUT"]
    assert edits and all(a["_method"] == "PUT" for a in updated[before:])
    assert "1 of 2 voted" in str(edits[-1]["attachments"][0]["content"])


async def test_reminders_use_the_conversations_roster_and_skip_voters(server, connector):
    connector.members["conv-1"] = [
        {"id": f"29:aad-{i}", "name": f"P{i}", "aadObjectId": f"aad-{i}"} for i in (1, 2, 3, 4)
    ]
    await server.teams(message_activity('poll start "Q?" --method single --options "A; B"', service_url=connector.url))
    await server.teams(message_activity("poll vote POLL-1 2", service_url=connector.url, user="aad-2", name="P2"))
    # aad-3 has a 1:1 chat with the bot, so a private reminder can reach them there.
    await server.teams(
        message_activity(
            "help",
            service_url=connector.url,
            user="aad-3",
            name="P3",
            conversation="personal-3",
            conversation_type="personal",
        )
    )
    await connector.wait_for(4, timeout=30)
    await server.teams(message_activity("poll remind POLL-1", service_url=connector.url))
    rows = await reminder_rows_settled(server, 3)
    assert sorted(r.target_id for r in rows) == ["aad-1", "aad-3", "aad-4"]  # the voter aad-2 is not reminded
    states = {r.target_id: r.state for r in rows}
    assert states["aad-3"] == "sent"
    # Nobody else has a 1:1 chat with the bot: their reminders fail visibly, with the reason.
    assert states["aad-1"] == states["aad-4"] == "failed"
    assert all("must message the bot first" in r.last_error for r in rows if r.state == "failed")
    dm = [a for a in connector.activities if a["_conversation_id"] == "personal-3"]
    assert any("You have not voted on POLL-1 yet: Q?." in str(a.get("attachments")) for a in dm)


async def reminder_rows_settled(server, n: int) -> list:
    for _ in range(300):  # bounded polling of a condition, not a fixed wait for an outcome
        async with server.bot.db.reading() as s:
            rows = (await s.execute(select(Outbox).where(Outbox.dedupe_key.like("poll-remind:%")))).scalars().all()
        if len(rows) == n and all(r.state in ("sent", "failed") for r in rows):
            return list(rows)
        await asyncio.sleep(0.2)
    raise AssertionError(f"reminders did not settle: {[(r.target_id, r.state) for r in rows]}")
