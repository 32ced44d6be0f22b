"""RACI and sign-off over Slack: notifications as DMs through the outbox, buttons as signed
block_actions, the reject button's modal, against the recording fake Slack Web API."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import SignOffResponse
from tests.support import block_action, view_submission


def _texts(call) -> str:
    return str(call.params.get("blocks")) + call.params.get("text", "")


def _button(call, label: str) -> dict:
    for block in call.params["blocks"]:
        for el in block.get("elements", []) if block.get("type") == "actions" else []:
            if el["text"]["text"] == label:
                return el
    raise AssertionError(f"no {label} button in {call.params['blocks']}")


async def _dm(slack_api, user: str, needle: str):
    """The latest DM to `user` containing `needle`, waiting for it to arrive (no sleeps)."""
    count = 1
    while True:
        calls = await slack_api.wait_for("chat.postMessage", count)
        found = [c for c in calls if c.params["channel"] == user and needle in _texts(c)]
        if found:
            return found[-1]
        count = len(calls) + 1


async def _decisions(server) -> list[tuple[int, str, str]]:
    async with server.bot.db.reading() as s:
        rows = (await s.execute(select(SignOffResponse).order_by(SignOffResponse.id))).scalars().all()
        return [(r.member_id, r.decision, r.comment) for r in rows]


async def test_assignment_dm_then_approve_button_then_stale_after_change(server, slack_api):
    await server.slash('raci activity add "Data policy" --description "Who may read what"', user="U1")
    await server.slash("raci assign ACT-1 R <@U1|ann> A <@U2|bob> C <@U3|cy>", user="U1")
    # Everyone assigned is told privately: a chat.postMessage to their user id (the DM).
    note = await _dm(slack_api, "U2", "made you Accountable (A) for ACT-1 Data policy")
    assert "you own the outcome" in _texts(note)
    await _dm(slack_api, "U3", "made you Consulted (C) for ACT-1 Data policy")

    await server.slash("signoff request ACT-1 <@U3|cy>", user="U1")
    ask = await _dm(slack_api, "U2", "asks you to approve ACT-1 Data policy")
    approve = _button(ask, "Approve")

    # Someone who is not in the initiative replays bob's button: refused, nothing stored.
    await server.interact(block_action(approve["action_id"], approve["value"], user="U9", channel="D9"))
    # bob's click in his DM: the value only hints at SIGN-1; his own decision is recorded, cy's stays pending.
    await server.interact(block_action(approve["action_id"], approve["value"], user="U2", channel="D2"))
    await slack_api.wait_for("chat.postEphemeral", 2)
    replies = [_texts(c) for c in slack_api.of("chat.postEphemeral")]
    assert any("not part of" in r for r in replies)
    assert any("Recorded: you approved SIGN-1" in r for r in replies)
    decisions = await _decisions(server)
    assert sorted(d for _, d, _ in decisions) == ["approved", "pending"]

    # A double click is one decision (the second says it was already decided).
    await server.interact(block_action(approve["action_id"], approve["value"], user="U2", channel="D2"))
    await slack_api.wait_for("chat.postEphemeral", 3)
    assert "already approved SIGN-1" in _texts(slack_api.of("chat.postEphemeral")[-1])
    assert len(await _decisions(server)) == 2

    # The deliverable changes: the approval is shown as stale.
    await server.slash('raci activity rename ACT-1 "Data access policy"', user="U1")
    resp = await server.slash("signoff status ACT-1", user="U1")
    status = str((await resp.json())["blocks"])
    assert "STALE: content changed since, request again" in status
    assert "approved (stale)" in status


async def test_request_changes_button_opens_a_modal_that_needs_a_comment(server, slack_api):
    await server.slash('raci activity add "Data policy"', user="U1")
    await server.slash("raci assign ACT-1 A <@U2|bob>", user="U1")
    await server.slash("signoff request ACT-1", user="U1")
    ask = await _dm(slack_api, "U2", "asks you to approve")
    reject = _button(ask, "Request changes")
    await server.interact(block_action(reject["action_id"], reject["value"], user="U2", channel="D2"))
    view = (await slack_api.wait_for("views.open"))[0].params["view"]
    bad = await server.interact(view_submission(view, {"comment": ""}, user="U2"))
    assert "comment" in str(await bad.json())
    assert [d for _, d, _ in await _decisions(server)] == ["pending"]
    good = await server.interact(view_submission(view, {"comment": "Add the PII rules"}, user="U2"))
    assert good.status == 200
    assert [(d, c) for _, d, c in await _decisions(server)] == [("rejected", "Add the PII rules")]
    # The requester hears about it privately.
    await _dm(slack_api, "U1", "requested changes to SIGN-1")
