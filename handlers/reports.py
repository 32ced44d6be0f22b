"""Gathering the deliverables: one snapshot of the initiative, then documents built from it.

`deliverable_markdown` is the canonical text of a deliverable: sign-off requests hash it and
keep it as their snapshot. It depends on the data only (not the clock) for the six deliverables,
and the RACI deliverable's canonical text leaves out the approvals table (which would otherwise
change the moment someone approves it, making every approval instantly stale).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.render.documents import render_markdown
from handlers.messages import Element, Fields, Heading, ListItems, Table, Text
from handlers.report_summary import executive_summary
from handlers.report_views import DELIVERABLES, KEYS, Builder, Document
from storage.models import Initiative
from storage.repos.reports import Snapshot, last_digest_at, load_snapshot

CHANGES_WINDOW = timedelta(days=7)


def initiative_zone(initiative: Initiative, default: str = "UTC") -> ZoneInfo:
    return ZoneInfo(initiative.timezone or default)


def content_hash(markdown: str) -> str:
    return hashlib.sha256(markdown.encode("utf-8")).hexdigest()


def build_document(builder: Builder, key: str, now: datetime, stale: dict[str, bool] | None = None) -> Document:
    if key == "summary":
        return executive_summary(builder, now, stale)
    return builder.build(key, now, stale)


def canonical_markdown(builder: Builder, key: str, now: datetime) -> str:
    """What a sign-off pins: the data alone, never the day (the plan's statuses are the recorded
    open or done, not "overdue", which would make an approval stale at midnight)."""
    if key == "raci":
        doc = builder.raci(with_approvals=False)
    elif key == "plan":
        doc = builder.plan(None)
    else:
        doc = build_document(builder, key, now)
    return render_markdown(doc)


def stale_flags(builder: Builder, now: datetime) -> dict[str, bool]:
    """Deliverable key -> True when its latest sign-off pinned different content than today's."""
    flags = {}
    for key, (_, sign) in builder.latest_sign_offs().items():
        if sign is not None and key in DELIVERABLES:
            flags[key] = sign.content_hash != content_hash(canonical_markdown(builder, key, now))
    return flags


async def snapshot_builder(
    session: AsyncSession, initiative: Initiative, now: datetime, default_tz: str = "UTC"
) -> Builder:
    previous = await last_digest_at(session, initiative.id, now)
    snap: Snapshot = await load_snapshot(session, initiative, since=previous or now - CHANGES_WINDOW)
    snap.since_digest = previous is not None
    return Builder(snap, initiative_zone(initiative, default_tz))


async def build_documents(
    session: AsyncSession, initiative: Initiative, keys: list[str], now: datetime, default_tz: str = "UTC"
) -> list[Document]:
    builder = await snapshot_builder(session, initiative, now, default_tz)
    stale = stale_flags(builder, now) if {"raci", "summary", "overview"} & set(keys) else {}
    return [build_document(builder, k, now, stale) for k in keys]


async def deliverable_markdown(session: AsyncSession, initiative: Initiative, key: str, *, now: datetime) -> str:
    """The canonical Markdown of one deliverable (key in KEYS), as sign-offs hash it."""
    if key not in KEYS:
        raise ValueError(f"unknown deliverable {key!r}; one of {', '.join(KEYS)}")
    builder = await snapshot_builder(session, initiative, now)
    return canonical_markdown(builder, key, now)


def document_elements(doc: Document) -> list[Element]:
    """A deliverable as neutral chat elements; every row and item is kept (faces split, never cut)."""
    out: list[Element] = [Heading(doc.title)]
    for s in doc.sections:
        out.append(Heading(s.heading))
        if s.text:
            out.append(Text(s.text))
        if s.facts:
            out.append(Fields(list(s.facts)))
        if s.table is not None and s.table.rows:
            out.append(Table(list(s.table.headers), [list(r) for r in s.table.rows]))
        elif s.items:
            out.append(ListItems(list(s.items)))
        elif s.empty and s.chart is None and not s.facts:
            out.append(Text(s.empty))
        if s.chart is not None:
            out.append(s.chart)
    return out
