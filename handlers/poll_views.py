"""What people see of a poll: the poll message, results, reminders, the ballot form and what
comes back from it. Shared by the commands (handlers/polls.py) and the poll clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import ballots as ballot_rules
from handlers.fields import InvalidInput, fmt_dt
from handlers.messages import Button, Buttons, Element, Form, FormField, Heading, Image, ListItems, Text
from handlers.tally import (
    Tally,
    score_rows,
    tally_approval,
    tally_dots,
    tally_ranked,
    tally_score,
    tally_single,
)
from storage.models import Member, Poll, PollOption
from storage.repos import polls as repo
from storage.repos import scope

MAX_BUTTONS = 10  # more options than this: the form's select instead of one button each


METHOD_NAMES = {
    "single": "Single choice",
    "approval": "Approval (pick any number)",
    "ranked": "Ranked choice",
    "dots": "Dot voting",
    "score": "Impact x feasibility scoring",
}


COUNT_NAMES = {"schulze": "Schulze", "borda": "Borda", "irv": "instant runoff"}


def poll_id(poll: Poll) -> str:
    return f"POLL-{poll.number}"


def count_tally(method: str, n: int, stored: list[dict[str, Any]], count: str) -> Tally:
    ballots = ballot_rules.tally_input(method, stored)
    if method == "single":
        return tally_single(n, ballots)
    if method == "approval":
        return tally_approval(n, ballots)
    if method == "ranked":
        return tally_ranked(n, ballots, count)
    if method == "dots":
        return tally_dots(n, ballots)
    return tally_score(n, ballots)


def option_label(o: PollOption) -> str:
    return f"{o.position}. {o.label}"


def chart_for(poll: Poll, options: list[PollOption], tally: Tally, stored: list[dict[str, Any]]) -> Image:
    labels = {o.position: o.label for o in options}
    title = f"{poll_id(poll)}: {poll.question}"
    if poll.method == "score":
        rows = score_rows(len(options), ballot_rules.tally_input("score", stored))
        points = [
            {"label": labels[r.option], "x": r.feasibility, "y": r.impact} for r in rows if r.priority is not None
        ]
        return Image(
            alt=f"Impact versus feasibility of the options of {poll_id(poll)}",
            title=f"{poll_id(poll)}: impact vs feasibility",
            chart="matrix",
            data={"points": points, "xlabel": "Feasibility (mean)", "ylabel": "Impact (mean)", "title": title},
        )
    return Image(
        alt=f"Bar chart of the ranking of {poll_id(poll)}",
        title=f"{poll_id(poll)}: ranking",
        chart="bar",
        data={
            "labels": [labels[s.option] for s in tally.standings],
            "values": [s.value for s in tally.standings],
            "title": title,
        },
    )


def describe_poll(poll: Poll, tz: ZoneInfo) -> str:
    parts = [METHOD_NAMES[poll.method]]
    if poll.method == "ranked":
        parts[0] += f", counted by {COUNT_NAMES[poll.count_method]}"
    if poll.method == "dots":
        parts[0] += f", {poll.dots} points each"
    if poll.method == "score":
        parts[0] += ": score each option's business impact and feasibility 1-5"
    if poll.anonymous:
        parts.append("Anonymous: nobody, not even the creator or a facilitator, can see who chose what")
    if poll.hide_results:
        parts.append("Results are hidden from everyone until the poll closes")
    if poll.status == "closed":
        parts.append(f"Closed {fmt_dt(poll.closed_at, tz)}")
    elif poll.closes_at:
        parts.append(f"Closes {fmt_dt(poll.closes_at, tz)} ({tz.key})")
    return ". ".join(parts) + "."


async def electorate(session: AsyncSession, initiative_id: int) -> list[Member]:
    return [m for m in await scope.members(session, initiative_id) if m.active]


async def poll_message(session: AsyncSession, poll: Poll, tz: ZoneInfo) -> list[Element]:
    """The poll message: question, options, participation, the running tally unless hidden."""
    options = await repo.options(session, poll.id)
    voted = await repo.participant_count(session, poll.id)
    members = len(await electorate(session, poll.initiative_id))
    show = poll.status == "closed" or not poll.hide_results
    figures: dict[int, str] = {}
    if show and voted:
        tally = count_tally(poll.method, len(options), await repo.ballots(session, poll.id), poll.count_method)
        figures = {s.option: f"place {s.rank}, {s.figure}" for s in tally.standings}
    lines = [option_label(o) + (f" — {figures[o.position]}" if o.position in figures else "") for o in options]
    elements: list[Element] = [
        Heading(f"{poll_id(poll)}: {poll.question}"),
        Text(describe_poll(poll, tz)),
        ListItems(lines),
        Text(f"{voted} of {max(members, voted)} voted" + ("." if show or not voted else "; the tally is hidden.")),
    ]
    if poll.status == "open":
        elements.append(vote_buttons(poll, options))
    else:
        elements.append(Text(f"This poll is closed. `poll results {poll_id(poll)}` shows the result."))
    return elements


def vote_buttons(poll: Poll, options: list[PollOption]) -> Buttons:
    buttons: list[Button] = []
    if poll.method in ("single", "approval") and len(options) <= MAX_BUTTONS:
        buttons = [
            Button(
                option_label(o), f"poll.pick:{poll.number}:{o.position}", f"{poll.number}:{o.position}", private=True
            )
            for o in options
        ]
    label = "Vote" if not buttons else "Your ballot"
    buttons.append(Button(label, f"poll.ballot:{poll.number}", str(poll.number), style="primary", private=True))
    return Buttons(buttons)


def results_elements(
    poll: Poll,
    options: list[PollOption],
    tally: Tally,
    *,
    voted: int,
    members: int,
    tz: ZoneInfo,
    voters: list[Member] | None = None,
    non_voters: list[Member] | None = None,
) -> list[Element]:
    labels = {o.position: f"{o.label} (option {o.position})" for o in options}
    lines = [f"Place {s.rank}: {labels[s.option]} — {s.figure}" for s in tally.standings]
    what = METHOD_NAMES[poll.method] + (f", counted by {COUNT_NAMES[tally.method]}" if poll.method == "ranked" else "")
    state = "final result" if poll.status == "closed" else "so far"
    elements: list[Element] = [
        Heading(f"{poll_id(poll)}: {poll.question}"),
        Text(f"{what}, {state}. {voted} of {max(members, voted)} voted."),
        ListItems(lines),
    ]
    if tally.notes:
        elements.append(Text("\n".join(tally.notes)))
    if voters is not None and non_voters is not None:
        elements.append(Text("Voted: " + (", ".join(m.display_name for m in voters) or "nobody yet") + "."))
        elements.append(Text("Not yet: " + (", ".join(m.display_name for m in non_voters) or "nobody") + "."))
    return elements


def reminder_elements(poll: Poll, tz: ZoneInfo) -> list[Element]:
    when = f" It closes {fmt_dt(poll.closes_at, tz)} ({tz.key})." if poll.closes_at else ""
    return [
        Text(f"You have not voted on {poll_id(poll)} yet: {poll.question}.{when}"),
        Buttons([Button("Vote", f"poll.ballot:{poll.number}", str(poll.number), style="primary", private=True)]),
    ]


FORM_RANKS = 5  # ranks a ballot form asks for; a typed vote can rank every option

Choice = tuple[str, str]  # a select's (value, label)


def _single_fields(
    poll: Poll, options: list[PollOption], choices: list[Choice], cur: dict[str, Any]
) -> list[FormField]:
    return [FormField("choice", "Your choice", "select", True, choices, str(cur.get("pick", "")))]


def _approval_fields(
    poll: Poll, options: list[PollOption], choices: list[Choice], cur: dict[str, Any]
) -> list[FormField]:
    initial = ",".join(str(p) for p in cur.get("approve", []))
    return [FormField("approve", "The options you approve", "multiselect", True, choices, initial)]


def _ranked_fields(
    poll: Poll, options: list[PollOption], choices: list[Choice], cur: dict[str, Any]
) -> list[FormField]:
    """The top FORM_RANKS: one select of every option per rank, so the form's size grows with the
    options, not with their square (50 options ranked in full were a 392 KB Slack modal). Ranking
    more is typed: `poll vote POLL-n 3 1 2 ...` (docs/polls.md)."""
    ranking = [str(p) for p in cur.get("rank", [])]
    ranks = min(len(options), FORM_RANKS)
    more = f" (this form ranks your top {ranks}; to rank more, type poll vote {poll_id(poll)} 3 1 2 ...)"
    return [
        FormField(
            f"rank_{i}",
            f"{ballot_rules.ordinal(i)} choice" + (more if i == 1 and len(options) > ranks else ""),
            "select",
            i == 1,
            choices,
            ranking[i - 1] if i <= len(ranking) else "",
        )
        for i in range(1, ranks + 1)
    ]


def _dots_fields(poll: Poll, options: list[PollOption], choices: list[Choice], cur: dict[str, Any]) -> list[FormField]:
    points = cur.get("points", {})
    return [
        FormField(
            f"points_{o.position}", f"{option_label(o)}: points", "number", initial=str(points.get(str(o.position), ""))
        )
        for o in options
    ]


def _score_fields(poll: Poll, options: list[PollOption], choices: list[Choice], cur: dict[str, Any]) -> list[FormField]:
    scores = cur.get("scores", {})
    scale = [(str(i), str(i)) for i in range(1, 6)]
    fields = []
    for o in options:
        s = scores.get(str(o.position)) or ["", ""]
        fields.append(
            FormField(f"impact_{o.position}", f"{option_label(o)}: impact", "select", options=scale, initial=str(s[0]))
        )
        fields.append(
            FormField(
                f"feasibility_{o.position}",
                f"{option_label(o)}: feasibility",
                "select",
                options=scale,
                initial=str(s[1]),
            )
        )
    return fields


# The ballot form's inputs by method, each prefilled from the voter's current ballot.
_FORM_FIELDS: dict[str, Callable[[Poll, list[PollOption], list[Choice], dict[str, Any]], list[FormField]]] = {
    "single": _single_fields,
    "approval": _approval_fields,
    "ranked": _ranked_fields,
    "dots": _dots_fields,
    "score": _score_fields,
}


def ballot_form(poll: Poll, options: list[PollOption], current: dict[str, Any] | None) -> Form:
    """The right inputs for the method, prefilled with the voter's current ballot."""
    choices = [(str(o.position), option_label(o)) for o in options]
    fields = _FORM_FIELDS.get(poll.method, _score_fields)(poll, options, choices, current or {})
    return Form(
        command="poll vote",
        title=f"Vote on {poll_id(poll)}",
        fields=fields,
        submit_label="Vote",
        hints={"poll": str(poll.number)},
        private=True,
    )


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


Position = Callable[[Any, str], int]  # a field's value as one of the poll's option positions, or refused


def _single_choices(
    poll: Poll, options: list[PollOption], values: dict[str, Any], position: Position
) -> dict[str, Any]:
    if not _as_text(values.get("choice")):
        raise InvalidInput({"choice": "Choose an option."})
    return ballot_rules.from_picks("single", [position(values.get("choice"), "choice")])


def _approval_choices(
    poll: Poll, options: list[PollOption], values: dict[str, Any], position: Position
) -> dict[str, Any]:
    raw = values.get("approve") or []
    items = raw if isinstance(raw, list) else [x for x in str(raw).split(",") if x.strip()]
    return ballot_rules.from_picks("approval", [position(x, "approve") for x in items])


def _ranked_choices(
    poll: Poll, options: list[PollOption], values: dict[str, Any], position: Position
) -> dict[str, Any]:
    ranking = []
    for rank in range(1, min(len(options), FORM_RANKS) + 1):
        if _as_text(values.get(f"rank_{rank}")):
            ranking.append(position(values.get(f"rank_{rank}"), f"rank_{rank}"))
    if len(set(ranking)) != len(ranking):
        raise InvalidInput({"rank_1": "An option is chosen twice; rank each option once."})
    return ballot_rules.from_picks("ranked", ranking)


def _dots_choices(poll: Poll, options: list[PollOption], values: dict[str, Any], position: Position) -> dict[str, Any]:
    """A refusal of the points as a whole is shown at the first field filled in (else the first)."""
    raw = {o.position: _as_text(values.get(f"points_{o.position}")) for o in options}
    try:
        return ballot_rules.from_points({p: v for p, v in raw.items() if v}, dots=poll.dots)
    except InvalidInput as e:
        first = next((f"points_{p}" for p, v in raw.items() if v), f"points_{options[0].position}")
        raise InvalidInput({first: " ".join(e.errors.values())}) from None


def _score_choices(poll: Poll, options: list[PollOption], values: dict[str, Any], position: Position) -> dict[str, Any]:
    raw_scores: dict[int, str] = {}
    for o in options:
        i, f = _as_text(values.get(f"impact_{o.position}")), _as_text(values.get(f"feasibility_{o.position}"))
        if i or f:
            if not (i and f):
                raise InvalidInput({f"impact_{o.position}": f"Option {o.position}: give both impact and feasibility."})
            raw_scores[o.position] = f"{i}/{f}"
    if not raw_scores:
        raise InvalidInput({f"impact_{options[0].position}": "Score at least one option."})
    return ballot_rules.from_scores(raw_scores)


# What comes back from the ballot form, read by method into the choices a ballot stores.
_FORM_CHOICES: dict[str, Callable[[Poll, list[PollOption], dict[str, Any], Position], dict[str, Any]]] = {
    "single": _single_choices,
    "approval": _approval_choices,
    "ranked": _ranked_choices,
    "dots": _dots_choices,
    "score": _score_choices,
}


def choices_from_form(poll: Poll, options: list[PollOption], values: dict[str, Any]) -> dict[str, Any]:
    positions = {o.position for o in options}

    def position(raw: Any, field: str) -> int:
        text = _as_text(raw)
        if not text.isdigit() or int(text) not in positions:
            raise InvalidInput({field: f"{field.replace('_', ' ')}: choose one of the poll's options."})
        return int(text)

    return _FORM_CHOICES.get(poll.method, _score_choices)(poll, options, values, position)
