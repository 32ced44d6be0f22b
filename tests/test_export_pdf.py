"""The PDF export: the HTML report printed by headless Chromium, read back with poppler's
pdftotext as a person would read the pages; and a polite answer where Chromium is missing."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image as PILImage
from sqlalchemy import select, update

from bot.cli import main as cli
from handlers.report_views import KEYS, TITLES
from handlers.reports import build_documents
from storage.db import Database
from storage.migrate import upgrade_sync
from storage.models import Initiative, Member, UseCase
from tests.console import run_console
from tests.report_sample import NOW, T0, insert_sample

NAME = "Acme Databricks adoption"
FOOTER = re.compile(r"Page (\d+) of (\d+)")
EXTRA_USE_CASES = 40  # enough rows that the use-case table runs over a page


def tool(name: str) -> str:
    """A Debian program the test needs: .ci/run installs it, so in CI its absence fails the test."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed: .ci/run should have installed it")
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return path


async def _sample(url: str) -> list[str]:
    """The sample initiative, named and with a cover, and every heading its report has."""
    db = Database(url)
    async with db.transaction() as s:
        ini = await insert_sample(s)
        await s.execute(
            update(Initiative)
            .where(Initiative.id == ini.id)
            .values(name=NAME, organisation="Acme Retail", sponsor="Sam Sponsor, CFO", cover_line="Steering committee")
        )
        member = (await s.execute(select(Member))).scalars().first()
        for n in range(100, 100 + EXTRA_USE_CASES):
            s.add(
                UseCase(
                    initiative_id=ini.id,
                    number=n,
                    title=f"Store analytics idea {n}",
                    impact=2,
                    feasibility=2,
                    proposer_member_id=member.id,
                    created_at=T0,
                    updated_at=T0,
                )
            )
    async with db.reading() as s:
        ini = (await s.execute(select(Initiative))).scalar_one()
        docs = await build_documents(s, ini, list(KEYS), NOW)
    await db.dispose()
    return [d.title for d in docs] + [sec.heading for d in docs for sec in d.sections]


def pages_of(pdf: Path) -> list[list[str]]:
    """Each page's lines of text, in reading order."""
    text = subprocess.run(
        [tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return [[line.strip() for line in page.splitlines() if line.strip()] for page in text.split("\f")[:-1]]


def test_pdf_export_reads_like_a_report(tmp_path, capsys):
    tool("chromium")
    url = f"sqlite:///{tmp_path / 'pdf.db'}"
    upgrade_sync(url)
    headings = asyncio.run(_sample(url))
    out = tmp_path / "out"
    # No --initiative: the database has one, so that one is exported, under its name.
    assert cli(["export", "--db", url, "--format", "pdf", "--out", str(out)]) == 0
    pdf = out / "alignbot-acme-databricks-adoption.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    pages = pages_of(pdf)
    assert 9 <= len(pages) <= 30

    cover = " ".join(pages[0])
    assert NAME in cover and "Acme Retail" in cover and "Sam Sponsor, CFO" in cover and "Steering committee" in cover
    assert not FOOTER.search(cover)  # the cover has no page number
    for number, page in enumerate(pages[1:], start=2):
        footer = FOOTER.search(page[-1])
        assert footer and footer.groups() == (str(number), str(len(pages))), page[-1]
        assert NAME in page[-1]

    # Every deliverable starts a page, its title first.
    starts = [page[0] for page in pages[1:]]
    for key in KEYS:
        assert TITLES[key] in starts, f"{TITLES[key]} does not start a page"

    # No heading is the last thing on a page: it stays with what follows it.
    for number, page in enumerate(pages, start=1):
        body = [line for line in page if not FOOTER.search(line)]
        assert body[-1] not in headings, f"page {number} ends with the heading {body[-1]!r}"

    # The use-case table runs over a page, and its header row comes again at the top of the next.
    header = re.compile(r"^Rank\s+ID\s+Title")
    table_pages = [n for n, page in enumerate(pages) if any(header.match(line) for line in page)]
    assert len(table_pages) >= 2 and table_pages[1] == table_pages[0] + 1
    assert header.match(pages[table_pages[1]][0])

    # pdftoppm draws the cover as a person would see it: A4 portrait, text on it.
    subprocess.run(
        [tool("pdftoppm"), "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    (png,) = tmp_path.glob("page*.png")
    with PILImage.open(png) as im:
        assert im.height > im.width
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 20


def test_without_chromium_pdf_is_refused_politely(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'pdf.db'}"
    upgrade_sync(url)
    asyncio.run(_sample(url))
    bare = tmp_path / "bin"  # a PATH with no Chromium on it
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    assert cli(["export", "--db", url, "--format", "pdf", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "PDF export needs Chromium" in err and "export html" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()

    chat = run_console(["export pdf", "export html"], f"sqlite:///{tmp_path / 'chat.db'}", env={"PATH": str(bare)})
    assert "PDF export needs Chromium" in chat
    assert "alignbot-general.html" in chat  # the other formats still work


def test_export_without_initiative_lists_the_names_when_there_are_several(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    upgrade_sync(url)

    async def two() -> None:
        db = Database(url)
        async with db.transaction() as s:
            await insert_sample(s, name="Acme Databricks adoption", workspace="w1")
            await insert_sample(s, name="Beta \x1b[31mlake", workspace="w2")
        await db.dispose()

    asyncio.run(two())
    assert cli(["export", "--db", url, "--format", "md", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "there are 2 initiatives; say which with --initiative NAME" in err
    assert "  Acme Databricks adoption\n" in err and "Beta ?[31mlake" in err  # no terminal escapes
    assert cli(["export", "--db", url, "--initiative", NAME, "--format", "md", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "alignbot-acme-databricks-adoption.md").exists()
