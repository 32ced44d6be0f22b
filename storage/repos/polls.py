"""Poll queries. Every state change is a conditional UPDATE on the poll row, so the database
decides who closed a poll, whether a vote arrived before the close, and who sends an update."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rowcount
from storage.models import Ballot, Initiative, Member, Outbox, Participation, Poll, PollOption, PollReminder, UseCase
from storage.repos.upsert import dialect_insert, insert_ignore, insert_ignore_many

REMINDER_LEASE = timedelta(minutes=5)


async def by_number(session: AsyncSession, initiative_id: int, number: int) -> Poll | None:
    return (
        await session.execute(select(Poll).where(Poll.initiative_id == initiative_id, Poll.number == number))
    ).scalar_one_or_none()


async def list_for(session: AsyncSession, initiative_id: int, *, open_only: bool = False) -> list[Poll]:
    q = select(Poll).where(Poll.initiative_id == initiative_id)
    if open_only:
        q = q.where(Poll.status == "open")
    return list((await session.execute(q.order_by(Poll.number))).scalars())


async def options(session: AsyncSession, poll_id: int) -> list[PollOption]:
    return (await options_of(session, [poll_id]))[poll_id]


async def options_of(session: AsyncSession, poll_ids: Collection[int]) -> dict[int, list[PollOption]]:
    """Each poll's options in order, for many polls in one query."""
    found: dict[int, list[PollOption]] = {pid: [] for pid in poll_ids}
    rows = await session.execute(
        select(PollOption).where(PollOption.poll_id.in_(list(poll_ids))).order_by(PollOption.position)
    )
    for o in rows.scalars():
        found[o.poll_id].append(o)
    return found


async def ballots(session: AsyncSession, poll_id: int) -> list[dict[str, Any]]:
    """The choices only, in key order: nothing in them says whose they are."""
    rows = await session.execute(select(Ballot.choices).where(Ballot.poll_id == poll_id).order_by(Ballot.voter_key))
    return list(rows.scalars())


async def ballot_of(session: AsyncSession, poll_id: int, voter_key: str) -> dict[str, Any] | None:
    return (await ballots_of(session, [(poll_id, voter_key)])).get((poll_id, voter_key))


async def ballots_of(session: AsyncSession, keys: Collection[tuple[int, str]]) -> dict[tuple[int, str], dict[str, Any]]:
    """The choices of the given (poll id, voter key) ballots that exist, in one query."""
    if not keys:
        return {}
    rows = await session.execute(
        select(Ballot.poll_id, Ballot.voter_key, Ballot.choices).where(
            tuple_(Ballot.poll_id, Ballot.voter_key).in_(list(keys))
        )
    )
    return {(pid, key): choices for pid, key, choices in rows.all()}


async def participants(session: AsyncSession, poll_id: int) -> list[Member]:
    rows = await session.execute(
        select(Member)
        .join(Participation, Participation.member_id == Member.id)
        .where(Participation.poll_id == poll_id)
        .order_by(Member.display_name, Member.id)
    )
    return list(rows.scalars())


async def participant_count(session: AsyncSession, poll_id: int) -> int:
    return (
        await session.execute(select(func.count()).select_from(Participation).where(Participation.poll_id == poll_id))
    ).scalar_one()


async def counts(session: AsyncSession, poll_ids: list[int]) -> dict[int, int]:
    if not poll_ids:
        return {}
    rows = await session.execute(
        select(Participation.poll_id, func.count())
        .where(Participation.poll_id.in_(poll_ids))
        .group_by(Participation.poll_id)
    )
    return {pid: n for pid, n in rows.all()}


async def cast(session: AsyncSession, vote: dict[str, Any]) -> bool:
    """Record or replace one ballot (see `cast_many`); False when the poll is no longer open."""
    status = select(Poll.status).where(Poll.id == vote["poll_id"])
    if (await session.execute(_for_votes(status))).scalar_one_or_none() != "open":
        return False
    await cast_many(session, [vote])
    return True


async def for_votes(session: AsyncSession, numbers: Collection[tuple[int, int]]) -> dict[tuple[int, int], Poll]:
    """The polls with these (initiative id, number), read as `cast_many` needs them read."""
    if not numbers:
        return {}
    where = tuple_(Poll.initiative_id, Poll.number).in_(list(numbers))
    polls = (await session.execute(_for_votes(select(Poll).where(where)))).scalars()
    return {(p.initiative_id, p.number): p for p in polls}


def _for_votes(query: Select) -> Select:
    """A poll read with a share lock before votes on it are written (PostgreSQL; SQLite writers
    are serialised anyway): votes do not wait for each other, and a close, which updates the
    row, waits for the votes already under way and is seen by every vote after it. Votes never
    write the poll row: a thousand at once would queue on its lock, each holding a connection."""
    return query.with_for_update(read=True)


async def cast_many(session: AsyncSession, votes: Sequence[dict[str, Any]]) -> None:
    """Record or replace ballots, in order, on open polls read by `for_votes` in this
    transaction.

    Each vote: poll_id, member_id, voter_key, choices, voted_at, ballot_time. Two statements
    however many votes: a burst of clicks shares them."""
    if not votes:
        return
    await insert_ignore_many(
        session,
        Participation,
        [dict(poll_id=v["poll_id"], member_id=v["member_id"], voted_at=v["voted_at"]) for v in votes],
    )
    ins = dialect_insert(session, Ballot)
    await session.execute(
        ins.on_conflict_do_update(
            index_elements=[ins.table.c.poll_id, ins.table.c.voter_key],
            set_={
                "choices": ins.excluded.choices,
                "updated_at": ins.excluded.updated_at,
                "revision": ins.table.c.revision + 1,
            },
        ),
        [
            dict(
                poll_id=v["poll_id"],
                voter_key=v["voter_key"],
                choices=v["choices"],
                revision=1,
                updated_at=v["ballot_time"],
            )
            for v in votes
        ],
    )


def tally_version():
    """How far the poll's tally has moved: its own changes (close, extend) plus every ballot's."""
    revisions = select(func.coalesce(func.sum(Ballot.revision), 0)).where(Ballot.poll_id == Poll.id).scalar_subquery()
    return Poll.tally_version + revisions


async def claim_close(session: AsyncSession, poll_id: int, now: datetime) -> bool:
    """Open -> closed, once: whoever's UPDATE matches closes (a command, a timer, a replica)."""
    result = await session.execute(
        update(Poll)
        .where(Poll.id == poll_id, Poll.status == "open")
        .values(status="closed", closed_at=now, tally_version=Poll.tally_version + 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def due_to_close(session: AsyncSession, now: datetime, limit: int = 50) -> list[int]:
    rows = await session.execute(
        select(Poll.id).where(Poll.status == "open", Poll.closes_at <= now).order_by(Poll.closes_at).limit(limit)
    )
    return list(rows.scalars())


async def extend(session: AsyncSession, poll_id: int, closes_at: datetime) -> bool:
    result = await session.execute(
        update(Poll)
        .where(Poll.id == poll_id, Poll.status == "open")
        .values(closes_at=closes_at, tally_version=Poll.tally_version + 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def use_cases(session: AsyncSession, initiative_id: int, statuses: tuple[str, ...] | None) -> list[UseCase]:
    q = select(UseCase).where(UseCase.initiative_id == initiative_id)
    if statuses is not None:
        q = q.where(UseCase.status.in_(statuses))
    return list((await session.execute(q.order_by(UseCase.number))).scalars())


async def use_case_numbers(session: AsyncSession, ids: Collection[int]) -> dict[int, int]:
    """Use case id -> its UC number, for the options that name a use case (a vote may say `UC-3`)."""
    if not ids:
        return {}
    rows = await session.execute(select(UseCase.id, UseCase.number).where(UseCase.id.in_(ids)))
    return {i: n for i, n in rows.all()}


async def set_priorities(session: AsyncSession, initiative_id: int, poll_id: int, ranks: dict[int, int]) -> None:
    """This poll's ranks replace every earlier poll's: ranks from older polls are cleared, and it
    becomes the one poll that sets the priority."""
    await session.execute(
        update(Poll)
        .where(Poll.initiative_id == initiative_id)
        .values(sets_priority=Poll.id == poll_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(UseCase)
        .where(UseCase.initiative_id == initiative_id, UseCase.priority_poll_id.is_not(None))
        .values(priority_rank=None, priority_poll_id=None)
        .execution_options(synchronize_session=False)
    )
    for use_case_id, rank in ranks.items():
        await session.execute(
            update(UseCase)
            .where(UseCase.id == use_case_id, UseCase.initiative_id == initiative_id)
            .values(priority_rank=rank, priority_poll_id=poll_id)
            .execution_options(synchronize_session=False)
        )


# ---- the poll message and its coalesced updates ---------------------------------------------


def message_key(poll_id: int) -> str:
    return f"poll-msg:{poll_id}"


async def message_ref(session: AsyncSession, poll: Poll) -> dict[str, str] | None:
    """Where the poll message went (channel + ts), once the outbox has sent it."""
    if poll.message_ts:
        return {"channel": poll.message_channel, "ts": poll.message_ts}
    row = (
        await session.execute(select(Outbox.state, Outbox.result).where(Outbox.dedupe_key == message_key(poll.id)))
    ).first()
    if row is None or row.state != "sent":
        return None
    result = row.result or {}
    ts = result.get("ts") or (result.get("activity_ids") or [None])[0]
    if not ts:
        return {}
    poll.message_channel = str(result.get("channel") or "")
    poll.message_ts = str(ts)
    return {"channel": poll.message_channel, "ts": poll.message_ts}


async def pending_work(session: AsyncSession, now: datetime, spacing: timedelta) -> tuple[bool, bool, bool]:
    """(a poll to close, a reminder to send, a message to update): one round trip per tick."""
    close = select(Poll.id).where(Poll.status == "open", Poll.closes_at <= now).limit(1).exists()
    remind = (
        select(PollReminder.id)
        .where(
            or_(
                (PollReminder.state == "pending") & (PollReminder.due_at <= now),
                (PollReminder.state == "sending") & (PollReminder.claimed_at < now - REMINDER_LEASE),
            )
        )
        .limit(1)
        .exists()
    )
    render = (
        select(Poll.id)
        .where(
            tally_version() > Poll.rendered_version,
            or_(Poll.rendered_at.is_(None), Poll.rendered_at <= now - spacing),
        )
        .limit(1)
        .exists()
    )
    row = (await session.execute(select(close, remind, render))).one()
    return bool(row[0]), bool(row[1]), bool(row[2])


async def needing_update(session: AsyncSession, now: datetime, spacing: timedelta, limit: int = 50) -> list[int]:
    rows = await session.execute(
        select(Poll.id)
        .where(
            tally_version() > Poll.rendered_version,
            or_(Poll.rendered_at.is_(None), Poll.rendered_at <= now - spacing),
        )
        .order_by(Poll.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def update_in_flight(session: AsyncSession, poll_id: int, now: datetime, spacing: timedelta) -> bool:
    """An earlier update of this poll's message is still queued or retrying, or reached the
    platform less than `spacing` ago: the next one waits, so updates land in order, the last one
    sent is the newest, and the platform sees them `spacing` apart even when a busy outbox sent
    the previous one late."""
    row = await session.execute(
        select(Outbox.id)
        .where(
            Outbox.dedupe_key.like(f"poll-upd:{poll_id}:%"),
            or_(Outbox.state.in_(("pending", "sending")), Outbox.sent_at > now - spacing),
        )
        .limit(1)
    )
    return row.first() is not None


async def claim_render(session: AsyncSession, poll: Poll, now: datetime, spacing: timedelta) -> int | None:
    """Claim the right to queue the next update; the version it will show, or None."""
    version = (await session.execute(select(tally_version()).where(Poll.id == poll.id))).scalar_one()
    result = await session.execute(
        update(Poll)
        .where(
            Poll.id == poll.id,
            Poll.rendered_version < version,
            or_(Poll.rendered_at.is_(None), Poll.rendered_at <= now - spacing),
        )
        .values(rendered_version=version, rendered_at=now)
        .execution_options(synchronize_session=False)
    )
    return version if rowcount(result) == 1 else None


async def skip_render(session: AsyncSession, poll_id: int) -> None:
    """A poll message that cannot be edited (the console's) is never updated."""
    await session.execute(
        update(Poll)
        .where(Poll.id == poll_id)
        .values(rendered_version=tally_version())
        .execution_options(synchronize_session=False)
    )


# ---- reminders ------------------------------------------------------------------------------


async def schedule_reminder(session: AsyncSession, poll_id: int, key: str, due_at: datetime) -> bool:
    return await insert_ignore(
        session, PollReminder, poll_id=poll_id, key=key, due_at=due_at, state="pending", reminded=0, last_error=""
    )


async def cancel_pending_reminders(session: AsyncSession, poll_id: int) -> None:
    await session.execute(
        update(PollReminder)
        .where(PollReminder.poll_id == poll_id, PollReminder.state == "pending")
        .values(state="cancelled")
        .execution_options(synchronize_session=False)
    )


async def claim_due_reminders(
    session: AsyncSession, now: datetime, instance: str, limit: int = 20
) -> list[tuple[int, int, str]]:
    """(reminder id, poll id, key) of the due reminders this call won; stale claims come back."""
    await session.execute(
        update(PollReminder)
        .where(PollReminder.state == "sending", PollReminder.claimed_at < now - REMINDER_LEASE)
        .values(state="pending")
        .execution_options(synchronize_session=False)
    )
    due = (
        await session.execute(
            select(PollReminder.id, PollReminder.poll_id, PollReminder.key)
            .where(PollReminder.state == "pending", PollReminder.due_at <= now)
            .order_by(PollReminder.due_at)
            .limit(limit)
        )
    ).all()
    won = []
    for rid, pid, key in due:
        res = await session.execute(
            update(PollReminder)
            .where(PollReminder.id == rid, PollReminder.state == "pending")
            .values(state="sending", claimed_by=instance, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(res) == 1:
            won.append((rid, pid, key))
    return won


async def finish_reminder(
    session: AsyncSession, reminder_id: int, now: datetime, *, reminded: int = 0, error: str = ""
) -> None:
    await session.execute(
        update(PollReminder)
        .where(PollReminder.id == reminder_id)
        .values(state="failed" if error else "sent", sent_at=now, reminded=reminded, last_error=error[:2000])
        .execution_options(synchronize_session=False)
    )


async def poll_scope(session: AsyncSession, poll_id: int) -> tuple[Poll, Initiative] | None:
    row = (
        await session.execute(
            select(Poll, Initiative).join(Initiative, Initiative.id == Poll.initiative_id).where(Poll.id == poll_id)
        )
    ).first()
    return (row[0], row[1]) if row else None
