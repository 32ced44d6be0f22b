"""Figure 5: reminders at scale, with two replicas sharing one PostgreSQL database.

10,000 pending milestone reminders are written straight into a fresh database: 1,000 milestones,
each with one owner (a different person) and ten reminders, the first of which all fall due at the
same instant a little after start-up; the other 9,000 are days away. Then two `alignbot serve`
processes start on that database. Measured: each replica's start-up (spawn to answering /healthz,
which includes the rehydrating sweep and timer arming) and memory; then, at the due instant, how
late each reminder reaches the fake Slack API, and that every one of the 1,000 people got exactly
one direct message, whichever replica sent it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from bench import common
from tests.fakes.slack_api import FakeSlackApi

FIGURE = "fig5_reminders"
PER_MILESTONE = 10
CHANNEL = "C0005"
LEAD_S = 30.0  # seconds from seeding to the due instant: both replicas must be up by then
REPLICAS = 2


def reminders_available() -> str:
    """Empty when reminders (#6) are in this tree; otherwise what is missing."""
    try:
        from schedules import reminders  # noqa: F401
        from storage.models import Milestone, MilestoneOwner, Reminder  # noqa: F401
    except ImportError as e:
        return f"reminders (#6) have not landed: {e}"
    return ""


async def seed(db_url: str, milestones: int, due_at: datetime) -> None:
    from storage.db import Database
    from storage.models import Initiative, Member, Milestone, MilestoneOwner, Reminder, Workspace

    now = datetime.now(UTC)
    db = Database(db_url)
    try:
        async with db.transaction() as s:
            ws = Workspace(platform="slack", external_id="T1", name="Bench", created_at=now)
            s.add(ws)
            await s.flush()
            ini = Initiative(
                workspace_id=ws.id, conversation_id=CHANNEL, name="rollout", created_by="UFACIL", created_at=now
            )
            s.add(ini)
            await s.flush()
            await s.execute(
                insert(Member),
                [
                    {"initiative_id": ini.id, "user_id": f"UO{i:05d}", "display_name": f"Owner {i}", "joined_at": now}
                    for i in range(milestones)
                ],
            )
            members = dict(
                (await s.execute(select(Member.user_id, Member.id).where(Member.initiative_id == ini.id))).all()
            )
            due_day = (due_at + timedelta(days=21)).date()
            await s.execute(
                insert(Milestone),
                [
                    {
                        "initiative_id": ini.id,
                        "number": i + 1,
                        "name": f"Workstream {i} ready",
                        "due_date": due_day,
                        "status": "open",
                        "created_at": now,
                    }
                    for i in range(milestones)
                ],
            )
            ms_ids = dict(
                (await s.execute(select(Milestone.number, Milestone.id).where(Milestone.initiative_id == ini.id))).all()
            )
            await s.execute(
                insert(MilestoneOwner),
                [{"milestone_id": ms_ids[i + 1], "member_id": members[f"UO{i:05d}"]} for i in range(milestones)],
            )
            await s.execute(
                insert(Reminder),
                [
                    {
                        "initiative_id": ini.id,
                        "key": f"bench:{i}:{n}",
                        "kind": "before",
                        "milestone_id": ms_ids[i + 1],
                        "due_at": due_at + timedelta(days=n),  # n = 0: the burst; the rest are days away
                        "state": "pending",
                        "payload": {"offset": PER_MILESTONE - n},
                        "late": False,
                        "last_error": "",
                        "created_at": now,
                    }
                    for i in range(milestones)
                    for n in range(PER_MILESTONE)
                ],
            )
    finally:
        await db.dispose()


async def start_replica(stack: contextlib.AsyncExitStack, db_url: str, fake_url: str, work, n: int):
    started = time.perf_counter()
    proc = await stack.enter_async_context(common.alignbot_serve(db_url, fake_url, work, name=f"replica-{n}"))
    return proc, time.perf_counter() - started


async def run(args) -> int:
    missing = reminders_available()
    if missing:
        return common.not_run(FIGURE, "fig5 reminders", missing, quick=args.quick, out_dir=args.out)
    milestones = args.milestones or (100 if args.quick else 1000)
    fake = await FakeSlackApi().start()
    checks: dict[str, bool] = {}
    result: dict[str, Any] = {}
    try:
        with common.workdir() as work, common.databases(["postgres"], work) as urls:
            from storage.migrate import upgrade

            url = urls["postgres"]
            await upgrade(url)
            lead = args.lead or LEAD_S
            due_wall = datetime.now(UTC) + timedelta(seconds=lead)
            t0 = time.perf_counter()
            await seed(url, milestones, due_wall)
            seed_s = time.perf_counter() - t0
            # The fake records time.monotonic(); the due instant on that clock:
            due_mono = time.monotonic() + (due_wall - datetime.now(UTC)).total_seconds()
            async with contextlib.AsyncExitStack() as stack:
                replicas = await asyncio.gather(
                    *(start_replica(stack, url, fake.url, work, n) for n in range(REPLICAS))
                )
                startup = [round(s, 2) for _, s in replicas]
                rss_started = [round(p.rss_mb(), 1) for p, _ in replicas]
                up_before_due = time.monotonic() < due_mono
                wait = max(0.0, due_mono - time.monotonic()) + 60
                try:
                    await fake.wait_for("chat.postMessage", milestones, timeout=wait)
                except AssertionError:
                    pass  # counted below: fewer than expected is the finding
                # Anything sent twice would arrive right behind the rest: wait for the outbox to drain.
                await _drained(url)
                rss_after = [round(p.rss_mb(), 1) for p, _ in replicas]
                claimed = Counter(
                    dict(await _rows(url, "SELECT claimed_by, count(*) FROM reminder WHERE state = 'sent' GROUP BY 1"))
                )
            pending_left = await common.scalar(url, "SELECT count(*) FROM reminder WHERE state = 'pending'")
            # When each was claimed (sent_at is the claim's clock) tells a late timer from slow sending.
            claim_lag = await _rows(
                url,
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - due_at)), "
                "max(extract(epoch FROM sent_at - due_at)) FROM reminder WHERE state = 'sent'",
            )
    finally:
        await fake.stop()
    posts = fake.of("chat.postMessage")
    per_person = Counter(c.params.get("channel") for c in posts)
    expected = {f"UO{i:05d}" for i in range(milestones)}
    late = sorted(c.at - due_mono for c in posts)
    within = sum(1 for d in late if d <= 2.0)
    imports = await asyncio.to_thread(common.import_seconds, "bot.app")
    result = {
        "reminders_pending_at_start": milestones * PER_MILESTONE,
        "import_bot_app_s": round(imports, 2),
        "due_together": milestones,
        "seed_s": round(seed_s, 1),
        "startup_s": startup,
        "rss_started_mb": rss_started,
        "rss_after_mb": rss_after,
        "replicas_up_before_due": up_before_due,
        "messages": len(posts),
        "people_reached": len(set(per_person) & expected),
        "people_reached_twice": sum(1 for n in per_person.values() if n > 1),
        "sent_by_replica": dict(claimed),
        "lateness_p50_s": round(common.percentile(late, 50), 2) if late else None,
        "lateness_p99_s": round(common.percentile(late, 99), 2) if late else None,
        "lateness_max_s": round(late[-1], 2) if late else None,
        "within_2s": within,
        "claimed_after_due_p50_s": _round(claim_lag[0][0]),
        "claimed_after_due_max_s": _round(claim_lag[0][1]),
        "still_pending_later_reminders": pending_left,
    }
    print(f"  postgres: {result}", file=sys.stderr)
    checks["start-up < 2 s (each replica)"] = max(startup) < 2.0
    checks["both replicas up before the reminders fell due"] = up_before_due
    checks[f"each person got exactly one reminder ({len(posts)}/{milestones})"] = (
        len(posts) == milestones and set(per_person) == expected
    )
    checks["99% within 2 s of due"] = within >= 0.99 * milestones
    checks["the 9,000 later reminders stay pending"] = pending_left == milestones * (PER_MILESTONE - 1)
    return common.finish(
        FIGURE,
        f"fig5 reminders ({milestones * PER_MILESTONE} pending, {milestones} due together, {REPLICAS} replicas on "
        f"PostgreSQL): start-up {'/'.join(f'{s}s' for s in startup)} (import alone {imports:.2f}s), "
        f"RSS {'/'.join(map(str, rss_started))} MB, "
        f"{len(posts)} sent, {result['people_reached_twice']} twice, p99 lateness {result['lateness_p99_s']}s",
        {
            "target": "start-up < 2 s with 10,000 pending; 1,000 due in the same minute each sent exactly once, "
            "99% within 2 s of due, two replicas on PostgreSQL",
            "result": result,
            "checks": checks,
        },
        quick=args.quick,
        out_dir=args.out,
    )


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


async def _rows(db_url: str, sql: str) -> list[tuple]:
    from sqlalchemy import text

    from storage.db import Database

    db = Database(db_url)
    try:
        async with db.reading() as s:
            return [tuple(r) for r in (await s.execute(text(sql))).all()]
    finally:
        await db.dispose()


async def _drained(db_url: str, timeout: float = 30.0) -> None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        busy = await common.scalar(db_url, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')")
        if busy == 0:
            return
        await asyncio.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = common.standard_args(__doc__.splitlines()[0])
    parser.add_argument("--milestones", type=int, default=0, help="people and reminders due together (1000)")
    parser.add_argument("--lead", type=float, default=0, help=f"seconds from seeding to the due instant ({LEAD_S:.0f})")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
