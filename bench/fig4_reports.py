"""Figure 4: rendering the deliverables of a company-wide assessment.

One initiative with 2,000 use cases, 20,000 ballots (20 polls x 1,000 voters, with their
participation rows), 500 risks, 200 milestones and 50 data sources, written straight through
the ORM on top of the report tests' sample initiative. Then, timed in this process against the
real database:

- `summary all` through the core (what a person waits for: load, build, reply elements) and its
  Block Kit rendering, which is what goes into the ack; the Block Kit is checked against Slack's
  limits. Drawing the summary's charts happens after the ack (the face uploads them) and is
  reported separately.
- `export html`: every deliverable as one self-contained HTML page with its charts.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bench import common

FIGURE = "fig4_reports"
FULL = {"use_cases": 2000, "ballots": 20000, "risks": 500, "milestones": 200, "sources": 50}
QUICK_SCALE = 0.1
POLLS = 20
CONVERSATION = "retail-assessment"

# Slack's documented Block Kit limits, checked here independently of bot/render/slack.py.
SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION_TEXT = 3000
SLACK_MAX_HEADER = 150
SLACK_MAX_FIELDS = 10
SLACK_MAX_FIELD_TEXT = 2000
SLACK_MAX_MESSAGE_TEXT = 40000


def blockkit_violations(messages: list[dict[str, Any]]) -> list[str]:
    """Every place a rendered message breaks a Block Kit limit (empty when all fit)."""
    problems = []
    for m, msg in enumerate(messages):
        blocks = msg.get("blocks", [])
        if len(blocks) > SLACK_MAX_BLOCKS:
            problems.append(f"message {m}: {len(blocks)} blocks > {SLACK_MAX_BLOCKS}")
        if len(msg.get("text", "")) > SLACK_MAX_MESSAGE_TEXT:
            problems.append(f"message {m}: fallback text over {SLACK_MAX_MESSAGE_TEXT}")
        for b, block in enumerate(blocks):
            text = (block.get("text") or {}).get("text", "")
            limit = SLACK_MAX_HEADER if block.get("type") == "header" else SLACK_MAX_SECTION_TEXT
            if len(text) > limit:
                problems.append(f"message {m} block {b}: {block.get('type')} text {len(text)} > {limit}")
            fields = block.get("fields") or []
            if len(fields) > SLACK_MAX_FIELDS:
                problems.append(f"message {m} block {b}: {len(fields)} fields > {SLACK_MAX_FIELDS}")
            problems += [
                f"message {m} block {b}: field text over {SLACK_MAX_FIELD_TEXT}"
                for f in fields
                if len(f.get("text", "")) > SLACK_MAX_FIELD_TEXT
            ]
    return problems


async def seed(db_url: str, sizes: dict[str, int]) -> None:
    """The sample initiative, scaled up with bulk inserts (the report reads rows, not history)."""
    from storage.db import Database
    from storage.models import Ballot, DataSource, Member, Milestone, Participation, Poll, PollOption, Risk, UseCase
    from tests.report_sample import T0, insert_sample

    rng = random.Random(4)
    db = Database(db_url)
    try:
        async with db.transaction() as s:
            ini = await insert_sample(s, name=CONVERSATION)
            iid = ini.id
            base = 100  # numbers above the sample's own
            voters = max(1, sizes["ballots"] // POLLS)
            await s.execute(
                insert(Member),
                [
                    {
                        "initiative_id": iid,
                        "user_id": f"V{i:05d}",
                        "display_name": f"Voter {i}",
                        "role": "stakeholder",
                        "joined_at": T0,
                    }
                    for i in range(voters)
                ],
            )
            member_ids = [
                m.id for m in (await s.execute(Member.__table__.select().where(Member.initiative_id == iid))).all()
            ]
            facilitator = member_ids[0]
            await s.execute(
                insert(UseCase),
                [
                    {
                        "initiative_id": iid,
                        "number": base + i,
                        "title": common.title(f"uc.{i}"),
                        "description": "Generated for the report benchmark. " * 3,
                        "category": "analytics",
                        "impact": rng.randint(1, 5),
                        "feasibility": rng.randint(1, 5),
                        "status": "proposed",
                        "proposer_member_id": rng.choice(member_ids),
                        "created_at": T0,
                        "updated_at": T0,
                    }
                    for i in range(sizes["use_cases"])
                ],
            )
            await s.execute(
                insert(Risk),
                [
                    {
                        "initiative_id": iid,
                        "number": base + i,
                        "title": f"Risk {i}: " + common.title(f"risk.{i}"),
                        "category": rng.choice(["skills gap", "security", "budget", "schedule"]),
                        "likelihood": rng.randint(1, 5),
                        "impact": rng.randint(1, 5),
                        "mitigation": "Mitigation plan with owners and dates.",
                        "owner_member_id": rng.choice(member_ids),
                        "status": "open",
                        "created_by_member_id": facilitator,
                        "created_at": T0,
                        "updated_at": T0,
                    }
                    for i in range(sizes["risks"])
                ],
            )
            start = date(2027, 1, 4)
            await s.execute(
                insert(Milestone),
                [
                    {
                        "initiative_id": iid,
                        "number": base + i,
                        "name": f"Milestone {i}",
                        "start_date": start + timedelta(days=i),
                        "due_date": start + timedelta(days=i + 5),
                        "status": "open",
                        "created_at": T0,
                    }
                    for i in range(sizes["milestones"])
                ],
            )
            await s.execute(
                insert(DataSource),
                [
                    {
                        "initiative_id": iid,
                        "number": base + i,
                        "name": f"Source {i}",
                        "type": "database",
                        "size": "1 TB",
                        "refresh": "daily",
                        "quality": rng.randint(1, 5),
                        "accessibility": rng.randint(1, 5),
                        "security": rng.randint(1, 5),
                        "created_by_member_id": facilitator,
                        "created_at": T0,
                        "updated_at": T0,
                    }
                    for i in range(sizes["sources"])
                ],
            )
            for p in range(POLLS):
                poll = Poll(
                    initiative_id=iid,
                    number=base + p,
                    question=f"Priorities, round {p}",
                    method="single",
                    status="closed",
                    salt=f"salt{p}",
                    created_by_member_id=facilitator,
                    created_at=T0,
                    closes_at=T0 + timedelta(days=1),
                    closed_at=T0 + timedelta(days=1),
                )
                s.add(poll)
                await s.flush()
                await s.execute(
                    insert(PollOption),
                    [{"poll_id": poll.id, "position": k, "label": f"Option {k}"} for k in range(1, 6)],
                )
                voted = T0 + timedelta(hours=5)
                await s.execute(
                    insert(Participation),
                    [{"poll_id": poll.id, "member_id": m, "voted_at": voted} for m in member_ids[:voters]],
                )
                await s.execute(
                    insert(Ballot),
                    [
                        {
                            "poll_id": poll.id,
                            "voter_key": f"k{p}.{v}",
                            "choices": {"option": rng.randint(1, 5)},
                            "updated_at": voted,
                        }
                        for v in range(voters)
                    ],
                )
    finally:
        await db.dispose()


async def measure(db_url: str, runs: int) -> dict[str, Any]:
    from bot.app import create_app
    from bot.export import export_initiative
    from bot.operations import settle_heap
    from bot.render import slack as blocks
    from bot.render import teams as cards
    from bot.render.charts import render_chart
    from bot.settings import Settings
    from handlers.messages import Actor, Image, Incoming
    from storage.repos import scope

    app = create_app(Settings(database_url=db_url, secret="bench-secret"))
    settle_heap()  # the collector as `alignbot serve` sets it once it is up
    incoming = Incoming(Actor("console", "console", "U01", "Dana Facilitator"), CONVERSATION, text="summary all")
    core_s, slack_s, teams_s, html_s = [], [], [], []
    violations: list[str] = []
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            reply = await app.core.handle(incoming)
            t1 = time.perf_counter()
            msgs = blocks.messages(reply.elements)
            t2 = time.perf_counter()
            team_cards = cards.cards(reply.elements)
            t3 = time.perf_counter()
            core_s.append(t1 - t0)
            slack_s.append(t2 - t1)
            teams_s.append(t3 - t2)
            if not reply.ok:
                raise RuntimeError(f"summary all was refused: {reply.plain_text()[:500]}")
            violations = blockkit_violations(msgs)
        images = [e for e in reply.elements if isinstance(e, Image) and getattr(e, "chart", None)]
        t0 = time.perf_counter()
        for image in images:
            await asyncio.to_thread(render_chart, image.chart, image.data)
        charts_s = time.perf_counter() - t0
        async with app.db.reading() as s:
            ws = await scope.workspace_if_exists(s, "console", "console")
            ini = await scope.find_initiative(s, ws.id, CONVERSATION)
            for _ in range(runs):
                t0 = time.perf_counter()
                files = await export_initiative(s, ini, "html", datetime.now(UTC))
                html_s.append(time.perf_counter() - t0)
        page = files[0].content.decode()
    finally:
        await app.db.dispose()
    return {
        "summary_core_ms_median": round(statistics.median(core_s) * 1000, 1),
        "summary_core_ms_max": round(max(core_s) * 1000, 1),
        "summary_blockkit_ms_median": round(statistics.median(slack_s) * 1000, 1),
        "summary_ack_path_ms_median": round(
            statistics.median(a + b for a, b in zip(core_s, slack_s, strict=True)) * 1000, 1
        ),
        "summary_teams_cards_ms_median": round(statistics.median(teams_s) * 1000, 1),
        "summary_elements": len(reply.elements),
        "slack_messages": len(msgs),
        "slack_blocks": sum(len(m["blocks"]) for m in msgs),
        "slack_payload_bytes": sum(len(json.dumps(m)) for m in msgs),
        "teams_cards": len(team_cards),
        "blockkit_violations": violations[:20],
        "summary_charts": len(images),
        "summary_charts_drawn_after_ack_ms": round(charts_s * 1000, 1),
        "html_export_ms_median": round(statistics.median(html_s) * 1000, 1),
        "html_export_ms_max": round(max(html_s) * 1000, 1),
        "html_bytes": len(page),
        "html_embedded_images": page.count("data:image/"),
    }


async def run(args) -> int:
    scale = args.scale or (QUICK_SCALE if args.quick else 1.0)
    sizes = {k: max(POLLS if k == "ballots" else 1, round(v * scale)) for k, v in FULL.items()}
    runs = 2 if args.quick else 3
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    results: dict[str, Any] = {}
    checks: dict[str, bool] = {}
    with common.workdir() as work, common.databases(dbs, work) as urls:
        from storage.migrate import upgrade

        for kind, url in urls.items():
            await upgrade(url)
            t0 = time.perf_counter()
            await seed(url, sizes)
            seeded = time.perf_counter() - t0
            m = await measure(url, runs)
            m["seed_s"] = round(seeded, 1)
            results[kind] = m
            print(f"  {kind}: {m}", file=sys.stderr)
            checks[f"{kind}: summary all < 300 ms"] = m["summary_ack_path_ms_median"] < 300
            checks[f"{kind}: HTML export with charts < 2 s"] = m["html_export_ms_median"] < 2000
            checks[f"{kind}: Block Kit within limits"] = not m["blockkit_violations"]
            checks[f"{kind}: HTML has its charts"] = m["html_embedded_images"] > 0
    parts = [
        f"{k} summary {r['summary_ack_path_ms_median']}ms ({r['slack_messages']} msgs), "
        f"html {r['html_export_ms_median']}ms"
        for k, r in results.items()
    ]
    return common.finish(
        FIGURE,
        f"fig4 reports ({sizes['use_cases']} UC, {sizes['ballots']} ballots): " + "; ".join(parts),
        {
            "target": "summary all < 300 ms, HTML export with charts < 2 s, Slack output within Block Kit limits",
            "sizes": sizes,
            "results": results,
            "checks": checks,
        },
        quick=args.quick,
        out_dir=args.out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = common.standard_args(__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--scale", type=float, default=0, help="fraction of the full data set (quick: 0.1)")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
