"""Neutral elements -> Adaptive Cards (schema 1.5) for Teams.

TextBlocks render a Markdown subset, so user text is escaped for that subset (`card_text`); cards are JSON,
so quotes and braces in user text cannot break them. Tables are the card's `Table` element.

Size: Teams counts a message as the UTF-16 size of the whole activity, base64 images excluded, and
Microsoft recommends staying within 80 KB. Cards are serialised with ASCII escapes, so a card's
`json.dumps` length bounds its UTF-16 code units; two bytes each, less room for the activity
around the card, gives the character budget a card is split to.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.render import tables
from bot.render.escape import card_text
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

MAX_ACTIVITY_BYTES = 80 * 1024  # UTF-16 bytes of the whole activity, base64 images excluded
ACTIVITY_ROOM = 6_000  # bytes for the activity around the card: ids, addresses, summary text
MAX_CARD_BYTES = (MAX_ACTIVITY_BYTES - ACTIVITY_ROOM) // 2  # characters of ASCII-escaped card JSON
MAX_TABLE_BYTES = MAX_CARD_BYTES // 2  # one Table block, so a card can hold it and its neighbours
MAX_TABLE_ROWS = 200
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": card_text(text), "wrap": True, **extra}


def body_for(element: Element) -> list[dict[str, Any]]:
    if isinstance(element, Heading):
        return [_text(element.text, size="Large", weight="Bolder")]
    if isinstance(element, Text):
        return [_text(element.text)]
    if isinstance(element, Fields):
        facts = [{"title": card_text(k), "value": card_text(v)} for k, v in element.items]
        return [{"type": "FactSet", "facts": facts}]
    if isinstance(element, ListItems):
        return [_text(f"• {i}", spacing="None") for i in element.items]
    if isinstance(element, Table):
        out: list[dict[str, Any]] = []

        def row_cost(row: list[str]) -> int:
            return len(json.dumps(_row(row))) + SEPARATOR_BYTES

        pieces = tables.parts(
            element,
            max_rows=MAX_TABLE_ROWS,
            max_columns=len(element.headers) or 1,
            row_cost=row_cost,
            budget=MAX_TABLE_BYTES - len(json.dumps({**table_block(element.headers, []), "rows": []})),
        )
        for part in pieces:
            if part.label:
                out.append(_text(part.label, isSubtle=True))
            out.append(table_block(part.headers, part.rows))
        return out
    if isinstance(element, Image):
        caption = _text(element.title or element.alt, isSubtle=True)
        if element.path.startswith("data:image/png;base64,"):  # drawn by the face (bot.export.with_pictures)
            return [{"type": "Image", "url": element.path, "altText": element.alt, "size": "Stretch"}, caption]
        return [caption]
    if isinstance(element, File):
        return [_text(f"{element.title}: offered as a file in your 1:1 chat with me.")]
    return []


def _cell(text: object, **extra: Any) -> dict[str, Any]:
    return {"type": "TableCell", "items": [_text(str(text), **extra)]}


def _row(cells: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "TableRow", "cells": [_cell(c, **extra) for c in cells]}


def table_block(headers: list[str], rows: list[list[str]]) -> dict[str, Any]:
    return {
        "type": "Table",
        "columns": [{"width": 1} for _ in headers],
        "firstRowAsHeader": True,
        "rows": [_row(headers, weight="Bolder"), *(_row(r) for r in rows)],
    }


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


def counted_size(block: dict[str, Any]) -> int:
    """A block's share of the card as Teams counts it: a drawn chart's base64 data is not counted."""
    size = len(json.dumps(block))
    url = block.get("url", "") if block.get("type") == "Image" else ""
    return size - len(url) if url.startswith("data:") else size


def preview(card: dict[str, Any]) -> str:
    """The card's first words (its first TextBlock, a table's columns), for the chat list."""
    for block in card.get("body", []):
        if block.get("type") == "TextBlock" and block.get("text", "").strip():
            return re.sub(r"\\(.)", r"\1", block["text"].strip().split("\n", 1)[0])[:200]  # unescaped
        if block.get("type") == "Table" and block.get("rows"):
            heads = [i.get("text", "") for c in block["rows"][0].get("cells", []) for i in c.get("items", [])]
            return ("Table: " + ", ".join(heads))[:200]
        if block.get("type") == "FactSet" and block.get("facts"):
            fact = block["facts"][0]
            return f"{fact['title']}: {fact['value']}"[:200]
    return "Alignbot"


def card_size(card: dict[str, Any]) -> int:
    """A whole card's size as counted against MAX_CARD_BYTES (drawn charts' base64 excluded)."""
    return len(json.dumps(card)) - sum(
        len(b["url"]) for b in card.get("body", []) if b.get("type") == "Image" and b.get("url", "").startswith("data:")
    )


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
            grown = counted_size(block) + (SEPARATOR_BYTES if body else 0)
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
