"""Milestones (Phase 1, step 6): add, list, show, edit, done, reopen, remove, snooze, and the
reminder rows that follow every change in the same transaction.

Reminders are rows; `handlers.milestone_reminders` decides which rows a milestone should have
and what a reminder says; schedules/reminders.py claims and sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from handlers import plan_rules as rules
from handlers.context import Context
from handlers.fields import Check, parse_human_id
from handlers.grammar import Arg, Opt, Parsed, UsageError
from handlers.messages import Action, Element, Fields, Reply, Table, Text
from handlers.milestone_reminders import (
    action_buttons,
    deliverable_of,
    load_calendar,
    ms_id,
    offsets_of,
    plan_item,
    plan_reminders,
)
from handlers.registry import FACILITATOR, action, command
from storage.models import Member, Milestone
from storage.repos import plan as repo
from storage.repos import store

NAME_MAX = 150
SNOOZES = {"1d": "1 day", "1w": "1 week"}


async def find(ctx: Context, raw: str | None) -> Milestone:
    number = parse_human_id(raw, "MS")
    if number is None:
        raise UsageError(f'"{raw or ""}" is not a milestone id; write it like MS-3 (see `milestone list`).', "id")
    ms = await repo.milestone(ctx.session, ctx.initiative.id, number)
    if ms is None:
        raise UsageError(f"There is no MS-{number} in this initiative; `milestone list` shows them.", "id")
    return ms


def check_workday(check: Check, name: str, day: date | None, cal: rules.Calendar) -> None:
    if day is not None and not cal.is_workday(day):
        nxt = cal.on_or_after(day)
        check.fail(
            name,
            f"{name} {day.isoformat()} ({day.strftime('%A')}) is not a working day here; "
            f"the next one is {nxt.isoformat()}. `plan workdays` and `plan holiday` set the calendar.",
        )


async def owners_from(ctx: Context, check: Check, args: Parsed) -> list[Member] | None:
    """The --owner people, or None when the option is not given (an empty list clears them)."""
    if not args.has("owner"):
        return None
    people: list[Member] = []
    for token in args.tokens("owner"):
        person = check.person("owner", token)
        if person is not None:
            people.append(await ctx.person(person))
    return people


def offsets_from(check: Check, raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return rules.stored_offsets(rules.parse_offsets(raw))
    except ValueError:
        check.fail("remind", f'remind must be working days before the due date like "3d,1d,0d", got "{raw[:40]}".')
        return None


async def predecessor(ctx: Context, check: Check, raw: str | None) -> Milestone | None:
    if raw is None or raw.lower() == "none":
        return None
    number = parse_human_id(raw, "MS")
    ms = await repo.milestone(ctx.session, ctx.initiative.id, number) if number is not None else None
    if ms is None:
        check.fail("after", f'after must name an existing milestone like MS-2, got "{raw[:40]}".')
    return ms


def can_close(ctx: Context, owners: list[Member]) -> bool:
    return ctx.is_facilitator or any(o.id == ctx.member.id for o in owners)


def status_text(ms: Milestone, today: date, cal: rules.Calendar) -> str:
    return rules.status(plan_item(ms), today, cal)


async def moved_reply(ctx: Context, ms: Milestone, new_due: date, cal: rules.Calendar) -> list[str]:
    """Move `ms` and everything waiting on it by the same working days; the ids that moved."""
    all_ms = {m.id: m for m in await repo.milestones(ctx.session, ctx.initiative.id)}
    items = {i: plan_item(m) for i, m in all_ms.items()}
    changes = rules.shift(items, ms.id, new_due, cal)
    moved: list[str] = []
    for mid, (start, due) in changes.items():
        m = all_ms[mid]
        m.start_date, m.due_date = start, due
        await plan_reminders(ctx.session, ctx.initiative, m, cal, ctx.tz, ctx.now)
        if mid != ms.id:
            moved.append(f"{ms_id(m)} to {due.isoformat()}")
    return moved


# ---- commands ---------------------------------------------------------------------------------


@command(
    "milestone add",
    summary="Add a milestone with its due date, owners, predecessor and reminder offsets.",
    usage='milestone add "NAME" --due YYYY-MM-DD [--start YYYY-MM-DD] [--owner @p ...] [--after MS-n] '
    "[--remind 3d,1d,0d]",
    args=(Arg("name"),),
    opts=(Opt("due"), Opt("start"), Opt("owner", many=True), Opt("after"), Opt("remind")),
    roles=FACILITATOR,
    examples=('milestone add "Architecture review" --due 2026-12-18 --owner @dana --after MS-2',),
)
async def add(ctx: Context, args: Parsed) -> Reply:
    cal = await load_calendar(ctx.session, ctx.initiative)
    check = Check()
    name = check.text("name", args.text("name"), max_len=NAME_MAX, required=True)
    due = check.day("due", args.text("due"), required=True, not_before=ctx.today)
    start = check.day("start", args.text("start"))
    check_workday(check, "due", due, cal)
    if start and due and start > due:
        check.fail("start", "start must be on or before the due date.")
    offsets = offsets_from(check, args.text("remind"))
    after = await predecessor(ctx, check, args.text("after"))
    owners = await owners_from(ctx, check, args)
    due = check.present(due)
    ms = Milestone(
        initiative_id=ctx.initiative.id,
        number=await ctx.next_number("MS"),
        name=name,
        start_date=start,
        due_date=due,
        after_milestone_id=after.id if after else None,
        remind_offsets=offsets or rules.DEFAULT_STORED_OFFSETS,
        status="open",
        created_at=ctx.now,
    )
    await store.add(ctx.session, ms)
    await repo.set_owners(ctx.session, ms.id, [o.id for o in owners or []])
    await plan_reminders(ctx.session, ctx.initiative, ms, cal, ctx.tz, ctx.now)
    ctx.timers_changed = True
    ctx.audit("milestone.add", ms_id(ms), name=name, due=due.isoformat())
    who = ", ".join(f"@{o.display_name}" for o in owners or []) or "none (the Responsible of its activity)"
    return Reply(
        [Text(f"{ctx.member.display_name} added {ms_id(ms)}: {name}, due {due.isoformat()}. Owners: {who}.")],
        visibility="channel",
    )


@command("milestone list", summary="The plan's milestones with due dates, owners and status.", usage="milestone list")
async def list_milestones(ctx: Context, args: Parsed) -> Reply:
    all_ms = await repo.milestones(ctx.session, ctx.initiative.id)
    if not all_ms:
        return Reply(
            [Text('No milestones yet. Try `plan init --start YYYY-MM-DD` or `milestone add "NAME" --due DATE`.')]
        )
    cal = await load_calendar(ctx.session, ctx.initiative)
    today = ctx.now.astimezone(ctx.tz).date()
    owners = await repo.owners(ctx.session, [m.id for m in all_ms])
    by_id = {m.id: m for m in all_ms}
    rows = [
        [
            ms_id(m),
            m.name,
            m.due_date.isoformat(),
            ", ".join(o.display_name for o in owners.get(m.id, [])) or "-",
            ms_id(by_id[m.after_milestone_id]) if m.after_milestone_id in by_id else "-",
            status_text(m, today, cal),
        ]
        for m in all_ms
    ]
    return Reply([Text(f"{len(all_ms)} milestone(s)"), Table(["ID", "Name", "Due", "Owners", "After", "Status"], rows)])


@command(
    "milestone show",
    summary="One milestone with its reminders.",
    usage="milestone show MS-n",
    args=(Arg("id", required=True),),
)
async def show(ctx: Context, args: Parsed) -> Reply:
    ms = await find(ctx, args.text("id"))
    cal = await load_calendar(ctx.session, ctx.initiative)
    today = ctx.now.astimezone(ctx.tz).date()
    owners = (await repo.owners(ctx.session, [ms.id])).get(ms.id, [])
    pending = (await repo.pending_for(ctx.session, [ms.id])).get(ms.id, [])
    after = await store.by_id(ctx.session, Milestone, ms.after_milestone_id) if ms.after_milestone_id else None
    activity = await repo.activity_for(ctx.session, ctx.initiative.id, ms, deliverable_of(ms))
    fields = [
        ("Due", ms.due_date.isoformat()),
        ("Start", ms.start_date.isoformat() if ms.start_date else "-"),
        ("Status", status_text(ms, today, cal)),
        ("Owners", ", ".join(o.display_name for o in owners) or "-"),
        ("After", f"{ms_id(after)} {after.name}" if after else "-"),
        ("Activity", f"ACT-{activity.number} {activity.name}" if activity else "-"),
        ("Remind", ", ".join(f"{n}d" for n in offsets_of(ms)) + " before, at 09:00 " + str(ctx.tz)),
        (
            "Next reminders",
            ", ".join(r.due_at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M") for r in pending[:5]) or "-",
        ),
    ]
    return Reply([Text(f"{ms_id(ms)}: {ms.name}"), Fields(fields), action_buttons(ms)])


@command(
    "milestone edit",
    summary="Change a milestone; a new due date moves the milestones after it too.",
    usage='milestone edit MS-n [--name "NAME"] [--due YYYY-MM-DD] [--start YYYY-MM-DD] [--owner @p ...] '
    "[--after MS-n|none] [--remind 3d,1d]",
    args=(Arg("id", required=True),),
    opts=(Opt("name"), Opt("due"), Opt("start"), Opt("owner", many=True), Opt("after"), Opt("remind")),
    roles=FACILITATOR,
    examples=("milestone edit MS-2 --due 2026-12-22",),
)
async def edit(ctx: Context, args: Parsed) -> Reply:
    ms = await find(ctx, args.text("id"))
    cal = await load_calendar(ctx.session, ctx.initiative)
    change = await _requested_edit(ctx, ms, args, cal)
    if not any((change.name, change.due, change.start, change.offsets, change.after_given, change.owners is not None)):
        raise UsageError("Say what to change: --name, --due, --start, --owner, --after or --remind.")
    changed, moved = await _apply_edit(ctx, ms, change, cal)
    await plan_reminders(ctx.session, ctx.initiative, ms, cal, ctx.tz, ctx.now)
    ctx.timers_changed = True
    ctx.audit("milestone.edit", ms_id(ms), changed=changed)
    lines: list[Element] = [
        Text(f"{ctx.member.display_name} changed {ms_id(ms)} {ms.name}: {', '.join(changed) or 'nothing'}.")
    ]
    if moved:
        lines.append(Text("Moved with it by the same working days: " + "; ".join(moved) + "."))
    return Reply(lines, visibility="channel")


@dataclass(frozen=True)
class _Edit:
    """What `milestone edit` was asked to change; None (or False) for what it leaves alone."""

    name: str | None
    due: date | None
    start: date | None
    offsets: str | None
    after_given: bool
    after: Milestone | None
    owners: list[Member] | None


async def _requested_edit(ctx: Context, ms: Milestone, args: Parsed, cal: rules.Calendar) -> _Edit:
    """The options, checked together: a working due day, a start not after the due date (old or
    new), and no predecessor that would make a loop."""
    check = Check()
    name = check.text("name", args.text("name"), max_len=NAME_MAX) if args.has("name") else None
    due = check.day("due", args.text("due"))
    check_workday(check, "due", due, cal)
    start = check.day("start", args.text("start"))
    first, last = start or ms.start_date, due or ms.due_date
    if first and last and first > last:
        check.fail("start", f"start must be on or before the due date ({last.isoformat()}): give an earlier --start.")
    offsets = offsets_from(check, args.text("remind"))
    after_given = args.has("after")
    after = await predecessor(ctx, check, args.text("after")) if after_given else None
    if after is not None:
        items = {m.id: plan_item(m) for m in await repo.milestones(ctx.session, ctx.initiative.id)}
        if rules.creates_cycle(items, ms.id, after.id):
            check.fail("after", f"{ms_id(ms)} cannot wait on {ms_id(after)}: that would make a loop.")
    owners = await owners_from(ctx, check, args)
    check.done()
    return _Edit(name, due, start, offsets, after_given, after, owners)


async def _apply_edit(ctx: Context, ms: Milestone, change: _Edit, cal: rules.Calendar) -> tuple[list[str], list[str]]:
    """Make the change; returns what changed, and the milestones a new due date moved with it."""
    changed: list[str] = []
    if change.name:
        ms.name = change.name
        changed.append("name")
    if change.after_given:
        ms.after_milestone_id = change.after.id if change.after else None
        changed.append("predecessor")
    if change.owners is not None:
        await repo.set_owners(ctx.session, ms.id, [o.id for o in change.owners])
        changed.append("owners")
    if change.offsets:
        ms.remind_offsets = change.offsets
        changed.append("reminders")
    if change.start and change.start != ms.start_date:
        ms.start_date = change.start
        changed.append(f"start to {change.start.isoformat()}")
    moved: list[str] = []
    if change.due and change.due != ms.due_date:
        moved = await moved_reply(ctx, ms, change.due, cal)
        changed.append(f"due date to {change.due.isoformat()}")
    return changed, moved


async def mark_done(ctx: Context, ms: Milestone) -> Reply:
    owners = (await repo.owners(ctx.session, [ms.id])).get(ms.id, [])
    if not can_close(ctx, owners):
        return Reply([Text(f"Only an owner of {ms_id(ms)} or a facilitator can mark it done.")], ok=False)
    if ms.status == "done":
        return Reply([Text(f"{ms_id(ms)} is already done.")])
    ms.status, ms.done_at = "done", ctx.now
    cancelled = await repo.cancel_pending(ctx.session, ms.id)
    ctx.audit("milestone.done", ms_id(ms), cancelled_reminders=cancelled)
    return Reply([Text(f"{ctx.member.display_name} marked {ms_id(ms)} {ms.name} done.")], visibility="channel")


@command(
    "milestone done",
    summary="Mark a milestone done; its pending reminders stop.",
    usage="milestone done MS-n",
    args=(Arg("id", required=True),),
)
async def done(ctx: Context, args: Parsed) -> Reply:
    return await mark_done(ctx, await find(ctx, args.text("id")))


@command(
    "milestone reopen",
    summary="Reopen a done milestone; its reminders are planned again.",
    usage="milestone reopen MS-n",
    args=(Arg("id", required=True),),
)
async def reopen(ctx: Context, args: Parsed) -> Reply:
    ms = await find(ctx, args.text("id"))
    owners = (await repo.owners(ctx.session, [ms.id])).get(ms.id, [])
    if not can_close(ctx, owners):
        return Reply([Text(f"Only an owner of {ms_id(ms)} or a facilitator can reopen it.")], ok=False)
    if ms.status != "done":
        return Reply([Text(f"{ms_id(ms)} is not done, so there is nothing to reopen.")])
    ms.status, ms.done_at = "open", None
    cal = await load_calendar(ctx.session, ctx.initiative)
    await plan_reminders(ctx.session, ctx.initiative, ms, cal, ctx.tz, ctx.now)
    ctx.timers_changed = True
    ctx.audit("milestone.reopen", ms_id(ms))
    return Reply([Text(f"{ctx.member.display_name} reopened {ms_id(ms)} {ms.name}.")], visibility="channel")


@command(
    "milestone remove",
    summary="Remove a milestone; its reminders stop and milestones after it no longer wait on it.",
    usage="milestone remove MS-n",
    args=(Arg("id", required=True),),
    roles=FACILITATOR,
)
async def remove(ctx: Context, args: Parsed) -> Reply:
    ms = await find(ctx, args.text("id"))
    ms.status = "removed"
    cancelled = await repo.cancel_pending(ctx.session, ms.id)
    for m in await repo.milestones(ctx.session, ctx.initiative.id):
        if m.after_milestone_id == ms.id:
            m.after_milestone_id = ms.after_milestone_id
    ctx.audit("milestone.remove", ms_id(ms), cancelled_reminders=cancelled)
    return Reply([Text(f"{ctx.member.display_name} removed {ms_id(ms)} {ms.name}.")], visibility="channel")


async def snooze_for(ctx: Context, ms: Milestone, span: str) -> Reply:
    if ms.status != "open":
        return Reply([Text(f"{ms_id(ms)} is {ms.status}; there is nothing to snooze.")])
    delta = rules.parse_snooze(span)
    if delta is None:
        raise UsageError(f'Snooze for "1d" (a day) or "1w" (a week), got "{span[:20]}".', "for")
    at = ctx.now + delta
    await repo.put_reminder(
        ctx.session,
        initiative_id=ctx.initiative.id,
        key=f"ms:{ms.id}:snooze:{ctx.member.id}:{at.isoformat()}",
        kind="snooze",
        milestone_id=ms.id,
        due_at=at,
        payload={"user_id": ctx.member.user_id},
        now=ctx.now,
    )
    ctx.timers_changed = True
    ctx.audit("milestone.snooze", ms_id(ms), until=at.isoformat())
    when = at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")
    return Reply([Text(f"I will remind you about {ms_id(ms)} again in {SNOOZES[span.lower()]} ({when}).")])


@command(
    "milestone snooze",
    summary="Remind me about a milestone again in a day or a week.",
    usage="milestone snooze MS-n 1d|1w",
    args=(Arg("id", required=True), Arg("for", required=True)),
)
async def snooze(ctx: Context, args: Parsed) -> Reply:
    return await snooze_for(ctx, await find(ctx, args.text("id")), args.text("for") or "")


@action("milestone.done")
async def done_clicked(ctx: Context, act: Action) -> Reply:
    return await mark_done(ctx, await find(ctx, act.value))


@action("milestone.snooze")
async def snooze_clicked(ctx: Context, act: Action) -> Reply:
    span = act.action_id.partition(":")[2]
    return await snooze_for(ctx, await find(ctx, act.value), span)
