"""The numbered items of an initiative (UC-n, KPI-n, RISK-n, SRC-n) as the features that own them
find, change and describe them: one lookup by human id, one rule for who may change an item, one
way to name a member and to read an item's history, one edit.

Here rather than in usecases.py, because KPIs and risks name use cases too and every feature
edits its items the same way: features do not import each other (tests/test_layering.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from handlers.context import Context
from handlers.fields import changed_names, changes, fmt_dt, parse_human_id
from handlers.grammar import UsageError
from handlers.messages import Reply, Text
from storage.models import Member, UseCase
from storage.repos import record
from storage.repos import usecases as uc_repo

T = TypeVar("T")


async def numbered_columns(ctx: Context, kind: str) -> dict[str, Any]:
    """The columns every new KIND-n item starts with: its initiative, the next number of its kind
    (the counter row, taken in the creating transaction) and the time it was made."""
    return {
        "initiative_id": ctx.initiative.id,
        "number": await ctx.next_number(kind),
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }


def uc_id(uc: UseCase) -> str:
    return f"UC-{uc.number}"


async def numbered_or_refuse(
    ctx: Context,
    ref: str | None,
    prefix: str,
    noun: str,
    by_number: Callable[..., Awaitable[T | None]],
    field: str = "",
) -> T:
    """This initiative's PREFIX-n that `ref` names, or a refusal saying which field and where to
    look (`NOUN list`)."""
    field = field or noun
    number = parse_human_id(ref, prefix)
    if number is None:
        raise UsageError(f'{field} must be an id like {prefix}-1, got "{ref or ""}".', field=field)
    item = await by_number(ctx.session, ctx.initiative.id, number)
    if item is None:
        raise UsageError(f"There is no {prefix}-{number} in this initiative. `{noun} list` shows them.", field=field)
    return item


async def use_case_or_refuse(ctx: Context, ref: str | None, field: str = "usecase") -> UseCase:
    return await numbered_or_refuse(ctx, ref, "UC", "usecase", uc_repo.by_number, field=field)


def may_change(ctx: Context, *owner_ids: int | None) -> bool:
    return ctx.is_facilitator or ctx.member.id in owner_ids


def name_of(members: dict[int, Member], member_id: int | None) -> str:
    m = members.get(member_id) if member_id is not None else None
    return f"@{m.display_name or m.user_id}" if m else "-"


async def history(ctx: Context, entity: str) -> list[str]:
    """Who did what and when, from the audit trail."""
    rows = await record.audit_for(ctx.session, ctx.initiative.id, entity)
    return [f"{fmt_dt(a.at, ctx.tz)} {a.action.split('.', 1)[-1]} by @{a.actor_name or a.actor_user_id}" for a in rows]


def edited(ctx: Context, item: Any, label: str, new: dict[str, Any], action: str) -> Reply:
    """Apply an `edit` command's checked values: the audit row, `updated_at` and the channel's
    line saying what changed, or "nothing changed" (and no audit row)."""
    changed = changes(item, new)
    if not changed:
        return Reply([Text(f"Nothing changed: {label} already has those values.")])
    item.updated_at = ctx.now
    ctx.audit(action, label, changed=changed)
    return Reply([Text(f"{ctx.member.display_name} edited {label}: {changed_names(changed)}.")], "channel")
