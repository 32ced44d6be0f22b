"""What `alignbot serve` and `alignbot outbox` do beyond wiring: run until SIGTERM, guard SQLite,
and let an operator see and retry the outbox's failures."""

from __future__ import annotations

import asyncio
import fcntl
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import IO, TextIO

from aiohttp import web
from sqlalchemy.engine import make_url

from bot.settings import Settings
from storage.repos import outbox as outbox_repo

FULL_COLLECTION_EVERY = 100  # gen-1 passes; CPython's default is 10


def settle_heap() -> None:
    """Once the app is built and serving.

    Everything built at start-up (modules, mappers, compiled templates) lives until exit: frozen,
    it leaves the collector's full passes, which otherwise walk it all again and again under load.
    A full pass still stops the loop for every request in flight (45-120 ms under bench fig1's
    load, where paced channel posts pile up), and CPython lets one run every ten gen-1 passes, a
    few seconds apart; a tenth as often took fig1's concurrency-10 p99 on PostgreSQL from 129-134
    to 100-118 ms, and a `summary all` of 2,000 use cases from 126-330 to 147-207 ms. Cyclic
    garbage is rare here, so little waits longer to be freed."""
    gc.freeze()
    gc.set_threshold(*gc.get_threshold()[:2], FULL_COLLECTION_EVERY)


log = logging.getLogger(__name__)


def hold_sqlite_lock(database_url: str) -> tuple[IO | None, str]:
    """One `serve` per SQLite file: a second replica would fight the first for the one writer.

    Returns the open lock file (keep it for the life of the process), or None and why not.
    """
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None, ""
    path = os.path.abspath(url.database) + ".serve-lock"
    handle = open(path, "a+")  # held open (and locked) until the process exits
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None, (
            f"another `alignbot serve` is already using the SQLite database {url.database} (lock {path} is held). "
            "SQLite has a single writer, so several replicas on one file would lose or delay work: run one "
            "replica, or set ALIGNBOT_DATABASE_URL to a PostgreSQL database to run several."
        )
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle, ""


async def run_http(bot, host: str, port: int, announce: Callable[[int], None]) -> int:
    """Serve until SIGTERM/SIGINT, then stop gracefully.

    Order on a signal: stop listening (the load balancer's health checks fail, new connections are
    refused), let requests in flight finish (up to ALIGNBOT_SHUTDOWN_SECONDS), then the app's own
    stop: acked Slack work posts its answers, sends under way finish, the scheduler stops, the
    database closes.
    """
    grace = bot.settings.shutdown_seconds
    runner = web.AppRunner(bot.web_app(), handle_signals=False, shutdown_timeout=grace)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    settle_heap()
    announce(runner.addresses[0][1])
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    print("alignbot: stopping: no new requests; finishing those in flight", file=sys.stderr, flush=True)
    await runner.cleanup()
    print("alignbot: stopped", file=sys.stderr, flush=True)
    return 0


async def outbox_command(settings: Settings, action: str, ids: list[int], out: TextIO) -> int:
    """`alignbot outbox list|retry`: failures stay visible until someone deals with them."""
    from bot.app import create_app

    app = create_app(settings)
    try:
        if action == "list":
            async with app.db.reading() as s:
                rows = await outbox_repo.troubled(s)
            if not rows:
                out.write("No failed or retrying messages in the outbox.\n")
                return 0
            out.write("id\tstate\tplatform\ttarget\tattempts\tnext attempt (UTC)\tlast error\n")
            for ob, platform in rows:
                target = f"{ob.target_kind}:{ob.target_id}"
                when = ob.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S")
                error = " ".join((ob.last_error or "").split())[:300]
                out.write(f"{ob.id}\t{ob.state}\t{platform}\t{target}\t{ob.attempts}\t{when}\t{error}\n")
            return 0
        async with app.db.transaction() as s:
            chosen = await outbox_repo.requeue_failed(s, app.clock(), ids or None)
        if not chosen:
            out.write("Nothing to retry: no failed messages" + (f" with id {ids}" if ids else "") + ".\n")
            return 1 if ids else 0
        while await app.outbox.drain():
            pass
        async with app.db.reading() as s:
            result = await outbox_repo.states_of(s, chosen)
        failed = 0
        for row_id in chosen:
            state, error = result.get(row_id, ("gone", ""))
            if state == "sent":
                out.write(f"{row_id}: sent\n")
            elif state == "pending":
                out.write(f"{row_id}: failed again, will be retried by `alignbot serve`: {error}\n")
            else:
                failed += 1
                out.write(f"{row_id}: {state}: {error}\n")
        return 1 if failed else 0
    finally:
        await app.outbox.stop()
        await app.db.dispose()
