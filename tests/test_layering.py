"""Structural rules: handlers/ stays platform-neutral; botbuilder stays inside the Teams face;
the migrations describe exactly the models."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from storage.migrate import upgrade_sync
from storage.models import Base

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_PACKAGES = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "aiohttp", "microsoft_agents")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folder: str, banned: tuple[str, ...], root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        for name in imported_modules(path):
            if name.split(".")[0] in banned:
                found.append(f"{path.relative_to(root)} imports {name}")
    return found


def test_handlers_import_no_platform_sdk():
    assert offenders("handlers", PLATFORM_PACKAGES) == []


def test_storage_and_schedules_import_no_platform_sdk():
    assert offenders("storage", PLATFORM_PACKAGES) == []
    assert offenders("schedules", PLATFORM_PACKAGES) == []


def test_botbuilder_only_inside_the_teams_face():
    outside = [o for o in offenders("bot", ("botbuilder", "botframework")) if not o.startswith("bot/faces/teams/")]
    assert outside == []


def test_the_rule_checker_catches_an_offender(tmp_path):
    bad = tmp_path / "handlers"
    bad.mkdir()
    (bad / "x.py").write_text("import os\nfrom slack_sdk.web import WebClient\n")
    assert offenders("handlers", PLATFORM_PACKAGES, tmp_path) == ["handlers/x.py imports slack_sdk.web"]


def test_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade_sync(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], "models changed: run `python -m storage.migrations.regenerate`"
