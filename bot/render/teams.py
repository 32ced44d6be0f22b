"""Neutral elements -> Adaptive Cards (schema 1.5) for Teams.

TextBlocks render a Markdown subset, so user text is escaped with `markdown`; cards are JSON,
so quotes and braces in user text cannot break them. A reply larger than Teams' card limit is
split into several cards.
"""

from __future__ import annotations

import json
from typing import Any

from bot.render.escape import markdown
from bot.render.text import table as text_table
from handlers.messages import (
    Buttons,
    Element,
    Fields,
    File,
    Form,
    FormField,
    Heading,
    Image,
    ListItems,
    Table,
    Text,
)

MAX_CARD_BYTES = 80_000
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": markdown(text), "wrap": True, **extra}


def body_for(element: Element) -> list[dict[str, Any]]:
    if isinstance(element, Heading):
        return [_text(element.text, size="Large", weight="Bolder")]
    if isinstance(element, Text):
        return [_text(element.text)]
    if isinstance(element, Fields):
        return [{"type": "FactSet", "facts": [{"title": markdown(k), "value": markdown(v)} for k, v in element.items]}]
    if isinstance(element, ListItems):
        return [_text(f"• {i}", spacing="None") for i in element.items]
    if isinstance(element, Table):
        return [_text(line, fontType="Monospace", spacing="None") for line in text_table(element.headers, element.rows)]
    if isinstance(element, Image):
        caption = _text(element.title or element.alt, isSubtle=True)
        if element.path.startswith("data:image/png;base64,"):  # drawn by the face (bot.export.with_pictures)
            return [{"type": "Image", "url": element.path, "altText": element.alt, "size": "Stretch"}, caption]
        return [caption]
    if isinstance(element, File):
        return [_text(f"{element.title}: offered as a file in your 1:1 chat with me.")]
    return []


def actions_for(element: Element) -> list[dict[str, Any]]:
    if isinstance(element, Buttons):
        return [
            {
                "type": "Action.Execute" if b.private else "Action.Submit",
                "title": b.label,
                "data": {"alignbot_action": b.action_id, "value": b.value},
                **({"verb": b.action_id} if b.private else {}),
                **({"style": "positive" if b.style == "primary" else "destructive"} if b.style else {}),
            }
            for b in element.buttons
        ]
    return []


def card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": "1.5", "body": body}
    if actions:
        c["actions"] = actions
    return c


EMPTY_CARD_BYTES = len(json.dumps(card([])))
SEPARATOR_BYTES = len(", ")  # between two blocks of the body in json.dumps' output


def cards(elements: list[Element]) -> list[dict[str, Any]]:
    """One card, or several when the content passes Teams' size limit.

    The size of a card is counted as blocks are added (each block serialised once), which is
    exactly the length of `json.dumps` of the whole card without re-serialising it per block.
    """
    out: list[dict[str, Any]] = []
    body: list[dict[str, Any]] = []
    size = EMPTY_CARD_BYTES
    actions: list[dict[str, Any]] = []
    for e in elements:
        if isinstance(e, Form):
            out.append(form_card(e))
            continue
        for block in body_for(e):
            grown = len(json.dumps(block)) + (SEPARATOR_BYTES if body else 0)
            if body and size + grown > MAX_CARD_BYTES:
                out.append(card(body))
                body = []
                size = EMPTY_CARD_BYTES
                grown -= SEPARATOR_BYTES
            body.append(block)
            size += grown
        actions += actions_for(e)
    if body or actions:
        out.append(card(body or [_text(" ")], actions))
    return out


def form_card(form: Form) -> dict[str, Any]:
    body: list[dict[str, Any]] = [_text(form.title, size="Medium", weight="Bolder")]
    body += [_input(f) for f in form.fields]
    return card(
        body,
        [
            {
                "type": "Action.Execute" if form.private else "Action.Submit",
                "title": form.submit_label,
                "data": {"alignbot_form": form.command, "alignbot_hints": form.hints},
                **({"verb": "alignbot.form"} if form.private else {}),
            }
        ],
    )


def _input(f: FormField) -> dict[str, Any]:
    base: dict[str, Any] = {"id": f.name, "label": f.label, "isRequired": f.required}
    if f.required:
        base["errorMessage"] = f"{f.label} is required."
    if f.kind in ("select", "multiselect"):
        return {
            "type": "Input.ChoiceSet",
            **base,
            "style": "compact",
            "isMultiSelect": f.kind == "multiselect",
            "choices": [{"title": label, "value": v} for v, label in f.options],
            "value": f.initial,
        }
    if f.kind == "date":
        return {"type": "Input.Date", **base, "value": f.initial}
    if f.kind == "number":
        return {"type": "Input.Number", **base, **({"value": float(f.initial)} if f.initial else {})}
    field: dict[str, Any] = {"type": "Input.Text", **base, "isMultiline": f.kind == "textarea", "value": f.initial}
    if f.max_length:
        field["maxLength"] = f.max_length
    if f.kind == "user":
        field["placeholder"] = "@name"
    elif f.placeholder:
        field["placeholder"] = f.placeholder
    return field
