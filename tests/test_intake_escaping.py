"""Hostile user text through every output format intake feeds: Slack, Teams, HTML."""

from __future__ import annotations

import json

import pytest
from jinja2 import Environment
from markupsafe import escape

from bot.render import slack, teams
from bot.render.escape import card_text
from handlers.messages import Fields, Heading, ListItems, Table, Text

HOSTILES = [
    "<!channel> hi *bold* <https://evil|click>",
    "<@U123> <#C1|general> <!here> _x_ ~y~ `z`",
    '"}]},{"type":"Action.OpenUrl","url":"https://evil"} <script>alert(1)</script> &amp;',
]


def elements(title: str) -> list:
    return [
        Heading(f"UC-1: {title}"),
        Text(title),
        Fields([("Title", title), (title, "value")]),
        ListItems([title]),
        Table(["ID", "Title"], [["UC-1", title]]),
    ]


@pytest.mark.parametrize("title", HOSTILES)
def test_slack_blocks_hold_user_text_only_as_plain_text_or_entities(title):
    for message in slack.messages(elements(title)):
        for block in message["blocks"]:
            for obj in [block.get("text"), *block.get("fields", [])]:
                if obj and obj["type"] == "mrkdwn":
                    assert "<" not in obj["text"].replace("```", "") and ">" not in obj["text"], obj
                    assert "&lt;" in obj["text"]
        assert "<" not in message["text"]
    plain = [
        b["text"]["text"]
        for m in slack.messages(elements(title))
        for b in m["blocks"]
        if b.get("text", {}).get("type") == "plain_text"
    ]
    assert title in plain  # shown as typed, where Slack cannot parse it


@pytest.mark.parametrize("title", HOSTILES)
def test_teams_cards_stay_one_json_document_with_escaped_markdown(title):
    for card in teams.cards(elements(title)):
        again = json.loads(json.dumps(card))
        assert again == card and "actions" not in card  # nothing injected a button
        blocks = json.dumps(card["body"], ensure_ascii=False)
        assert json.dumps(card_text(title), ensure_ascii=False)[1:-1] in blocks
        for block in card["body"]:
            if block["type"] == "TextBlock":
                assert title not in block["text"]


@pytest.mark.parametrize("title", HOSTILES)
def test_html_escape_makes_the_title_inert(title):
    escaped = str(escape(title))
    assert "<" not in escaped and ">" not in escaped and '"' not in escaped
    page = Environment(autoescape=True).from_string("<h1>{{ title }}</h1>").render(title=title)
    assert page == f"<h1>{escaped}</h1>" and "<script>" not in page and "<!channel>" not in page
