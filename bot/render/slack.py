"""Neutral elements -> Block Kit messages and modals, within Slack's limits.

User text goes into plain_text objects wherever Slack allows them (nothing in them is a mention,
a link or formatting) and through `slack_mrkdwn` or `slack_code` where only mrkdwn is allowed.
A reply too big for one message becomes several messages; nothing is cut silently. Tables are
Slack's `table` block in messages (one per message, so each table piece opens a message of its
own); the Home tab and modals have no table block and keep the aligned text in a code block.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.render import tables
from bot.render.escape import slack_code, slack_mrkdwn
from bot.render.text import table as text_table
from handlers.messages import Button, Buttons, Element, Fields, Form, FormField, Heading, Image, ListItems, Table, Text

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER = 150
MAX_MODAL_TITLE = 24
MAX_OPTIONS = 100
MAX_BUTTON_TEXT = 75
MAX_TABLE_ROWS = 100  # the header row is one of them
MAX_TABLE_COLUMNS = 20
FORM_CALLBACK = "alignbot.form"


def _plain(text: str, limit: int = MAX_SECTION) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit] or " ", "emoji": True}


def _chunks(text: str, limit: int) -> list[str]:
    """Split on line ends where possible so a long text spans several blocks, whole."""
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text or not out:
        out.append(text)
    return out


def _sections(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": _plain(c)} for c in _chunks(text, MAX_SECTION)]


def _heading_blocks(element: Heading) -> list[dict[str, Any]]:
    """A header block holds 150 characters; a longer heading is kept whole as sections."""
    if len(element.text) <= MAX_HEADER:
        return [{"type": "header", "text": _plain(element.text, MAX_HEADER)}]
    return _sections(element.text)


def _text_blocks(element: Text) -> list[dict[str, Any]]:
    return _sections(element.text)


def _fields_blocks(element: Fields) -> list[dict[str, Any]]:
    """Ten fields a section; a group with a field over Slack's field size becomes sections."""
    blocks: list[dict[str, Any]] = []
    items = [f"{k}: {v}" for k, v in element.items]
    for i in range(0, len(items), MAX_FIELDS):
        group = items[i : i + MAX_FIELDS]
        if all(len(t) <= MAX_FIELD_TEXT for t in group):
            blocks.append({"type": "section", "fields": [_plain(t, MAX_FIELD_TEXT) for t in group]})
        else:
            blocks += [block for t in group for block in _sections(t)]
    return blocks


def _list_blocks(element: ListItems) -> list[dict[str, Any]]:
    return _sections("\n".join(f"• {i}" for i in element.items))


def _code_table_blocks(element: Table) -> list[dict[str, Any]]:
    """Where there is no table block (Home tab, modals): the aligned text in code blocks."""
    lines = text_table(element.headers, element.rows)
    budget = MAX_SECTION - 8
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{chunk}```"}}
        for chunk in _chunks("\n".join(slack_code(line) for line in lines), budget)
    ]


def _button(b: Button) -> dict[str, Any]:
    btn: dict[str, Any] = {
        "type": "button",
        "text": _plain(b.label, MAX_BUTTON_TEXT),
        "action_id": b.action_id[:255],
        "value": b.value[:2000],
    }
    if b.style:
        btn["style"] = b.style
    return btn


def _button_blocks(element: Buttons) -> list[dict[str, Any]]:
    """An actions block holds 25 buttons."""
    return [
        {"type": "actions", "elements": [_button(b) for b in element.buttons[i : i + 25]]}
        for i in range(0, len(element.buttons), 25)
    ]


def _image_blocks(element: Image) -> list[dict[str, Any]]:
    # Images are uploaded as files by the face; the message names them.
    return [{"type": "context", "elements": [_plain(element.title or element.alt, 2000)]}]


_BLOCKS: dict[type, Callable[[Any], list[dict[str, Any]]]] = {
    Heading: _heading_blocks,
    Text: _text_blocks,
    Fields: _fields_blocks,
    ListItems: _list_blocks,
    Table: _code_table_blocks,
    Buttons: _button_blocks,
    Image: _image_blocks,
}


def blocks_for(element: Element) -> list[dict[str, Any]]:
    """The element's blocks; none for a form or a file, which the face handles itself."""
    for kind, blocks in _BLOCKS.items():
        if isinstance(element, kind):
            return blocks(element)
    return []


def _cell(text: object) -> dict[str, str]:
    """raw_text is shown as typed (no mrkdwn, no mentions); Slack wants at least one character."""
    return {"type": "raw_text", "text": str(text) or " "}


def table_units(table: Table) -> list[list[dict[str, Any]]]:
    """Each piece of the table as the blocks that travel together: its label and its table block."""
    units: list[list[dict[str, Any]]] = []
    for part in tables.parts(table, max_rows=MAX_TABLE_ROWS - 1, max_columns=MAX_TABLE_COLUMNS):
        block = {
            "type": "table",
            "column_settings": [{"is_wrapped": True} for _ in part.headers],
            "rows": [[_cell(h) for h in part.headers], *[[_cell(c) for c in r] for r in part.rows]],
        }
        label = [{"type": "context", "elements": [_plain(part.label, 2000)]}] if part.label else []
        units.append([*label, block])
    return units


def messages(elements: list[Element]) -> list[dict[str, Any]]:
    """Each dict is one chat.postMessage body (blocks + fallback text); the rest go in a thread.

    Blocks are packed in order, at most MAX_BLOCKS a message and one table block a message."""
    units: list[list[dict[str, Any]]] = []
    for e in elements:
        units += table_units(e) if isinstance(e, Table) else [[b] for b in blocks_for(e)]
    if not units:
        units = [[{"type": "section", "text": _plain(" ")}]]
    out: list[list[dict[str, Any]]] = [[]]
    for unit in units:
        has_table = any(b["type"] == "table" for b in unit)
        current = out[-1]
        full = len(current) + len(unit) > MAX_BLOCKS
        if current and (full or (has_table and any(b["type"] == "table" for b in current))):
            out.append(current := [])
        current += unit
    return [{"blocks": part, "text": fallback_text(part)} for part in out]


def fallback_text(blocks: list[dict[str, Any]]) -> str:
    """The notification text: escaped, since Slack parses it as mrkdwn. It says what the message
    is: its first words, or the table's columns and rows."""
    for b in blocks:
        summary = _summary(b, blocks)
        if summary is not None:
            return slack_mrkdwn(summary)[:300]
    for b in blocks:  # a message of buttons or captions only
        words = _element_words(b)
        if words:
            return slack_mrkdwn(", ".join(words))[:300]
    return "Alignbot"


def _summary(block: dict[str, Any], blocks: list[dict[str, Any]]) -> str | None:
    """A block's own text, or a table's columns with its label (the message's caption) or its row
    count; None for a block without either."""
    t = block.get("text")
    if isinstance(t, dict) and t.get("type") == "plain_text" and t["text"].strip():
        return t["text"]
    if block.get("type") == "table":
        headers = ", ".join(c["text"] for c in block["rows"][0])
        label = next((c["elements"][0]["text"] for c in blocks if c.get("type") == "context"), "")
        rows = label or f"{len(block['rows']) - 1} row(s)"
        return f"Table ({rows}): {headers}"
    return None


def _element_words(block: dict[str, Any]) -> list[str]:
    """The words of a block's elements that say something: button labels, captions."""
    words = [
        e["text"]["text"] if "text" in e and isinstance(e["text"], dict) else e.get("text", "")
        for e in block.get("elements", [])
    ]
    return [w for w in words if isinstance(w, str) and w.strip()]


def modal(form: Form, *, channel_id: str) -> dict[str, Any]:
    meta = json.dumps({"command": form.command, "hints": form.hints, "channel": channel_id})
    if len(meta) > 3000:
        raise ValueError("private_metadata over Slack's 3000 characters")
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "title": _plain(form.title, MAX_MODAL_TITLE),
        "submit": _plain(form.submit_label, 24),
        "close": _plain("Cancel", 24),
        "private_metadata": meta,
        "blocks": [_input_block(f) for f in form.fields][:100],
    }


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label, 75), "value": value[:150]}


def _text_input(f: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": f.kind == "textarea"}
    if f.max_length:
        element["max_length"] = f.max_length
    if f.initial:
        element["initial_value"] = f.initial
    return element


def _number_input(f: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "number_input", "is_decimal_allowed": True}
    if f.initial:
        element["initial_value"] = f.initial
    return element


def _select(f: FormField) -> dict[str, Any]:
    """`initial` holds the chosen values, comma-separated; one only for a single select."""
    options = [_option(v, label) for v, label in f.options[:MAX_OPTIONS]]
    element: dict[str, Any] = {
        "type": "static_select" if f.kind == "select" else "multi_static_select",
        "options": options,
    }
    initial = [o for o in options if o["value"] in f.initial.split(",")] if f.initial else []
    if initial and f.kind == "select":
        element["initial_option"] = initial[0]
    elif initial:
        element["initial_options"] = initial
    return element


def _user_select(f: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "users_select"}
    if f.initial:
        element["initial_user"] = f.initial
    return element


def _datepicker(f: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "datepicker"}
    if f.initial:
        element["initial_date"] = f.initial
    return element


_INPUTS: dict[str, Callable[[FormField], dict[str, Any]]] = {
    "text": _text_input,
    "textarea": _text_input,
    "number": _number_input,
    "select": _select,
    "multiselect": _select,
    "user": _user_select,
    "date": _datepicker,
}


def _input_block(f: FormField) -> dict[str, Any]:
    build = _INPUTS.get(f.kind)
    if build is None:
        raise ValueError(f"unknown form field kind {f.kind}")
    element = build(f)
    element["action_id"] = "value"
    if f.placeholder and f.kind not in ("date",):
        element["placeholder"] = _plain(f.placeholder, 150)
    return {
        "type": "input",
        "block_id": f.name,
        "label": _plain(f.label, 2000),
        "optional": not f.required,
        "element": element,
    }


def submitted_values(state: dict[str, Any]) -> dict[str, Any]:
    """view.state.values -> field name -> text (a list for multi-selects, `<@U>` for a user)."""
    out: dict[str, Any] = {}
    for block_id, actions in (state or {}).get("values", {}).items():
        if not isinstance(actions, dict):
            continue
        v = actions.get("value")
        if not isinstance(v, dict):
            continue
        kind = v.get("type")
        if kind == "static_select":
            out[block_id] = (v.get("selected_option") or {}).get("value")
        elif kind == "multi_static_select":
            out[block_id] = [o.get("value") for o in v.get("selected_options") or []]
        elif kind == "users_select":
            out[block_id] = f"<@{v['selected_user']}>" if v.get("selected_user") else None
        elif kind == "datepicker":
            out[block_id] = v.get("selected_date")
        else:
            out[block_id] = v.get("value")
    return out
