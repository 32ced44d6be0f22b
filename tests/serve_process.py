"""`alignbot serve` as a real subprocess on an OS-chosen port (for replica and shutdown tests)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from dataclasses import dataclass, field

from tests.clock import SUITE_NOW_ENV
from tests.console import ROOT
from tests.support import BOT_TOKEN, SIGNING_SECRET

_SERVING = re.compile(r"serving on (http://[\d.]+:(\d+))")


@dataclass
class ServeProcess:
    proc: asyncio.subprocess.Process
    url: str
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task | None = None

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def terminate(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)

    async def wait(self, timeout: float = 30) -> int:
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._reader:
            await asyncio.wait_for(self._reader, timeout)
        return code

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.terminate()
            try:
                await self.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


def serve_env(db_url: str, slack_api_url: str = "", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEAMS_", "ALIGNBOT_"))}
    env |= {"ALIGNBOT_DATABASE_URL": db_url, "ALIGNBOT_SECRET": "test-secret", "ALIGNBOT_LOG_LEVEL": "INFO"}
    env |= SUITE_NOW_ENV
    if slack_api_url:
        env |= {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack_api_url}
    return env | extra


async def start_serve(env: dict[str, str], *args: str, timeout: float = 60) -> ServeProcess:
    """Start `alignbot serve --port 0 --dev` and read the bound port from its start-up line."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", "0", "--dev", *args,
        cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    seen: list[str] = []

    async def started() -> str:
        while line := (await proc.stderr.readline()).decode(errors="replace"):
            seen.append(line.rstrip("\n"))
            if m := _SERVING.search(line):
                return m.group(1)
        raise AssertionError("alignbot serve exited before serving:\n" + "\n".join(seen))

    try:
        url = await asyncio.wait_for(started(), timeout)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
        raise
    running = ServeProcess(proc, url, seen)
    running._reader = asyncio.create_task(running._read())
    return running
