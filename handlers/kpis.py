"""KPI suggestions (Phase 1, step 3): success metrics for a use case or an initiative objective.

A KPI whose target does not move from its baseline in its direction cannot measure success, so
it is refused with the reason; the direction is taken from the numbers when not stated.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from handlers import formats
from handlers.context import Context
from handlers.fields import LONG_MAX, Check, checked_reason, person_token
from handlers.grammar import Arg, Opt, Parsed, UsageError
from handlers.items import (
    edited,
    history,
    may_change,
    name_of,
    numbered_columns,
    numbered_or_refuse,
    uc_id,
    use_case_or_refuse,
)
from handlers.messages import Fields, Heading, ListItems, Reply, Table, Text
from handlers.registry import command
from storage.models import Kpi
from storage.repos import kpis as repo
from storage.repos import store
from storage.repos import usecases as uc_repo

NAME_MAX = 150
UNIT_MAX = 40
# How a KPI measures, as `kpi suggest` and `kpi edit` take it (besides its name and what it is for).
MEASURE = ("baseline", "target", "unit", "direction", "by", "owner", "method")
DIRECTIONS = {
    "increase": "increase",
    "up": "increase",
    "higher": "increase",
    "decrease": "decrease",
    "down": "decrease",
    "lower": "decrease",
}


# ---- pure rules -----------------------------------------------------------------------------


def direction_problem(baseline: float, target: float, direction: str | None) -> tuple[str | None, str | None]:
    """(direction, None) when the target moves the right way, else (None, why not)."""
    if target == baseline:
        return None, f"target ({formats.number(target)}) equals the baseline; a KPI must move from where it starts."
    moves = "increase" if target > baseline else "decrease"
    if direction is None or direction == moves:
        return moves, None
    word = "above" if direction == "increase" else "below"
    return None, (
        f"with direction {direction} the target must be {word} the baseline ({formats.number(baseline)}), "
        f"got {formats.number(target)}. Change the target, or use --direction {moves}."
    )


def kid(kpi: Kpi) -> str:
    return f"KPI-{kpi.number}"


# ---- commands -------------------------------------------------------------------------------


def _check_direction(check: Check, baseline: float | None, target: float | None, direction: str | None) -> str | None:
    if baseline is None or target is None:
        return None
    moved, problem = direction_problem(baseline, target, direction)
    if problem:
        check.fail("target", problem)
    return moved


@command(
    "kpi suggest",
    menu=True,
    summary="Suggest a KPI for a use case (or, with --objective, for an initiative objective).",
    usage='kpi suggest UC-n "NAME" --baseline X --target Y --unit U [--direction increase|decrease] '
    '[--by YYYY-MM-DD] [--owner @p] [--method TEXT]  |  kpi suggest "NAME" --objective "TEXT" --baseline X ...',
    args=(Arg("first", required=True), Arg("second")),
    opts=(*(Opt(n) for n in MEASURE), Opt("objective")),
    examples=(
        'kpi suggest UC-1 "Nightly load time" --baseline 240 --target 60 --unit minutes --by 2027-03-31',
        'kpi suggest "Self-service users" --objective "Democratise data" --baseline 20 --target 200 --unit users',
    ),
)
async def suggest(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    objective = check.text("objective", args.text("objective"), max_len=LONG_MAX)
    if args.has("objective"):
        if args.text("second") is not None:
            raise UsageError('With --objective give only the KPI name: kpi suggest "NAME" --objective "TEXT" ...')
        uc, name_raw = None, args.text("first")
    else:
        if args.text("second") is None:
            raise UsageError(
                'Say what the KPI measures: kpi suggest UC-n "NAME" ..., or kpi suggest "NAME" --objective "TEXT" ...'
            )
        uc, name_raw = await use_case_or_refuse(ctx, args.text("first")), args.text("second")
    name = check.text("name", name_raw, max_len=NAME_MAX, required=True)
    baseline = check.number("baseline", args.text("baseline"), required=True)
    target = check.number("target", args.text("target"), required=True)
    unit = check.text("unit", args.text("unit"), max_len=UNIT_MAX, required=True)
    stated = check.choice("direction", args.text("direction"), DIRECTIONS)
    by = check.day("by", args.text("by"), not_before=ctx.today)
    method = check.text("method", args.text("method"), max_len=LONG_MAX)
    owner = check.person("owner", person_token(args.token("owner")))
    direction = _check_direction(check, baseline, target, stated)
    check.done()
    owner_member = await ctx.person(owner) if owner else None
    kpi = Kpi(
        **await numbered_columns(ctx, "KPI"),
        use_case_id=uc.id if uc else None,
        objective=objective,
        name=name,
        baseline=baseline,
        target=target,
        unit=unit,
        direction=direction or "increase",
        method=method,
        target_date=by,
        owner_member_id=owner_member.id if owner_member else None,
        status="active",
        created_by_member_id=ctx.member.id,
    )
    await store.add(ctx.session, kpi)
    measures = uc_id(uc) if uc else f"objective: {objective}"
    ctx.audit("kpi.suggest", kid(kpi), name=name, measures=measures)
    return Reply(
        [Text(f"{ctx.member.display_name} suggested {kid(kpi)} for {measures}: {name}"), Fields(_fields(kpi, by))],
        visibility="channel",
    )


def _fields(kpi: Kpi, by: date | None) -> list[tuple[str, str]]:
    return [
        ("Baseline", f"{formats.number(kpi.baseline)} {kpi.unit}".strip()),
        ("Target", f"{formats.number(kpi.target)} {kpi.unit}".strip()),
        ("Direction", kpi.direction),
        ("By", by.isoformat() if by else "-"),
    ]


@command(
    "kpi list",
    summary="The initiative's KPIs, or one use case's.",
    usage="kpi list [UC-n]",
    args=(Arg("usecase"),),
)
async def list_kpis(ctx: Context, args: Parsed) -> Reply:
    uc = await use_case_or_refuse(ctx, args.text("usecase")) if args.text("usecase") else None
    kpis = await repo.list_for(ctx.session, ctx.initiative.id, use_case_id=uc.id if uc else None)
    if not kpis:
        return Reply(
            [Text('No KPIs yet. Suggest one with `kpi suggest UC-n "NAME" --baseline X --target Y --unit U`.')]
        )
    cases = {c.id: c for c in await uc_repo.list_for(ctx.session, ctx.initiative.id)}
    rows = [
        [
            kid(k),
            k.name,
            uc_id(cases[k.use_case_id]) if k.use_case_id in cases else "objective",
            formats.number(k.baseline),
            formats.number(k.target),
            k.unit,
            k.target_date.isoformat() if k.target_date else "-",
            k.status,
        ]
        for k in kpis
    ]
    return Reply(
        [Text(f"{len(kpis)} KPI(s)"), Table(["ID", "Name", "For", "Baseline", "Target", "Unit", "By", "Status"], rows)]
    )


async def kpi_or_refuse(ctx: Context, ref: str | None) -> Kpi:
    return await numbered_or_refuse(ctx, ref, "KPI", "kpi", repo.by_number)


async def changeable_kpi(ctx: Context, ref: str | None, verb: str) -> Kpi:
    """A KPI the actor may change: whoever suggested it, its owner or a facilitator."""
    kpi = await kpi_or_refuse(ctx, ref)
    if not may_change(ctx, kpi.created_by_member_id, kpi.owner_member_id):
        raise UsageError(f"Only whoever suggested {kid(kpi)}, its owner or a facilitator can {verb} it.")
    return kpi


@command("kpi show", summary="Everything about one KPI.", usage="kpi show KPI-n", args=(Arg("kpi", required=True),))
async def show(ctx: Context, args: Parsed) -> Reply:
    kpi = await kpi_or_refuse(ctx, args.text("kpi"))
    members = await uc_repo.members_by_id(ctx.session, ctx.initiative.id)
    cases = {c.id: c for c in await uc_repo.list_for(ctx.session, ctx.initiative.id)}
    uc = cases.get(kpi.use_case_id) if kpi.use_case_id else None
    fields = [
        ("Measures", f"{uc_id(uc)} {uc.title}" if uc else f"objective: {kpi.objective}"),
        *_fields(kpi, kpi.target_date),
        ("Method", kpi.method or "-"),
        ("Owner", name_of(members, kpi.owner_member_id)),
        ("Status", kpi.status),
        ("Suggested by", name_of(members, kpi.created_by_member_id)),
    ]
    return Reply(
        [Heading(f"{kid(kpi)}: {kpi.name}"), Fields(fields), Text("History"), ListItems(await history(ctx, kid(kpi)))]
    )


@command(
    "kpi edit",
    summary="Change a KPI (whoever suggested it, its owner or a facilitator).",
    usage="kpi edit KPI-n [--name T] [--baseline X] [--target Y] [--unit U] [--direction D] [--by DATE] "
    "[--owner @p] [--method T]",
    args=(Arg("kpi", required=True),),
    opts=tuple(Opt(n) for n in ("name", *MEASURE)),
    examples=("kpi edit KPI-1 --target 45",),
)
async def edit(ctx: Context, args: Parsed) -> Reply:
    kpi = await changeable_kpi(ctx, args.text("kpi"), "edit")
    if kpi.status == "withdrawn":
        raise UsageError(f"{kid(kpi)} is withdrawn; it cannot be edited.")
    if not args.opts:
        raise UsageError(f"Say what to change, e.g. `kpi edit {kid(kpi)} --target 45`.")
    check = Check()
    new: dict[str, Any] = {}
    if args.has("name"):
        new["name"] = check.text("name", args.text("name"), max_len=NAME_MAX, required=True)
    for name in ("baseline", "target"):
        if args.has(name):
            new[name] = check.number(name, args.text(name), required=True)
    if args.has("unit"):
        new["unit"] = check.text("unit", args.text("unit"), max_len=UNIT_MAX, required=True)
    if args.has("by"):
        new["target_date"] = check.day("by", args.text("by"), required=True, not_before=ctx.today)
    if args.has("method"):
        new["method"] = check.text("method", args.text("method"), max_len=LONG_MAX)
    stated = (
        check.choice("direction", args.text("direction"), DIRECTIONS, required=True) if args.has("direction") else None
    )
    owner = check.person("owner", person_token(args.token("owner")), required=True) if args.has("owner") else None
    baseline = new.get("baseline", kpi.baseline)
    target = new.get("target", kpi.target)
    # Without --direction the KPI keeps the one it has, so new numbers are checked against it.
    direction = _check_direction(check, baseline, target, stated if args.has("direction") else kpi.direction)
    check.done()
    if direction:
        new["direction"] = direction
    if owner is not None:
        new["owner_member_id"] = (await ctx.person(owner)).id
    return edited(ctx, kpi, kid(kpi), new, "kpi.edit")


@command(
    "kpi withdraw",
    summary="Withdraw a KPI (whoever suggested it, its owner or a facilitator).",
    usage="kpi withdraw KPI-n [--reason TEXT]",
    args=(Arg("kpi", required=True),),
    opts=(Opt("reason"),),
)
async def withdraw(ctx: Context, args: Parsed) -> Reply:
    kpi = await changeable_kpi(ctx, args.text("kpi"), "withdraw")
    if kpi.status == "withdrawn":
        raise UsageError(f"{kid(kpi)} is already withdrawn.")
    reason = checked_reason(args.text("reason"))
    kpi.status, kpi.updated_at = "withdrawn", ctx.now
    ctx.audit("kpi.withdraw", kid(kpi), reason=reason)  # the KPI deliverable's "Set aside" shows why
    return Reply([Text(f"{ctx.member.display_name} withdrew {kid(kpi)}: {kpi.name}.")], visibility="channel")
