"""Slack reminders over real HTTP: the DM's Snooze and Done buttons, clicked in the DM, act on
the milestone of the initiative the reminder came from (the button value is only a hint)."""

from __future__ import annotations

from sqlalchemy import select

from storage.migrate import upgrade
from storage.models import Milestone, Reminder
from tests.support import block_action, make_settings, serve
from tests.test_reminders import Clock, utc


def buttons(call) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in call.params["blocks"] if b["type"] == "actions" for e in b["elements"]}


async def test_done_and_snooze_buttons_in_the_reminder_dm(sqlite_url, slack_api):
    await upgrade(sqlite_url)
    clock = Clock(utc(2026, 12, 1, 10))
    running = await serve(make_settings(sqlite_url, slack_api_url=slack_api.url), clock=clock)
    try:
        resp = await running.slash('milestone add "Review" --due 2026-12-14 --owner <@U2|bob>')
        assert resp.status == 200
        await slack_api.wait_for("chat.postMessage", 1)  # the channel announcement
        clock.set(utc(2026, 12, 9, 9))
        await running.bot.reminders.sweep()
        while await running.bot.outbox.drain():
            pass
        dm = [c for c in slack_api.of("chat.postMessage") if c.params["channel"] == "U2"]
        assert len(dm) == 1
        values = buttons(dm[0])
        assert set(values) == {"milestone.done", "milestone.snooze:1d", "milestone.snooze:1w"}
        await running.interact(
            block_action("milestone.snooze:1w", values["milestone.snooze:1w"], user="U2", channel="D2")
        )
        await slack_api.wait_for("chat.postEphemeral", 1)  # actions are acked first, answered after
        async with running.bot.db.reading() as s:
            snooze = (await s.execute(select(Reminder).where(Reminder.kind == "snooze"))).scalar_one()
        assert snooze.due_at == utc(2026, 12, 16, 9) and snooze.payload == {"user_id": "U2"}
        # Someone outside the initiative cannot use a forwarded button.
        await running.interact(block_action("milestone.done", values["milestone.done"], user="U9", channel="D9"))
        await slack_api.wait_for("chat.postEphemeral", 2)
        await running.interact(block_action("milestone.done", values["milestone.done"], user="U2", channel="D2"))
        await slack_api.wait_for("chat.postMessage", 3)
        async with running.bot.db.reading() as s:
            ms = (await s.execute(select(Milestone))).scalar_one()
            states = set((await s.execute(select(Reminder.state))).scalars())
        assert ms.status == "done" and states == {"sent", "cancelled"}
        said = [str(c.params.get("blocks")) for c in slack_api.calls if c.method.startswith("chat.post")]
        assert any("marked MS-1 Review done" in t for t in said)
        assert any("belongs to an initiative you are not part of" in t for t in said)
    finally:
        await running.stop()
