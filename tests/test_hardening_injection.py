"""Hostile text in every channel of output: Slack, Teams, the terminal, Markdown, HTML, CSV, XLSX.

One title carries mention and link injection, markup, a Jinja expression and SQL; another starts
with a spreadsheet formula. Each output must show them as the literal text they are.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
from sqlalchemy import select

from storage.models import UseCase
from tests.console import ROOT, run_console
from tests.support import make_settings, message_activity, serve

HOSTILE = "<!channel> <@U999> <https://evil.example|win> *big* {{ 7*7 }} <script>x</script> '; DROP TABLE use_case; --"
FORMULA = '=HYPERLINK("https://evil.example","x")'
TEAMS_MENTION = "<at>Everyone</at> [click](https://evil.example) **loud**"


def texts_of(blocks: object) -> list[tuple[str, str]]:
    """(type, text) of every text object in a Block Kit structure."""
    found: list[tuple[str, str]] = []
    if isinstance(blocks, dict):
        if isinstance(blocks.get("text"), str) and blocks.get("type") in ("mrkdwn", "plain_text"):
            found.append((blocks["type"], blocks["text"]))
        for v in blocks.values():
            found += texts_of(v)
    elif isinstance(blocks, list):
        for v in blocks:
            found += texts_of(v)
    return found


async def test_slack_and_teams_show_hostile_titles_as_text(sqlite_url, slack_api, connector):
    running = await serve(make_settings(sqlite_url, slack_api_url=slack_api.url, teams=True))
    try:
        await running.slash(f'usecase propose "{HOSTILE}"', channel="C1")
        post = (await slack_api.wait_for("chat.postMessage"))[0].params
        texts = texts_of(post["blocks"])
        assert any("{{ 7" in t for _, t in texts)  # the Jinja expression stayed text
        for kind, t in texts:
            if kind == "mrkdwn":  # plain_text cannot mention or link; mrkdwn must carry entities
                assert "<!channel>" not in t and "<@U999>" not in t and "<https://" not in t, t
        assert "<!channel>" not in post.get("text", "") or "&lt;" in post.get("text", "")

        await running.teams(message_activity(f'usecase propose "{TEAMS_MENTION}"', service_url=connector.url))
        reply = (await connector.wait_for(1))[0]
        assert not [e for e in reply.get("entities") or [] if e.get("type") == "mention"]
        body = json.dumps(reply["attachments"])
        assert "<at>Everyone</at>" not in body and "[click](https" not in body and "\\\\*\\\\*loud" in body

        async with running.bot.db.reading() as s:  # SQL in a field is data: stored verbatim, tables intact
            titles = sorted((await s.execute(select(UseCase.title))).scalars())
        # Teams' own <at> tags are unwrapped on the way in; what is left is stored and shown as text
        assert HOSTILE in titles and "Everyone [click](https://evil.example) **loud**" in titles
    finally:
        await running.stop()


def test_terminal_markdown_html_csv_and_xlsx_keep_hostile_text_inert(tmp_path):
    db = f"sqlite:///{tmp_path / 'inj.db'}"
    out = run_console(
        [f'usecase propose "{HOSTILE}"', f"usecase propose '{FORMULA}'", 'usecase propose "Bell \x1b[2J\x07 here"',
         "usecase list"],
        db, channel="inj",
    )  # fmt: skip
    assert "\x1b" not in out and "\x07" not in out and "{{ 7*7 }}" in out

    def export(fmt: str) -> Path:
        target = tmp_path / fmt
        proc = subprocess.run(
            [sys.executable, "-m", "bot.cli", "export", "--db", db, "--initiative", "inj", "--format", fmt,
             "--out", str(target)],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return target

    md = "\n".join(p.read_text() for p in export("md").rglob("*.md"))
    assert "{{ 7\\*7 }}" in md or "{{ 7*7 }}" in md
    assert "<script>" not in md and "<!channel>" not in md

    html = "\n".join(p.read_text() for p in export("html").rglob("*.html"))
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x</script>" not in html
    assert "{{ 7*7 }}" in html

    rows = [
        cell
        for p in export("csv").rglob("*.csv")
        for row in csv.reader(io.StringIO(p.read_text(encoding="utf-8-sig")))
        for cell in row
    ]
    assert "'" + FORMULA in rows and FORMULA not in rows
    assert not [c for c in rows if re.match(r"^[=+\-@]", c) and "HYPERLINK" in c]

    cells = [
        c
        for p in export("xlsx").rglob("*.xlsx")
        for ws in openpyxl.load_workbook(p).worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and "HYPERLINK" in c.value
    ]
    assert cells and all(c.data_type == "s" for c in cells)  # a string cell, never a formula ("f")
