"""The Phase 1 plan: `plan init` lays out the six steps, `plan show` the timeline, and the
calendar (working days, holidays, time zone) every date and reminder is computed with."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers import plan_rules as rules
from handlers.context import Context
from handlers.fields import Check
from handlers.grammar import Arg, Opt, Parsed, UsageError
from handlers.messages import Element, ListItems, Reply, Table, Text
from handlers.milestone_reminders import load_calendar, ms_id, plan_item, plan_reminders
from handlers.registry import FACILITATOR, command
from storage.models import Milestone, RaciActivity
from storage.repos import plan as repo
from storage.repos import store


async def replan_all(ctx: Context) -> list[str]:
    """After a calendar change: re-plan every open milestone's reminders; list due dates that
    now fall on a day off."""
    cal = await load_calendar(ctx.session, ctx.initiative)
    off: list[str] = []
    for ms in await repo.milestones(ctx.session, ctx.initiative.id):
        if ms.status == "open":
            await plan_reminders(ctx.session, ctx.initiative, ms, cal, ctx.tz, ctx.now)
            if not cal.is_workday(ms.due_date):
                off.append(f"{ms_id(ms)} ({ms.due_date.isoformat()})")
    ctx.timers_changed = True
    return off


def off_days_note(off: list[str]) -> list[Text]:
    if not off:
        return []
    return [Text("Now due on a day off, move them with `milestone edit MS-n --due DATE`: " + ", ".join(off) + ".")]


@command(
    "plan init",
    summary="Create the six Phase 1 steps as milestones, each after the previous one.",
    usage="plan init --start YYYY-MM-DD [--weeks short|long]",
    opts=(Opt("start"), Opt("weeks")),
    roles=FACILITATOR,
    examples=("plan init --start 2026-12-01", "plan init --start 2026-12-01 --weeks short"),
)
async def init(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    start = check.day("start", args.text("start"), required=True)
    length = check.choice("weeks", args.text("weeks") or "long", {"short": "short", "long": "long"})
    start = check.present(start)
    existing = [m for m in await repo.milestones(ctx.session, ctx.initiative.id) if m.phase_step]
    if existing:
        raise UsageError(
            "The Phase 1 plan already exists (" + ", ".join(ms_id(m) for m in existing) + "); "
            "change it with `milestone edit MS-n --due DATE`."
        )
    cal = await load_calendar(ctx.session, ctx.initiative)
    activities = {a.deliverable: a for a in await repo.deliverable_activities(ctx.session, ctx.initiative.id)}
    made: list[Milestone] = []
    rows: list[list[str]] = []
    for planned in rules.phase1_schedule(start, length or "long", cal):
        activity = activities.get(planned.step.deliverable)
        ms = await _add_step(ctx, planned, made[-1] if made else None, activity, cal)
        made.append(ms)
        rows.append(
            [
                ms_id(ms),
                ms.name,
                planned.start.isoformat(),
                planned.due.isoformat(),
                ms_id(made[-2]) if len(made) > 1 else "-",
                f"ACT-{activity.number}" if activity is not None else "-",
            ]
        )
    ctx.timers_changed = True
    ctx.audit("plan.init", "plan", start=start.isoformat(), weeks=length)
    return Reply(
        [
            Text(f"{ctx.member.display_name} laid out the Phase 1 plan ({length}) from {start.isoformat()}:"),
            Table(["ID", "Step", "Start", "Due", "After", "Activity"], rows),
        ],
        visibility="channel",
    )


async def _add_step(
    ctx: Context,
    planned: rules.PlannedStep,
    previous: Milestone | None,
    activity: RaciActivity | None,
    cal: rules.Calendar,
) -> Milestone:
    """One Phase 1 step as a milestone after the previous one, with its reminders; the step's
    deliverable activity is tied to it unless already tied to another."""
    ms = Milestone(
        initiative_id=ctx.initiative.id,
        number=await ctx.next_number("MS"),
        name=planned.step.name,
        start_date=planned.start,
        due_date=planned.due,
        after_milestone_id=previous.id if previous else None,
        phase_step=planned.step.number,
        remind_offsets=rules.DEFAULT_STORED_OFFSETS,
        status="open",
        created_at=ctx.now,
    )
    await store.add(ctx.session, ms)
    if activity is not None and activity.milestone_id is None:
        activity.milestone_id = ms.id
    await plan_reminders(ctx.session, ctx.initiative, ms, cal, ctx.tz, ctx.now)
    return ms


@command(
    "plan show",
    menu=True,
    summary="The timeline with status, the critical path and failed reminders.",
    usage="plan show",
)
async def show(ctx: Context, args: Parsed) -> Reply:
    all_ms = await repo.milestones(ctx.session, ctx.initiative.id)
    if not all_ms:
        return Reply([Text("There is no plan yet. Start one with `plan init --start YYYY-MM-DD`.")])
    cal = await load_calendar(ctx.session, ctx.initiative)
    today = ctx.now.astimezone(ctx.tz).date()
    items = {m.id: plan_item(m) for m in all_ms}
    critical = rules.critical_path(items)
    by_id = {m.id: m for m in all_ms}
    rows = [
        [
            ms_id(m),
            m.name,
            m.start_date.isoformat() if m.start_date else "",
            m.due_date.isoformat(),
            rules.status(items[m.id], today, cal),
            "*" if m.id in critical else "",
        ]
        for m in all_ms
    ]
    out: list[Element] = [
        Text(f"Plan of {ctx.initiative.name} ({len(all_ms)} milestones; times in {ctx.tz})"),
        Table(["ID", "Milestone", "Start", "Due", "Status", "Critical"], rows),
    ]
    if critical:
        out.append(Text("Critical path: " + " -> ".join(ms_id(by_id[i]) for i in critical)))
    failed = await repo.failed_sends(ctx.session, ctx.initiative.id)
    if failed:
        lines = []
        for ob, r in failed:
            if r.milestone_id is None:  # not a milestone's reminder
                continue
            ms = by_id.get(r.milestone_id)
            if ms is None:  # removed from the plan since
                ms = await store.one(ctx.session, Milestone, r.milestone_id)
            who = ("#" if ob.target_kind == "channel" else "@") + ob.target_id
            lines.append(f"{ms_id(ms)} reminder to {who} failed after {ob.attempts} attempt(s): {ob.last_error[:200]}")
        out += [Text(f"{len(lines)} reminder message(s) could not be delivered:"), ListItems(lines)]
    return Reply(out)


@command(
    "plan workdays",
    summary="Set the working days that due dates and reminders count (default mon-fri).",
    usage="plan workdays DAYS",
    args=(Arg("days", required=True, rest=True),),
    roles=FACILITATOR,
    examples=("plan workdays mon-fri", "plan workdays mon,tue,wed,thu"),
)
async def workdays(ctx: Context, args: Parsed) -> Reply:
    raw = args.text("days") or ""
    try:
        days = rules.parse_workdays(raw)
    except ValueError as e:
        raise UsageError(
            f'"{str(e)[:20]}" is not a day: write days as mon,tue,... or a range like mon-fri.', "days"
        ) from None
    ctx.initiative.workdays = rules.format_workdays(days)
    off = await replan_all(ctx)
    ctx.audit("plan.workdays", "plan", workdays=ctx.initiative.workdays)
    return Reply([Text(f"Working days are now {ctx.initiative.workdays}."), *off_days_note(off)], visibility="channel")


async def _holiday(ctx: Context, args: Parsed, adding: bool) -> Reply:
    check = Check()
    day = check.day("date", args.text("date"), required=True)
    day = check.present(day)
    if adding:
        changed = await repo.add_holiday(ctx.session, ctx.initiative.id, day)
        verb = "is now a holiday" if changed else "was already a holiday"
    else:
        changed = await repo.remove_holiday(ctx.session, ctx.initiative.id, day)
        verb = "is a working day again" if changed else "was not a holiday"
    off = await replan_all(ctx) if changed else []
    ctx.audit("plan.holiday.add" if adding else "plan.holiday.remove", "plan", day=day.isoformat())
    return Reply([Text(f"{day.isoformat()} {verb}."), *off_days_note(off)], visibility="channel")


@command(
    "plan holiday add",
    summary="Make a date a day off: no due dates or reminders fall on it.",
    usage="plan holiday add YYYY-MM-DD",
    args=(Arg("date", required=True),),
    roles=FACILITATOR,
    examples=("plan holiday add 2026-12-24",),
)
async def holiday_add(ctx: Context, args: Parsed) -> Reply:
    return await _holiday(ctx, args, True)


@command(
    "plan holiday remove",
    summary="Make a holiday a working day again.",
    usage="plan holiday remove YYYY-MM-DD",
    args=(Arg("date", required=True),),
    roles=FACILITATOR,
)
async def holiday_remove(ctx: Context, args: Parsed) -> Reply:
    return await _holiday(ctx, args, False)


@command("plan holiday list", summary="The initiative's holidays.", usage="plan holiday list")
async def holiday_list(ctx: Context, args: Parsed) -> Reply:
    days: list[date] = await repo.holidays(ctx.session, ctx.initiative.id)
    if not days:
        return Reply([Text("No holidays set. Add one with `plan holiday add YYYY-MM-DD`.")])
    return Reply([Text("Holidays:"), ListItems([f"{d.isoformat()} ({d.strftime('%A')})" for d in days])])


@command(
    "plan timezone",
    summary="Set the time zone reminders are computed in (an IANA name).",
    usage="plan timezone ZONE",
    args=(Arg("zone", required=True),),
    roles=FACILITATOR,
    examples=("plan timezone Europe/Berlin",),
)
async def timezone(ctx: Context, args: Parsed) -> Reply:
    name = (args.text("zone") or "").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f'"{name[:40]}" is not a time zone I know; use an IANA name like Europe/Berlin or America/New_York.',
            "zone",
        ) from None
    ctx.initiative.timezone = name
    await replan_all(ctx)
    ctx.audit("plan.timezone", "plan", timezone=name)
    return Reply([Text(f"Reminders now go out at 09:00 {name}.")], visibility="channel")
