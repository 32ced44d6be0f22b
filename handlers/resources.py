"""The plan's resource allocation: people, budget, tools and infrastructure per milestone."""

from __future__ import annotations

from handlers import formats
from handlers import plan_rules as rules
from handlers.context import Context
from handlers.fields import Check, parse_human_id
from handlers.grammar import Arg, Opt, Parsed, UsageError
from handlers.messages import Element, ListItems, Reply, Table, Text
from handlers.registry import FACILITATOR, command
from storage.models import Member, Milestone, Resource
from storage.repos import plan as repo
from storage.repos import scope, store

KINDS = {k: k for k in ("person", "budget", "tool", "infrastructure")} | {"people": "person", "infra": "infrastructure"}
NAME_MAX = 150
UNIT_MAX = 40


def res_id(r: Resource) -> str:
    return f"RES-{r.number}"


@command(
    "resource add",
    summary="Add a resource to the plan, optionally for one milestone and owned by a person.",
    usage='resource add "NAME" --kind person|budget|tool|infrastructure [--amount N --unit U] '
    "[--milestone MS-n] [--owner @p]",
    args=(Arg("name"),),
    opts=(Opt("kind"), Opt("amount"), Opt("unit"), Opt("milestone"), Opt("owner")),
    roles=FACILITATOR,
    examples=('resource add "Data engineers" --kind person --amount 2 --unit FTE --milestone MS-3',),
)
async def add(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    name = check.text("name", args.text("name"), max_len=NAME_MAX, required=True)
    kind = check.choice("kind", args.text("kind"), KINDS, required=True)
    amount = check.number("amount", args.text("amount"))
    if amount is not None and amount < 0:
        check.fail("amount", "amount must be zero or more.")
    unit = check.text("unit", args.text("unit"), max_len=UNIT_MAX)
    if unit and amount is None:
        check.fail("amount", "a --unit needs an --amount, like --amount 2 --unit FTE.")
    milestone: Milestone | None = None
    if args.has("milestone"):
        number = parse_human_id(args.text("milestone"), "MS")
        milestone = await repo.milestone(ctx.session, ctx.initiative.id, number) if number is not None else None
        if milestone is None:
            check.fail(
                "milestone", f'milestone must name an existing milestone like MS-3, got "{args.text("milestone")}".'
            )
    mention = check.person("owner", args.token("owner")) if args.has("owner") else None
    check.done()
    owner: Member | None = await ctx.person(mention) if mention else None
    r = Resource(
        initiative_id=ctx.initiative.id,
        number=await ctx.next_number("RES"),
        name=name,
        kind=kind,
        amount=amount,
        unit=unit,
        milestone_id=milestone.id if milestone else None,
        owner_member_id=owner.id if owner else None,
        created_at=ctx.now,
    )
    await store.add(ctx.session, r)
    ctx.audit("resource.add", res_id(r), name=name, kind=kind)
    where = f" for MS-{milestone.number}" if milestone else ""
    size = f" ({formats.number(amount)} {unit})".replace(" )", ")") if amount is not None else ""
    return Reply(
        [Text(f"{ctx.member.display_name} added {res_id(r)}: {name}, {kind}{size}{where}.")], visibility="channel"
    )


@command("resource list", summary="The plan's resources.", usage="resource list")
async def list_resources(ctx: Context, args: Parsed) -> Reply:
    rows, ms, people = await _with_links(ctx)
    if not rows:
        return Reply([Text(NO_RESOURCES)])
    table = [
        [
            res_id(r),
            r.name,
            r.kind,
            formats.number(r.amount),
            r.unit or "-",
            f"MS-{ms[r.milestone_id].number}" if r.milestone_id in ms else "-",
            people[r.owner_member_id].display_name if r.owner_member_id in people else "-",
        ]
        for r in rows
    ]
    return Reply(
        [Text(f"{len(rows)} resource(s)"), Table(["ID", "Name", "Kind", "Amount", "Unit", "Milestone", "Owner"], table)]
    )


@command(
    "resource remove",
    summary="Remove a resource from the plan.",
    usage="resource remove RES-n",
    args=(Arg("id", required=True),),
    roles=FACILITATOR,
)
async def remove(ctx: Context, args: Parsed) -> Reply:
    number = parse_human_id(args.text("id"), "RES")
    r = await repo.resource(ctx.session, ctx.initiative.id, number) if number is not None else None
    if r is None:
        raise UsageError(f'There is no resource "{args.text("id")}" here; `resource list` shows them (RES-n).', "id")
    await store.remove(ctx.session, r)
    ctx.audit("resource.remove", res_id(r), name=r.name)
    return Reply([Text(f"{ctx.member.display_name} removed {res_id(r)}: {r.name}.")], visibility="channel")


async def _members(ctx: Context) -> list[Member]:
    return await scope.members(ctx.session, ctx.initiative.id)


NO_RESOURCES = 'No resources yet. Add one with `resource add "NAME" --kind person|budget|tool|infrastructure`.'


async def _with_links(ctx: Context) -> tuple[list[Resource], dict[int, Milestone], dict[int, Member]]:
    """The plan's resources, with its milestones and members by id (what a resource points at)."""
    rows = await repo.resources(ctx.session, ctx.initiative.id)
    if not rows:
        return rows, {}, {}
    ms = {m.id: m for m in await repo.milestones(ctx.session, ctx.initiative.id)}
    return rows, ms, {m.id: m for m in await _members(ctx)}


@command(
    "plan resources",
    summary="Resources totalled per milestone and kind, and people allocated over 100%.",
    usage="plan resources",
)
async def allocation_report(ctx: Context, args: Parsed) -> Reply:
    """Totals per milestone and kind, and anyone over 100% at some point. It lives with the
    resources it adds up (the `plan` prefix is where people look for it)."""
    rows, ms, people = await _with_links(ctx)
    if not rows:
        return Reply([Text(NO_RESOURCES)])

    def label(r: Resource) -> str:
        return f"MS-{ms[r.milestone_id].number}" if r.milestone_id in ms else "(no milestone)"

    sums = rules.totals((label(r), r.kind, r.amount, r.unit) for r in rows)
    out: list[Element] = [
        Text("Resources per milestone and kind"),
        Table(
            ["Milestone", "Kind", "Total", "Unit", "Items"],
            [[m, k, formats.number(t), u or "-", str(n)] for m, k, u, t, n in sums],
        ),
    ]
    live = {i: m for i, m in ms.items() if m.status != "done"}
    allocations = rules.allocations(
        (
            r.kind,
            r.amount,
            r.unit,
            people[r.owner_member_id].display_name if r.owner_member_id in people else None,
            live[r.milestone_id].number if r.milestone_id in live else None,
            live[r.milestone_id].start_date if r.milestone_id in live else None,
            live[r.milestone_id].due_date if r.milestone_id in live else None,
        )
        for r in rows
    )
    over = rules.over_allocated(allocations)
    if over:
        out += [
            Text("Over-allocated (more than 100% at once in overlapping milestones):"),
            ListItems(
                [
                    f"{person}: {formats.percent(peak)} across " + ", ".join(f"MS-{n}" for n in numbers)
                    for person, (peak, numbers) in sorted(over.items())
                ]
            ),
        ]
    else:
        out.append(Text("Nobody is allocated over 100%."))
    return Reply(out)
