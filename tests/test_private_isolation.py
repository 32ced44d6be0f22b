"""Private-channel data stays with the channel's members: not in another channel's summary, not in
a non-member's Home tab, not in a non-member's digest."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from handlers.digest import build_digest
from storage.models import Initiative


async def test_private_channel_data_reaches_only_its_members(server, slack_api):
    await server.slash('usecase propose "Secret merger data"', user="U1", channel="G1", channel_name="privategroup")
    await server.slash('poll start "Which first?" --method single --options "A; B"', user="U1", channel="G1",
                       channel_name="privategroup")  # fmt: skip
    await server.slash('usecase propose "Public thing"', user="U2", channel="C1")

    resp = await server.slash("summary usecases", user="U2", channel="C1")
    body = json.dumps(await resp.json())
    assert "Public thing" in body and "Secret merger data" not in body

    await server.bot.slack.publish_home("T1", "U1")
    await server.bot.slack.publish_home("T1", "U2")
    published = await slack_api.wait_for("views.publish", 2)
    views = {p.params["user_id"]: json.dumps(p.params["view"]) for p in published}
    assert '\\"c\\":\\"G1\\"' in views["U1"]  # the member's tab carries the private initiative
    assert "G1" not in views["U2"] and "Which first" not in views["U2"]

    async with server.bot.db.reading() as s:
        private = (await s.execute(select(Initiative).where(Initiative.conversation_id == "G1"))).scalar_one()
        assert private.is_private
        targets = {(kind, target) for kind, target, _ in await build_digest(s, private, datetime.now(UTC))}
    assert ("user", "U2") not in targets
    assert all(target in ("G1", "U1") for _, target in targets)
