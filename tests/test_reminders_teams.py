"""Teams reminders: proactive messages through the stored ConversationReference, with card
actions that mark the milestone done from the person's 1:1 chat."""

from __future__ import annotations

from sqlalchemy import select

from storage.migrate import upgrade
from storage.models import Milestone
from tests.support import make_settings, message_activity, serve, teams_reply
from tests.test_reminders import Clock, utc


def card(activity: dict) -> dict:
    return activity["attachments"][0]["content"]


async def test_teams_reminder_is_a_proactive_card_and_its_done_action_closes_the_milestone(sqlite_url, connector):
    await upgrade(sqlite_url)
    clock = Clock(utc(2026, 12, 1, 10))
    running = await serve(make_settings(sqlite_url, teams=True), clock=clock)
    try:
        # Alice's 1:1 chat with the bot: the reference proactive reminders need.
        hello = message_activity("help", service_url=connector.url, conversation="dm-1", conversation_type="personal")
        await running.teams(hello)
        add = message_activity(
            'milestone add "Review" --due 2026-12-14 --owner <at>Alice</at>', service_url=connector.url
        )
        add["entities"] = [{"type": "mention", "text": "<at>Alice</at>", "mentioned": {"id": "aad-1", "name": "Alice"}}]
        await running.teams(add)
        replies = [*await teams_reply(running.bot, connector, hello), *await teams_reply(running.bot, connector, add)]
        assert "added MS-1: Review" in str(card(replies[-1]))
        before = len(connector.activities)
        clock.set(utc(2026, 12, 14, 9))  # due day: Alice privately and the channel
        await running.bot.reminders.sweep()
        while await running.bot.outbox.drain():
            pass
        sent = (await connector.wait_for(before + 2))[before:]
        assert len(sent) == 2
        marks = [a.get("channelData", {}).get("alignbotOutboxId") for a in sent]
        assert all(isinstance(m, int) for m in marks) and len(set(marks)) == 2  # one outbox row each
        replied = {a["channelData"]["alignbotOutboxId"] for a in replies}  # the replies are outbox rows too
        assert len(replied) == 2 and replied.isdisjoint(marks)
        by_conversation = {a["_conversation_id"]: card(a) for a in sent}
        assert set(by_conversation) == {"dm-1", "conv-1"}
        assert "Due today: MS-1 Review." in str(by_conversation["dm-1"])
        actions = by_conversation["dm-1"]["actions"]
        assert [a["title"] for a in actions] == ["Done", "Snooze 1 day", "Snooze 1 week"]
        done = actions[0]["data"]
        assert done["alignbot_action"] == "milestone.done" and done["alignbot_conversation"] == "conv-1"
        click = message_activity(
            "", service_url=connector.url, conversation="dm-1", conversation_type="personal", value=done
        )
        await running.teams(click)
        (reply,) = await teams_reply(running.bot, connector, click)
        assert "marked MS-1 Review done" in str(card(reply))
        async with running.bot.db.reading() as s:
            assert (await s.execute(select(Milestone.status))).scalar_one() == "done"
    finally:
        await running.stop()
