"""RACI activities by reference (ACT-n, UC-n, MS-n or a name) and whom to tell about one.

Shared by the RACI commands, the sign-offs and the reminders, so none of them imports another
feature; the commands themselves stay in `handlers.raci`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import raci_rules as rules
from handlers.context import Context
from handlers.fields import parse_human_id
from handlers.grammar import Mention, Token, UsageError
from storage.models import Member, RaciActivity
from storage.repos import raci as repo
from storage.repos import store
from storage.repos import usecases as usecase_repo

NAME_MAX = 150


async def recipients(session: AsyncSession, initiative_id: int, activity_id: int, purpose: str) -> list[Member]:
    """Who should be told about an activity for a purpose: "nudge" -> R, "escalation" and
    "signoff" -> A, "input" -> C, "digest" -> I. People who left (inactive) are not included."""
    role = rules.role_for_purpose(purpose)
    return [m for m in await repo.holders(session, initiative_id, activity_id, role) if m.active]


def act_id(activity: RaciActivity) -> str:
    return f"ACT-{activity.number}"


def act_label(activity: RaciActivity) -> str:
    return f"{act_id(activity)} {activity.name}"


# ---- finding things ---------------------------------------------------------------------------


async def find_activity(ctx: Context, ref: Token | None, *, create: bool = False) -> RaciActivity:
    """ACT-n, UC-n, MS-n or an activity's exact name. A use case or milestone becomes an activity
    the first time it is named, when `create` is set."""
    if ref is None or isinstance(ref, Mention) or not str(ref).strip():
        raise UsageError("Name the activity: ACT-n, UC-n, MS-n or its exact name in quotes.", field="activity")
    text = str(ref).strip()
    upper = text.upper()
    session, initiative_id = ctx.session, ctx.initiative.id
    if upper.startswith("ACT-") and (n := parse_human_id(text, "ACT")) is not None:
        found = await repo.activity_by_number(session, initiative_id, n)
        if found is None:
            raise UsageError(f"There is no activity {upper} here. `raci show` lists them.", field="activity")
        return found
    if upper.startswith("UC-") and (n := parse_human_id(text, "UC")) is not None:
        uc = await usecase_repo.by_number(session, initiative_id, n)
        if uc is None:
            raise UsageError(f"There is no use case {upper} here. `usecase list` lists them.", field="activity")
        return await _activity_of(ctx, upper, create, f"{upper}: {uc.title}", uc.description, use_case_id=uc.id)
    if upper.startswith("MS-") and (n := parse_human_id(text, "MS")) is not None:
        ms = await repo.milestone_by_number(session, initiative_id, n)
        if ms is None:
            raise UsageError(f"There is no milestone {upper} here.", field="activity")
        return await _activity_of(ctx, upper, create, f"{upper}: {ms.name}", "", milestone_id=ms.id)
    found = await repo.activity_by_name(session, initiative_id, text)
    if found is None:
        raise UsageError(
            f'There is no activity named "{text[:60]}". Use ACT-n, UC-n, MS-n or an exact name '
            "(`raci show` lists them; `raci activity add` makes one).",
            field="activity",
        )
    return found


async def _activity_of(ctx: Context, ref: str, create: bool, name: str, description: str, **link: int) -> RaciActivity:
    """The activity of a use case or milestone (`link` names it), made under `name` if `create`."""
    found = await repo.activity_for(ctx.session, ctx.initiative.id, **link)
    if found is None and create:
        found = await new_activity(ctx, name[:NAME_MAX], description, **link)
    if found is None:
        raise UsageError(f"{ref} has no RACI roles yet.", field="activity")
    return found


async def new_activity(ctx: Context, name: str, description: str, **links) -> RaciActivity:
    act = RaciActivity(
        initiative_id=ctx.initiative.id,
        number=await ctx.next_number("ACT"),
        name=name,
        description=description or "",
        created_at=ctx.now,
        **links,
    )
    await store.add(ctx.session, act)
    ctx.audit("raci.activity.add", act_id(act), name=name, **{k: v for k, v in links.items() if v})
    return act
