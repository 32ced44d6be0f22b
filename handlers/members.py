"""Who runs the initiative: facilitators promote and demote; the initiative's creator is the first.

There is always at least one active facilitator, so an initiative can never lock itself out.
"""

from __future__ import annotations

from handlers.context import Context
from handlers.fields import Check
from handlers.grammar import Arg, Parsed, UsageError
from handlers.messages import Action, Reply, Table, Text
from handlers.registry import FACILITATOR, action, command
from storage.models import Member
from storage.repos import scope


async def _mentioned(ctx: Context, args: Parsed) -> Member:
    check = Check()
    mention = check.person("person", args.token("person"), required=True)
    return await ctx.person(check.present(mention))


@command(
    "member promote",
    summary="Make someone a facilitator of this initiative.",
    usage="member promote @person",
    args=(Arg("person", required=True),),
    roles=FACILITATOR,
)
async def promote(ctx: Context, args: Parsed) -> Reply:
    member = await _mentioned(ctx, args)
    if member.role == "facilitator":
        return Reply([Text(f"{member.display_name} is already a facilitator.")])
    member.role = "facilitator"
    ctx.audit("member.promote", member.user_id, name=member.display_name)
    await ctx.notify_user(
        member.user_id,
        [Text(f"{ctx.member.display_name} made you a facilitator of {ctx.initiative.name}: you can now assign roles.")],
    )
    return Reply([Text(f"{member.display_name} is now a facilitator.")], visibility="channel")


@command(
    "member demote",
    summary="Make a facilitator a stakeholder again.",
    usage="member demote @person",
    args=(Arg("person", required=True),),
    roles=FACILITATOR,
)
async def demote(ctx: Context, args: Parsed) -> Reply:
    member = await _mentioned(ctx, args)
    if member.role != "facilitator":
        return Reply([Text(f"{member.display_name} is not a facilitator.")])
    others = [
        m
        for m in await scope.members(ctx.session, ctx.initiative.id)
        if m.role == "facilitator" and m.active and m.id != member.id
    ]
    if not others:
        raise UsageError(
            f"{member.display_name} is the last facilitator; promote someone else first (member promote @p)."
        )
    member.role = "stakeholder"
    ctx.audit("member.demote", member.user_id, name=member.display_name)
    return Reply([Text(f"{member.display_name} is now a stakeholder.")], visibility="channel")


@command("member list", summary="The initiative's members and their roles.", usage="member list")
async def list_members(ctx: Context, args: Parsed) -> Reply:
    people = await scope.members(ctx.session, ctx.initiative.id)
    rows = [
        [m.display_name or m.user_id, m.role, "active" if m.active else "left"]
        for m in sorted(people, key=lambda m: (m.role != "facilitator", (m.display_name or m.user_id).lower()))
    ]
    return Reply([Text(f"{len(people)} member(s)"), Table(["Name", "Role", "Status"], rows)])


@action("member.left")
async def left(ctx: Context, event: Action) -> Reply:
    """The platform said this person left the conversation: keep their history, flag their roles."""
    if ctx.member.active:
        ctx.member.active = False
        ctx.audit("member.left", ctx.member.user_id, name=ctx.member.display_name)
    return Reply([])


@action("member.joined")
async def joined(ctx: Context, event: Action) -> Reply:
    if not ctx.member.active:
        ctx.member.active = True
        ctx.audit("member.joined", ctx.member.user_id, name=ctx.member.display_name)
    return Reply([])
