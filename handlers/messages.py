"""The neutral message model: what every face turns a delivery into, and what the core answers.

Faces translate both ways and never decide; handlers see only these types. Every string in an
element is plain text: renderers escape all of it for their format, so user text can never turn
into markup, a mention or a link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from handlers.grammar import readable_mentions

Visibility = Literal["ephemeral", "channel"]


@dataclass(frozen=True)
class Actor:
    platform: str  # "slack" | "teams" | "console"
    workspace_id: str  # Slack team id, Teams tenant id, "console"
    user_id: str
    display_name: str = ""
    # The platform says this person administers the whole workspace (Slack admin/owner); the core
    # counts it only when CoreConfig.workspace_admins_are_facilitators is on.
    is_workspace_admin: bool = False


@dataclass(frozen=True)
class Action:
    """A button press or card action: ids from the payload are hints to be re-checked."""

    action_id: str
    value: str = ""


@dataclass(frozen=True)
class FormSubmission:
    """A submitted modal or card: `command` names the handler, `values` are field name -> text."""

    command: str
    values: dict[str, Any]
    hints: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Incoming:
    actor: Actor
    conversation_id: str
    conversation_name: str = ""
    text: str | None = None
    action: Action | None = None
    form: FormSubmission | None = None
    delivery_key: str | None = None  # de-duplication key of the delivery, when the platform has one
    is_private_conversation: bool = False
    # True when conversation_id came from a payload (a button in a DM, a modal's metadata) rather
    # than from where the delivery happened: then it must name an initiative the actor belongs to.
    conversation_is_hint: bool = False
    # Where a reply meant for everyone goes, when the face wants it sent through the outbox (in the
    # transaction that made it) instead of posting it itself: the conversation, and what the face
    # needs to fall back on (its own, opaque to the core).
    channel_reply: ChannelReply | None = None


@dataclass(frozen=True)
class ChannelReply:
    conversation_id: str
    route: dict[str, str] = field(default_factory=dict)
    # The platform shows every reply as a message in the conversation (Teams: no private messages,
    # a form is a card): then every reply goes through the outbox, private ones and refusals too.
    every_reply: bool = False


# What our columns hold, sized to the platforms' documented maxima: Slack ids are about a dozen
# characters and Teams' AAD ids 36, conversation ids up to a few hundred (Teams channel threads);
# names are display text and are cut to fit, ids never (a cut id would name someone else).
MAX_ID = 128
MAX_CONVERSATION_ID = 200
MAX_DELIVERY_KEY = 300
MAX_NAME = 200


def oversized_id(incoming: Incoming) -> str | None:
    """Which id is longer than any the platforms issue (the delivery is refused), or None."""
    limits = (
        ("workspace id", incoming.actor.workspace_id, MAX_ID),
        ("user id", incoming.actor.user_id, MAX_ID),
        ("conversation id", incoming.conversation_id, MAX_CONVERSATION_ID),
        ("delivery id", incoming.delivery_key or "", MAX_DELIVERY_KEY),
    )
    too_long = (f"the {what} is longer than {most} characters" for what, value, most in limits if len(value) > most)
    return next(too_long, None)


def fitted(incoming: Incoming) -> Incoming:
    """Display names cut to what is stored (SQLite would keep any length, PostgreSQL refuses)."""
    name, place = incoming.actor.display_name, incoming.conversation_name
    if len(name) <= MAX_NAME and len(place) <= MAX_NAME:
        return incoming
    return replace(
        incoming,
        actor=replace(incoming.actor, display_name=name[:MAX_NAME]),
        conversation_name=place[:MAX_NAME],
    )


def incoming_to_json(incoming: Incoming) -> dict[str, Any]:
    return asdict(incoming)


def incoming_from_json(data: dict[str, Any]) -> Incoming:
    """The inverse of `incoming_to_json` (the inbox keeps deliveries as JSON)."""
    parts = dict(data)
    parts["actor"] = Actor(**parts["actor"])
    if parts.get("action") is not None:
        parts["action"] = Action(**parts["action"])
    if parts.get("form") is not None:
        parts["form"] = FormSubmission(**parts["form"])
    if parts.get("channel_reply") is not None:
        parts["channel_reply"] = ChannelReply(**parts["channel_reply"])
    return Incoming(**parts)


# ---- reply elements -------------------------------------------------------------------------


@dataclass
class Heading:
    text: str
    type: str = "heading"


@dataclass
class Text:
    text: str
    type: str = "text"


@dataclass
class Fields:
    items: list[tuple[str, str]]
    type: str = "fields"


@dataclass
class ListItems:
    items: list[str]
    type: str = "list"


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    type: str = "table"


@dataclass
class Button:
    label: str
    action_id: str
    value: str = ""
    style: str = ""  # "", "primary", "danger"
    # The answer goes only to whoever clicked, in place of the card where the platform can
    # (Teams: Action.Execute, answered in the invoke response; no message in the conversation).
    private: bool = False


@dataclass
class Buttons:
    buttons: list[Button]
    type: str = "buttons"


@dataclass
class FormField:
    name: str
    label: str
    kind: str = "text"  # text | textarea | number | select | multiselect | user | date
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    initial: str = ""
    max_length: int | None = None
    placeholder: str = ""


@dataclass
class Form:
    """A form the face shows (Slack modal, Teams card); submitting it comes back as FormSubmission."""

    command: str
    title: str
    fields: list[FormField]
    submit_label: str = "Submit"
    hints: dict[str, str] = field(default_factory=dict)
    private: bool = False  # as Button.private: the answer replaces the form for the submitter only
    type: str = "form"


@dataclass
class Image:
    """A picture: a file at `path`, or a chart the face draws from `chart` + `data` when it sends.

    Charts travel as data, not pixels, so an outbox row stays small and any replica can send it.
    Chart kinds (drawn by bot/render/charts.py): "bar" {labels, values, title, xlabel},
    "matrix" {points: [{label, x, y}], xlabel, ylabel, title}, "heatmap" {counts: 5x5, title},
    "gantt" {rows: [{label, start, end, status}], title}.
    """

    alt: str
    title: str = ""
    path: str = ""
    chart: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    type: str = "image"


@dataclass
class File:
    """A generated file (an export of the initiative's deliverables) the face builds and uploads
    when it sends, like a chart: the reply stays small and the file is always current."""

    title: str
    export_format: str  # md | html | pdf | csv | xlsx
    initiative_id: int
    path: str = ""  # set by the console face once written
    type: str = "file"


Element = Heading | Text | Fields | ListItems | Table | Buttons | Form | Image | File

_ELEMENT_TYPES: dict[str, type] = {
    "heading": Heading,
    "text": Text,
    "fields": Fields,
    "list": ListItems,
    "table": Table,
    "buttons": Buttons,
    "form": Form,
    "image": Image,
    "file": File,
}


@dataclass
class Reply:
    elements: list[Element] = field(default_factory=list)
    visibility: Visibility = "ephemeral"
    field_errors: dict[str, str] = field(default_factory=dict)  # form field name -> message
    ok: bool = True
    # True when this is the stored answer to a redelivery: faces answer the request again but
    # must not repeat side effects (a channel post, a Teams message) the first delivery made.
    replayed: bool = False
    # What the de-duplication ledger keeps instead of `elements`, when those must not be stored
    # beside a key that names the person (an anonymous voter's ballot).
    ledger_elements: list[Element] | None = None
    # True when the reply went into the outbox with the delivery's effect (Incoming.channel_reply;
    # a refusal, which has none, on its own): the face must not post it.
    queued: bool = False
    # True for "something went wrong on our side and nothing was saved": trying again may work.
    retryable: bool = False

    @property
    def form(self) -> Form | None:
        """A reply that is a form asks the face to open it (modal, card) instead of posting text."""
        return next((e for e in self.elements if isinstance(e, Form)), None)

    def plain_text(self) -> str:
        """A one-line-per-element fallback (notifications' preview text, logs)."""
        parts: list[str] = []
        for e in self.elements:
            if isinstance(e, Heading | Text):
                parts.append(e.text)
            elif isinstance(e, Fields):
                parts.extend(f"{k}: {v}" for k, v in e.items)
            elif isinstance(e, ListItems):
                parts.extend(e.items)
        return "\n".join(parts)


def error_reply(message: str, field_errors: dict[str, str] | None = None) -> Reply:
    """Refusals quote what the person typed, mentions included: show those as they read them."""
    errors = {k: readable_mentions(v) for k, v in (field_errors or {}).items()}
    return Reply([Text(readable_mentions(message))], "ephemeral", errors, ok=False)


def elements_to_json(elements: Sequence[Element]) -> list[dict[str, Any]]:
    return [asdict(e) for e in elements]


def elements_from_json(data: list[dict[str, Any]]) -> list[Element]:
    out: list[Element] = []
    for raw in data:
        raw = dict(raw)
        kind = _ELEMENT_TYPES[raw["type"]]
        if kind is Fields:
            raw["items"] = [tuple(i) for i in raw["items"]]
        elif kind is Buttons:
            raw["buttons"] = [Button(**b) for b in raw["buttons"]]
        elif kind is Form:
            raw["fields"] = [FormField(**{**f, "options": [tuple(o) for o in f["options"]]}) for f in raw["fields"]]
        out.append(kind(**raw))
    return out


def reply_to_json(reply: Reply) -> dict[str, Any]:
    return {
        "elements": elements_to_json(reply.elements),
        "visibility": reply.visibility,
        "field_errors": reply.field_errors,
        "ok": reply.ok,
    }


def reply_from_json(data: dict[str, Any]) -> Reply:
    return Reply(elements_from_json(data["elements"]), data["visibility"], data["field_errors"], data["ok"])
