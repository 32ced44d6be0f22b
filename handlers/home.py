"""The person's own view (Slack's App Home tab), as neutral elements per initiative they belong to:
polls waiting for their vote, their RACI and programme roles, their milestones due soon, their
pending sign-offs, and buttons for the common commands."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Context
from handlers.digest import personal_items
from handlers.exports import export_reply
from handlers.messages import Action, Button, Buttons, Element, Heading, ListItems, Reply, Text
from handlers.registry import action
from handlers.report_rules import fmt_day
from handlers.report_views import Builder
from handlers.reports import build_documents, document_elements, snapshot_builder
from storage.models import Member
from storage.repos import scope

DUE_SOON = timedelta(days=14)
MAX_INITIATIVES = 10  # a Home tab holds 100 blocks


def my_roles(builder: Builder, member_id: int) -> list[str]:
    letters: dict[int, str] = {}
    for a in builder.snap.assignments:
        if a.member_id == member_id:
            letters[a.activity_id] = letters.get(a.activity_id, "") + a.role
    roles = [
        f"ACT-{act.number} {act.name}: {''.join(sorted(letters[act.id], key='RACI'.index))}"
        for act in builder.active_activities
        if act.id in letters
    ]
    roles += [r.role + (f" ({r.scope})" if r.scope else "") for r in builder.snap.roles if r.member_id == member_id]
    return roles


def due_soon(builder: Builder, member_id: int, now: datetime) -> list[str]:
    today = now.astimezone(builder.tz).date()
    return [
        f"MS-{m.number} {m.name}: due {fmt_day(m.due_date)}"
        for m in builder.milestone_order()
        if builder.milestone_status(m, today) != "done"
        and member_id in builder.owners[m.id]
        and today <= m.due_date <= today + DUE_SOON
    ]


def home_for(builder: Builder, member: Member, now: datetime) -> list[Element]:
    name = builder.snap.initiative.name
    todo = personal_items(builder, member.id, now)
    roles = my_roles(builder, member.id)
    soon = due_soon(builder, member.id, now)
    out: list[Element] = [Heading(name)]
    out += [Text("Waiting for you:"), ListItems(todo)] if todo else [Text("Nothing is waiting for you.")]
    if soon:
        out += [Text("Your milestones due in the next two weeks:"), ListItems(soon)]
    if roles:
        out += [Text("Your roles:"), ListItems(roles)]
    out.append(
        Buttons(
            [
                Button("Overview", "home.summary:overview", "overview", style="primary"),
                Button("Risks", "home.summary:risks", "risks"),
                Button("Plan", "home.summary:plan", "plan"),
                Button("HTML report", "home.export:html", "html"),
            ]
        )
    )
    return out


async def home_view(
    session: AsyncSession, platform: str, workspace_external_id: str, user_id: str, now: datetime
) -> list[tuple[str, list[Element]]]:
    """(initiative conversation id, elements) for every initiative the person is an active member of."""
    rows = await scope.memberships(session, platform, workspace_external_id, user_id, limit=MAX_INITIATIVES)
    out = []
    for initiative, member in rows:
        builder = await snapshot_builder(session, initiative, now)
        out.append((initiative.conversation_id, home_for(builder, member, now)))
    return out


@action("home.summary")
async def home_summary(ctx: Context, act: Action) -> Reply:
    key = act.value if act.value in ("overview", "risks", "plan") else "overview"
    (doc,) = await build_documents(ctx.session, ctx.initiative, [key], ctx.now, ctx.config.timezone)
    return Reply(document_elements(doc))


@action("home.export")
async def home_export(ctx: Context, act: Action) -> Reply:
    return export_reply(ctx, "html")
