"""Instructions per `usecase propose`, in process, counted by callgrind: compare trees at any hour.

The VM's speed moves by up to 2x between hours and by more than a small fix is worth between
minutes, so milliseconds cannot tell a 2 % change from noise. Instruction counts can: the same
tree gives the same count to 0.1 %. This script builds the app (`create_app`, as figure 4 does),
sends `--warm` proposals uninstrumented, then counts `--count` more with callgrind's
instrumentation switched on around them only. It covers the core, the ORM and the driver; Bolt,
aiohttp and the database server are not in it (figure 1 has them).

    .venv/bin/python -m bench.instructions --db postgres --warm 1000 --channels 3   # 330 live titles
    git stash; .venv/bin/python -m bench.instructions ...; git stash pop              # old against new

Not part of `bench/run_all`: valgrind makes it take minutes, and it measures no target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import common

ENV_INSIDE = "ALIGNBOT_BENCH_UNDER_CALLGRIND"


def proposal(j: int, channels: int):
    from handlers.messages import Actor, Incoming

    text = f'usecase propose "{common.title(str(j))}" --impact 3 --feasibility 4'
    actor = Actor("slack", "T1", f"U{j % 20}", f"User {j % 20}")
    return Incoming(actor, f"C{j % channels}", text=text, delivery_key=f"bench:instructions:{j}")


async def inside(args: argparse.Namespace, db_url: str) -> None:
    """Under valgrind: the measured part, with instrumentation on only around it."""
    from bot.app import create_app
    from bot.operations import settle_heap
    from bot.settings import Settings
    from storage.migrate import upgrade

    def callgrind(*flags: str) -> None:
        subprocess.run(["callgrind_control", *flags, str(os.getpid())], check=True, stdout=subprocess.DEVNULL)

    await upgrade(db_url)
    app = create_app(Settings(database_url=db_url, secret="bench-secret"))
    settle_heap()
    try:
        for j in range(args.warm):
            await app.core.handle(proposal(j, args.channels))
        callgrind("--zero")
        callgrind("--instr=on")
        for j in range(args.warm, args.warm + args.count):
            reply = await app.core.handle(proposal(j, args.channels))
            assert reply is not None and "proposed UC-" in str(reply.elements[0]), reply
        callgrind("--instr=off")
        callgrind("--dump")
    finally:
        await app.core.db.dispose()


def outside(args: argparse.Namespace) -> int:
    """Starts itself under valgrind on a fresh database and reads the count from the dump."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("instructions: valgrind (with callgrind_control) is not installed", file=sys.stderr)
        return common.NOT_RUN
    with common.workdir() as work, common.databases([args.db], work) as urls:
        out = Path(tempfile.mkdtemp(prefix="callgrind-", dir=work))
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}/cg.%p",
            sys.executable,
            "-m",
            "bench.instructions",
            *sys.argv[1:],
        ]
        env = {**os.environ, ENV_INSIDE: urls[args.db]}
        proc = subprocess.run(command, cwd=common.ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        totals = [
            int(m.group(1))
            for dump in out.glob("cg.*.*")  # the dump made on request; the one at exit counted nothing
            for m in re.finditer(r"^totals: (\d+)", dump.read_text(), re.M)
        ]
        if len(totals) != 1:
            print(f"instructions: expected one dump, found {len(totals)}", file=sys.stderr)
            return 1
    print(
        f"instructions per proposal ({args.db}, {args.warm} before, {args.channels} channels): "
        f"{totals[0] // args.count:,}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--warm", type=int, default=100, help="proposals sent before counting (live titles)")
    parser.add_argument("--count", type=int, default=50, help="proposals counted")
    parser.add_argument("--channels", type=int, default=10, help="initiatives the proposals are spread over")
    args = parser.parse_args(argv)
    if os.environ.get(ENV_INSIDE):
        asyncio.run(inside(args, os.environ[ENV_INSIDE]))
        return 0
    return outside(args)


if __name__ == "__main__":
    sys.exit(main())
