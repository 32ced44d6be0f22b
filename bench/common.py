"""What every benchmark script shares: load generation, percentiles, servers under test, results.

Numbers are only meaningful as ratios against a floor measured on the same machine in the same
run, so the helpers here make it easy to run the same load against two servers back to back.
Everything listens on 127.0.0.1 with OS-chosen ports; the servers under test are real
subprocesses (`alignbot serve`, or a bare framework app), never the load client's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
START_TIMEOUT = 60.0

# ---- pure arithmetic ------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of the sample at or below it.

    Nearest rank never invents a latency that was not observed, which matters for p99 of small
    quick-mode samples.
    """
    if not values:
        return math.nan
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(value: float, floor: float) -> float:
    return value / floor if floor > 0 else math.inf


@dataclass
class LoadResult:
    """One load run: latencies in milliseconds of the requests that got a 2xx."""

    requests: int
    concurrency: int
    ok: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    server_cpu_ms: float | None = None  # server CPU per accepted request, when measured

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def max_ms(self) -> float:
        return max(self.latencies_ms) if self.latencies_ms else math.nan

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "concurrency": self.concurrency,
            "ok": self.ok,
            "errors": self.errors,
            "statuses": self.statuses,
            "seconds": round(self.seconds, 3),
            "p50_ms": round(self.p50, 2),
            "p99_ms": round(self.p99, 2),
            "max_ms": round(self.max_ms, 2),
            "throughput_rps": round(self.throughput, 1),
            **({"server_cpu_ms_per_request": round(self.server_cpu_ms, 2)} if self.server_cpu_ms is not None else {}),
        }


# ---- load generation ------------------------------------------------------------------------

Request = Callable[[aiohttp.ClientSession, int], Awaitable[int]]


async def run_load(
    send: Request, *, requests: int, concurrency: int, time_limit: float = 120.0, connector_limit: int | None = None
) -> LoadResult:
    """Send `requests` requests with at most `concurrency` in flight; stop early after `time_limit`.

    `send(session, i)` makes request number i and returns its HTTP status. Each worker takes the
    next number, so the counts are exact however fast or slow the server is.
    """
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    counter = iter(range(requests))
    deadline = time.perf_counter() + time_limit
    conn = aiohttp.TCPConnector(limit=connector_limit or concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:

        async def worker() -> None:
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                try:
                    status = await send(session, i)
                except (aiohttp.ClientError, TimeoutError) as e:
                    key = type(e).__name__
                    statuses[key] = statuses.get(key, 0) + 1
                    continue
                elapsed = (time.perf_counter() - t0) * 1000
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if 200 <= status < 300:
                    latencies.append(elapsed)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    ok = len(latencies)
    sent = sum(statuses.values())
    return LoadResult(sent, concurrency, ok, sent - ok, seconds, latencies, statuses)


_WORDS = (
    "migrate legacy etl pipelines churn forecast retail stores supplier invoices fraud scoring claims "
    "inventory demand planning customer lifetime value marketing attribution sensor telemetry predictive "
    "maintenance clinical trials genomics payroll audit ledger reconciliation pricing elasticity route "
    "optimisation warehouse sustainability emissions reporting call centre sentiment knowledge search "
    "contract review energy trading risk exposure loyalty offers recommendation engine data quality "
    "lineage catalogue governance dashboard regional sales quarterly budget hiring funnel attrition "
    "patient readmission fleet fuel weather yield harvest logistics returns basket analysis churn "
    "subscription billing anomaly detection network outage capacity cloud cost chargeback vendor spend "
    "compliance screening sanctions onboarding kyc document extraction translation chatbot survey"
).split()


def title(seed: str) -> str:
    """A plausible, distinct use-case title: random words, so near-duplicate checks do not refuse it."""
    import random

    rng = random.Random(seed)
    return " ".join(rng.sample(_WORDS, 6)).capitalize()


async def measured_load(
    proc: Proc, send: Request, *, requests: int, concurrency: int, time_limit: float = 120.0
) -> LoadResult:
    """run_load, also recording the server process's CPU time per accepted request during the run
    (PostgreSQL's own CPU is in its processes, not counted; work left after the run is not either)."""
    before = proc.cpu_seconds()
    res = await run_load(send, requests=requests, concurrency=concurrency, time_limit=time_limit)
    res.server_cpu_ms = (proc.cpu_seconds() - before) * 1000 / max(1, res.ok)
    return res


def compare_row(server: str, db: str, res: LoadResult, floor: LoadResult | None) -> dict[str, Any]:
    out = {"server": server, "db": db, **res.summary()}
    if floor is not None:
        out["p50_ratio"] = round(ratio(res.p50, floor.p50), 2)
        out["p99_ratio"] = round(ratio(res.p99, floor.p99), 2)
    return out


def describe(server: str, db: str, res: LoadResult, floor: LoadResult | None = None) -> str:
    extra = ""
    if floor is not None:
        extra = f" ratio p50 {ratio(res.p50, floor.p50):.2f} p99 {ratio(res.p99, floor.p99):.2f}"
    return (
        f"  {server:11} {db:8} c={res.concurrency:<3} n={res.ok}/{res.requests} p50 {fmt_ms(res.p50)} "
        f"p99 {fmt_ms(res.p99)} {res.throughput:.0f} req/s"
        + (f" cpu {res.server_cpu_ms:.1f}ms/req" if res.server_cpu_ms is not None else "")
        + extra
    )


def free_port() -> int:
    """An OS-chosen free port (bind port 0), for a server in another process."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- servers under test ---------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc (Linux).

    CPU per request is the number that survives a noisy machine: latency under load is mostly
    queueing behind that CPU on the server's one event loop.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Proc:
    """A server subprocess on 127.0.0.1:port; its stderr goes to a log file shown on failure."""

    name: str
    popen: subprocess.Popen
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss_mb(self) -> float:
        return rss_mb(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def import_seconds(module: str, runs: int = 3) -> float:
    """Median seconds for a fresh interpreter to import `module`: the part of any start-up that is
    spent before our own code runs (imports of the app and its libraries)."""
    import statistics

    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([PYTHON, "-c", f"import {module}"], cwd=ROOT, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def wait_healthy(proc: Proc, path: str = "/healthz", timeout: float = START_TIMEOUT) -> float:
    """Poll until the server answers (or exits); returns seconds since it was spawned."""
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        delay = 0.01
        while time.perf_counter() - started < timeout:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_tail()}")
            try:
                async with http.get(proc.url + path) as resp:
                    if resp.status < 500:
                        return time.perf_counter() - started
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.2)
    raise RuntimeError(f"{proc.name} did not answer within {timeout}s:\n{proc.log_tail()}")


def spawn(name: str, args: list[str], port: int, env: dict[str, str], workdir: Path) -> Proc:
    log = workdir / f"{name}.log"
    popen = subprocess.Popen(
        [PYTHON, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    return Proc(name, popen, f"http://127.0.0.1:{port}", log)


def serve_env(slack_api_url: str, **extra: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "ALIGNBOT_SECRET": "bench-secret",
        "ALIGNBOT_LOG_LEVEL": "WARNING",
        "ALIGNBOT_TIMEZONE": "UTC",
        "TEAMS_APP_ID": "",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


@contextlib.asynccontextmanager
async def alignbot_serve(
    db_url: str, slack_api_url: str, workdir: Path, *, name: str = "alignbot", **env: str
) -> AsyncIterator[Proc]:
    """The real `alignbot serve --dev` (Slack against the fake API, Teams without auth)."""
    port = free_port()
    args = ["-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--db", db_url, "--dev"]
    proc = spawn(name, args, port, serve_env(slack_api_url, **env), workdir)
    try:
        await wait_healthy(proc)
        yield proc
    finally:
        proc.stop()


@contextlib.asynccontextmanager
async def floor_serve(kind: str, slack_api_url: str, workdir: Path, db_url: str = "") -> AsyncIterator[Proc]:
    """A bare framework app (bench/floors.py) on the same aiohttp stack: the floor to compare with."""
    port = free_port()
    args = ["-m", "bench.floors", kind, "--port", str(port)] + (["--db", db_url] if db_url else [])
    proc = spawn(f"floor-{kind}", args, port, serve_env(slack_api_url), workdir)
    try:
        await wait_healthy(proc)
        yield proc
    finally:
        proc.stop()


# ---- databases ------------------------------------------------------------------------------


def postgres_admin_url() -> str:
    return os.environ.get("ALIGNBOT_BENCH_POSTGRES_URL") or os.environ.get("ALIGNBOT_TEST_POSTGRES_URL") or ""


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one run, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(admin_url)
    name = f"alignbot_bench_{uuid.uuid4().hex[:10]}"

    def admin() -> psycopg.Connection:
        return psycopg.connect(
            host=u.host,
            port=u.port or 5432,
            user=u.username,
            password=u.password,
            dbname=u.database,
            autocommit=True,
        )

    with admin() as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield u.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    finally:
        with admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def databases(wanted: Sequence[str], workdir: Path) -> Iterator[dict[str, str]]:
    """URLs for the requested backends ("sqlite", "postgres"); PostgreSQL needs an admin URL."""
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for kind in wanted:
            if kind == "sqlite":
                urls[kind] = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
            elif kind == "postgres":
                admin = postgres_admin_url()
                if not admin:
                    raise SystemExit(
                        "PostgreSQL runs need ALIGNBOT_BENCH_POSTGRES_URL (or ALIGNBOT_TEST_POSTGRES_URL), "
                        "e.g. postgresql://postgres@127.0.0.1:5432/postgres; or pass --db sqlite"
                    )
                urls[kind] = stack.enter_context(postgres_database(admin))
            else:
                raise SystemExit(f"unknown database {kind!r}: use sqlite or postgres")
        yield urls


async def scalar(db_url: str, sql: str) -> Any:
    """One value read straight from the database under test: the proof that work was stored."""
    from sqlalchemy import text

    from storage.db import Database

    db = Database(db_url)
    try:
        async with db.reading() as s:
            return (await s.execute(text(sql))).scalar_one()
    finally:
        await db.dispose()


async def wait_for_count(
    db_url: str, sql: str, wanted: int, *, quiet: float = 15.0, timeout: float = 600.0
) -> tuple[int, float]:
    """Poll `sql` (a count) until it reaches `wanted`, stops changing for `quiet` seconds, or
    `timeout` passes.

    Work acked before it is done (anything past the 2 s ack budget, e.g. a slow command answered
    "Working on it") lands later: this waits for it, and returns the count and when it last changed (time.monotonic()).
    """
    count, changed = -1, time.monotonic()
    deadline = changed + timeout
    while True:
        now_count = await scalar(db_url, sql)
        if now_count != count:
            count, changed = now_count, time.monotonic()
        if count >= wanted or time.monotonic() - changed > quiet or time.monotonic() > deadline:
            return count, changed
        await asyncio.sleep(0.05)


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="alignbot-bench-") as d:
        yield Path(d)


# ---- results --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1m_at_end": round(load1, 2),
        "loadavg_5m_at_end": round(load5, 2),
    }


def write_result(figure: str, result: dict[str, Any], *, quick: bool, out_dir: Path | None = None) -> Path:
    """bench/results/<figure>.json: the figure's numbers, its verdicts, and where they came from."""
    out_dir = out_dir or RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {
        "figure": figure,
        "quick": quick,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **result,
    }
    path = out_dir / f"{figure}.json"
    path.write_text(json.dumps(doc, indent=2, default=_jsonable) + "\n")
    return path


def finish(figure: str, line: str, result: dict[str, Any], *, quick: bool, out_dir: Path | None) -> int:
    """Write the JSON (with the summary line in it, for the table) and print the line; the exit
    status says whether every target and check was met."""
    checks: dict[str, bool] = result.get("checks", {})
    met = bool(checks) and all(checks.values())
    missed = [k for k, v in checks.items() if not v]
    line = f"{line}; {verdict(met)}" + (f" ({'; '.join(missed)})" if missed else "")
    path = write_result(figure, {**result, "summary": line, "met": met}, quick=quick, out_dir=out_dir)
    print(f"{line} -> {path}")
    return 0 if met else 1


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def fmt_ms(value: float) -> str:
    return f"{value:.1f}ms" if math.isfinite(value) else "n/a"


def standard_args(description: str) -> Any:
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, numbers not comparable")
    parser.add_argument("--out", type=Path, default=None, help="directory for the JSON result (bench/results)")
    return parser


NOT_RUN = 3


def not_run(figure: str, label: str, reason: str, *, quick: bool, out_dir: Path | None) -> int:
    """A figure whose feature has not landed says so (and exits 3) rather than fake a number."""
    line = f"{label}: NOT RUN — {reason}"
    path = write_result(figure, {"summary": line, "met": False, "not_run": reason}, quick=quick, out_dir=out_dir)
    print(f"{line} -> {path}")
    return NOT_RUN
