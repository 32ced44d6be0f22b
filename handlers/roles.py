"""Project roles (sponsor, data owner, ...): who holds which role in the programme, beside RACI.

Roles are stored in lower case so `role:"Data Owner"` and `role:"data owner"` name the same
people; any name a facilitator chooses is allowed, the usual ones are suggested in help.
"""

from __future__ import annotations

from handlers.context import Context
from handlers.fields import Check
from handlers.grammar import Arg, Opt, Parsed, UsageError
from handlers.messages import Reply, Table, Text
from handlers.registry import FACILITATOR, command
from storage.models import Member, ProjectRole
from storage.repos import raci as repo
from storage.repos import scope
from storage.repos.upsert import insert_ignore

COMMON_ROLES = ("sponsor", "data owner", "technical lead", "project manager", "business analyst")
ROLE_MAX = 100
SCOPE_MAX = 200


async def _person_and_role(ctx: Context, args: Parsed) -> tuple[Member, str, str]:
    """The member, role (lower case, spaces folded) and --for scope that `role assign` and
    `role remove` are given."""
    check = Check()
    role = " ".join(check.text("role", args.text("role"), max_len=ROLE_MAX, required=True).lower().split())
    scope_text = check.text("for", args.text("for"), max_len=SCOPE_MAX)
    person = check.person("person", args.token("person"), required=True)
    return await ctx.person(check.present(person)), role, scope_text


def _describe(role: str, scope_text: str) -> str:
    return f'"{role}"' + (f' for "{scope_text}"' if scope_text else "")


@command(
    "role assign",
    summary="Give someone a project role (sponsor, data owner, technical lead, ... or any name).",
    usage='role assign @person "ROLE" [--for "WHAT"]',
    args=(Arg("person", required=True), Arg("role", required=True)),
    opts=(Opt("for"),),
    roles=FACILITATOR,
    examples=('role assign @li "data owner" --for "Sales data"', "role assign @raj sponsor"),
)
async def assign(ctx: Context, args: Parsed) -> Reply:
    member, role, scope_text = await _person_and_role(ctx, args)
    added = await insert_ignore(
        ctx.session,
        ProjectRole,
        initiative_id=ctx.initiative.id,
        member_id=member.id,
        role=role,
        scope=scope_text,
        created_at=ctx.now,
    )
    what = _describe(role, scope_text)
    if not added:
        return Reply([Text(f"{member.display_name} already holds {what}.")])
    ctx.audit("role.assign", member.user_id, name=member.display_name, role=role, scope=scope_text)
    await ctx.notify_user(
        member.user_id, [Text(f"{ctx.member.display_name} gave you the project role {what} in {ctx.initiative.name}.")]
    )
    return Reply([Text(f"{member.display_name} now holds {what}.")], visibility="channel")


@command(
    "role remove",
    summary="Take a project role away (all its scopes unless --for is given).",
    usage='role remove @person "ROLE" [--for "WHAT"]',
    args=(Arg("person", required=True), Arg("role", required=True)),
    opts=(Opt("for"),),
    roles=FACILITATOR,
)
async def remove(ctx: Context, args: Parsed) -> Reply:
    member, role, scope_text = await _person_and_role(ctx, args)
    removed = await repo.remove_project_role(
        ctx.session, ctx.initiative.id, member.id, role, scope_text if args.has("for") else None
    )
    what = _describe(role, scope_text)
    if not removed:
        raise UsageError(f"{member.display_name} does not hold {what}. `role list` shows who holds what.")
    ctx.audit("role.remove", member.user_id, name=member.display_name, role=role, scope=scope_text)
    await ctx.notify_user(
        member.user_id, [Text(f"{ctx.member.display_name} removed your project role {what} in {ctx.initiative.name}.")]
    )
    return Reply([Text(f"{member.display_name} no longer holds {what}.")], visibility="channel")


@command("role list", summary="Who holds which project role.", usage="role list")
async def list_roles(ctx: Context, args: Parsed) -> Reply:
    roles = await repo.project_roles(ctx.session, ctx.initiative.id)
    if not roles:
        common = ", ".join(COMMON_ROLES)
        return Reply([Text(f'No project roles yet. Give one with `role assign @p "ROLE"` (e.g. {common}).')])
    people = {m.id: m for m in await scope.members(ctx.session, ctx.initiative.id)}
    rows = []
    for r in roles:
        m = people.get(r.member_id)
        name = (m.display_name or m.user_id) + ("" if m.active else " (left)") if m else "?"
        rows.append([r.role, r.scope or "-", name])
    return Reply([Table(["Role", "For", "Person"], rows)])
