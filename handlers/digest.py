"""The weekly digest: the overview for the channel, and a short personal list for each person
who has something open (a vote, an overdue milestone, a sign-off). The schedule that sends it
once per period lives with the plan; this module only decides what each message says."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import Element, Heading, ListItems, Text
from handlers.report_rules import fmt_day, fmt_local
from handlers.report_views import TITLES, Builder
from handlers.reports import document_elements, snapshot_builder, stale_flags
from storage.models import Initiative


def personal_items(builder: Builder, member_id: int, now: datetime) -> list[str]:
    """What one person still has to do, in the order they should look at it."""
    today = now.astimezone(builder.tz).date()
    return [
        *_votes_to_cast(builder, member_id, now),
        *(
            f"Overdue milestone MS-{m.number}: {m.name} (due {fmt_day(m.due_date)})"
            for m in builder.milestone_order()
            if builder.milestone_status(m, today) == "overdue" and member_id in builder.owners[m.id]
        ),
        *_sign_offs_to_answer(builder, member_id),
    ]


def _votes_to_cast(builder: Builder, member_id: int, now: datetime) -> list[str]:
    """The open polls this person has not voted in and can still vote in."""
    snap = builder.snap
    voted = {p.poll_id for p in snap.participations if p.member_id == member_id}
    return [
        f"Vote in POLL-{p.number}: {p.question}"
        + (f" (closes {fmt_local(p.closes_at, builder.tz)})" if p.closes_at else "")
        for p in snap.polls
        if p.status == "open" and p.id not in voted and (p.closes_at is None or p.closes_at > now)
    ]


def _sign_offs_to_answer(builder: Builder, member_id: int) -> list[str]:
    """The latest sign-off of each deliverable that still waits for this person's answer."""
    latest = {sign.id: (sign.number, key) for key, (_, sign) in builder.latest_sign_offs().items() if sign}
    items = []
    for r in builder.snap.responses:
        if r.member_id == member_id and r.decision == "pending" and r.sign_off_id in latest:
            number, key = latest[r.sign_off_id]
            items.append(f"Sign-off SIGN-{number} waits for you: {TITLES.get(key, 'deliverable')}")
    return items


async def build_digest(
    session: AsyncSession, initiative: Initiative, now: datetime
) -> list[tuple[str, str, list[Element]]]:
    """(target_kind "user"|"channel", target_id, elements) for every message of this period."""
    builder = await snapshot_builder(session, initiative, now)
    builder.stale = stale_flags(builder, now)  # "Needs attention" names approvals out of date
    overview = builder.overview(now)
    out: list[tuple[str, str, list[Element]]] = [
        ("channel", initiative.conversation_id, [Text("Weekly digest"), *document_elements(overview)])
    ]
    for member in sorted(builder.snap.members.values(), key=lambda m: m.id):
        if not member.active:
            continue
        items = personal_items(builder, member.id, now)
        if items:
            out.append(
                (
                    "user",
                    member.user_id,
                    [
                        Heading(f"Your open items in {initiative.name}"),
                        ListItems(items),
                        Text("Type `summary` in the initiative's conversation for the whole picture."),
                    ],
                )
            )
    return out
