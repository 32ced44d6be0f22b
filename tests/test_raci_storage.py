"""The database itself keeps one Accountable per activity, even against racing assigns."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from handlers.context import CoreConfig
from handlers.core import Core
from handlers.messages import Actor, Incoming
from handlers.registry import Registry
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Member, RaciAssignment

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def _line(text: str, user: str = "ann", key: str | None = None) -> Incoming:
    return Incoming(
        actor=Actor("console", "console", user, user), conversation_id="general", text=text, delivery_key=key
    )


async def test_a_second_accountable_row_is_refused_by_the_database(db_url):
    await upgrade(db_url)
    db = Database(db_url)
    core = Core(db, Registry.discover(), CoreConfig(), clock=lambda: NOW)
    try:
        await core.handle(_line('raci activity add "Data policy"'))
        await core.handle(_line("raci assign ACT-1 A <@bob|bob> R <@cy|cy>"))
        with pytest.raises(IntegrityError):
            async with db.transaction() as s:
                cy = (await s.execute(select(Member).where(Member.user_id == "cy"))).scalar_one()
                row = (await s.execute(select(RaciAssignment).where(RaciAssignment.role == "A"))).scalar_one()
                s.add(
                    RaciAssignment(
                        activity_id=row.activity_id,
                        member_id=cy.id,
                        role="A",
                        assigned_by_member_id=cy.id,
                        created_at=NOW,
                    )
                )
    finally:
        await db.dispose()


async def test_racing_assigns_of_two_accountables_leave_exactly_one(db_url):
    await upgrade(db_url)
    db = Database(db_url)
    core = Core(db, Registry.discover(), CoreConfig(), clock=lambda: NOW)
    try:
        await core.handle(_line('raci activity add "Data policy"'))
        replies = await asyncio.gather(
            *(core.handle(_line(f"raci assign ACT-1 A <@{who}|{who}>", key=f"k-{who}")) for who in ("bob", "cy", "dee"))
        )
        assert sum(r.ok for r in replies) == 1
        refused = [r.plain_text() for r in replies if not r.ok]
        assert len(refused) == 2 and all("is already the Accountable (A)" in t for t in refused)
        async with db.reading() as s:
            roles = (await s.execute(select(RaciAssignment.role))).scalars().all()
        assert roles == ["A"]
    finally:
        await db.dispose()
