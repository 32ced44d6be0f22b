"""Intake over Teams activities: commands, card forms for use cases and risks, escaping."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from bot.render.escape import card_text
from storage.models import Kpi, Requirement, Risk, UseCase
from tests.support import message_activity, teams_reply

HOSTILE = "<!channel> hi *bold* <https://evil|click>"


def texts(activity: dict) -> str:
    return json.dumps([a["content"] for a in activity.get("attachments", [])], ensure_ascii=False)


def text_blocks(activity: dict) -> list[str]:
    out: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                out.append(node["text"])
            for fact in node.get("facts", []):
                out.extend([fact["title"], fact["value"]])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk([a["content"] for a in activity.get("attachments", [])])
    return out


async def say(server, connector, text: str = "", value: dict | None = None) -> dict:
    activity = message_activity(text, service_url=connector.url, value=value)
    resp = await server.teams(activity)
    assert resp.status in (200, 201)
    return (await teams_reply(server.bot, connector, activity))[0]


async def count(server, model) -> int:
    async with server.bot.db.reading() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def test_use_case_card_errors_then_full_submission(server, connector):
    form = (await say(server, connector, "usecase propose"))["attachments"][0]["content"]
    ids = [b["id"] for b in form["body"] if "id" in b]
    assert ids == [
        "title",
        "description",
        "impact",
        "feasibility",
        "category",
        "sponsor",
        "department",
        "sources",
        "benefit",
        "requirements",
        "force",
    ]
    submit = form["actions"][0]["data"]
    err = await say(server, connector, value={**submit, "title": "x" * 151, "category": "crypto", "sponsor": "dana"})
    for message in (
        "title must be at most 150 characters, got 151.",
        "category must be one of",
        "sponsor must be a person",
    ):
        assert message in texts(err), message
    assert await count(server, UseCase) == 0
    ok = await say(
        server,
        connector,
        value={
            **submit,
            "title": "Churn model 数据",
            "impact": "4",
            "feasibility": "3",
            "category": "machine learning",
            "sponsor": "@dana",
            "department": "Marketing",
            "requirements": "Daily scores\nGDPR review",
        },
    )
    assert "UC-1: Churn model 数据" in texts(ok)
    async with server.bot.db.reading() as s:
        uc = (await s.execute(select(UseCase))).scalar_one()
        assert (uc.category, uc.department, uc.sponsor_member_id is not None) == ("machine learning", "Marketing", True)
        reqs = (await s.execute(select(Requirement.text).order_by(Requirement.id))).scalars().all()
        assert reqs == ["Daily scores", "GDPR review"]


async def test_risk_card_errors_then_critical_risk_is_announced(server, connector):
    await say(server, connector, 'usecase propose "Lakehouse"')
    form = (await say(server, connector, "risk report"))["attachments"][0]["content"]
    assert [b["id"] for b in form["body"] if "id" in b][:5] == [
        "title",
        "description",
        "category",
        "likelihood",
        "impact",
    ]
    submit = form["actions"][0]["data"]
    err = await say(server, connector, value={**submit, "title": "Outage", "category": "cost", "likelihood": "x"})
    assert 'likelihood must be a whole number from 1 to 5, got \\"x\\"' in texts(err)
    assert "impact is required" in texts(err)
    assert await count(server, Risk) == 0
    ok = await say(
        server,
        connector,
        value={
            **submit,
            "title": "Outage",
            "category": "data quality",
            "likelihood": "5",
            "impact": "5",
            "usecase": "UC-1",
        },
    )
    assert "RISK-1: Outage" in texts(ok) and "critical" in texts(ok)
    # the announcement leaves through the outbox (its own row, beside the reply's) and reaches the conversation
    seen = 0
    while not (alerts := [a for a in connector.activities if "New critical risk RISK-1: Outage" in texts(a)]):
        seen = len(await connector.wait_for(seen + 1))
    (alert,) = alerts
    assert alert["_conversation_id"] == "conv-1"


async def test_done_when_flow_through_teams(server, connector):
    for line in (
        'usecase propose "Migrate legacy ETL" --impact 5 --feasibility 3',
        'usecase propose "Churn model"',
        'usecase propose "Sales dashboard"',
        'usecase require UC-1 "Runs nightly"',
        'kpi suggest UC-1 "Load time" --baseline 240 --target 60 --unit minutes',
        'kpi suggest UC-1 "Failed runs" --baseline 10 --target 2 --unit runs',
        'risk report "Skills gap" --category skills --likelihood 4 --impact 5 --usecase UC-1',
        'source add "ERP" --type db --quality 2 --accessibility 4 --security 4',
        'source add "Lake" --type "cloud storage" --quality 4 --accessibility 4 --security 4',
    ):
        answer = texts(await say(server, connector, line))
        assert "Sorry" not in answer and "must be" not in answer and "There is no" not in answer, line
    assert (await count(server, UseCase), await count(server, Kpi), await count(server, Risk)) == (3, 2, 1)
    show = texts(await say(server, connector, "usecase show UC-1"))
    for expected in ("KPI-1 Load time", "KPI-2 Failed runs", "RISK-1 Skills gap: critical", "Runs nightly"):
        assert expected in show, expected
    gaps = texts(await say(server, connector, "source gaps"))
    assert "SRC-1" in gaps and "SRC-2" not in gaps


async def test_hostile_title_keeps_the_card_intact_and_inert(server, connector):
    reply = await say(server, connector, f'usecase propose "{HOSTILE}" --description "{HOSTILE}"')
    json.loads(json.dumps(reply["attachments"]))  # the card is still one JSON document
    blocks = text_blocks(reply)
    assert any(card_text(HOSTILE) in t for t in blocks)
    assert not any(HOSTILE in t for t in blocks)  # never unescaped Markdown
    show = await say(server, connector, "usecase show UC-1")
    assert show["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert not any(HOSTILE in t for t in text_blocks(show))
    assert any("\\<https://evil|click\\>" in t for t in text_blocks(show))
