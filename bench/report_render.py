"""How long the full report takes on a large initiative: 2,000 use cases, 20,000 ballots, 500 risks,
200 milestones (the issue's bar: well under a second for the data and the text formats).

    .venv/bin/python -m bench.report_render [--db sqlite:///tmp/bench.db]

Prints the time of each stage (best of 3); charts are timed apart, since they are drawn in a
worker thread when a reply or an export is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from bot.export import draw_all, xlsx_bytes
from bot.render.documents import Cover, render_html, render_markdown
from handlers.report_views import KEYS
from handlers.reports import build_documents
from storage.db import Database
from storage.migrate import upgrade_sync
from storage.models import Ballot, Initiative, Member, Milestone, Poll, Risk, UseCase, Workspace

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


async def populate(db: Database) -> Initiative:
    async with db.transaction() as s:
        ws = Workspace(platform="console", external_id="bench", created_at=NOW)
        s.add(ws)
        await s.flush()
        ini = Initiative(workspace_id=ws.id, conversation_id="bench", name="bench", created_by="u0", created_at=NOW)
        s.add(ini)
        await s.flush()
        members = [
            Member(initiative_id=ini.id, user_id=f"u{i}", display_name=f"Person {i}", joined_at=NOW) for i in range(50)
        ]
        s.add_all(members)
        await s.flush()
        polls = [
            Poll(
                initiative_id=ini.id,
                number=i,
                question=f"Q{i}",
                method="ranked",
                status="closed",
                salt=f"s{i}",
                created_by_member_id=members[0].id,
                created_at=NOW,
            )
            for i in range(1, 11)
        ]
        s.add_all(polls)
        await s.flush()
        s.add_all(
            UseCase(
                initiative_id=ini.id,
                number=n,
                title=f"Use case {n}",
                impact=n % 5 + 1,
                feasibility=n // 5 % 5 + 1,
                priority_rank=n if n <= 50 else None,
                proposer_member_id=members[n % 50].id,
                data_sources=f"SRC-{n % 20}",
                created_at=NOW,
                updated_at=NOW,
            )
            for n in range(1, 2001)
        )
        s.add_all(
            Ballot(poll_id=polls[i % 10].id, voter_key=f"k{i}", choices={"ranking": [1, 2, 3]}, updated_at=NOW)
            for i in range(20000)
        )
        s.add_all(
            Risk(
                initiative_id=ini.id,
                number=n,
                title=f"Risk {n}",
                category="c",
                likelihood=n % 5 + 1,
                impact=n // 5 % 5 + 1,
                mitigation="m" if n % 3 else "",
                created_by_member_id=members[0].id,
                created_at=NOW,
                updated_at=NOW,
            )
            for n in range(1, 501)
        )
        s.add_all(
            Milestone(
                initiative_id=ini.id,
                number=n,
                name=f"Milestone {n}",
                start_date=date(2026, 1, 1) + timedelta(n),
                due_date=date(2026, 1, 10) + timedelta(n),
                created_at=NOW,
            )
            for n in range(1, 201)
        )
    return ini


def best(times: list[float]) -> str:
    return f"{min(times) * 1000:.0f} ms"


async def main(url: str) -> None:
    upgrade_sync(url)
    db = Database(url)
    ini = await populate(db)
    stages: dict[str, list[float]] = {"load + build": [], "markdown": [], "html": [], "xlsx": []}
    for _ in range(3):
        t = time.perf_counter()
        async with db.reading() as s:
            docs = await build_documents(s, ini, list(KEYS), NOW)
        stages["load + build"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for d in docs:
            render_markdown(d)
        stages["markdown"].append(time.perf_counter() - t)
        t = time.perf_counter()
        render_html(docs, charts={}, cover=Cover("bench"), generated="now")
        stages["html"].append(time.perf_counter() - t)
        t = time.perf_counter()
        xlsx_bytes(docs, Cover("bench"), NOW)
        stages["xlsx"].append(time.perf_counter() - t)
    t = time.perf_counter()
    draw_all(docs)
    charts = time.perf_counter() - t
    await db.dispose()
    for name, times in stages.items():
        print(f"{name:14} {best(times)}")
    print(f"{'charts (4)':14} {charts * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    asyncio.run(main(url))
