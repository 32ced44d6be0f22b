"""Clicks on a poll's buttons that arrive together are written together (handlers/batches.py),
and each still counts exactly as it would alone: twins once, refusals store nothing, a person's
two quick clicks in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select

from handlers.context import CoreConfig
from handlers.core import Core
from handlers.messages import Action, Actor, Incoming, Reply
from handlers.registry import Registry
from storage.db import Database
from storage.migrate import upgrade
from storage.models import AuditEvent, Ballot, Member, Participation, ProcessedEvent

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
CHANNEL = "C1"


def _say(text: str, user: str = "ann") -> Incoming:
    return Incoming(actor=Actor("slack", "T1", user, user), conversation_id=CHANNEL, text=text)


def _click(user: str, position: int, key: str, poll: int = 1) -> Incoming:
    return Incoming(
        actor=Actor("slack", "T1", user, user.title()),
        conversation_id=CHANNEL,
        action=Action(f"poll.pick:{poll}:{position}", f"{poll}:{position}"),
        delivery_key=key,
    )


class Counted:
    """The core on a real database, counting the transactions it begins."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.core = Core(db, Registry.discover(), CoreConfig(), clock=lambda: NOW)
        self.transactions = 0
        event.listen(db.engine.sync_engine, "begin", self._began)

    def _began(self, _conn) -> None:
        self.transactions += 1

    async def together(self, *incomings: Incoming) -> list[Reply | None]:
        """Deliveries that arrive at once: all of them wait while the first batch is written."""
        before = self.transactions
        replies = await asyncio.gather(*(self.core.handle(i) for i in incomings))
        self.used = self.transactions - before
        return list(replies)

    async def count(self, model: type, *where) -> int:
        async with self.db.reading() as s:
            return (await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


@pytest.fixture
async def bot(db_url) -> AsyncIterator[Counted]:
    await upgrade(db_url)
    db = Database(db_url)
    try:
        yield Counted(db)
    finally:
        await db.dispose()


def _text(reply: Reply | None) -> str:
    assert reply is not None
    return reply.plain_text()


async def test_a_burst_of_clicks_is_one_transaction_and_every_vote_counts_once(bot):
    started = await bot.core.handle(_say('poll start "Lunch?" --method single --options "Pizza; Sushi; Salad"'))
    assert started is not None and started.ok, _text(started)
    clicks = [_click(f"u{i:02d}", i % 3 + 1, key=f"k{i}") for i in range(30)]
    twin = _click("u00", 1, key="k0")  # Slack's retry of the first click, inside the same burst
    replies = await bot.together(*clicks, twin)

    assert bot.used == 1  # thirty voters, one transaction
    assert all(r is not None and r.ok for r in replies)
    recorded = "Your vote on POLL-1 is recorded: 2. Sushi. Vote again to change it until the poll closes."
    assert _text(replies[1]) == recorded
    assert replies[-1].replayed and _text(replies[-1]) == _text(replies[0])  # type: ignore[union-attr]
    assert not replies[0].replayed  # type: ignore[union-attr]
    assert await bot.count(Ballot) == 30 and await bot.count(Participation) == 30
    assert await bot.count(AuditEvent, AuditEvent.action == "poll.vote") == 30
    assert await bot.count(ProcessedEvent, ProcessedEvent.key.like("k%")) == 30
    async with bot.db.reading() as s:
        picks = sorted((await s.execute(select(Ballot.choices))).scalars(), key=str)
        revisions = set((await s.execute(select(Ballot.revision))).scalars())
    assert [p["pick"] for p in picks].count(2) == 10 and revisions == {1}

    # The same retry later, alone: the stored answer again, and nothing counted twice.
    again = await bot.core.handle(_click("u00", 1, key="k0"))
    assert again is not None and again.replayed and _text(again) == _text(replies[0])
    assert await bot.count(Ballot) == 30 and await bot.count(AuditEvent, AuditEvent.action == "poll.vote") == 30


async def test_one_persons_two_quick_clicks_on_an_approval_poll_count_in_order(bot):
    await bot.core.handle(_say('poll start "Which?" --method approval --options "A; B; C"'))
    replies = await bot.together(_click("bob", 1, "b1"), _click("bob", 2, "b2"), _click("cy", 3, "c1"))
    assert bot.used == 1
    said = [_text(r).split(": ", 1)[1].split(". Vote again")[0] for r in replies]
    assert said == ["1. A", "1. A; 2. B", "3. C"], said
    async with bot.db.reading() as s:
        ballots = sorted((await s.execute(select(Ballot.choices, Ballot.revision))).all(), key=str)
    assert sorted(b[0]["approve"] for b in ballots) == [[1, 2], [3]]
    assert {b[0]["approve"][0]: b[1] for b in ballots} == {1: 2, 3: 1}  # bob's ballot was replaced once
    # Un-approving the only approved option is refused, and stores nothing.
    alone = await bot.together(_click("cy", 3, "c2"))
    assert not alone[0].ok and "needs at least one option" in _text(alone[0])  # type: ignore[union-attr]
    assert await bot.count(ProcessedEvent, ProcessedEvent.key == "c2") == 0


async def test_a_refused_click_in_a_burst_stores_nothing_and_spoils_nothing(bot):
    await bot.core.handle(_say('poll start "Lunch?" --method single --options "Pizza; Sushi"'))
    await bot.together(_click("dee", 1, "d0"))  # dee is a member from here on
    stale = _click("dee", 7, "d1")  # an option the poll does not have
    missing = _click("eve", 1, "e1", poll=9)  # a poll that does not exist, by a newcomer
    replies = await bot.together(_click("bob", 1, "b1"), stale, missing, _click("cy", 2, "c1"))

    assert [r.ok for r in replies] == [True, False, False, True]  # type: ignore[union-attr]
    assert _text(replies[1]) == "That button is out of date; use the poll's Vote button."
    assert _text(replies[2]) == "There is no POLL-9 in this initiative; `poll list` shows its polls."
    # Eve's refusal would have left her membership behind: the burst was answered one by one.
    assert bot.used == 1 + 4
    assert await bot.count(Member, Member.user_id == "eve") == 0
    assert await bot.count(ProcessedEvent, ProcessedEvent.key.in_(["d1", "e1"])) == 0
    assert await bot.count(Ballot) == 3 and await bot.count(Participation) == 3

    # Without a newcomer's refusal, the same burst stays one transaction.
    replies = await bot.together(_click("bob", 2, "b2"), _click("dee", 7, "d2"), _click("cy", 1, "c2"))
    assert bot.used == 1 and [r.ok for r in replies] == [True, False, True]  # type: ignore[union-attr]
    assert await bot.count(ProcessedEvent, ProcessedEvent.key == "d2") == 0


async def test_clicks_after_the_close_are_refused_with_when(bot):
    await bot.core.handle(_say('poll start "Lunch?" --method single --options "Pizza; Sushi"'))
    await bot.together(_click("bob", 1, "b1"))
    closed = await bot.core.handle(_say("poll close POLL-1"))
    assert closed is not None and closed.ok, _text(closed)
    replies = await bot.together(_click("bob", 2, "b2"), _click("cy", 1, "c1"))
    assert all(not r.ok and "POLL-1 closed at" in _text(r) for r in replies)  # type: ignore[union-attr]
    assert await bot.count(Ballot) == 1 and await bot.count(Member, Member.user_id == "cy") == 0
