"""People who leave a Slack channel are flagged (member_left_channel), and flagged RACI roles show."""

from __future__ import annotations

import asyncio
import json
import time

from sqlalchemy import select

from storage.models import Member
from tests.support import signed_headers


def _event(kind: str, user: str, event_id: str, channel: str = "C1") -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {"type": kind, "user": user, "channel": channel, "channel_type": "C", "team": "T1"},
        }
    )


async def _active(server, user: str, want: bool) -> None:
    """Bolt runs event listeners after the ack: wait for the row to change (bounded, no fixed sleep)."""
    for _ in range(500):
        async with server.bot.db.reading() as s:
            m = (await s.execute(select(Member).where(Member.user_id == user))).scalar_one()
            if m.active is want:
                return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{user} never became active={want}")


async def test_member_left_channel_flags_the_person_in_check_and_show(server, slack_api):
    await server.slash('raci activity add "Data policy"', user="U1")
    await server.slash("raci assign ACT-1 A <@U1|ann> R <@U3|cy>", user="U1")
    body = _event("member_left_channel", "U3", "Ev1")
    resp = await server.slack(body, signed_headers(body, content_type="application/json"))
    assert resp.status == 200
    await _active(server, "U3", False)
    check = str((await (await server.slash("raci check", user="U1")).json())["blocks"])
    assert "cy has left but still holds roles; reassign them." in check
    show = str((await (await server.slash("raci show", user="U1")).json())["blocks"])
    assert "cy (left)" in show
    # A leave event for a channel with no initiative, or someone not in it, creates nothing.
    other = _event("member_left_channel", "U8", "Ev2", channel="C99")
    await server.slack(other, signed_headers(other, content_type="application/json"))
    back = _event("member_joined_channel", "U3", "Ev3")
    await server.slack(back, signed_headers(back, content_type="application/json"))
    await _active(server, "U3", True)
    async with server.bot.db.reading() as s:
        assert sorted((await s.execute(select(Member.user_id))).scalars()) == ["U1", "U3"]
