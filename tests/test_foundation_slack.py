"""The Slack face over real HTTP: signatures, the slash command, the modal and its submission."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from storage.models import AuditEvent, UseCase
from tests.support import signed_headers, slash_body, view_submission


async def count_use_cases(server) -> int:
    async with server.bot.db.reading() as s:
        return (await s.execute(select(func.count()).select_from(UseCase))).scalar_one()


async def test_slash_command_with_title_creates_and_posts_in_channel(server, slack_api):
    resp = await server.slash('usecase propose "Migrate legacy ETL" --impact 5 --feasibility 3', channel="C42")
    assert resp.status == 200
    posts = await slack_api.wait_for("chat.postMessage")
    assert posts[0].params["channel"] == "C42"
    texts = [b["text"]["text"] for b in posts[0].params["blocks"] if "text" in b]
    assert any("UC-1: Migrate legacy ETL" in t for t in texts)
    fields = [f["text"] for b in posts[0].params["blocks"] for f in b.get("fields", [])]
    assert "Impact: 5" in fields and "Feasibility: 3" in fields
    async with server.bot.db.reading() as s:
        uc = (await s.execute(select(UseCase))).scalar_one()
        assert (uc.number, uc.title, uc.impact, uc.feasibility) == (1, "Migrate legacy ETL", 5, 3)
        audit = (await s.execute(select(AuditEvent))).scalars().all()
        assert [a.action for a in audit] == ["usecase.propose"]
        assert audit[0].actor_user_id == "U1"


async def test_slash_command_list_answers_ephemerally_in_the_ack(server, slack_api):
    await server.slash('usecase propose "First"')
    resp = await server.slash("usecase list")
    body = await resp.json()
    assert body["response_type"] == "ephemeral"
    assert "UC-1" in str(body["blocks"]) and "First" in str(body["blocks"])


async def test_slash_command_without_title_opens_modal_and_submission_creates(server, slack_api):
    resp = await server.slash("usecase propose", channel="C7")
    assert resp.status == 200
    opened = await slack_api.wait_for("views.open")
    view = opened[0].params["view"]
    assert view["type"] == "modal" and len(view["title"]["text"]) <= 24
    assert [b["block_id"] for b in view["blocks"]][:4] == ["title", "description", "impact", "feasibility"]
    assert await count_use_cases(server) == 0

    bad = await server.interact(view_submission(view, {"title": "", "impact": "4"}))
    assert bad.status == 200
    assert (await bad.json()) == {"response_action": "errors", "errors": {"title": "title is required."}}
    assert await count_use_cases(server) == 0

    good = await server.interact(
        view_submission(
            view, {"title": "Churn model", "description": "Predict churn", "impact": "4", "feasibility": "2"}
        )
    )
    assert good.status == 200
    posts = await slack_api.wait_for("chat.postMessage")
    assert posts[0].params["channel"] == "C7"
    assert await count_use_cases(server) == 1


async def test_bad_signatures_get_401_and_touch_nothing(server, slack_api):
    body = slash_body('usecase propose "Forged"')
    good = signed_headers(body)
    cases = {
        "bad hmac": {**good, "X-Slack-Signature": "v0=" + "0" * 64},
        "stale timestamp": signed_headers(body, timestamp=int(time.time()) - 6 * 60),
        "missing headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "wrong secret": signed_headers(body, secret="not-the-secret"),
    }
    for name, headers in cases.items():
        resp = await server.slack(body, headers)
        assert resp.status == 401, name
    assert await count_use_cases(server) == 0
    assert slack_api.of("chat.postMessage") == []


async def test_the_same_slash_command_delivered_twice_takes_effect_once(server, slack_api):
    body = slash_body('usecase propose "Once only"', trigger_id="trig.same")
    first = await server.slack(body)
    second = await server.slack(body)
    assert first.status == second.status == 200
    await slack_api.wait_for("chat.postMessage")
    assert await count_use_cases(server) == 1


async def test_validation_error_is_a_polite_ephemeral_reply(server, slack_api):
    resp = await server.slash('usecase propose "X" --impact high')
    body = await resp.json()
    assert body["response_type"] == "ephemeral"
    assert 'impact must be a whole number from 1 to 5, got "high"' in str(body["blocks"])
    assert await count_use_cases(server) == 0


async def test_healthz(server):
    resp = await server.http.get(server.url + "/healthz")
    assert resp.status == 200 and (await resp.json())["status"] == "ok"
    for path, words in (("/privacy", "keyed hash"), ("/terms", "without warranty")):
        page = await server.http.get(server.url + path)  # the Teams manifest's privacyUrl, termsOfUseUrl
        assert page.status == 200 and page.content_type == "text/html" and words in await page.text()
