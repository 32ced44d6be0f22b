"""Web tokens: made random, kept as their SHA-256, looked up by it.

A token is 32 random bytes, so a plain SHA-256 (no salt, no slow hash) cannot be reversed or
guessed, and the lookup is one indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Initiative, Member, WebToken, Workspace

PREFIX = "alignbot_"  # so a token pasted where it should not be is recognisable (and redacted)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Holder:
    """Whom a token speaks for: the issuing member, in its initiative's own workspace."""

    token_id: int
    platform: str
    workspace_id: str
    conversation_id: str
    user_id: str
    display_name: str


async def issue(session: AsyncSession, initiative_id: int, member_id: int, now: datetime) -> str:
    """A new token for the initiative; the one it had stops working in the same transaction."""
    await revoke(session, initiative_id)
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(WebToken(initiative_id=initiative_id, member_id=member_id, token_hash=digest(token), created_at=now))
    await session.flush()
    return token


async def revoke(session: AsyncSession, initiative_id: int) -> bool:
    result = await session.execute(delete(WebToken).where(WebToken.initiative_id == initiative_id))
    return bool(getattr(result, "rowcount", 0))


async def holder(session: AsyncSession, token: str) -> Holder | None:
    columns = (WebToken.id, Workspace.platform, Workspace.external_id, Initiative.conversation_id,
               Member.user_id, Member.display_name)  # fmt: skip
    row = (
        await session.execute(
            select(*columns)
            .join(Initiative, Initiative.id == WebToken.initiative_id)
            .join(Workspace, Workspace.id == Initiative.workspace_id)
            .join(Member, Member.id == WebToken.member_id)
            .where(WebToken.token_hash == digest(token))
        )
    ).first()
    return Holder(*row) if row is not None else None
