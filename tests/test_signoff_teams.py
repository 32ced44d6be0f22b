"""Sign-off over Teams: the request reaches the approver's 1:1 chat as a card, and its Approve
card action (Action.Submit) is recorded against the initiative the card came from."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Member, SignOffResponse
from tests.support import message_activity


def _cards(activity: dict) -> list[dict]:
    return [a["content"] for a in activity.get("attachments", [])]


async def _arrival(connector, conversation: str, needle: str) -> dict:
    count = 1
    while True:
        got = await connector.wait_for(count)
        found = [a for a in got if a["_conversation_id"] == conversation and needle in str(_cards(a))]
        if found:
            return found[-1]
        count = len(got) + 1


async def test_approve_card_action_from_the_personal_chat(server, connector):
    url = connector.url
    bob = dict(service_url=url, user="aad-2", name="Bob", conversation="personal-bob", conversation_type="personal")
    await server.teams(message_activity("help", **bob))  # Bob has talked to the bot: it can DM him
    for line in ('raci activity add "Data policy"', "raci assign ACT-1 A <@aad-2|Bob>", "signoff request ACT-1"):
        await server.teams(message_activity(line, service_url=url))
    ask = await _arrival(connector, "personal-bob", "asks you to approve ACT-1 Data policy")
    approve = next(a for c in _cards(ask) for a in c.get("actions", []) if a["title"] == "Approve")
    assert approve["type"] == "Action.Submit"
    assert approve["data"]["alignbot_action"] == "signoff.approve:1" and approve["data"]["value"] == "SIGN-1"

    # Someone else replaying Bob's card data in their own chat is not an approver: refused.
    eve = dict(service_url=url, user="aad-5", name="Eve", conversation="personal-eve", conversation_type="personal")
    await server.teams(message_activity("", value=approve["data"], **eve))
    await _arrival(connector, "personal-eve", "not part of")

    await server.teams(message_activity("", value=approve["data"], **bob))
    await _arrival(connector, "personal-bob", "Recorded: you approved SIGN-1")
    async with server.bot.db.reading() as s:
        rows = (await s.execute(select(SignOffResponse.decision, Member.user_id).join(Member))).all()
    assert [tuple(r) for r in rows] == [("approved", "aad-2")]
