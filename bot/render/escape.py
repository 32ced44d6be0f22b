"""One escape function per output format. Every user-written string passes through the one of
the format it lands in; none of them is ever used as a template."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")
_ZWSP = "\u200b"


def terminal(text: str) -> str:
    """No escape sequences reach the terminal, whatever was stored."""
    return _CONTROL.sub("?", text)


def slack_mrkdwn(text: str) -> str:
    """Inert in Slack mrkdwn: no mention, link or channel ping, and no formatting.

    Slack has no backslash escape; its own advice is the three entities, and a zero-width space
    after a formatting character stops it pairing with the next one.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([*_~`])", lambda m: m.group(1) + _ZWSP, text)


def slack_code(text: str) -> str:
    """For text inside a ``` block: entities still apply there, and backticks could close it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "\u02cb")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>#~|!])")
_MD_BULLET = re.compile(r"^(\s*)([-+=])", re.MULTILINE)
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


def markdown(text: str) -> str:
    """CommonMark (our Markdown export and Teams card TextBlocks): inline markup characters are
    escaped everywhere, list and heading markers where they would start a line."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_BULLET.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return _MD_ORDERED.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


_CARD_SPECIAL = re.compile(r"([\\*_\[\]<>])")
_CARD_BULLET = re.compile(r"^(\s*)([-+])(?=\s|$)", re.MULTILINE)


def card_text(text: str) -> str:
    """Teams Adaptive Card TextBlocks and facts. Their Markdown is a subset (bold, italic, links,
    bulleted and numbered lists; `<` and `>` for autolinks, where a renderer knows them), so only
    what it reads is escaped: not every Teams client drops a backslash before anything else, and
    `Sales \\(EU\\)\\.` would show its backslashes."""
    text = _CARD_SPECIAL.sub(r"\\\1", text)
    text = _CARD_BULLET.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return _MD_ORDERED.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def csv_cell(value: object) -> object:
    """Spreadsheets run cells that start with = + - @ (and tab/CR) as formulas: make them text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def css_string(text: str) -> str:
    """The body of a CSS string ("..."): every character but letters, digits and spaces as a hex
    escape, so nothing a person typed can end the string, the rule or the <style> element."""
    return "".join(c if c.isascii() and (c.isalnum() or c == " ") else f"\\{ord(c):x} " for c in text)
