"""Polls in Teams: Action.Execute invokes answered with the voter's card, no message in the chat."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Ballot
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
    sent = await connector.wait_for(2)
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
    updated = await connector.wait_for(before + 1, timeout=15)
    edits = [a for a in updated[before:] if a["_method"] == "PUT"]
    assert edits and all(a["_method"] == "PUT" for a in updated[before:])
    assert "1 of 2 voted" in str(edits[-1]["attachments"][0]["content"])
