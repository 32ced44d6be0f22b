"""Figure 6: footprint. `alignbot serve`'s resident memory idle and after load, and how long
`alignbot console` takes to show its first prompt (in a terminal) and its first reply (piped).

The prompt is measured through a pseudo-terminal, as a person would see it; the script answers
prompt_toolkit's cursor-position request like a terminal does. The load is figure 1's signed
slash commands at concurrency 10; when polls have landed, a vote burst follows (figure 3's).
"""

from __future__ import annotations

import asyncio
import os
import pty
import select
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import common
from bench.fig1_slack_ack import slash_request
from tests.fakes.slack_api import FakeSlackApi

FIGURE = "fig6_footprint"
PROMPT = b"@#general>"
CPR_REQUEST = b"\x1b[6n"
BURST_VOTERS = 300


def console_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "TERM": "xterm",
        "ALIGNBOT_TIMEZONE": "UTC",
        "SLACK_BOT_TOKEN": "",
        "TEAMS_APP_ID": "",
        "PYTHONUNBUFFERED": "1",
    }


def _read_until(fd: int, wanted: bytes, started: float, timeout: float) -> tuple[float, bytes]:
    """Read a pty until `wanted` appears; answer cursor-position requests as a terminal would."""
    seen = b""
    while time.perf_counter() - started < timeout:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        if CPR_REQUEST in chunk:
            os.write(fd, b"\x1b[1;1R")
        seen += chunk
        if wanted in seen:
            return time.perf_counter() - started, seen
    raise RuntimeError(f"console did not show {wanted!r} within {timeout}s; it printed:\n{seen[-2000:]!r}")


def console_in_terminal(db_url: str, home: Path, timeout: float = 30) -> dict[str, float]:
    """Seconds from spawn to the first prompt, then from Enter to the first reply."""
    argv = [common.PYTHON, "-m", "bot.cli", "console", "--db", db_url, "--as", "bench", "--channel", "general"]
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes the console, on the pty
        os.chdir(common.ROOT)
        os.execve(common.PYTHON, argv, console_env(home))
    try:
        to_prompt, _ = _read_until(fd, PROMPT, started, timeout)
        asked = time.perf_counter()
        os.write(fd, b"usecase list\r")
        to_reply, _ = _read_until(fd, b"No use cases yet", asked, timeout)
        os.write(fd, b":quit\r")
        return {"to_prompt_s": to_prompt, "first_reply_s": to_reply}
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)


def console_piped(db_url: str, home: Path, timeout: float = 30, exit_timeout: float = 10) -> tuple[float, bool]:
    """Seconds from spawn to the first reply line of `help` through a pipe (how scripts use it), and
    whether the console then ended by itself at the end of its input."""
    argv = [common.PYTHON, "-m", "bot.cli", "console", "--db", db_url, "--as", "bench"]
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=common.ROOT,
        env=console_env(home),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"help\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if ready else b""
        elapsed = time.perf_counter() - started
        if not line:
            raise RuntimeError(f"the piped console printed nothing within {timeout}s")
        try:
            proc.communicate(timeout=exit_timeout)  # drain the rest, so a long reply cannot block the pipe
            return elapsed, True
        except subprocess.TimeoutExpired:
            return elapsed, False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def python_floor(runs: int) -> float:
    """The interpreter alone (`python -c pass`): the part of start-up no code change can remove."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([common.PYTHON, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def vote_burst_available() -> bool:
    try:
        from bench import fig3_vote_burst
    except ImportError:
        return False
    return not fig3_vote_burst.polls_available()


async def serve_memory(requests: int, work: Path) -> dict[str, Any]:
    fake = await FakeSlackApi().start()
    out: dict[str, Any] = {}
    try:
        db = f"sqlite:///{work / 'footprint.db'}"
        async with common.alignbot_serve(db, fake.url, work, name="alignbot-footprint") as proc:
            out["idle_mb"] = round(proc.rss_mb(), 1)
            res = await common.run_load(slash_request(proc.url, "footprint"), requests=requests, concurrency=10)
            out["after_slash_load_mb"] = round(proc.rss_mb(), 1)
            out["slash_load"] = res.summary()
            if await vote_burst_available():
                from bench import fig3_vote_burst

                # Figure 3 records RSS after its own 1,000-voter burst; a smaller one keeps run_all in budget.
                burst = await fig3_vote_burst.burst_against(proc, fake, db, voters=min(requests, BURST_VOTERS))
                out["after_vote_burst_mb"] = round(proc.rss_mb(), 1)
                out["vote_burst"] = burst
            else:
                out["after_vote_burst_mb"] = None
                out["vote_burst"] = "polls have not landed: measured after the slash-command load only"
    finally:
        await fake.stop()
    return out


async def run(args) -> int:
    runs = args.runs or (2 if args.quick else 5)
    requests = args.requests or (100 if args.quick else 500)
    checks: dict[str, bool] = {}
    with common.workdir() as work:
        memory = await serve_memory(requests, work)
        home = work / "home"
        home.mkdir()
        db = f"sqlite:///{work / 'console.db'}"
        console_piped(db, home)  # migrates the file once, so every measured run starts alike
        terminal = [await asyncio.to_thread(console_in_terminal, db, home) for _ in range(runs)]
        piped_runs = [await asyncio.to_thread(console_piped, db, home) for _ in range(runs)]
        piped = [t for t, _ in piped_runs]
        interpreter = python_floor(runs)
        imports = common.import_seconds("bot.cli; import bot.app", runs)
    prompt = statistics.median(t["to_prompt_s"] for t in terminal)
    first_reply = statistics.median(t["first_reply_s"] for t in terminal)
    piped_reply = statistics.median(piped)
    checks["serve idle < 150 MB"] = memory["idle_mb"] < 150
    checks["console start to first prompt < 1 s"] = prompt < 1.0
    after = memory["after_vote_burst_mb"] or memory["after_slash_load_mb"]
    return common.finish(
        FIGURE,
        f"fig6 footprint: serve RSS idle {memory['idle_mb']} MB, after load {after} MB; console to prompt "
        f"{prompt:.2f}s (python alone {interpreter:.2f}s, importing bot.app {imports:.2f}s), "
        f"piped first reply {piped_reply:.2f}s",
        {
            "target": "serve idle RSS < 150 MB; console start to first prompt < 1 s",
            "serve_rss": memory,
            "console": {
                "runs": runs,
                "to_prompt_s_median": round(prompt, 3),
                "to_prompt_s_max": round(max(t["to_prompt_s"] for t in terminal), 3),
                "first_reply_after_enter_s_median": round(first_reply, 3),
                "piped_spawn_to_first_reply_s_median": round(piped_reply, 3),
                "python_c_pass_s_median": round(interpreter, 3),
                "import_bot_app_s_median": round(imports, 3),
                # not a target, but a script piping commands in needs the console to end with its input
                "piped_console_ended_at_eof": all(ended for _, ended in piped_runs),
            },
            "checks": checks,
        },
        quick=args.quick,
        out_dir=args.out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = common.standard_args(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=0, help="console start-ups to time (default 5, quick 2)")
    parser.add_argument(
        "--requests", type=int, default=0, help="slash commands before the memory reading (default 500)"
    )
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
