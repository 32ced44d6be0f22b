"""`summary all` in Teams: Adaptive Cards of at most 80 KB each, split rather than cut, with the
charts inside the cards as data: URIs."""

from __future__ import annotations

import base64
import io
import json

from PIL import Image as PILImage

from bot.render.teams import MAX_CARD_BYTES, card_size
from tests.report_sample import insert_sample
from tests.support import message_activity, table_text, teams_reply


async def test_summary_all_in_teams_cards_within_limits_with_pictures(server, connector):
    async with server.bot.db.transaction() as s:
        await insert_sample(s, platform="teams", workspace="tenant-1", conversation="conv-1")
    asked = message_activity("summary all", service_url=connector.url, user="U01")
    resp = await server.teams(asked)
    assert resp.status in (200, 201)
    # The answers to this turn, by their outbox row (the outbox may post the sample's open poll meanwhile).
    activities = await teams_reply(server.bot, connector, asked)
    assert all(a.get("replyToId") == asked["id"] for a in activities)
    cards = [a["content"] for act in activities for a in act.get("attachments", [])]
    assert len(cards) >= 1
    assert all(card_size(c) <= MAX_CARD_BYTES for c in cards)
    body = [b for c in cards for b in c["body"]]
    text = json.dumps(body) + table_text(body)
    for title in ("Assessment overview", "Prioritized use cases", "Risk register and mitigation plans"):
        assert title in text
    for n in range(1, 13):
        assert f"UC-{n} " in text
    images = [b for b in body if b["type"] == "Image"]
    assert [i["altText"] for i in images] == [
        "Impact versus feasibility of the use cases",
        "Bar chart of the ranking of POLL-1",
        "Heat map of open risks by likelihood and impact",
        "Timeline of the milestones",
    ]
    for i in images:
        prefix = "data:image/png;base64,"
        assert i["url"].startswith(prefix)
        with PILImage.open(io.BytesIO(base64.b64decode(i["url"][len(prefix) :]))) as im:
            assert im.format == "PNG" and im.width > 300
