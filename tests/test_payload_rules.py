"""The checker behind the suite-wide payload fixture: it passes what the renderers make and names
what breaks Slack's or Teams' rules (a checker that cannot fail would prove nothing)."""

from __future__ import annotations

import pytest

from bot.render import slack, teams
from handlers.messages import Button, Buttons, Form, FormField, Table, Text
from tests import payload_rules as rules


def _activity(card: dict, **extra) -> dict:
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    return {"type": "message", "attachments": [attachment], **extra}


def test_what_the_renderers_make_passes():
    big = Table(["ID", "Title"], [[f"UC-{n}", f"Use case {n}"] for n in range(1, 341)])
    for msg in slack.messages([Text("340 use cases"), big, Buttons([Button("More", "usecase.more")])]):
        assert rules.slack_violations("chat.postMessage", msg) == []
    form = Form("poll.vote", "Ballot", [FormField("rank1", "First", "select", options=[("1", "A"), ("2", "B")])])
    assert rules.slack_violations("views.open", {"view": slack.modal(form, channel_id="C1")}) == []
    for card in teams.cards([Text("340 use cases"), big]):
        assert rules.teams_violations(_activity(card, summary=teams.preview(card))) == []


def test_slack_limits_the_sdk_does_not_check_are_named():
    section = {"type": "section", "text": {"type": "plain_text", "text": "x"}}
    table = {"type": "table", "rows": [[{"type": "raw_text", "text": "a"}]] * 101}
    found = rules.slack_violations("chat.postMessage", {"text": "x", "blocks": [section] * 51 + [table, table]})
    assert any("51" not in f and "53 blocks" in f for f in found)
    assert any("more than one table" in f for f in found) and any("101 rows" in f for f in found)
    assert any("no `text`" in f for f in rules.slack_violations("chat.postMessage", {"blocks": [section]}))
    huge = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": [section] * 101}
    huge["blocks"] = [{**section, "text": {"type": "plain_text", "text": "y" * 2900}}] * 99
    assert any("view_too_large" in f for f in rules.slack_violations("views.open", {"view": huge}))
    bad = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    assert rules.slack_violations("chat.postMessage", {"text": "x", "blocks": [bad]})  # slack_sdk's own check


def test_teams_size_is_utf16_of_the_whole_activity_without_base64_images():
    image = {"type": "Image", "url": "data:image/png;base64," + "A" * 200_000}
    assert (
        rules.teams_violations(_activity({"type": "AdaptiveCard", "version": "1.5", "body": [image]}, summary="s"))
        == []
    )
    wide = {"type": "TextBlock", "text": "é" * 42_000}  # 84,000 UTF-16 bytes
    found = rules.teams_violations(_activity({"type": "AdaptiveCard", "version": "1.5", "body": [wide]}, summary="s"))
    assert any("UTF-16 bytes" in f for f in found)
    assert any("summary" in f for f in rules.teams_violations(_activity({"type": "AdaptiveCard", "body": []})))


def test_cards_are_checked_against_the_adaptive_card_schema():
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": 5, "wrap": "yes"}]}
    found = rules.teams_violations(_activity(card, summary="s"))
    assert any("body/0" in f for f in found)


def test_the_schema_is_adaptive_card_1_5_from_the_pinned_wheel(monkeypatch):
    """Table arrived in 1.5: a good one passes only a 1.5 schema, and a bad one must still fail it."""
    cell = {"type": "TableCell", "items": [{"type": "TextBlock", "text": "UC-1"}]}
    table = {"type": "Table", "columns": [{"width": 1}], "rows": [{"type": "TableRow", "cells": [cell]}]}
    good = {"type": "AdaptiveCard", "version": "1.5", "body": [table]}
    assert rules.teams_violations(_activity(good, summary="s")) == []
    bad = {**good, "body": [{**table, "firstRowAsHeaders": "yes"}]}
    assert any(f.startswith("card 0 at body/0:") for f in rules.teams_violations(_activity(bad, summary="s")))
    monkeypatch.setenv("ALIGNBOT_ADAPTIVE_CARD_SCHEMA", "/nonexistent/adaptive-card.json")
    with pytest.raises(FileNotFoundError):
        rules.card_schema_path().read_text()
