"""Figure 2: Teams message activities on /api/messages, against a bare botbuilder ActivityHandler.

The same `usecase propose "..."` as figure 1, sent as Bot Framework message activities to
`alignbot serve --dev` and to a bare ActivityHandler that replies "ok" (bench/floors.py). Both
reply through the Bot Connector named in the activity's serviceUrl: the fake connector of
tests/fakes, running in this process. The bare floor sends its reply inside the turn; Alignbot
writes its reply to the outbox with the use case and sends it right after the turn (so a crash
cannot lose it, docs/operations.md), so its latency is the turn's and the reply follows. Afterwards
the script waits for one reply per accepted activity and checks, for Alignbot, one stored use case
per accepted activity.

The activities go to 25 conversations, not figure 1's 10 channels: Teams allows a bot 7 messages a
second in one conversation, and Alignbot keeps to that (bot/ratelimit.py) where the bare floor does
not. At the floor's 60-95 replies a second, 10 conversations ask for more than 7 each, and
Alignbot's p99 was then its wait for Teams' allowance (docs/benchmarks.md, figure 2); 25 keep
every conversation under the limit, so the figure measures the bot, not the platform's pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import aiohttp

from bench import common
from tests.fakes.bot_connector import FakeBotConnector
from tests.support import message_activity

FIGURE = "fig2_teams"
USERS = 20
COUNT_USE_CASES = "SELECT count(*) FROM use_case"
CONVERSATIONS = 25  # under 4 messages a second each at the floor's peak (95): under Teams' 7


def activity_request(url: str, run: str, service_url: str) -> common.Request:
    async def send(http: aiohttp.ClientSession, i: int) -> int:
        activity = message_activity(
            f'usecase propose "{common.title(f"{run}.{i}")}" --impact 3 --feasibility 4',
            service_url=service_url,
            user=f"aad-{i % USERS:04d}",
            name=f"Person {i % USERS}",
            conversation=f"conv-{i % CONVERSATIONS:04d}",
            activity_id=f"{run}.{i}",
        )
        async with http.post(url + "/api/messages", json=activity) as resp:
            await resp.read()
            return resp.status

    return send


async def run(args) -> int:
    requests = args.requests or (40 if args.quick else 2000)
    warmup = 10 if args.quick else 50
    levels = [int(c) for c in args.concurrency.split(",")]
    limit = args.time_limit or (8 if args.quick else 10)
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    connector = await FakeBotConnector().start()
    rows: list[dict[str, Any]] = []
    checks: dict[str, bool] = {}

    async def load(proc: common.Proc, run_id: str, n: int, c: int) -> common.LoadResult:
        before = len(connector.activities)
        send = activity_request(proc.url, run_id, connector.url)
        res = await common.measured_load(proc, send, requests=n, concurrency=c, time_limit=limit)
        with contextlib.suppress(AssertionError):  # Alignbot's replies leave its outbox after the turns
            await connector.wait_for(before + res.ok, timeout=60)
        replies = len(connector.activities) - before
        checks[f"{run_id}: one reply per accepted activity ({replies}/{res.ok})"] = replies == res.ok
        return res

    try:
        with common.workdir() as work, common.databases(dbs, work) as urls:
            async with contextlib.AsyncExitStack() as stack:
                # The Slack face stays on (as in production); its API URL is never called here.
                floor = await stack.enter_async_context(common.floor_serve("teams", "http://127.0.0.1:9/", work))
                servers = {
                    kind: await stack.enter_async_context(
                        common.alignbot_serve(url, "http://127.0.0.1:9/", work, name=f"alignbot-{kind}")
                    )
                    for kind, url in urls.items()
                }
                accepted = dict.fromkeys(servers, 0)
                await load(floor, "warm-floor", warmup, 1)
                for kind, proc in servers.items():
                    accepted[kind] += (await load(proc, f"warm-{kind}", warmup, 1)).ok
                    await common.wait_for_count(urls[kind], COUNT_USE_CASES, accepted[kind])
                for c in levels:
                    floor_res = await load(floor, f"floor-c{c}", requests, c)
                    rows.append(common.compare_row("bare-botbuilder", "-", floor_res, None))
                    print(common.describe("bare-botbuilder", "-", floor_res), file=sys.stderr)
                    for kind, proc in servers.items():
                        res = await load(proc, f"{kind}-c{c}", requests, c)
                        accepted[kind] += res.ok
                        # Answers acked as "Working on it" finish later: let the backlog drain first.
                        await common.wait_for_count(urls[kind], COUNT_USE_CASES, accepted[kind])
                        r = common.compare_row("alignbot", kind, res, floor_res)
                        rows.append(r)
                        print(common.describe("alignbot", kind, res, floor_res), file=sys.stderr)
                        checks[f"{kind} c{c}: p99 ratio <= 1.5"] = r["p99_ratio"] <= 1.5
                        checks[f"{kind} c{c}: no errors"] = res.errors == 0
                for kind, url in urls.items():
                    stored = await common.scalar(url, COUNT_USE_CASES)
                    checks[f"{kind}: every accepted proposal stored once ({stored}/{accepted[kind]})"] = (
                        stored == accepted[kind]
                    )
    finally:
        await connector.stop()
    ratios = " ".join(f"{r['db']}@c{r['concurrency']}={r['p99_ratio']}" for r in rows if r["server"] == "alignbot")
    floor_rps = max((r["throughput_rps"] for r in rows if r["server"] == "bare-botbuilder"), default=0)
    return common.finish(
        FIGURE,
        f"fig2 teams: p99 ratio vs bare botbuilder {ratios}; floor peak {floor_rps} replies/s",
        {
            "target": "p99 ratio <= 1.5 against a bare botbuilder ActivityHandler replying 'ok'",
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
        "--time-limit", type=float, default=0, help="seconds per load, so run_all fits 10 minutes (10; quick 8)"
    )
    parser.add_argument("--requests", type=int, default=0, help="per concurrency level (default 2000, quick 40)")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
