"""Each output escapes for itself only: a title with Markdown's special characters is verbatim in
CSV, XLSX, HTML, Slack and the console, escaped in the Markdown export, and escaped in Teams cards
only where their Markdown subset would read it (issue #18)."""

from __future__ import annotations

import asyncio
import csv
import html as html_lib
import io
import json
import re

from openpyxl import load_workbook
from sqlalchemy import select

from bot.export import export_initiative
from bot.render import slack, teams, text
from bot.render.escape import card_text, markdown
from handlers.reports import build_documents, document_elements
from storage.db import Database
from storage.migrate import upgrade_sync
from storage.models import Initiative, UseCase
from tests.report_sample import NOW, insert_sample

TITLE = "Sales (EU). Q1 *draft*"


async def _outputs(url: str) -> dict[str, object]:
    db = Database(url)
    async with db.transaction() as s:
        ini = await insert_sample(s)
        uc = (await s.execute(select(UseCase).where(UseCase.initiative_id == ini.id, UseCase.number == 1))).scalar_one()
        uc.title = TITLE
    out: dict[str, object] = {}
    async with db.reading() as s:
        ini = (await s.execute(select(Initiative))).scalar_one()
        for fmt in ("md", "html", "csv", "xlsx"):
            out[fmt] = {f.name: f.content for f in await export_initiative(s, ini, fmt, NOW)}
        (doc,) = await build_documents(s, ini, ["usecases"], NOW)
        out["elements"] = document_elements(doc)
    await db.dispose()
    return out


def test_a_markdown_special_title_is_escaped_only_where_markdown_is_read(db_url):
    upgrade_sync(db_url)
    out = asyncio.run(_outputs(db_url))
    csv_files = out["csv"]
    rows = list(csv.reader(io.StringIO(csv_files["use_cases.csv"].decode("utf-8-sig"))))
    assert ["UC-1", TITLE] in [r[1:3] for r in rows]
    (xlsx,) = out["xlsx"].values()
    cells = [c.value for ws in load_workbook(io.BytesIO(xlsx)) for row in ws.iter_rows() for c in row]
    assert TITLE in cells
    (page,) = out["html"].values()
    page_text = html_lib.unescape(re.sub(r"<[^>]+>", "", page.decode()))
    assert TITLE in page_text and "\\(" not in page_text
    md = next(c for n, c in out["md"].items() if n.endswith(".md")).decode()
    assert markdown(TITLE) == r"Sales \(EU\). Q1 \*draft\*" and markdown(TITLE) in md and TITLE not in md

    elements = out["elements"]
    assert TITLE in text.render(elements)
    slack_json = json.dumps(slack.messages(elements), ensure_ascii=False)
    assert json.dumps(TITLE, ensure_ascii=False)[1:-1] in slack_json and "\\\\(" not in slack_json
    blocks = [
        b["text"] for card in teams.cards(elements) for b in _walk(card["body"]) if b.get("type") == "TextBlock"
    ]
    # Teams reads only emphasis, links and lists: the stars are escaped, the brackets and dot are not
    assert r"Sales (EU). Q1 \*draft\*" in blocks
    assert not any("\\(" in b or "\\." in b for b in blocks), [b for b in blocks if "\\(" in b or "\\." in b][:3]


def _walk(items: list) -> list[dict]:
    found = []
    for item in items:
        if isinstance(item, dict):
            found.append(item)
            for value in item.values():
                if isinstance(value, list):
                    found += _walk(value)
    return found


def test_card_text_escapes_what_adaptive_cards_read_and_nothing_else():
    assert card_text(TITLE) == r"Sales (EU). Q1 \*draft\*"
    assert card_text("snake_case [link](http://x) a\\b") == r"snake\_case \[link\](http://x) a\\b"
    assert card_text("- item\n+ item\n3. item\n  * item") == "\\- item\n\\+ item\n3\\. item\n  \\* item"
    assert card_text("-") == "\\-"  # a lone dash is an empty list item
    assert card_text("<https://evil|x>") == r"\<https://evil|x\>"
    assert card_text("-2 + 3, #tag, (a), 1.5, ~x~, `y`, |z|!") == "-2 + 3, #tag, (a), 1.5, ~x~, `y`, |z|!"
