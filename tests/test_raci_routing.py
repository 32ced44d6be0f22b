"""`recipients`: the routing by role that reminders, escalations, sign-offs and digests use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.activities import recipients
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Initiative, Member, RaciActivity, RaciAssignment, Workspace

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


async def _seed(db: Database) -> dict[str, int]:
    async with db.transaction() as s:
        ws = Workspace(platform="console", external_id="console", name="", created_at=NOW)
        s.add(ws)
        await s.flush()
        ids: dict[str, int] = {}
        for conv in ("c1", "c2"):
            ini = Initiative(workspace_id=ws.id, conversation_id=conv, name=conv, created_by="ann", created_at=NOW)
            s.add(ini)
            await s.flush()
            ids[conv] = ini.id
            people = {}
            for name in ("ann", "bob", "cy", "dee", "eve", "gone"):
                m = Member(initiative_id=ini.id, user_id=name, display_name=name, joined_at=NOW, active=name != "gone")
                s.add(m)
                await s.flush()
                people[name] = m.id
            act = RaciActivity(initiative_id=ini.id, number=1, name="Gap analysis", created_at=NOW)
            s.add(act)
            await s.flush()
            ids[f"{conv}-act"] = act.id
            for name, role in [("ann", "A"), ("ann", "R"), ("bob", "R"), ("gone", "R"), ("cy", "C"), ("dee", "I")]:
                s.add(
                    RaciAssignment(
                        activity_id=act.id,
                        member_id=people[name],
                        role=role,
                        assigned_by_member_id=people["ann"],
                        created_at=NOW,
                    )
                )
    return ids


async def test_each_purpose_reaches_its_role_and_nobody_else(db_url):
    await upgrade(db_url)
    db = Database(db_url)
    try:
        ids = await _seed(db)
        async with db.reading() as s:
            got = {
                p: sorted(m.user_id for m in await recipients(s, ids["c1"], ids["c1-act"], p))
                for p in ("nudge", "escalation", "signoff", "input", "digest")
            }
            assert got == {
                "nudge": ["ann", "bob"],  # "gone" left the conversation: not nudged
                "escalation": ["ann"],
                "signoff": ["ann"],
                "input": ["cy"],
                "digest": ["dee"],
            }
            # Another initiative's activity id gives nobody, whatever the purpose.
            assert await recipients(s, ids["c1"], ids["c2-act"], "nudge") == []
            with pytest.raises(ValueError, match="unknown purpose"):
                await recipients(s, ids["c1"], ids["c1-act"], "gossip")
    finally:
        await db.dispose()
