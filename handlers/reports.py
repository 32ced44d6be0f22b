"""Gathering the deliverables: one snapshot of the initiative, then documents built from it.

`deliverable_version` is what a sign-off pins: a hash of the deliverable's data (the Document,
canonically serialised) and a plain-text copy of it. Rendering stays in `bot/`, so a template or
stylesheet change never makes an approval stale; only a changed figure, name or row does. The
pinned Document depends on the data only (not the clock), and the RACI deliverable's leaves out
the approvals table (which would otherwise change the moment someone approves it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import Element, Fields, Heading, ListItems, Table, Text
from handlers.report_summary import executive_summary
from handlers.report_views import DELIVERABLES, KEYS, Builder, Document
from storage.models import Initiative
from storage.repos.reports import Snapshot, last_digest_at, load_snapshot

CHANGES_WINDOW = timedelta(days=7)


def initiative_zone(initiative: Initiative, default: str = "UTC") -> ZoneInfo:
    return ZoneInfo(initiative.timezone or default)


def content_hash(doc: Document) -> str:
    """sha256 of the Document's data with sorted keys. Pictures are left out: a chart draws figures
    the sections already hold, and its layout is presentation."""
    data = dataclasses.asdict(doc)
    for section in data["sections"]:
        section.pop("chart")
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def document_text(doc: Document) -> str:
    """The plain-text copy a sign-off keeps and previews: every heading, fact, item and row."""
    lines = [doc.title, ""]
    for s in doc.sections:
        lines.append(s.heading)
        lines += [s.text] if s.text else []
        lines += [f"{k}: {v}" for k, v in s.facts]
        if s.table is not None and s.table.rows:
            lines += [" | ".join(s.table.headers), *(" | ".join(r) for r in s.table.rows)]
        else:
            lines += [f"- {i}" for i in s.items] or ([s.empty] if s.empty else [])
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def build_document(builder: Builder, key: str, now: datetime, stale: dict[str, bool] | None = None) -> Document:
    if key == "summary":
        return executive_summary(builder, now, stale)
    return builder.build(key, now, stale)


def pinned_document(builder: Builder, key: str, now: datetime) -> Document:
    """What a sign-off pins: the data alone, never the day (the plan's statuses are the recorded
    open or done, not "overdue", which would make an approval stale at midnight)."""
    if key == "raci":
        return builder.raci(with_approvals=False)
    if key == "plan":
        return builder.plan(None)
    return build_document(builder, key, now)


def stale_flags(builder: Builder, now: datetime) -> dict[str, bool]:
    """Deliverable key -> True when its latest sign-off pinned different content than today's."""
    flags = {}
    for key, (_, sign) in builder.latest_sign_offs().items():
        if sign is not None and key in DELIVERABLES:
            flags[key] = sign.content_hash != content_hash(pinned_document(builder, key, now))
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


async def deliverable_version(
    session: AsyncSession, initiative: Initiative, key: str, *, now: datetime
) -> tuple[str, str]:
    """(hash, plain-text copy) of one deliverable (key in KEYS) as a sign-off pins it."""
    if key not in KEYS:
        raise ValueError(f"unknown deliverable {key!r}; one of {', '.join(KEYS)}")
    doc = pinned_document(await snapshot_builder(session, initiative, now), key, now)
    return content_hash(doc), document_text(doc)


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
