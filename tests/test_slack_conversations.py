"""Talking to the bot the way people do in Slack: a DM (message.im) and @Alignbot in a channel
(app_mention), as signed Events API deliveries over real HTTP, answered through the fake Web API."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Initiative, UseCase, Workspace
from tests.support import block_action, dm_event, mention_event, slack_event


async def _count(server, model) -> int:
    async with server.bot.db.reading() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


def _texts(call) -> str:
    return str(call.params.get("blocks")) + call.params.get("text", "")


async def _settled(server) -> None:
    """Event listeners run after Slack's ack: wait for the face's tasks, never a fixed time."""
    await server.bot.slack.finish_in_flight(10)


async def test_a_dm_runs_the_grammar_and_answers_in_the_dm(server, slack_api):
    resp = await server.event(slack_event(dm_event('usecase propose "Churn model" --impact 4')))
    assert resp.status == 200
    await server.event(slack_event(dm_event("usecase list")))
    posts = await slack_api.wait_for("chat.postMessage", 2)
    assert [p.params["channel"] for p in posts] == ["D1", "D1"]
    assert "UC-1" in _texts(posts[1]) and "Churn model" in _texts(posts[1])
    assert not slack_api.of("chat.postEphemeral")
    async with server.bot.db.reading() as s:
        initiative = (await s.execute(select(Initiative))).scalar_one()
        assert (initiative.conversation_id, initiative.is_private) == ("D1", True)


async def test_a_mention_answers_in_the_thread_and_private_answers_are_ephemeral(server, slack_api):
    propose = mention_event('<@UBOT> usecase propose "Forecast demand"', channel="C9")
    await server.event(slack_event(propose))
    posted = await slack_api.wait_for("chat.postMessage")
    assert posted[0].params["channel"] == "C9" and posted[0].params["thread_ts"] == propose["ts"]
    assert "Forecast demand" in _texts(posted[0])

    listing = mention_event("<@UBOT> usecase list", channel="C9", user="U2")
    await server.event(slack_event(listing))
    ephemeral = await slack_api.wait_for("chat.postEphemeral")
    assert ephemeral[0].params["user"] == "U2" and ephemeral[0].params["thread_ts"] == listing["ts"]
    assert "UC-1" in _texts(ephemeral[0])


async def test_a_bare_mention_gets_the_help(server, slack_api):
    await server.event(slack_event(mention_event("<@UBOT>")))
    answer = await slack_api.wait_for("chat.postEphemeral")
    assert "Alignbot commands" in _texts(answer[0]) and "usecase propose" in _texts(answer[0])


async def test_an_events_api_retry_takes_effect_once(server, slack_api):
    body = slack_event(dm_event('usecase propose "Once only"'), event_id="EvRETRY1")
    await server.event(body)
    await slack_api.wait_for("chat.postMessage")
    await server.event(body, retry=1)
    await _settled(server)
    assert await _count(server, UseCase) == 1
    assert len(slack_api.of("chat.postMessage")) == 1


async def test_bots_edits_deletions_and_other_channels_are_not_commands(server, slack_api):
    ignored = [
        dm_event('usecase propose "From a bot"', bot_id="B2"),
        dm_event('usecase propose "From ourselves"', user="UBOT", bot_id="BBOT"),
        dm_event("", subtype="message_changed", message={"text": 'usecase propose "Edited"', "user": "U1"}),
        dm_event("", subtype="message_deleted", previous_message={"text": "usecase list"}),
        dm_event('usecase propose "In a channel"', channel_type="channel", channel="C1"),
    ]
    for event in ignored:
        assert (await server.event(slack_event(event))).status == 200
    await _settled(server)
    assert await _count(server, UseCase) == 0
    assert not [c for c in slack_api.calls if c.method.startswith("chat.")]


async def test_a_file_without_text_gets_a_polite_note(server, slack_api):
    await server.event(slack_event(dm_event("", subtype="file_share", files=[{"id": "F1", "name": "x.png"}])))
    note = await slack_api.wait_for("chat.postMessage")
    assert "I read only text" in _texts(note[0])
    assert await _count(server, UseCase) == 0


async def test_a_slack_connect_dm_is_scoped_to_the_senders_workspace(server, slack_api):
    await server.event(slack_event(dm_event('usecase propose "Shared"', user="UX", user_team="T2"), team="T1"))
    await slack_api.wait_for("chat.postMessage")
    async with server.bot.db.reading() as s:
        assert [w.external_id for w in (await s.execute(select(Workspace))).scalars()] == ["T2"]


async def test_a_command_that_needs_a_form_offers_a_button_that_opens_it(server, slack_api):
    await server.event(slack_event(dm_event("usecase propose")))
    offer = await slack_api.wait_for("chat.postMessage")
    button = next(b for b in offer[0].params["blocks"] if b["type"] == "actions")["elements"][0]
    assert button["action_id"] == "alignbot.open_form"
    await server.interact(block_action(button["action_id"], button["value"], channel="D1"))
    opened = await slack_api.wait_for("views.open")
    assert opened[0].params["view"]["type"] == "modal"
    assert next(b["block_id"] for b in opened[0].params["view"]["blocks"]) == "title"


async def test_dm_and_mention_are_subscribed_in_the_manifest():
    import yaml

    from bot.manifest import slack_manifest
    from handlers.registry import Registry

    m = yaml.safe_load(slack_manifest("https://bot.example.com", Registry.discover()))
    assert {"im:history", "app_mentions:read"} <= set(m["oauth_config"]["scopes"]["bot"])
    assert {"message.im", "app_mention"} <= set(m["settings"]["event_subscriptions"]["bot_events"])


async def test_mentions_in_a_teams_channel_and_group_chat_still_answer(server, connector):
    from tests.support import message_activity

    for kind, conversation in (("channel", "19:chan@thread.tacv2"), ("groupChat", "19:group@thread.v2")):
        activity = message_activity(
            "<at>Alignbot</at> usecase list",
            service_url=connector.url,
            conversation=conversation,
            conversation_type=kind,
        )
        activity["entities"] = [
            {"type": "mention", "text": "<at>Alignbot</at>", "mentioned": {"id": "28:bot", "name": "Alignbot"}}
        ]
        assert (await server.teams(activity)).status in (200, 201)
    sent = await connector.wait_for(2)
    assert {a["_conversation_id"] for a in sent} == {"19:chan@thread.tacv2", "19:group@thread.v2"}
    assert all("No use cases yet" in str(a) for a in sent)
    assert all(a["summary"].startswith("No use cases yet") for a in sent)  # the chat list's preview
    async with server.bot.db.reading() as s:
        names = {i.name for i in (await s.execute(select(Initiative))).scalars()}
    assert names == {"Alice's initiative"}  # never the raw 19:...@thread id
