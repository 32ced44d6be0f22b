"""The Teams face over real HTTP: activities in, replies at the fake Bot Connector."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import ConversationReference, Outbox, UseCase
from tests.support import make_settings, message_activity, serve, teams_reply


def card_texts(activity: dict) -> str:
    return str([a["content"] for a in activity.get("attachments", [])])


async def test_message_creates_use_case_and_reply_reaches_connector(server, connector):
    activity = message_activity(
        '<at>Alignbot</at> usecase propose "Migrate legacy ETL" --impact 5 --feasibility 3',
        service_url=connector.url,
    )
    activity["entities"] = [
        {"type": "mention", "text": "<at>Alignbot</at>", "mentioned": {"id": "28:bot", "name": "Alignbot"}}
    ]
    resp = await server.teams(activity)
    assert resp.status in (200, 201)
    replies = await connector.wait_for(1)
    assert replies[0]["_conversation_id"] == "conv-1"
    assert replies[0]["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "UC-1: Migrate legacy ETL" in card_texts(replies[0])
    async with server.bot.db.reading() as s:
        uc = (await s.execute(select(UseCase))).scalar_one()
        assert (uc.title, uc.impact, uc.feasibility) == ("Migrate legacy ETL", 5, 3)
        refs = (await s.execute(select(ConversationReference))).scalars().all()
        assert [r.key for r in refs] == ["conv:conv-1"]
        assert refs[0].reference["serviceUrl"] == connector.url


async def test_card_form_submission_is_validated_then_stored(server, connector):
    await server.teams(message_activity("usecase propose", service_url=connector.url))
    form = (await connector.wait_for(1))[0]["attachments"][0]["content"]
    assert [b["id"] for b in form["body"] if "id" in b][:4] == ["title", "description", "impact", "feasibility"]
    submit = form["actions"][0]["data"]
    await server.teams(message_activity("", service_url=connector.url, value={**submit, "title": "", "impact": "9"}))
    err = (await connector.wait_for(2))[1]
    assert "title is required." in card_texts(err) and "impact must be a whole number from 1 to 5" in card_texts(err)
    await server.teams(
        message_activity("", service_url=connector.url, value={**submit, "title": "Churn", "impact": "4"})
    )
    ok = (await connector.wait_for(3))[2]
    assert "UC-1: Churn" in card_texts(ok)


async def test_same_activity_twice_is_one_effect(server, connector):
    activity = message_activity('usecase propose "Once"', service_url=connector.url, activity_id="act-42")
    await server.teams(activity)
    await server.teams(activity)  # its response comes after the turn: a second reply would be queued by now
    assert len(await teams_reply(server.bot, connector, activity)) == 1  # one effect, one reply (issue #8)
    async with server.bot.db.reading() as s:
        assert (await s.execute(select(func.count()).select_from(UseCase))).scalar_one() == 1
        assert (await s.execute(select(func.count()).select_from(Outbox))).scalar_one() == 1  # nothing else to send
    assert len(connector.activities) == 1


async def test_with_app_id_unauthenticated_requests_get_401(sqlite_url, connector):
    running = await serve(make_settings(sqlite_url, teams_app_id="00000000-0000-0000-0000-000000000001"))
    try:
        resp = await running.teams(message_activity('usecase propose "Sneaky"', service_url=connector.url))
        assert resp.status == 401
        resp = await running.teams(
            message_activity('usecase propose "Sneaky"', service_url=connector.url),
            headers={"Authorization": "Bearer not-a-token"},
        )
        assert resp.status == 401
        async with running.bot.db.reading() as s:
            assert (await s.execute(select(func.count()).select_from(UseCase))).scalar_one() == 0
        assert connector.activities == []
    finally:
        await running.stop()


async def test_without_app_id_teams_is_not_mounted_unless_dev(sqlite_url, connector):
    running = await serve(make_settings(sqlite_url))
    try:
        resp = await running.teams(message_activity("help", service_url=connector.url))
        assert resp.status == 404
    finally:
        await running.stop()


async def test_broken_bodies_get_400_not_500(server):
    resp = await server.http.post(
        server.url + "/api/messages", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    resp = await server.http.post(server.url + "/api/messages", json=["a", "list"])
    assert resp.status == 400
    resp = await server.http.post(server.url + "/api/messages", data=b"text", headers={"Content-Type": "text/plain"})
    assert resp.status == 415
