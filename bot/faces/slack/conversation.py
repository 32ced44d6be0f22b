"""What a Slack message event means to the bot: who spoke, in which workspace, and the command.

The DM (message.im) and @mentions (app_mention) carry the same grammar as /align; these pure
functions decide which events are a person talking to the bot and what they typed.
"""

from __future__ import annotations

import re
from typing import Any

from handlers.messages import Button, Buttons, Element, Form, Text

OPEN_FORM = "alignbot.open_form"
FILE_ONLY = "I read only text: type a command with the file (or `help` to see them all)."
# Subtypes that are a person writing: a plain message, or a file shared with a comment.
SPOKEN = {None, "file_share"}
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s:,]*")


def is_a_person_speaking(event: dict[str, Any]) -> bool:
    """Edits (message_changed), deletions, joins and every bot's message are not commands."""
    if event.get("subtype") not in SPOKEN or event.get("bot_id") or event.get("bot_profile"):
        return False
    return bool(event.get("user"))


def senders_workspace(body: dict[str, Any], event: dict[str, Any]) -> str:
    """The speaker's own workspace: in a Slack Connect DM that is not the one that installed us."""
    return event.get("user_team") or event.get("team") or body.get("team_id") or ""


def command_text(text: str, bot_user_id: str | None) -> str:
    """The command without the bot's @mention, with Slack's three HTML entities undone."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>[\s:,]*", " ", text)
    else:
        text = _LEADING_MENTION.sub("", text, count=1)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def form_opener(form: Form, command: str) -> list[Element]:
    """A message cannot open a modal (no trigger_id): offer a button whose click can."""
    return [
        Text(f"{form.title}: the form opens when you press the button."),
        Buttons([Button("Open the form", OPEN_FORM, command[:1900], style="primary")]),
    ]
