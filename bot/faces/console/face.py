"""The console face: a chat in the terminal, and through a pipe the scenario-test driver.

Lines are commands; `:as NAME`, `:channel NAME` and `:quit` are meta-commands. What the bot
sends on its own (notifications, reminders) is printed as it leaves the outbox, marked with
where it went, so a piped session shows everything a person would have seen.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.faces.platform import Face
from bot.render.text import render
from handlers.clock import Clock
from handlers.messages import Actor, File, Image, Incoming, elements_from_json
from schedules.outbox import Envelope

WORKSPACE = "console"
_AT = re.compile(r"(?<![\w<@])@([\w][\w.\-]*)")


def console_text(line: str) -> str:
    """`@name` -> `<@name|name>`, the neutral mention form."""
    return _AT.sub(lambda m: f"<@{m.group(1)}|{m.group(1)}>", line)


async def write_files(elements: list, db: Any, now: datetime, timezone: str = "UTC") -> None:
    """Charts and exports become files in ALIGNBOT_FILES_DIR (default ./alignbot-files); the
    printed text names their paths."""
    from bot.export import attachments

    wanted = [e for e in elements if isinstance(e, Image | File) and not e.path]
    if not wanted:
        return
    folder = Path(os.environ.get("ALIGNBOT_FILES_DIR") or "alignbot-files")
    folder.mkdir(parents=True, exist_ok=True)
    for element, attachment in await attachments(db, wanted, now, timezone):
        path = folder / attachment.filename
        await asyncio.to_thread(path.write_bytes, attachment.content)
        element.path = str(path)


class ConsoleDelivery(Face):
    name = "console"
    listens = False

    def __init__(self, out: TextIO, clock: Clock) -> None:
        self.out = out
        self.clock = clock

    async def deliver(self, envelope: Envelope) -> dict[str, Any]:
        where = f"@{envelope.target_id} (private)" if envelope.target_kind == "user" else f"#{envelope.target_id}"
        elements = elements_from_json(envelope.payload["elements"])
        await write_files(elements, None, self.clock())  # charts only: exports are answers, not sends
        body = render(elements)
        self.out.write(f"→ {where}: {body}\n")
        self.out.flush()
        return {"printed": True}


class ConsoleFace:
    def __init__(self, app: Any, *, user: str, channel: str, out: TextIO | None = None) -> None:
        self.app = app
        self.user = user
        self.channel = channel
        self.out = out or sys.stdout

    def incoming(self, line: str) -> Incoming:
        return Incoming(
            actor=Actor("console", WORKSPACE, self.user, self.user),
            conversation_id=self.channel,
            conversation_name=self.channel,
            text=console_text(line),
        )

    async def run(self, stdin: TextIO | None = None) -> None:
        stdin = stdin or sys.stdin
        if stdin.isatty():
            await self._interactive()
            return
        while True:
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if not await self.handle_line(line.rstrip("\n")):
                break

    async def handle_line(self, line: str) -> bool:
        """Run one line; False when the console should end."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith(":"):
            return self._meta(line)
        reply = await self.app.core.handle(self.incoming(line))
        if reply is not None:
            await self._write_files(reply.elements)
            self.out.write(render(reply.elements) + "\n")
        await self.app.outbox.drain()
        self.out.flush()
        return True

    async def _write_files(self, elements: list) -> None:
        await write_files(elements, self.app.db, self.app.clock(), self.app.settings.timezone)

    def _meta(self, line: str) -> bool:
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip().lstrip("@#")
        if name in ("quit", "q", "exit"):
            return False
        if name == "as" and arg:
            self.user = arg
            self.out.write(f"(you are now @{arg})\n")
        elif name == "channel" and arg:
            self.channel = arg
            self.out.write(f"(you are now in #{arg})\n")
        else:
            self.out.write("Meta-commands: :as NAME, :channel NAME, :quit\n")
        return True

    async def _interactive(self) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import NestedCompleter
        from prompt_toolkit.history import FileHistory

        tree: dict = {":as": None, ":channel": None, ":quit": None}
        for name in self.app.registry.commands:
            node = tree
            for word in name.split():
                node = node.setdefault(word, {}) if isinstance(node.get(word, {}), dict) else {}
        session: PromptSession = PromptSession(
            history=FileHistory(str(Path.home() / ".alignbot_history")),
            completer=NestedCompleter.from_nested_dict(tree),
        )
        self.out.write("Alignbot console. Type `help`, or :quit to leave.\n")
        while True:
            try:
                line = await session.prompt_async(f"{self.user}@#{self.channel}> ")
            except (EOFError, KeyboardInterrupt):
                break
            if not await self.handle_line(line):
                break
