"""Golden files: every deliverable of the fixed sample initiative in every text format.

Run with ALIGNBOT_UPDATE_GOLDEN=1 to rewrite them after an intended change, then read the diff.
The same Markdown must come out of SQLite and PostgreSQL (ordering never depends on the engine).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from bot.render import slack, teams, text
from bot.render.documents import Cover, render_html, render_markdown
from handlers.report_views import KEYS
from handlers.reports import build_documents, deliverable_version, document_elements
from storage import migrate
from storage.db import Database
from storage.migrate import upgrade_sync
from tests.report_sample import NOW, add_sign_offs, insert_sample

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("ALIGNBOT_UPDATE_GOLDEN") == "1"


async def sample(url: str) -> tuple[Database, object]:
    db = Database(url)
    async with db.transaction() as s:
        ini = await insert_sample(s)
        hashes = {k: (await deliverable_version(s, ini, k, now=NOW))[0] for k in ("usecases", "kpis")}
        await add_sign_offs(s, ini, hashes)
    return db, ini


def pinned(version: str, copy: str) -> str:
    """What a sign-off keeps: the hash first, so a change that would make approvals stale shows."""
    return f"{version}\n\n{copy}"


async def outputs(url: str) -> dict[str, str]:
    db, ini = await sample(url)
    out: dict[str, str] = {}
    async with db.reading() as s:
        docs = await build_documents(s, ini, list(KEYS), NOW)
        for doc in docs:
            elements = document_elements(doc)
            out[f"{doc.key}.md"] = render_markdown(doc)
            out[f"{doc.key}.txt"] = text.render(elements) + "\n"
            out[f"{doc.key}.slack.json"] = json.dumps(slack.messages(elements), indent=1, ensure_ascii=False) + "\n"
            out[f"{doc.key}.teams.json"] = json.dumps(teams.cards(elements), indent=1, ensure_ascii=False) + "\n"
            out[f"{doc.key}.pinned.txt"] = pinned(*await deliverable_version(s, ini, doc.key, now=NOW))
            out[f"{doc.key}.html"] = render_html(
                [doc], charts={}, cover=Cover("Sample"), generated="2026-11-26 10:30 CET"
            )
    await db.dispose()
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('golden') / 'g.db'}"
    upgrade_sync(url)
    return asyncio.run(outputs(url))


NAMES = [f"{k}.{ext}" for k in KEYS for ext in ("md", "txt", "slack.json", "teams.json", "pinned.txt", "html")]


@pytest.mark.parametrize("name", NAMES)
def test_golden(rendered, name):
    path = GOLDEN / name
    if UPDATE:
        path.write_text(rendered[name])
    assert path.exists(), f"{name} has no golden file: run with ALIGNBOT_UPDATE_GOLDEN=1"
    assert rendered[name] == path.read_text(), f"{name} differs from tests/golden/{name}"


def test_rendering_is_deterministic(rendered, tmp_path):
    url = f"sqlite:///{tmp_path / 'again.db'}"
    upgrade_sync(url)
    assert asyncio.run(outputs(url)) == rendered


async def test_same_pinned_version_on_both_databases(db_url):
    await migrate.upgrade(db_url)
    db, ini = await sample(db_url)
    async with db.reading() as s:
        for key in KEYS:
            version = pinned(*await deliverable_version(s, ini, key, now=NOW))
            assert version == (GOLDEN / f"{key}.pinned.txt").read_text()
    await db.dispose()
