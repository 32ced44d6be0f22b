"""Figure 1: how long Slack waits for Alignbot's ack of a slash command, against bare Bolt.

Signed `/align usecase propose "..." --impact 3 --feasibility 4` over real HTTP to `alignbot serve`
(SQLite and PostgreSQL) and to a bare slack_bolt AsyncApp that only acks, at each concurrency,
same bodies, same run. Every acked proposal must also be in the database afterwards (one use case
row per 200), so a fast ack that lost the work shows up as a failure, not as a good number. The
channel posts that follow each ack are paced by Alignbot's per-channel rate limit (about one a
second, as Slack allows), so they are not waited for here.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import aiohttp

from bench import common
from tests.fakes.slack_api import FakeSlackApi
from tests.support import signed_headers, slash_body

FIGURE = "fig1_slack_ack"
USERS = 20
COUNT_USE_CASES = "SELECT count(*) FROM use_case"
CHANNELS = 10  # workshops in parallel: each channel is its own initiative


def stored_floor_url(kind: str, alignbot_url: str, work) -> str:
    """PostgreSQL: a table of its own in the run's database; SQLite: a file of its own."""
    return f"sqlite:///{work}/floor-stored.db" if kind == "sqlite" else alignbot_url


def slash_request(url: str, run: str) -> common.Request:
    """A signed `usecase propose` with arguments, from one of USERS people in one of CHANNELS."""

    async def send(http: aiohttp.ClientSession, i: int) -> int:
        body = slash_body(
            f'usecase propose "{common.title(f"{run}.{i}")}" --impact 3 --feasibility 4',
            user=f"U{i % USERS:04d}",
            channel=f"C{i % CHANNELS:04d}",
            channel_name=f"workshop-{i % CHANNELS}",
            trigger_id=f"bench.{run}.{i}",
        )
        async with http.post(
            url + "/slack/events",
            data=body.encode(),
            headers=signed_headers(body, secret=common.SIGNING_SECRET),
        ) as resp:
            await resp.read()
            return resp.status

    return send


async def load(proc: common.Proc, run: str, requests: int, concurrency: int, limit: float = 60.0) -> common.LoadResult:
    send = slash_request(proc.url, run)
    return await common.measured_load(proc, send, requests=requests, concurrency=concurrency, time_limit=limit)


async def run(args) -> int:
    requests = args.requests or (60 if args.quick else 2000)
    warmup = 10 if args.quick else 50
    levels = [int(c) for c in args.concurrency.split(",")]
    limit = args.time_limit or (8 if args.quick else 12)
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    fake = await FakeSlackApi().start()
    rows: list[dict[str, Any]] = []
    checks: dict[str, bool] = {}
    try:
        with common.workdir() as work, common.databases(dbs, work) as urls:
            async with contextlib.AsyncExitStack() as stack:
                floor = await stack.enter_async_context(common.floor_serve("slack", fake.url, work))
                servers = {
                    kind: await stack.enter_async_context(
                        common.alignbot_serve(url, fake.url, work, name=f"alignbot-{kind}")
                    )
                    for kind, url in urls.items()
                }
                # The same bare Bolt app, storing each command before its ack: see bench/floors.py.
                stored_floors = {
                    kind: await stack.enter_async_context(
                        common.floor_serve("slack-stored", fake.url, work, db_url=stored_floor_url(kind, url, work))
                    )
                    for kind, url in urls.items()
                }
                await load(floor, "warm-floor", warmup, 1)
                floor_acked = dict.fromkeys(stored_floors, 0)
                for kind, proc in stored_floors.items():
                    floor_acked[kind] += (await load(proc, f"warm-stored-{kind}", warmup, 1)).ok
                accepted = dict.fromkeys(servers, 0)
                for kind, proc in servers.items():
                    accepted[kind] += (await load(proc, f"warm-{kind}", warmup, 1)).ok
                    await common.wait_for_count(urls[kind], COUNT_USE_CASES, accepted[kind])
                for c in levels:
                    floor_res = await load(floor, f"floor-c{c}", requests, c, limit)
                    rows.append(common.compare_row("bare-bolt", "-", floor_res, None))
                    print(common.describe("bare-bolt", "-", floor_res), file=sys.stderr)
                    for kind, proc in servers.items():
                        stored_res = await load(stored_floors[kind], f"stored-{kind}-c{c}", requests, c, limit)
                        floor_acked[kind] += stored_res.ok
                        rows.append(common.compare_row("bolt+store", kind, stored_res, floor_res))
                        print(common.describe("bolt+store", kind, stored_res, floor_res), file=sys.stderr)
                        res = await load(proc, f"{kind}-c{c}", requests, c, limit)
                        accepted[kind] += res.ok
                        # Answers acked as "Working on it" finish later: let the backlog drain first.
                        await common.wait_for_count(urls[kind], COUNT_USE_CASES, accepted[kind])
                        r = common.compare_row("alignbot", kind, res, floor_res)
                        r["p99_ratio_vs_stored"] = round(common.ratio(res.p99, stored_res.p99), 2)
                        rows.append(r)
                        print(common.describe("alignbot", kind, res, floor_res), file=sys.stderr)
                        checks[f"{kind} c{c}: p99 ratio <= 1.5"] = r["p99_ratio"] <= 1.5
                        checks[f"{kind} c{c}: no errors"] = res.errors == 0
                        if c == 10:
                            checks[f"{kind} c10: p99 < 100 ms"] = res.p99 < 100
                for kind, url in urls.items():
                    kept = await common.scalar(stored_floor_url(kind, url, work), "SELECT count(*) FROM floor_delivery")
                    checks[f"bolt+store {kind}: every acked command stored ({kept}/{floor_acked[kind]})"] = (
                        kept == floor_acked[kind]
                    )
                    stored = await common.scalar(url, COUNT_USE_CASES)
                    checks[f"{kind}: every acked proposal stored once ({stored}/{accepted[kind]})"] = (
                        stored == accepted[kind]
                    )
    finally:
        await fake.stop()
    ratios = " ".join(f"{r['db']}@c{r['concurrency']}={r['p99_ratio']}" for r in rows if r["server"] == "alignbot")
    stored = " ".join(f"{r['db']}@c{r['concurrency']}={r['p99_ratio']}" for r in rows if r["server"] == "bolt+store")
    c10 = " ".join(f"{r['db']}={r['p99_ms']}ms" for r in rows if r["server"] == "alignbot" and r["concurrency"] == 10)
    return common.finish(
        FIGURE,
        f"fig1 slack ack: p99 ratio vs bare bolt {ratios}; p99@c10 {c10 or 'n/a'}; "
        f"bare bolt storing one row: p99 ratio {stored}",
        {
            "target": "p99 ratio <= 1.5 at every concurrency and p99 < 100 ms at c10, on SQLite and PostgreSQL",
            "requests_per_level": requests,
            "time_limit_per_load_s": limit,
            "rows": rows,
            "checks": checks,
        },
        quick=args.quick,
        out_dir=args.out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = common.standard_args(__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--concurrency", default="1,10,50")
    parser.add_argument(
        "--time-limit", type=float, default=0, help="seconds per load, so run_all fits 10 minutes (12; quick 8)"
    )
    parser.add_argument("--requests", type=int, default=0, help="per concurrency level (default 2000, quick 60)")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
