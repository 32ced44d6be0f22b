"""`summary`, `export` and the Home tab in Slack, over real HTTP against the recording fake Web API:
long deliverables split over a thread within Block Kit's limits, charts and exports uploaded with
files.getUploadURLExternal + upload + files.completeUploadExternal, the Home tab via views.publish."""

from __future__ import annotations

import json

from bot.ratelimit import TokenBuckets
from bot.render import slack as blocks
from tests.report_sample import insert_sample
from tests.support import block_action, signed_headers, slash_body, table_text

TITLES = (
    "Assessment overview",
    "Prioritized use cases",
    "Infrastructure report and gap analysis",
    "Objectives and KPIs",
    "RACI matrix and approvals",
    "Risk register and mitigation plans",
    "Project plan and resource allocation",
)


async def sample(server) -> None:
    # One table a Slack message makes a whole summary some twenty posts; the pacing of a channel
    # (tested in test_outbox) would make this test wait twenty seconds for them.
    server.bot.slack.channels = TokenBuckets(rate=1000.0, burst=1000)
    async with server.bot.db.transaction() as s:
        await insert_sample(s, platform="slack", workspace="T1", conversation="C1")


def with_response_url(body: str, slack_api) -> str:
    """Slack gives every slash command a response_url; a private answer of several messages uses it."""
    from urllib.parse import parse_qsl, urlencode

    return urlencode({**dict(parse_qsl(body, keep_blank_values=True)), "response_url": slack_api.url + "response_url"})


def headers_of(calls) -> list[str]:
    return [b["text"]["text"] for c in calls for b in c.params["blocks"] if b["type"] == "header"]


async def test_summary_all_post_splits_into_a_thread_and_uploads_the_charts(server, slack_api):
    await sample(server)
    resp = await server.slash("summary all --post", user="U01", channel="C1")
    assert resp.status == 200
    await slack_api.wait_for("files.completeUploadExternal", 4, timeout=30)
    await server.bot.slack.finish_in_flight(30)  # the whole answer sent
    # The summary's posts: the first and its thread (the sample's open poll may be posted meanwhile).
    first = next(
        p
        for p in slack_api.of("chat.postMessage")
        if not p.params.get("thread_ts") and "POLL-2" not in p.params["text"]
    )
    threads = [p.params["thread_ts"] for p in slack_api.of("chat.postMessage") if p.params.get("thread_ts")]
    thread = max(set(threads), key=threads.count)
    posts = [first] + [
        p for p in slack_api.of("chat.postMessage") if p is not first and p.params.get("thread_ts") == thread
    ]
    assert len(posts) > 1
    uploads = [u for u in slack_api.of("files.completeUploadExternal") if u.params.get("thread_ts") == thread]
    for i, p in enumerate(posts):
        assert p.params["channel"] == "C1"
        assert len(p.params["blocks"]) <= blocks.MAX_BLOCKS
        for b in p.params["blocks"]:
            assert len(b.get("text", {}).get("text", "")) <= blocks.MAX_SECTION
            assert len(b.get("fields", [])) <= blocks.MAX_FIELDS
        assert p.params.get("thread_ts") == (thread if i else None)
    assert [h for h in headers_of(posts) if h in TITLES] == list(TITLES)
    text = table_text([p.params["blocks"] for p in posts])
    for n in range(1, 13):
        assert f"UC-{n} " in text
    assert len(uploads) == 4
    assert all(u.params.get("channel_id") == "C1" and u.params.get("thread_ts") == thread for u in uploads)
    titles = sorted(f["title"] for u in uploads for f in u.params["files"])
    assert titles == ["Impact versus feasibility", "POLL-1: ranking", "Project timeline", "Risk heat map"]
    assert all(c.params["size"] > 1000 for c in slack_api.of("upload"))


async def test_a_private_summary_answers_ephemerally_and_sends_its_chart_to_the_dm(server, slack_api):
    await sample(server)
    resp = await server.slack(with_response_url(slash_body("summary risks", user="U03", channel="C1"), slack_api))
    body = await resp.json()
    assert body["response_type"] == "ephemeral"
    assert "Risk register and mitigation plans" in json.dumps(body["blocks"])
    (done,) = await slack_api.wait_for("files.completeUploadExternal", 1)
    assert done.params["channel_id"] == "D03"
    assert [p for p in slack_api.of("chat.postMessage") if "POLL-2" not in p.params["text"]] == []


async def test_post_is_for_facilitators_and_bad_deliverable_is_named(server, slack_api):
    await sample(server)
    denied = await (await server.slash("summary --post", user="U03", channel="C1")).json()
    assert "Only a facilitator can post a summary" in json.dumps(denied)
    bad = await (await server.slash("summary budget", user="U01", channel="C1")).json()
    assert "deliverable must be one of summary, overview, usecases" in json.dumps(bad)
    assert slack_api.of("chat.postMessage") == [] and slack_api.of("files.getUploadURLExternal") == []


async def test_export_uploads_the_file_to_the_person(server, slack_api):
    await sample(server)
    await server.slash("export xlsx", user="U02", channel="C1")
    (done,) = await slack_api.wait_for("files.completeUploadExternal", 1)
    (started,) = slack_api.of("files.getUploadURLExternal")
    assert started.params["filename"] == "alignbot-retail-assessment.xlsx"
    assert int(started.params["length"]) == slack_api.of("upload")[0].params["size"] > 1000
    assert done.params["channel_id"] == "D02"


async def test_home_tab_is_published_when_opened(server, slack_api):
    await sample(server)
    event = {
        "token": "legacy",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": 1700000000,
        "event": {"type": "app_home_opened", "user": "U02", "channel": "D02", "tab": "home"},
    }
    body = json.dumps(event)
    resp = await server.slack(body, signed_headers(body, content_type="application/json"))
    assert resp.status == 200
    (published,) = await slack_api.wait_for("views.publish", 1)
    assert published.params["user_id"] == "U02"
    view = published.params["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = json.dumps(view["blocks"])
    assert "Sign-off SIGN-2 waits for you" not in text  # no sign-offs in this sample yet
    assert "Vote in POLL-2" not in text  # U02 has voted
    assert "ACT-1 Prioritise use cases: A" in text and "Executive sponsor" in text
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [
        "home.summary:overview",
        "home.summary:risks",
        "home.summary:plan",
        "home.export:html",
    ]
    assert json.loads(buttons[0]["value"]) == {"c": "C1", "v": "overview"}


async def test_a_home_tab_button_answers_in_the_dm_and_refreshes_the_tab(server, slack_api):
    await sample(server)
    await server.bot.slack.publish_home("T1", "U03")
    (published,) = await slack_api.wait_for("views.publish", 1)
    risks = next(
        e
        for b in published.params["view"]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "home.summary:risks"
    )
    payload = block_action("home.summary:risks", risks["value"], user="U03")
    del payload["channel"], payload["message"]
    payload["container"] = {"type": "view", "view_id": published.params["view"].get("id", "V1")}
    resp = await server.interact(payload)
    assert resp.status == 200
    (done,) = await slack_api.wait_for("files.completeUploadExternal", 1)
    post = slack_api.of("chat.postMessage")[0]
    assert post.params["channel"] == "U03"
    assert "Risk register and mitigation plans" in json.dumps(post.params["blocks"])
    assert done.params["files"][0]["title"] == "Risk heat map" and done.params["channel_id"] == "D03"
    assert len(await slack_api.wait_for("views.publish", 2)) == 2  # the tab refreshed after the click


async def test_a_long_private_summary_continues_past_the_response_url_limit(server, slack_api, monkeypatch):
    from urllib.parse import parse_qsl, urlencode

    from bot.faces.slack import face
    from tests.support import slash_body

    await sample(server)
    monkeypatch.setattr(face, "RESPONSE_URL_USES", 0)  # Slack's is 5; the sample's summary is two messages
    fields = dict(parse_qsl(slash_body("summary all", user="U03", channel="C1"), keep_blank_values=True))
    fields["response_url"] = slack_api.url + "response_url"
    resp = await server.slack(urlencode(fields))
    first = await resp.json()
    await server.bot.slack.finish_in_flight(30)  # every part of the answer sent
    later = slack_api.of("chat.postEphemeral")
    responses = slack_api.of("response_url")
    assert responses == []
    sent = [first["blocks"], *[e.params["blocks"] for e in later]]
    assert len(sent) >= 2
    assert all(e.params["user"] == "U03" and e.params["channel"] == "C1" for e in later)
    assert all(len(b) <= blocks.MAX_BLOCKS for b in sent)
    assert [h for h in headers_of_blocks(sent) if h in TITLES] == list(TITLES)
    text = table_text(sent)
    for n in range(1, 13):
        assert f"UC-{n} " in text, f"UC-{n} was dropped"
    assert [p for p in slack_api.of("chat.postMessage") if "POLL-2" not in p.params["text"]] == []


def headers_of_blocks(sent: list[list[dict]]) -> list[str]:
    return [b["text"]["text"] for msg in sent for b in msg if b["type"] == "header"]
