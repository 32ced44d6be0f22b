"""Teams conversationUpdate: people removed from the conversation are flagged, and unflagged when added back."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from storage.models import Member
from tests.support import message_activity


def membership(connector, key: str, user: str, name: str) -> dict:
    activity = message_activity("", service_url=connector.url)
    activity.update(type="conversationUpdate", id=uuid.uuid4().hex)
    activity.pop("text")
    activity[key] = [{"id": f"29:{user}", "name": name, "aadObjectId": user}, {"id": "28:bot", "name": "Alignbot"}]
    return activity


async def active(server, user: str) -> bool | None:
    async with server.bot.db.reading() as s:
        return (await s.execute(select(Member.active).where(Member.user_id == user))).scalar_one_or_none()


async def test_removed_members_are_flagged_and_added_back(server, connector):
    await server.teams(message_activity('raci activity add "Data policy"', service_url=connector.url))
    await server.teams(message_activity("help", service_url=connector.url, user="aad-3", name="Cy"))
    await connector.wait_for(2)
    assert await active(server, "aad-3") is True

    resp = await server.teams(membership(connector, "membersRemoved", "aad-3", "Cy"))
    assert resp.status in (200, 201)
    assert await active(server, "aad-3") is False

    await server.teams(membership(connector, "membersAdded", "aad-3", "Cy"))
    assert await active(server, "aad-3") is True
    # Someone the initiative never saw is not created by a membership event.
    await server.teams(membership(connector, "membersRemoved", "aad-9", "Stranger"))
    assert await active(server, "aad-9") is None
