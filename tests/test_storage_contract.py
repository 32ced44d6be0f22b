"""One repository contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Outbox, UseCase
from storage.repos import record, scope

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


@pytest.fixture
async def db(db_url):
    await upgrade(db_url)
    database = Database(db_url)
    yield database
    await database.dispose()


async def make_initiative(db):
    async with db.transaction() as s:
        ws = await scope.workspace(s, "slack", "T1", NOW)
        initiative, created = await scope.initiative(s, ws, "C1", name="x", creator="U1", is_private=False, now=NOW)
        member = await scope.member(s, initiative, "U1", "Ann", NOW, role="facilitator")
        return ws.id, initiative.id, member.id, created


async def test_scope_is_made_once_and_found_again(db):
    first = await make_initiative(db)
    second = await make_initiative(db)
    assert first[:3] == second[:3]
    assert first[3] is True and second[3] is False


async def test_concurrent_first_contact_makes_one_initiative(db):
    results = await asyncio.gather(*(make_initiative(db) for _ in range(8)), return_exceptions=True)
    ids = {r[1] for r in results if not isinstance(r, BaseException)}
    assert len(ids) == 1


async def test_numbers_are_sequential_and_never_repeat_under_concurrency(db):
    _, initiative_id, _, _ = await make_initiative(db)

    async def draw():
        async with db.transaction() as s:
            return await scope.next_number(s, initiative_id, "UC")

    numbers = await asyncio.gather(*(draw() for _ in range(20)))
    assert sorted(numbers) == list(range(1, 21))
    async with db.transaction() as s:
        assert await scope.next_number(s, initiative_id, "KPI") == 1


async def test_delivery_is_claimed_once_and_rolls_back_with_its_effect(db):
    async with db.transaction() as s:
        assert await record.claim_answered(s, {"k1": {"elements": []}}, NOW) == 1
    async with db.transaction() as s:
        assert await record.claim_answered(s, {"k1": {"elements": ["again"]}, "k3": {}}, NOW) == 1
        assert await record.stored_replies(s, ["k1", "k2"]) == {"k1": {"elements": []}}
    with pytest.raises(RuntimeError):
        async with db.transaction() as s:
            assert await record.claim_answered(s, {"k2": {}}, NOW) == 1
            raise RuntimeError("the effect failed")
    async with db.transaction() as s:
        assert await record.stored_replies(s, ["k2"]) == {}  # a failed delivery may be retried
        assert await record.claim_answered(s, {"k2": {}}, NOW) == 1


async def test_times_come_back_aware_utc(db):
    _ws_id, initiative_id, member_id, _ = await make_initiative(db)
    berlin = datetime(2026, 3, 29, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    async with db.transaction() as s:
        s.add(
            UseCase(
                initiative_id=initiative_id,
                number=1,
                title="t",
                proposer_member_id=member_id,
                created_at=berlin,
                updated_at=berlin,
            )
        )
    async with db.reading() as s:
        uc = (await s.execute(select(UseCase))).scalar_one()
    assert uc.created_at.tzinfo is not None and uc.created_at.utcoffset() == timedelta(0)
    assert uc.created_at == berlin


async def test_naive_datetimes_are_refused(db):
    _, initiative_id, member_id, _ = await make_initiative(db)
    with pytest.raises(Exception, match="naive"):
        async with db.transaction() as s:
            s.add(
                UseCase(
                    initiative_id=initiative_id,
                    number=1,
                    title="t",
                    proposer_member_id=member_id,
                    created_at=datetime(2026, 1, 1),
                    updated_at=NOW,
                )
            )


async def test_outbox_dedupe_key_queues_once(db):
    ws_id, initiative_id, _, _ = await make_initiative(db)
    for _ in range(3):
        async with db.transaction() as s:
            await record.enqueue(
                s,
                workspace_id=ws_id,
                initiative_id=initiative_id,
                target_kind="user",
                target_id="U2",
                payload={"elements": []},
                now=NOW,
                dedupe_key="reminder:1",
            )
    async with db.reading() as s:
        assert len((await s.execute(select(Outbox))).scalars().all()) == 1


async def test_conversation_reference_is_upserted(db):
    ws_id, *_ = await make_initiative(db)
    async with db.transaction() as s:
        await record.save_conversation_reference(s, ws_id, "conv:a", {"v": 1}, NOW)
    async with db.transaction() as s:
        await record.save_conversation_reference(s, ws_id, "conv:a", {"v": 2}, NOW)
    async with db.reading() as s:
        assert await record.conversation_reference(s, ws_id, "conv:a") == {"v": 2}
        assert await record.conversation_reference(s, ws_id, "conv:b") is None


async def test_a_poll_message_update_waits_while_the_last_is_queued_or_reached_slack_under_2_s_ago(db):
    from storage.repos import polls

    spacing = timedelta(seconds=2)
    workspace_id, initiative_id, _, _ = await make_initiative(db)

    async def queue(state: str, sent_ago: float | None) -> None:
        async with db.transaction() as s:
            await record.enqueue(
                s,
                workspace_id=workspace_id,
                initiative_id=initiative_id,
                target_kind="channel",
                target_id="C1",
                payload={},
                now=NOW,
                dedupe_key=f"poll-upd:7:{state}{sent_ago}",
            )
            await s.execute(
                Outbox.__table__.update()
                .where(Outbox.dedupe_key == f"poll-upd:7:{state}{sent_ago}")
                .values(state=state, sent_at=None if sent_ago is None else NOW - timedelta(seconds=sent_ago))
            )

    async def waits() -> bool:
        async with db.reading() as s:
            return await polls.update_in_flight(s, 7, NOW, spacing)

    assert not await waits()
    await queue("sent", 3.0)  # reached Slack long enough ago
    assert not await waits()
    await queue("sent", 1.0)  # sent late by a busy outbox: the next update must keep its distance
    assert await waits()
    async with db.transaction() as s:
        await s.execute(Outbox.__table__.delete())
    await queue("pending", None)
    assert await waits()
