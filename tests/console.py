"""Drive `alignbot console` through a pipe, as a person (or a script) would."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.clock import SUITE_NOW_ENV

ROOT = Path(__file__).resolve().parent.parent


def run_console(
    lines: list[str] | str,
    db_url: str,
    *,
    user: str = "alice",
    channel: str = "general",
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> str:
    text = lines if isinstance(lines, str) else "\n".join(lines) + "\n"
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", "--db", db_url, "--as", user, "--channel", channel],
        input=text,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={
            **os.environ,
            "ALIGNBOT_TIMEZONE": "UTC",
            **SUITE_NOW_ENV,
            # Charts and exports the console writes go to a fresh folder, never the repository.
            "ALIGNBOT_FILES_DIR": tempfile.mkdtemp(prefix="alignbot-files-"),
            **(env or {}),
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc.stdout
