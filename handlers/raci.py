"""RACI per activity: activities, assignment with the rules enforced, views, and routing by role.

The routing function `recipients` is what the reminder, escalation, sign-off and digest features
call to know whom to tell; everything else here is the facilitators' and stakeholders' commands.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.raci_rules import role_for_purpose
from storage.models import Member
from storage.repos import raci as repo


async def recipients(session: AsyncSession, initiative_id: int, activity_id: int, purpose: str) -> list[Member]:
    """Who should be told about an activity for a purpose: "nudge" -> R, "escalation" and
    "signoff" -> A, "input" -> C, "digest" -> I. People who left (inactive) are not included."""
    role = role_for_purpose(purpose)
    return [m for m in await repo.holders(session, initiative_id, activity_id, role) if m.active]
