"""Exports: `alignbot export` writes all four formats; CSV and XLSX neutralise formulas; HTML
escapes user text and embeds its charts; the HTML report opens in headless Chromium."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image as PILImage
from sqlalchemy import select

from bot.cli import main as cli
from bot.export import export_initiative, single_file
from storage.db import Database
from storage.migrate import upgrade_sync
from storage.models import Member, UseCase
from tests.report_sample import NOW, T0, insert_sample

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
HOSTILE = '=HYPERLINK("http://evil","x") <script>alert(1)</script> <@U999>'
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def _make(url: str, hostile: bool) -> None:
    db = Database(url)
    async with db.transaction() as s:
        ini = await insert_sample(s)
        if hostile:
            member = (await s.execute(select(Member))).scalars().first()
            for n, title in ((50, HOSTILE), (51, "+SUM(1,2)"), (52, "-2+3"), (53, "@cmd")):
                s.add(
                    UseCase(
                        initiative_id=ini.id,
                        number=n,
                        title=title,
                        impact=3,
                        feasibility=3,
                        proposer_member_id=member.id,
                        created_at=T0,
                        updated_at=T0,
                    )
                )
    await db.dispose()


def sample_url(tmp_path: Path, hostile: bool = False) -> str:
    url = f"sqlite:///{tmp_path / 'export.db'}"
    upgrade_sync(url)
    asyncio.run(_make(url, hostile))
    return url


def test_cli_writes_all_four_formats(tmp_path, capsys):
    url = sample_url(tmp_path)
    out = tmp_path / "out"
    for fmt in ("md", "html", "csv", "xlsx"):
        args = ["export", "--db", url, "--initiative", "retail-assessment", "--format", fmt, "--out", str(out)]
        assert cli(args) == 0
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert "alignbot-retail-assessment.md" in names and "alignbot-retail-assessment.html" in names
    assert "alignbot-retail-assessment.xlsx" in names
    assert {"use_cases.csv", "kpis.csv", "risks.csv", "data_sources.csv", "milestones.csv", "raci.csv"} <= set(names)
    assert {"charts/usecases-matrix.png", "charts/risks-heatmap.png", "charts/plan-gantt.png"} <= set(names)
    md = (out / "alignbot-retail-assessment.md").read_text()
    assert "![Heat map of open risks by likelihood and impact](charts/risks-heatmap.png)" in md
    for png in (out / "charts").iterdir():
        with PILImage.open(png) as im:
            assert im.format == "PNG" and im.width > 300
    wb = load_workbook(out / "alignbot-retail-assessment.xlsx")
    assert {"use_cases", "kpis", "risks", "milestones", "resources", "raci"} <= set(wb.sheetnames)
    assert wb["use_cases"]["C2"].value == "Demand forecasting per store"
    assert wb["use_cases"]["H2"].value == 20  # H: the score
    with (out / "risks.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["ID", "Risk", "Category"] and rows[1][:2] == ["RISK-6", "Store network bandwidth"]
    assert len(rows) == 7


def test_cli_refuses_an_unknown_initiative(tmp_path, capsys):
    url = sample_url(tmp_path)
    code = cli(["export", "--db", url, "--initiative", "nope", "--format", "md", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "no initiative named 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


async def _files(url: str, fmt: str):
    db = Database(url)
    async with db.reading() as s:
        from storage.models import Initiative

        ini = (await s.execute(select(Initiative))).scalar_one()
        files = await export_initiative(s, ini, fmt, NOW)
    await db.dispose()
    return files


def test_formulas_are_inert_in_csv_and_xlsx(tmp_path):
    url = sample_url(tmp_path, hostile=True)
    files = {f.name: f for f in asyncio.run(_files(url, "csv"))}
    rows = list(csv.reader(io.StringIO(files["use_cases.csv"].content.decode("utf-8-sig"))))
    titles = {r[1]: r[2] for r in rows[1:]}
    assert titles["UC-50"] == "'" + HOSTILE
    assert titles["UC-51"] == "'+SUM(1,2)" and titles["UC-52"] == "'-2+3" and titles["UC-53"] == "'@cmd"
    assert all(not cell.startswith(("=", "+", "@")) for r in rows for cell in r if cell != "-")
    (xlsx,) = asyncio.run(_files(url, "xlsx"))
    ws = load_workbook(io.BytesIO(xlsx.content))["use_cases"]
    cells = [c for row in ws.iter_rows() for c in row]
    hostile = next(c for c in cells if c.value == HOSTILE)
    assert hostile.data_type == "s"  # stored as text: a spreadsheet shows it, never runs it
    assert all(c.data_type != "f" for c in cells)


def test_html_escapes_user_text_and_embeds_every_chart(tmp_path):
    url = sample_url(tmp_path, hostile=True)
    (page,) = asyncio.run(_files(url, "html"))
    html = page.content.decode()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count('<img class="chart" src="data:image/png;base64,') == 4
    assert "http" not in html.replace("http://evil", "")  # self-contained: nothing fetched from anywhere
    zipped = single_file(asyncio.run(_files(url, "csv")), "csv", "x", NOW)
    assert zipped.name == "x-csv.zip" and "use_cases.csv" in zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()


def test_exports_are_deterministic(tmp_path):
    url = sample_url(tmp_path)
    for fmt in ("md", "html", "xlsx"):
        assert [f.content for f in asyncio.run(_files(url, fmt))] == [f.content for f in asyncio.run(_files(url, fmt))]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_html_report_renders_in_headless_chromium_with_its_charts(tmp_path):
    url = sample_url(tmp_path)
    (page,) = asyncio.run(_files(url, "html"))
    # A probe appended to the page reports whether every chart decoded (naturalWidth > 0).
    probe = (
        "<script>window.addEventListener('load',()=>{const i=[...document.querySelectorAll('img.chart')];"
        "document.title='charts:'+i.filter(x=>x.complete&&x.naturalWidth>0).length+'/'+i.length;});</script>"
    )
    html_path = tmp_path / "report.html"
    html_path.write_text(page.content.decode().replace("</body>", probe + "</body>"))
    profile = tmp_path / "profile"
    common = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run(
        [*common, "--dump-dom", html_path.as_uri()], capture_output=True, text=True, timeout=90, check=True
    ).stdout
    assert "<title>charts:4/4</title>" in dom
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [*common, "--window-size=1280,2000", f"--screenshot={shot}", html_path.as_uri()],
        capture_output=True,
        timeout=90,
        check=True,
        cwd=tmp_path,
        env={**os.environ},
    )
    with PILImage.open(shot) as im:
        assert im.size == (1280, 2000)
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50  # a page with text and charts, not a blank one


def test_workbook_timestamps_come_from_the_report_not_the_wall_clock():
    from datetime import UTC, datetime

    from bot.export import restamp_zip

    def workbook(stamp: tuple, modified: str) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(zipfile.ZipInfo("xl/workbook.xml", date_time=stamp), b"<workbook/>")
            core = f'<x><dcterms:modified xsi:type="dcterms:W3CDTF">{modified}</dcterms:modified></x>'
            z.writestr(zipfile.ZipInfo("docProps/core.xml", date_time=stamp), core.encode())
        return buf.getvalue()

    when = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    a = restamp_zip(workbook((2026, 1, 1, 0, 0, 0), "2026-01-01T00:00:00Z"), when)
    b = restamp_zip(workbook((2027, 5, 5, 5, 5, 6), "2027-05-05T05:05:06Z"), when)
    assert a == b
    core = zipfile.ZipFile(io.BytesIO(a)).read("docProps/core.xml")
    assert b">2026-11-26T09:30:00Z<" in core
