"""Prioritization polls: start, vote (command, buttons, form), results, close, extend, remind, list.

The poll message is sent through the outbox (dedupe key `poll-msg:<id>`), so where it landed is
recorded with it and `schedules/polls.py` can edit it as votes arrive. Closing is a conditional
update: a command, the deadline timer and a second replica can race, one of them closes.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import ballots as ballot_rules
from handlers.ballots import Choices
from handlers.context import Context
from handlers.fields import Check, fmt_dt, parse_human_id
from handlers.grammar import Arg, Opt, Parsed, UsageError
from handlers.messages import (
    Action,
    Button,
    Buttons,
    FormSubmission,
    Heading,
    Reply,
    Table,
    Text,
    elements_to_json,
)
from handlers.poll_views import (
    ballot_form,
    chart_for,
    choices_from_form,
    count_tally,
    electorate,
    poll_id,
    poll_message,
    reminder_elements,
    results_elements,
)
from handlers.registry import FACILITATOR, action, command, form
from handlers.tally import COUNT_METHODS, Tally
from storage.models import Initiative, Poll, PollOption
from storage.repos import polls as repo
from storage.repos import record, scope, store

QUESTION_MAX = 300
LABEL_MAX = 200
MIN_OPTIONS, MAX_OPTIONS = 2, 50
REMIND_BEFORE = timedelta(hours=24)
AUTO_REMIND_MIN_LENGTH = timedelta(hours=36)  # shorter polls get no automatic reminder
MAX_LENGTH = timedelta(days=366)
USECASE_SETS = {"shortlisted": ("shortlisted",), "all": ("proposed", "shortlisted", "approved")}
_DURATION = re.compile(r"^(\d{1,4})\s*(m|min|h|d|w)$", re.IGNORECASE)


# ---- pure helpers -----------------------------------------------------------------------------


def parse_duration(check: Check, name: str, text: str | None) -> timedelta | None:
    if text is None:
        return None
    m = _DURATION.match(text.strip())
    if not m:
        check.fail(name, f'--{name} takes a duration such as 90m, 12h, 3d or 2w, got "{text}".')
        return None
    n, unit = int(m.group(1)), m.group(2).lower()
    span = {"m": timedelta(minutes=n), "min": timedelta(minutes=n), "h": timedelta(hours=n)}.get(unit)
    span = span or (timedelta(days=n) if unit == "d" else timedelta(weeks=n))
    if span <= timedelta(0):
        check.fail(name, f"--{name} must be longer than zero.")
        return None
    return span


def parse_deadline(check: Check, text: str | None, tz: ZoneInfo) -> datetime | None:
    """`2026-12-01 17:00`, `2026-12-01T17:00` or `2026-12-01` (end of that day), local time."""
    if text is None:
        return None
    raw = text.strip().replace("T", " ")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            local = datetime.combine(datetime.fromisoformat(raw).date(), time(23, 59))
        else:
            local = datetime.strptime(raw, "%Y-%m-%d %H:%M")
    except ValueError:
        check.fail("closes", f'--closes takes a date and time such as "2026-12-01 17:00" or 2026-12-01, got "{text}".')
        return None
    return local.replace(tzinfo=tz)


def split_options(text: str) -> list[str]:
    return [o.strip() for o in text.split(";") if o.strip()]


# ---- loading ----------------------------------------------------------------------------------


async def poll_or_refuse(ctx: Context, ref: Any) -> Poll:
    number = poll_number(ref)
    poll = await repo.by_number(ctx.session, ctx.initiative.id, number)
    if poll is None:
        raise _no_poll(number)
    return poll


def poll_number(ref: Any) -> int:
    number = parse_human_id(str(ref) if ref is not None else None, "POLL")
    if number is None:
        raise UsageError(f'Give the poll as POLL-n (like POLL-1), got "{ref}".', field="poll")
    return number


def _no_poll(number: int) -> UsageError:
    return UsageError(f"There is no POLL-{number} in this initiative; `poll list` shows its polls.", field="poll")


async def choices_for(session: AsyncSession, options: list[PollOption]) -> Choices:
    numbers = await repo.use_case_numbers(session, [o.use_case_id for o in options if o.use_case_id is not None])
    extra = {f"uc-{numbers[o.use_case_id]}": o.position for o in options if o.use_case_id in numbers}
    return Choices.of({o.position: o.label for o in options}, extra)


# ---- what people see ------------------------------------------------------------------------


# ---- services shared with the scheduler --------------------------------------------------------


def use_case_ranks(options: list[PollOption], tally: Tally) -> dict[int, int]:
    """Use case id -> rank, when every option of the poll is a use case (else nothing)."""
    ranks = {o.use_case_id: tally.rank_of()[o.position] for o in options if o.use_case_id is not None}
    return ranks if ranks and len(ranks) == len(options) else {}


async def close_poll(
    session: AsyncSession, poll: Poll, initiative: Initiative, now: datetime, *, actor: str, actor_name: str
) -> bool:
    """Close once, post the result with its chart, set use-case priorities; False if already closed."""
    if not await repo.claim_close(session, poll.id, now):
        return False
    await store.reload(session, poll)
    options = await repo.options(session, poll.id)
    stored = await repo.ballots(session, poll.id)
    tally = count_tally(poll.method, len(options), stored, poll.count_method)
    tz = ZoneInfo(initiative.timezone or "UTC")
    members = await electorate(session, initiative.id)
    voted = await repo.participant_count(session, poll.id)
    elements = results_elements(poll, options, tally, voted=voted, members=len(members), tz=tz)
    elements.append(chart_for(poll, options, tally, stored))
    ranks = use_case_ranks(options, tally)
    if ranks and poll.sets_priority:
        await repo.set_priorities(session, initiative.id, poll.id, ranks)
        elements.append(Text(f"The use cases' priority now comes from {poll_id(poll)} (1 = top)."))
    elif ranks:  # chosen, never taken over by whichever use-case poll closed last
        elements.append(Text(f"To rank the use cases by it: `usecase priority from {poll_id(poll)}`."))
    await repo.cancel_pending_reminders(session, poll.id)
    await record.enqueue(
        session,
        workspace_id=initiative.workspace_id,
        initiative_id=initiative.id,
        target_kind="channel",
        target_id=initiative.conversation_id,
        payload={"elements": elements_to_json(elements)},
        now=now,
        dedupe_key=f"poll-results:{poll.id}",
    )
    audit = record.audit_row(
        workspace_id=initiative.workspace_id,
        initiative_id=initiative.id,
        actor_user_id=actor,
        actor_name=actor_name,
        action="poll.close",
        entity=poll_id(poll),
        detail={"ballots": tally.ballots, "winners": tally.winners},
        at=now,
    )
    await record.write_audit(session, [audit])
    return True


async def remind_non_voters(
    session: AsyncSession, poll: Poll, initiative: Initiative, key: str, roster: list[str], now: datetime
) -> int:
    """Queue one private reminder per non-voter; the dedupe key makes each person's reminder once."""
    if poll.status != "open":
        return 0
    voted = {m.user_id for m in await repo.participants(session, poll.id)}
    known = {m.user_id for m in await scope.members(session, initiative.id)}
    for user in sorted(set(roster) - known):
        # A channel member the bot has not met joins the initiative: the Vote button in their
        # reminder acts from a DM, which works for members only.
        await scope.member(session, initiative, user, "", now)
    people = {m.user_id for m in await electorate(session, initiative.id)} | set(roster)
    tz = ZoneInfo(initiative.timezone or "UTC")
    sent = 0
    for user in sorted(people - voted):
        if await record.enqueue(
            session,
            workspace_id=initiative.workspace_id,
            initiative_id=initiative.id,
            target_kind="user",
            target_id=user,
            payload={"elements": elements_to_json(reminder_elements(poll, tz))},
            now=now,
            dedupe_key=f"poll-remind:{key}:{user}"[:200],
        ):
            sent += 1
    return sent


async def schedule_auto_reminder(session: AsyncSession, poll: Poll, now: datetime) -> None:
    await repo.cancel_pending_reminders(session, poll.id)
    if poll.closes_at and poll.closes_at - now >= AUTO_REMIND_MIN_LENGTH:
        await repo.schedule_reminder(
            session, poll.id, f"poll:{poll.id}:auto:{poll.closes_at.isoformat()}", poll.closes_at - REMIND_BEFORE
        )


# ---- commands -----------------------------------------------------------------------------


@command(
    "poll start",
    summary="Start a poll: single, approval, ranked, dots or score.",
    usage='poll start "QUESTION" --method single|approval|ranked|dots|score [--options "A; B; C"] '
    "[--usecases shortlisted|all] [--closes DATETIME | --in 3d] [--anonymous] [--hide-results] "
    "[--count schulze|borda|irv] [--dots N] [--sets-priority]",
    args=(Arg("question"),),
    opts=(
        Opt("sets-priority", flag=True),
        Opt("method"),
        Opt("options"),
        Opt("usecases"),
        Opt("closes"),
        Opt("in"),
        Opt("anonymous", flag=True),
        Opt("hide-results", flag=True),
        Opt("count"),
        Opt("dots"),
    ),
    examples=(
        'poll start "Which use case first?" --method ranked --usecases shortlisted --in 3d --sets-priority',
        'poll start "Lunch?" --method single --options "Pizza; Sushi; Salad"',
    ),
)
async def start(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    question = check.text("question", args.text("question"), max_len=QUESTION_MAX, required=True)
    method, count, dots = _ballot_shape(check, args)
    closes_at = _closing_time(check, args, ctx)
    labels = await _option_labels(check, args, ctx)
    if args.flag("sets-priority"):
        if not ctx.is_facilitator:
            check.fail("sets-priority", "Only a facilitator chooses the poll that sets the use cases' priority.")
        elif not args.has("usecases"):
            check.fail("sets-priority", "--sets-priority needs the use cases as options: add --usecases all.")
    _check_option_count(check, args, labels)
    method = check.present(method)
    poll = Poll(
        initiative_id=ctx.initiative.id,
        number=await ctx.next_number("POLL"),
        question=question,
        method=method,
        count_method=(count or "schulze") if method == "ranked" else "",
        dots=dots or 10,
        anonymous=args.flag("anonymous"),
        hide_results=args.flag("hide-results"),
        sets_priority=args.flag("sets-priority"),
        status="open",
        closes_at=closes_at,
        salt=secrets.token_hex(16),
        created_by_member_id=ctx.member.id,
        created_at=ctx.now,
    )
    await store.add(ctx.session, poll)
    await store.add(
        ctx.session,
        *(
            PollOption(poll_id=poll.id, position=i, label=label, use_case_id=use_case_id)
            for i, (label, use_case_id) in enumerate(labels, start=1)
        ),
    )
    await schedule_auto_reminder(ctx.session, poll, ctx.now)
    await ctx.post_to_channel(await poll_message(ctx.session, poll, ctx.tz), dedupe_key=repo.message_key(poll.id))
    ctx.audit("poll.start", poll_id(poll), method=method, options=len(labels), anonymous=poll.anonymous)
    return Reply([Text(f"{poll_id(poll)} is open with {len(labels)} options; it is posted in this conversation.")])


def _ballot_shape(check: Check, args: Parsed) -> tuple[str | None, str | None, int | None]:
    """The voting method, and --count and --dots, each refused unless the method uses it."""
    method = check.choice("method", args.text("method"), {m: m for m in ballot_rules.METHODS}, required=True)
    count = check.choice("count", args.text("count"), {c: c for c in COUNT_METHODS})
    if count and method and method != "ranked":
        check.fail("count", "--count applies to ranked polls only.")
    dots = check.whole("dots", args.text("dots"), 1, 1000)
    if dots is not None and method and method != "dots":
        check.fail("dots", "--dots applies to dot-voting polls only.")
    return method, count, dots


def _closing_time(check: Check, args: Parsed, ctx: Context) -> datetime | None:
    """--closes (a local date and time) or --in (a duration from now): in the future, within a year."""
    if args.has("closes") and args.has("in"):
        check.fail("closes", "Give --closes or --in, not both.")
    closes_at = parse_deadline(check, args.text("closes"), ctx.tz)
    span = parse_duration(check, "in", args.text("in"))
    if span is not None:
        closes_at = ctx.now + span
    if closes_at is not None and not check.errors.get("closes"):
        if closes_at <= ctx.now:
            check.fail("closes", f"The deadline {fmt_dt(closes_at, ctx.tz)} has passed; give a later one.")
        elif closes_at - ctx.now > MAX_LENGTH:
            check.fail("closes", "A poll can run for at most a year.")
    return closes_at


async def _option_labels(check: Check, args: Parsed, ctx: Context) -> list[tuple[str, int | None]]:
    """The options' labels, each with its use case id: typed with --options (distinct labels) or
    taken from the use cases with --usecases, exactly one of the two."""
    if args.has("options") == args.has("usecases"):
        check.fail("options", 'Give the options with --options "A; B; C" or take the use cases with --usecases.')
        return []
    if args.has("options"):
        labels: list[tuple[str, int | None]] = [
            (check.text("options", text, max_len=LABEL_MAX), None) for text in split_options(args.text("options") or "")
        ]
        seen = [label.lower() for label, _ in labels]
        if len(set(seen)) != len(seen):
            check.fail("options", "Two options have the same label; make each one different.")
        return labels
    which = check.choice("usecases", args.text("usecases"), {k: k for k in USECASE_SETS}, required=True)
    if not which:
        return []
    cases = await repo.use_cases(ctx.session, ctx.initiative.id, USECASE_SETS[which])
    labels = [(f"UC-{uc.number}: {uc.title}"[:LABEL_MAX], uc.id) for uc in cases]
    if len(labels) < MIN_OPTIONS:
        check.fail(
            "usecases",
            f"There are {len(labels)} {which} use case(s); a poll needs at least {MIN_OPTIONS}."
            + (" Shortlist more, or use --usecases all." if which == "shortlisted" else ""),
        )
    return labels


def _check_option_count(check: Check, args: Parsed, labels: list[tuple[str, int | None]]) -> None:
    """Typed options: MIN_OPTIONS to MAX_OPTIONS; use cases: at most MAX_OPTIONS (too few was said
    already). Not when the options were refused for another reason."""
    if check.errors.get("options") or check.errors.get("usecases"):
        return
    if args.has("options") and not MIN_OPTIONS <= len(labels) <= MAX_OPTIONS:
        check.fail(
            "options", f"A poll needs {MIN_OPTIONS} to {MAX_OPTIONS} options separated by ';', got {len(labels)}."
        )
    elif len(labels) > MAX_OPTIONS:
        check.fail("usecases", f"A poll takes at most {MAX_OPTIONS} options; there are {len(labels)}.")


async def record_vote(ctx: Context, poll: Poll, options: list[PollOption], choices: dict[str, Any]) -> Reply:
    if poll.status != "open":
        return _closed(ctx, poll)
    if not await repo.cast(ctx.session, {**_vote(ctx, poll), "choices": choices}):
        await store.reload(ctx.session, poll)  # closed meanwhile: say when
        return _closed(ctx, poll)  # not ok: the core rolls the ballot back
    return _recorded(ctx, poll, options, choices)


def _vote(ctx: Context, poll: Poll) -> dict[str, Any]:
    """The ballot row of this voter, but for its choices (see repo.cast_many)."""
    return dict(
        poll_id=poll.id,
        member_id=ctx.member.id,
        voter_key=ballot_rules.voter_key(ctx.config.ballot_secret, poll.salt, ctx.member.id),
        voted_at=ctx.now,
        # An anonymous ballot carries no time of its own that could be matched with the audit trail.
        ballot_time=poll.created_at if poll.anonymous else ctx.now,
    )


def _recorded(ctx: Context, poll: Poll, options: list[PollOption], choices: dict[str, Any]) -> Reply:
    ctx.audit("poll.vote", poll_id(poll))
    said = ballot_rules.describe(poll.method, choices, {o.position: o.label for o in options})
    change = Buttons([Button("Change my vote", f"poll.ballot:{poll.number}", str(poll.number), private=True)])
    reply = Reply(
        [
            Text(f"Your vote on {poll_id(poll)} is recorded: {said}. Vote again to change it until the poll closes."),
            change,
        ]
    )
    if poll.anonymous:
        # The de-duplication ledger is keyed by the delivery, which names the voter: it keeps a
        # stand-in, never the ballot.
        reply.ledger_elements = [Text(f"Your vote on {poll_id(poll)} is recorded."), change]
    return reply


def _closed(ctx: Context, poll: Poll) -> Reply:
    when = f" at {fmt_dt(poll.closed_at, ctx.tz)}" if poll.closed_at else ""
    return Reply(
        [
            Text(
                f"{poll_id(poll)} closed{when}; votes are no longer accepted. `poll results {poll_id(poll)}` "
                "shows the result."
            )
        ],
        ok=False,
    )


async def _my_ballot(ctx: Context, poll: Poll) -> dict[str, Any] | None:
    key = ballot_rules.voter_key(ctx.config.ballot_secret, poll.salt, ctx.member.id)
    return await repo.ballot_of(ctx.session, poll.id, key)


@command(
    "poll vote",
    summary="Vote (again to change your vote); with no choices, opens your ballot.",
    usage="poll vote POLL-n CHOICE [CHOICE ...]",
    args=(Arg("poll", required=True), Arg("choices", rest=True)),
    examples=("poll vote POLL-1 3 1 2", "poll vote POLL-2 1=6 3=4", "poll vote POLL-3 2=5/3 1=4/4"),
)
async def vote(ctx: Context, args: Parsed) -> Reply:
    poll = await poll_or_refuse(ctx, args.word("poll"))
    if poll.status != "open":
        return _closed(ctx, poll)
    tokens = args.tokens("choices")
    options = await repo.options(ctx.session, poll.id)
    if not tokens:
        return Reply([ballot_form(poll, options, await _my_ballot(ctx, poll))])
    choices = ballot_rules.parse_tokens(poll.method, tokens, await choices_for(ctx.session, options), dots=poll.dots)
    return await record_vote(ctx, poll, options, choices)


@action("poll.pick", batched=True)
async def pick(ctxs: list[Context]) -> list[Reply | Exception]:
    """A button on the poll message: single sets the choice, approval toggles the option.

    Batched (handlers/batches.py): the clicks that arrive together read their polls, options
    and current ballots in shared queries and write their ballots in two statements, in order,
    so a person's two quick clicks count as two clicks."""
    session = ctxs[0].session
    clicks = [_click(ctx) for ctx in ctxs]
    polls = await repo.for_votes(session, {(c[0].initiative.id, c[1]) for c in clicks if isinstance(c, tuple)})
    options = await repo.options_of(session, {p.id for p in polls.values()})
    ready: list[tuple[Context, Poll, str, dict[str, Any]] | Reply | Exception] = []
    for c in clicks:
        if not isinstance(c, tuple):
            ready.append(c)
            continue
        ctx, number, position = c
        poll = polls.get((ctx.initiative.id, number))
        if poll is None:
            ready.append(_no_poll(number))
        elif poll.status != "open":
            ready.append(_closed(ctx, poll))
        else:
            ready.append((ctx, poll, position, _vote(ctx, poll)))
    toggled = {(r[1].id, r[3]["voter_key"]) for r in ready if isinstance(r, tuple) and r[1].method == "approval"}
    current = await repo.ballots_of(session, toggled)
    results: list[Reply | Exception] = []
    accepted: list[dict[str, Any]] = []
    for r in ready:
        if not isinstance(r, tuple):
            results.append(r)
            continue
        ctx, poll, position, vote = r
        ballot = (poll.id, vote["voter_key"])
        choices = _picked(poll, options[poll.id], position, current.get(ballot))
        if isinstance(choices, Reply):
            results.append(choices)
            continue
        current[ballot] = choices
        accepted.append({**vote, "choices": choices})
        results.append(_recorded(ctx, poll, options[poll.id], choices))
    await repo.cast_many(session, accepted)
    return results


def _click(ctx: Context) -> tuple[Context, int, str] | UsageError:
    """A button's value is "<poll number>:<option position>"."""
    act = ctx.incoming.action
    if act is None:
        raise TypeError("poll.pick is an action: the core calls it for button presses only")
    number, _, position = act.value.partition(":")
    try:
        return ctx, poll_number(number), position
    except UsageError as e:
        return e


def _picked(
    poll: Poll, options: list[PollOption], position: str, current: dict[str, Any] | None
) -> dict[str, Any] | Reply:
    """The choices after clicking the option at `position`, or why the click cannot count."""
    p = int(position) if position.isdigit() else 0
    if not any(o.position == p for o in options) or poll.method not in ("single", "approval"):
        return Reply([Text("That button is out of date; use the poll's Vote button.")], ok=False)
    if poll.method == "single":
        return {"pick": p}
    chosen = set((current or {}).get("approve", [])) ^ {p}
    if not chosen:
        return Reply([Text("That would approve nothing: an approval ballot needs at least one option.")], ok=False)
    return {"approve": sorted(chosen)}


@action("poll.ballot")
async def open_ballot(ctx: Context, act: Action) -> Reply:
    poll = await poll_or_refuse(ctx, act.value)
    if poll.status != "open":
        return _closed(ctx, poll)
    return Reply([ballot_form(poll, await repo.options(ctx.session, poll.id), await _my_ballot(ctx, poll))])


@form("poll vote")
async def vote_submitted(ctx: Context, submission: FormSubmission) -> Reply:
    poll = await poll_or_refuse(ctx, submission.hints.get("poll"))
    if poll.status != "open":
        return _closed(ctx, poll)
    options = await repo.options(ctx.session, poll.id)
    return await record_vote(ctx, poll, options, choices_from_form(poll, options, submission.values))


@command(
    "poll results",
    summary="A poll's result (so far, unless hidden), with the figures and participation.",
    usage="poll results POLL-n [--count schulze|borda|irv]",
    args=(Arg("poll", required=True),),
    opts=(Opt("count"),),
    examples=("poll results POLL-1 --count irv",),
)
async def results(ctx: Context, args: Parsed) -> Reply:
    poll = await poll_or_refuse(ctx, args.word("poll"))
    check = Check()
    count = check.choice("count", args.text("count"), {c: c for c in COUNT_METHODS})
    if count and poll.method != "ranked":
        check.fail("count", f"--count applies to ranked polls; {poll_id(poll)} is {poll.method}.")
    check.done()
    members = await electorate(ctx.session, ctx.initiative.id)
    voters = await repo.participants(ctx.session, poll.id)
    if poll.hide_results and poll.status == "open":
        return Reply(
            [
                Heading(f"{poll_id(poll)}: {poll.question}"),
                Text(
                    f"The results are hidden from everyone until the poll closes. "
                    f"{len(voters)} of {max(len(members), len(voters))} voted so far."
                ),
            ]
        )
    options = await repo.options(ctx.session, poll.id)
    stored = await repo.ballots(ctx.session, poll.id)
    tally = count_tally(poll.method, len(options), stored, count or poll.count_method)
    who: dict[str, Any] = {}
    if not poll.anonymous:
        voted_ids = {m.id for m in voters}
        who = {"voters": voters, "non_voters": [m for m in members if m.id not in voted_ids]}
    return Reply(results_elements(poll, options, tally, voted=len(voters), members=len(members), tz=ctx.tz, **who))


def _may_manage(ctx: Context, poll: Poll) -> None:
    if not (ctx.is_facilitator or poll.created_by_member_id == ctx.member.id):
        raise UsageError(f"Only {poll_id(poll)}'s creator or a facilitator can do that.")


@command(
    "poll close",
    summary="Close a poll now and post its result (creator or facilitator).",
    usage="poll close POLL-n",
    args=(Arg("poll", required=True),),
)
async def close(ctx: Context, args: Parsed) -> Reply:
    poll = await poll_or_refuse(ctx, args.word("poll"))
    _may_manage(ctx, poll)
    if not await close_poll(
        ctx.session, poll, ctx.initiative, ctx.now, actor=ctx.member.user_id, actor_name=ctx.member.display_name
    ):
        return Reply([Text(f"{poll_id(poll)} is already closed.")], ok=False)
    ctx.queued += 1
    return Reply([Text(f"{poll_id(poll)} is closed; the result is posted in this conversation.")])


@command(
    "usecase priority",
    summary="Rank the use cases by a closed poll of them (facilitators): the deliverable says which.",
    usage="usecase priority from POLL-n",
    args=(Arg("from", required=True), Arg("poll")),
    roles=FACILITATOR,
    examples=("usecase priority from POLL-2",),
)
async def priority_from(ctx: Context, args: Parsed) -> Reply:
    ref = args.word("poll") if (args.word("from") or "").lower() == "from" else args.word("from")
    poll = await poll_or_refuse(ctx, ref)
    if poll.status != "closed":
        raise UsageError(f"{poll_id(poll)} is still open; close it first (`poll close {poll_id(poll)}`).", "poll")
    options = await repo.options(ctx.session, poll.id)
    tally = count_tally(poll.method, len(options), await repo.ballots(ctx.session, poll.id), poll.count_method)
    ranks = use_case_ranks(options, tally)
    if not ranks:
        raise UsageError(
            f"{poll_id(poll)}'s options are not all use cases, so it cannot rank them. "
            'Start one with `poll start "..." --method ranked --usecases all --sets-priority`.',
            "poll",
        )
    await repo.set_priorities(ctx.session, ctx.initiative.id, poll.id, ranks)
    ctx.audit("usecase.priority", poll_id(poll), ranks={str(k): v for k, v in sorted(ranks.items())})
    return Reply(
        [
            Text(
                f"The use cases' priority now comes from {poll_id(poll)} (closed {fmt_dt(poll.closed_at, ctx.tz)}; "
                "1 = top). `usecase list --sort priority` shows them in that order."
            )
        ],
        visibility="channel",
    )


@command(
    "poll extend",
    summary="Move a poll's deadline later (creator or facilitator).",
    usage="poll extend POLL-n --in 2d | --closes DATETIME",
    args=(Arg("poll", required=True),),
    opts=(Opt("in"), Opt("closes")),
    examples=("poll extend POLL-1 --in 2d",),
)
async def extend(ctx: Context, args: Parsed) -> Reply:
    poll = await poll_or_refuse(ctx, args.word("poll"))
    _may_manage(ctx, poll)
    if poll.status != "open":
        return _closed(ctx, poll)
    check = Check()
    if args.has("closes") == args.has("in"):
        check.fail("in", "Give --in DURATION (added to the current deadline) or --closes DATETIME.")
    span = parse_duration(check, "in", args.text("in"))
    closes_at = parse_deadline(check, args.text("closes"), ctx.tz)
    if span is not None:
        closes_at = max(poll.closes_at or ctx.now, ctx.now) + span
    if closes_at is not None and closes_at <= max(poll.closes_at or ctx.now, ctx.now):
        check.fail("closes", "The new deadline must be later than the current one and than now.")
    elif closes_at is not None and closes_at - ctx.now > MAX_LENGTH:
        check.fail("closes", "A poll can run for at most a year.")
    closes_at = check.present(closes_at)
    if not await repo.extend(ctx.session, poll.id, closes_at):
        return _closed(ctx, poll)
    poll.closes_at = closes_at
    await schedule_auto_reminder(ctx.session, poll, ctx.now)
    ctx.audit("poll.extend", poll_id(poll), closes_at=closes_at.isoformat())
    return Reply([Text(f"{poll_id(poll)} now closes {fmt_dt(closes_at, ctx.tz)} ({ctx.tz.key}).")], "channel")


@command(
    "poll remind",
    summary="Privately remind everyone who has not voted (creator or facilitator).",
    usage="poll remind POLL-n",
    args=(Arg("poll", required=True),),
)
async def remind(ctx: Context, args: Parsed) -> Reply:
    poll = await poll_or_refuse(ctx, args.word("poll"))
    _may_manage(ctx, poll)
    if poll.status != "open":
        return _closed(ctx, poll)
    key = f"poll:{poll.id}:manual:{ctx.incoming.delivery_key or ctx.now.isoformat()}"[:200]
    await repo.schedule_reminder(ctx.session, poll.id, key, ctx.now)
    members = await electorate(ctx.session, ctx.initiative.id)
    voted = await repo.participant_count(ctx.session, poll.id)
    ctx.audit("poll.remind", poll_id(poll))
    return Reply(
        [
            Text(
                f"Reminding everyone who has not voted on {poll_id(poll)} yet, privately "
                f"({voted} of {max(len(members), voted)} have voted)."
            )
        ]
    )


@command(
    "poll list",
    menu=True,
    summary="The initiative's polls.",
    usage="poll list [--open]",
    opts=(Opt("open", flag=True),),
)
async def list_polls(ctx: Context, args: Parsed) -> Reply:
    polls = await repo.list_for(ctx.session, ctx.initiative.id, open_only=args.flag("open"))
    if not polls:
        return Reply([Text('No polls yet. Start one with `poll start "QUESTION" --method ranked --usecases all`.')])
    counts = await repo.counts(ctx.session, [p.id for p in polls])
    rows = [
        [
            poll_id(p),
            p.question,
            p.method + (f" ({p.count_method})" if p.count_method else ""),
            p.status,
            str(counts.get(p.id, 0)),
            fmt_dt(p.closed_at if p.status == "closed" else p.closes_at, ctx.tz) or "-",
        ]
        for p in polls
    ]
    return Reply([Table(["ID", "Question", "Method", "Status", "Voted", "Closes/closed"], rows)])
