"""The Home tab is rebuilt after the actions of people who look at it, and only theirs."""

from __future__ import annotations

import json

from bot.faces.slack.face import encode_value
from tests.support import block_action, signed_headers


def home_opened(user: str) -> dict:
    return {
        "token": "legacy",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": f"Ev-{user}",
        "event_time": 1700000000,
        "event": {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"},
    }


async def test_only_people_who_opened_their_home_tab_get_it_rebuilt_after_a_click(server, slack_api):
    await server.slash('usecase propose "Something to show"', user="U1")
    await server.slash("usecase list", user="U2")
    button = encode_value("C1", "overview")

    await server.interact(block_action("home.summary:overview", button, user="U2"))
    await slack_api.wait_for("chat.postEphemeral", 1)
    assert slack_api.of("views.publish") == []  # U2 never looked at the Home tab

    body = json.dumps(home_opened("U1"))
    resp = await server.slack(body, signed_headers(body, content_type="application/json"))
    assert resp.status == 200
    await slack_api.wait_for("views.publish", 1)
    await server.interact(block_action("home.summary:overview", button, user="U1"))
    published = await slack_api.wait_for("views.publish", 2)
    assert [p.params["user_id"] for p in published] == ["U1", "U1"]
