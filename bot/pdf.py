"""The PDF export: the HTML report printed by Debian's headless Chromium.

Chromium rather than WeasyPrint: the suite and CI already install it, it prints the very page
people open in a browser (one stylesheet, no second layout engine to keep in step), and it has
what a printed report needs: @page margin boxes for page numbers, table headers repeated on
every page, `break-after: avoid` for headings. The price is a child process per export (a few
seconds, run with asyncio's subprocess so the event loop never waits on it).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from handlers.exports import NO_PDF as MISSING

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
PRINT_TIMEOUT = 120.0  # seconds; a report of a few hundred rows prints in two or three
FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container has no user namespace to sandbox with
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",  # the stylesheet's margin boxes number the pages
)


class PdfUnavailable(Exception):
    """No PDF can be made here; the message is written for the person who asked."""


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


async def print_pdf(html: bytes, *, chromium: str | None = None, timeout: float = PRINT_TIMEOUT) -> bytes:
    """The page printed to PDF, or PdfUnavailable (no Chromium, or it failed: never a traceback
    for the person)."""
    browser = chromium or find_chromium()
    if browser is None:
        raise PdfUnavailable(MISSING)
    with tempfile.TemporaryDirectory(prefix="alignbot-pdf-") as tmp:
        folder = Path(tmp)
        page, out = folder / "report.html", folder / "report.pdf"
        await asyncio.to_thread(page.write_bytes, html)
        try:
            proc = await asyncio.create_subprocess_exec(
                browser,
                *FLAGS,
                f"--user-data-dir={folder / 'profile'}",
                f"--print-to-pdf={out}",
                page.as_uri(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                cwd=folder,
            )
        except OSError as e:
            raise PdfUnavailable(f"{MISSING} ({browser}: {e.strerror or e})") from e
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise PdfUnavailable(f"Chromium took longer than {timeout:.0f} s to print the report; try again.") from None
        data = await asyncio.to_thread(out.read_bytes) if out.exists() else b""
        if proc.returncode != 0 or not data.startswith(b"%PDF"):
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise PdfUnavailable(f"Chromium could not print the report (exit {proc.returncode}: {tail[0][:200]}).")
        return data
