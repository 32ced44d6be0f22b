"""Intake over signed Slack requests against the recording fake Slack Web API."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from storage.models import DataSource, Kpi, Requirement, Risk, RiskUseCase, UseCase
from tests.support import interaction_body, table_text, view_submission

HOSTILE = "<!channel> hi *bold* <https://evil|click>"


async def count(server, model) -> int:
    async with server.bot.db.reading() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


def block_texts(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False) + "\n" + table_text(blocks)


def assert_inert_in_slack(blocks: list[dict], fallback: str = "") -> None:
    """No mrkdwn object holds a raw `<`: Slack can only parse mentions and links out of mrkdwn."""
    for block in blocks:
        for obj in [block.get("text"), *block.get("fields", [])]:
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                assert "<!channel>" not in obj["text"] and "<https://" not in obj["text"], obj
    assert "<!channel>" not in fallback and "<https://evil" not in fallback


async def ephemeral(server, text: str, **kw) -> str:
    resp = await server.slash(text, **kw)
    assert resp.status == 200
    body = await resp.json()
    assert body["response_type"] == "ephemeral"
    return block_texts(body["blocks"])


async def test_done_when_flow_through_slash_commands(server, slack_api):
    lines = [
        'usecase propose "Migrate legacy ETL" --impact 5 --feasibility 3 --requirements "Runs nightly; Audit trail"',
        'usecase propose "Churn model" --impact 4 --feasibility 2 --category ml',
        'usecase propose "Sales dashboard" --impact 3 --feasibility 5 --category bi',
        'usecase require UC-2 "Daily scores"',
        'kpi suggest UC-1 "Nightly load time" --baseline 240 --target 60 --unit minutes',
        'kpi suggest UC-1 "Failed runs" --baseline 10 --target 2 --unit runs',
        'risk report "Spark skills gap" --category "skills gap" --likelihood 5 --impact 4 --usecase UC-1 '
        "--owner <@U2|bob>",
        'source add "Oracle ERP" --type "relational db" --quality 4 --accessibility 2 --security 3',
        'source add "S3 lake" --type "cloud storage" --quality 5 --accessibility 5 --security 5',
    ]
    for line in lines:
        resp = await server.slash(line)
        assert resp.status == 200, line
    assert (await count(server, UseCase), await count(server, Kpi), await count(server, Risk)) == (3, 2, 1)
    assert (await count(server, DataSource), await count(server, Requirement), await count(server, RiskUseCase)) == (
        2,
        3,
        1,
    )
    # 8 visible replies (a requirement is acknowledged privately) + the critical risk announced in
    # the channel and to its owner; posts to one channel are paced, so allow for that
    posts = await slack_api.wait_for("chat.postMessage", 10, timeout=30)
    alerts = [p for p in posts if "New critical risk RISK-1" in block_texts(p.params["blocks"])]
    assert sorted(p.params["channel"] for p in alerts) == ["C1", "U2"]
    show = await ephemeral(server, "usecase show UC-1")
    for expected in (
        "KPI-1 Nightly load time",
        "KPI-2 Failed runs",
        "RISK-1 Spark skills gap: critical",
        "Runs nightly",
    ):
        assert expected in show, expected
    gaps = await ephemeral(server, "source gaps")
    assert re.search(r"SRC-1\s+Oracle ERP\s+accessibility\s+2/5\s+major", gaps)


async def test_validation_failures_are_ephemeral_and_store_nothing(server, slack_api):
    cases = {
        'usecase propose "X" --impact high': 'impact must be a whole number from 1 to 5, got \\"high\\"',
        'kpi suggest UC-1 "K" --baseline 1 --target 2 --unit s': "There is no UC-1 in this initiative.",
        'kpi suggest "K" --objective "O" --baseline 5 --target 1 --unit s --direction up': "target must be above",
        'risk report "R" --category cost --likelihood 6 --impact 1': "likelihood must be a whole number from 1 to 5",
        'source add "S" --type db --security x': 'security must be a whole number from 1 to 5, got \\"x\\"',
        "risk show RISK-3": "There is no RISK-3 in this initiative.",
    }
    for line, message in cases.items():
        assert message in await ephemeral(server, line), line
    assert [await count(server, m) for m in (UseCase, Kpi, Risk, DataSource)] == [0, 0, 0, 0]
    assert slack_api.of("chat.postMessage") == []


async def test_risk_modal_errors_next_to_fields_then_success(server, slack_api):
    await server.slash('usecase propose "Lakehouse"', channel="C9")
    resp = await server.slash("risk report", channel="C9")
    assert resp.status == 200
    view = (await slack_api.wait_for("views.open"))[0].params["view"]
    assert len(view["title"]["text"]) <= 24 and len(view["blocks"]) <= 100 and len(view["private_metadata"]) <= 3000
    assert all(len(b["element"].get("options", [])) <= 100 for b in view["blocks"])
    assert [b["block_id"] for b in view["blocks"]][:5] == ["title", "description", "category", "likelihood", "impact"]

    bad = await server.interact(view_submission(view, {"title": "", "category": "cost", "likelihood": "3"}))
    assert (await bad.json()) == {
        "response_action": "errors",
        "errors": {"title": "title is required.", "impact": "impact is required: a whole number from 1 to 5."},
    }
    bad = await server.interact(
        view_submission(view, {"title": "Ok", "category": "cost", "likelihood": "3", "impact": "3", "usecase": "UC-8"})
    )
    assert (await bad.json())["errors"] == {
        "usecase": "There is no UC-8 in this initiative. `usecase list` shows them."
    }
    assert await count(server, Risk) == 0

    good = await server.interact(
        view_submission(
            view,
            {
                "title": "Budget overrun",
                "category": "cost",
                "likelihood": "4",
                "impact": "4",
                "owner": "U5",
                "usecase": "UC-1",
                "review": "2027-01-15",
            },
        )
    )
    assert good.status == 200 and (await good.read()) == b""
    posts = await slack_api.wait_for("chat.postMessage", 4)  # propose, report, channel alert, owner alert
    assert {p.params["channel"] for p in posts} == {"C9", "U5"}
    async with server.bot.db.reading() as s:
        risk = (await s.execute(select(Risk))).scalar_one()
        assert (risk.title, risk.likelihood, risk.impact, risk.review_date.isoformat()) == (
            "Budget overrun",
            4,
            4,
            "2027-01-15",
        )


async def test_propose_modal_duplicate_needs_confirmation(server, slack_api):
    await server.slash('usecase propose "Migrate legacy ETL"')
    await server.slash("usecase propose")
    view = (await slack_api.wait_for("views.open"))[0].params["view"]
    assert [b["block_id"] for b in view["blocks"]][-1] == "force"
    dup = await server.interact(view_submission(view, {"title": "Migrate Legacy ETL", "impact": "4"}))
    errors = (await dup.json())["errors"]
    assert errors == {
        "title": 'Close to UC-1 "Migrate legacy ETL". Change the title, or pick "Propose mine anyway" below.'
    }
    assert await count(server, UseCase) == 1
    ok = await server.interact(
        view_submission(view, {"title": "Migrate Legacy ETL", "impact": "4", "force": "yes", "sponsor": "U3"})
    )
    assert ok.status == 200
    await slack_api.wait_for("chat.postMessage", 2)
    async with server.bot.db.reading() as s:
        uc2 = (await s.execute(select(UseCase).where(UseCase.number == 2))).scalar_one()
        assert uc2.title == "Migrate Legacy ETL" and uc2.sponsor_member_id is not None


async def test_message_shortcut_opens_prefilled_modal_linking_back(server, slack_api):
    text = "We should stream POS events into the lakehouse 🚀 <@U9>"
    payload = {
        "type": "message_action",
        "callback_id": "propose_use_case",
        "trigger_id": "trig.shortcut.1",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": "U1", "username": "u1", "name": "u1", "team_id": "T1"},
        "channel": {"id": "C5", "name": "assessment"},
        "message": {"type": "message", "text": text, "ts": "1700000123.000200", "user": "U9"},
        "message_ts": "1700000123.000200",
        "response_url": "",
    }
    resp = await server.slack(interaction_body(payload))
    assert resp.status == 200
    opened = (await slack_api.wait_for("views.open"))[0].params
    retry = await server.slack(interaction_body(payload))  # Slack's retry of the same delivery
    assert retry.status == 200
    assert opened["trigger_id"] == "trig.shortcut.1"
    view = opened["view"]
    description = next(b for b in view["blocks"] if b["block_id"] == "description")
    assert description["element"]["initial_value"] == text
    meta = json.loads(view["private_metadata"])
    assert meta["channel"] == "C5"
    assert meta["hints"]["source_link"] == "https://acme.slack.com/archives/C5/p1700000123000200"
    await server.interact(view_submission(view, {"title": "Stream POS events", "description": text}))
    await slack_api.wait_for("chat.postMessage")
    assert len(slack_api.of("views.open")) == 1
    async with server.bot.db.reading() as s:
        uc = (await s.execute(select(UseCase))).scalar_one()
        assert (uc.description, uc.source_link) == (text, "https://acme.slack.com/archives/C5/p1700000123000200")
    show = await ephemeral(server, "usecase show UC-1", channel="C5")
    assert "From message: https://acme.slack.com/archives/C5/p1700000123000200" in show


async def test_hostile_title_is_inert_in_slack(server, slack_api):
    await server.slash(f'usecase propose "{HOSTILE}" --description "{HOSTILE}"')
    await server.slash(f'risk report "{HOSTILE}" --category cost --likelihood 5 --impact 5')
    posts = await slack_api.wait_for("chat.postMessage", 3)
    for post in posts:
        assert_inert_in_slack(post.params["blocks"], post.params.get("text", ""))
    assert any(HOSTILE in block_texts(p.params["blocks"]) for p in posts)  # shown, as plain text
    for line in ("usecase list", "usecase show UC-1", "risk list"):
        resp = await server.slash(line)
        body = await resp.json()
        assert_inert_in_slack(body["blocks"], body.get("text", ""))
        assert "hi *bold*" in block_texts(body["blocks"]) or "&lt;!channel&gt;" in block_texts(body["blocks"])
