"""`summary` and `export` in the console, on the sample initiative: every deliverable shows,
charts and exports land as files whose paths are printed, bad input gets a precise refusal."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from openpyxl import load_workbook
from PIL import Image as PILImage

from storage.db import Database
from storage.migrate import upgrade_sync
from tests.console import run_console
from tests.report_sample import insert_sample


async def _insert(url: str) -> None:
    db = Database(url)
    async with db.transaction() as s:
        await insert_sample(s)
    await db.dispose()


def test_summary_all_and_export_in_the_console(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade_sync(url)
    asyncio.run(_insert(url))
    files = tmp_path / "files"
    out = run_console(
        [
            "summary all",
            "summary risk",
            "summary nonsense",
            ":as U03",
            "summary plan --post",
            ":as U01",
            "export xlsx",
            "export pdf",
            "export docx",
        ],
        url,
        user="U01",
        channel="retail-assessment",
        env={"ALIGNBOT_FILES_DIR": str(files)},
    )
    for title in (
        "Executive summary",
        "Assessment overview",
        "Prioritized use cases",
        "Infrastructure report and gap analysis",
        "Objectives and KPIs",
        "RACI matrix and approvals",
        "Risk register and mitigation plans",
        "Project plan and resource allocation",
    ):
        assert f"{title}\n" in out, title
    assert out.count("Risk register and mitigation plans\n") == 2  # `summary all`, then `summary risk`
    assert "UC-12  Energy use dashboard" in out and "RISK-6  Store network bandwidth" in out
    assert (
        "deliverable must be one of summary, overview, usecases, infrastructure, kpis, raci, risks, plan, all, "
        'got "nonsense"' in out
    )
    assert "Only a facilitator can post a summary to the channel." in out
    assert 'format must be one of md, html, pdf, csv, xlsx, got "docx"' in out
    (pdf,) = re.findall(r"^retail-assessment deliverables \(pdf\): (\S+)$", out, re.M)
    assert Path(pdf).read_bytes().startswith(b"%PDF")
    charts = re.findall(
        r"^(?:Impact versus feasibility|POLL-1: ranking|Risk heat map|Project timeline): (\S+)$", out, re.M
    )
    assert len(charts) == 5  # four from `summary all`, the heat map again from `summary risk`
    for path in charts:
        with PILImage.open(path) as im:
            assert im.format == "PNG"
    (xlsx,) = re.findall(r"^retail-assessment deliverables \(xlsx\): (\S+)$", out, re.M)
    assert Path(xlsx).parent == files
    assert "use_cases" in load_workbook(xlsx).sheetnames
