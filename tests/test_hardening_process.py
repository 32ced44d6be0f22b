"""`alignbot serve` and `alignbot outbox` as real processes: SIGTERM, unsafe start-ups, outbox failures."""

from __future__ import annotations

import asyncio
import fcntl
import json
import subprocess
import sys
from datetime import UTC, datetime

import aiohttp
import psycopg
from sqlalchemy import select

from bot.faces.slack.face import SlackFace
from handlers.messages import Text, elements_to_json
from schedules.outbox import OutboxSender
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Outbox, UseCase
from storage.repos import record, scope
from tests.console import ROOT
from tests.serve_process import serve_env, start_serve
from tests.support import BOT_TOKEN, SIGNING_SECRET, message_activity
from tests.test_hardening_duplicates import pg_conninfo


async def in_flight(http: aiohttp.ClientSession, url: str) -> float:
    text = await (await http.get(url + "/metrics")).text()
    line = next(x for x in text.splitlines() if x.startswith("alignbot_http_in_flight "))
    return float(line.split()[1]) - 1  # minus this scrape


async def test_sigterm_stops_accepting_finishes_the_request_in_flight_and_exits(pg_url, connector):
    serve = await start_serve(serve_env(pg_url))
    http = aiohttp.ClientSession()
    try:
        lock = psycopg.connect(**pg_conninfo(pg_url))
        lock.execute("LOCK TABLE conversation_reference IN ACCESS EXCLUSIVE MODE")  # the turn will wait here
        activity = message_activity('usecase propose "Started before SIGTERM"', service_url=connector.url)
        pending = asyncio.ensure_future(http.post(serve.url + "/api/messages", json=activity))
        for _ in range(200):  # wait for the event: the server holds the request
            if await in_flight(http, serve.url) >= 1:
                break
            await asyncio.sleep(0.05)
        assert await in_flight(http, serve.url) >= 1

        serve.terminate()
        refused = False
        for _ in range(200):  # the listening socket closes first
            try:
                async with aiohttp.ClientSession() as fresh:
                    await fresh.get(serve.url + "/healthz")
            except aiohttp.ClientConnectionError:
                refused = True
                break
            await asyncio.sleep(0.05)
        assert refused, "still accepting connections after SIGTERM"
        assert serve.proc.returncode is None  # ... while the request in flight keeps it alive

        lock.rollback()
        lock.close()
        resp = await asyncio.wait_for(pending, 30)
        assert resp.status in (200, 201)
        reply = await connector.wait_for(1)
        assert "Started before SIGTERM" in json.dumps(reply[0]["attachments"])
        assert await serve.wait() == 0
        assert "alignbot: stopped" in serve.lines[-1]
        async with Database(pg_url).reading() as s:
            assert [u.title for u in (await s.execute(select(UseCase))).scalars()] == ["Started before SIGTERM"]

        logs = [json.loads(line) for line in serve.lines if line.startswith("{")]
        access = [e for e in logs if e["logger"] == "aiohttp.access" and "/api/messages" in e["message"]]
        assert access and all(len(e["request_id"]) >= 8 for e in access)  # JSON, with request ids
    finally:
        await http.close()
        await serve.stop()


def alignbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env
    )


def test_a_second_serve_on_one_sqlite_file_is_refused_with_how_to_fix(tmp_path):
    db = tmp_path / "one.db"
    with open(f"{db}.serve-lock", "a+") as held:  # what a first `serve` holds while it runs
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = alignbot("serve", "--port", "0", env=serve_env(f"sqlite:///{db}"))
    assert proc.returncode == 2
    assert "another `alignbot serve` is already using the SQLite database" in proc.stderr
    assert "PostgreSQL" in proc.stderr and "Traceback" not in proc.stderr


def test_unsafe_teams_and_oauth_configurations_are_refused(tmp_path):
    base = serve_env(f"sqlite:///{tmp_path / 'u.db'}")
    proc = alignbot("serve", "--port", "0", env=base | {"TEAMS_APP_PASSWORD": "pw-123456"})
    assert proc.returncode == 2 and "TEAMS_APP_ID" in proc.stderr and "--dev" in proc.stderr
    proc = alignbot("serve", "--port", "0", env=base | {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "cs"})
    assert proc.returncode == 2 and "SLACK_SIGNING_SECRET is not" in proc.stderr
    proc = alignbot("serve", "--port", "0", env=base | {"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "s"})
    assert proc.returncode == 2 and "Only one of SLACK_CLIENT_ID and SLACK_CLIENT_SECRET" in proc.stderr
    without_secret = {k: v for k, v in base.items() if k != "ALIGNBOT_SECRET"}
    proc = alignbot("serve", "--port", "0", env=without_secret)
    assert proc.returncode == 2 and "ALIGNBOT_SECRET is not set" in proc.stderr and "Traceback" not in proc.stderr


async def cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """The CLI without blocking this loop, which also runs the fake Slack it talks to."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert b"Traceback" not in err, err.decode()
    return proc.returncode or 0, out.decode()


async def test_outbox_failures_are_listed_and_retried_by_the_cli(sqlite_url, slack_api):
    await upgrade(sqlite_url)
    db = Database(sqlite_url)
    try:
        now = datetime.now(UTC)
        async with db.transaction() as s:
            ws = await scope.workspace(s, "slack", "T1", now)
            ini, _ = await scope.initiative(s, ws, "C1", name="c", creator="U1", is_private=False, now=now)
            await record.enqueue(
                s,
                workspace_id=ws.id,
                initiative_id=ini.id,
                target_kind="channel",
                target_id="C1",
                payload={"elements": elements_to_json([Text("Milestone M-1 is due tomorrow")])},
                now=now,
            )
        slack_api.fail_next("chat.postMessage", 200, body={"ok": False, "error": "channel_not_found"})
        face = SlackFace(core=None, token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=slack_api.url)  # type: ignore[arg-type]
        await OutboxSender(db, {"slack": face}, instance="t", clock=lambda: datetime.now(UTC)).drain()

        env = serve_env(sqlite_url, slack_api.url)
        code, out = await cli("outbox", env=env)
        assert code == 0
        assert "failed\tslack\tchannel:C1\t1" in out and "channel_not_found" in out

        code, out = await cli("outbox", "retry", env=env)
        assert code == 0 and out.strip() == "1: sent", out
        posts = await slack_api.wait_for("chat.postMessage", 2)
        assert "Milestone M-1 is due tomorrow" in str(posts[1].params["blocks"])
        async with db.reading() as s:
            row = (await s.execute(select(Outbox))).scalar_one()
        assert (row.state, row.attempts) == ("sent", 1)

        code, out = await cli("outbox", env=env)
        assert "No failed or retrying messages" in out
        code, out = await cli("outbox", "retry", "99", env=env)
        assert code == 1 and "no failed messages with id [99]" in out
    finally:
        await db.dispose()
