"""The `alignbot` CLI: settings, db upgrade, manifests."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import zipfile

import pytest
import yaml
from sqlalchemy import create_engine, inspect

from bot.settings import Settings
from tests.console import ROOT


def alignbot(*args: str, env: dict[str, str] | None = None, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env
    )


def test_settings_from_environment_and_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nALIGNBOT_TIMEZONE=Europe/Berlin\n")
    s = Settings.from_env({"ALIGNBOT_TIMEZONE": "America/New_York", "SLACK_SIGNING_SECRET": "sec"}, dotenv)
    assert s.slack_bot_token == "xoxb-from-file"
    assert s.timezone == "America/New_York"  # the environment wins over the file
    assert s.slack_enabled and not s.teams_enabled
    assert Settings.from_env({}, None).database_url == "sqlite:///alignbot.db"
    assert Settings.from_env({"SLACK_BOT_TOKEN": "x"}, None).unsafe_reasons()


def test_db_upgrade_creates_the_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'u.db'}"
    proc = alignbot("db", "upgrade", "--db", url)
    assert proc.returncode == 0, proc.stderr
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"use_case", "poll", "reminder", "outbox", "processed_event", "alembic_version"} <= tables


def test_slack_manifest_points_every_url_at_slack_events():
    proc = alignbot("manifest", "slack", "--url", "https://bot.example.com/")
    assert proc.returncode == 0, proc.stderr
    manifest = yaml.safe_load(proc.stdout)
    url = "https://bot.example.com/slack/events"
    assert manifest["features"]["slash_commands"][0]["command"] == "/align"
    assert manifest["features"]["slash_commands"][0]["url"] == url
    assert manifest["settings"]["interactivity"]["request_url"] == url
    assert manifest["settings"]["event_subscriptions"]["request_url"] == url
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]


def test_teams_package_has_manifest_and_icons(tmp_path):
    out = tmp_path / "alignbot.zip"
    proc = alignbot(
        "manifest",
        "teams",
        "--app-id",
        "11111111-2222-3333-4444-555555555555",
        "--url",
        "https://bot.example.com",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["bots"][0]["botId"] == "11111111-2222-3333-4444-555555555555"
        assert manifest["validDomains"] == ["bot.example.com"]
        assert z.read("color.png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_serve_refuses_slack_token_without_signing_secret(tmp_path):
    proc = alignbot(
        "serve",
        "--port",
        "0",
        "--db",
        f"sqlite:///{tmp_path / 's.db'}",
        env={"PATH": "/usr/bin:/bin", "SLACK_BOT_TOKEN": "xoxb-1", "HOME": str(tmp_path)},
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "SLACK_SIGNING_SECRET" in proc.stderr


def _started_console_modules(url: str) -> set[str]:
    """Start the console's app on `url` in a fresh interpreter; which of the libraries it must not
    need at start-up did it load?"""
    script = (
        "import asyncio, sys\n"
        "from bot.app import create_app\n"
        "from bot.settings import Settings\n"
        f"app = create_app(Settings(database_url={url!r}))\n"
        "async def main():\n"
        "    await app.start()\n"
        "    await app.stop()\n"
        "asyncio.run(main())\n"
        "print(' '.join(m for m in ('alembic', 'aiohttp', 'prometheus_client') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_migration_heads_are_read_from_the_files_as_alembic_reads_them():
    from alembic.script import ScriptDirectory

    from storage import migrate

    alembic_heads = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads()
    assert migrate.heads() == set(alembic_heads)


def test_console_migrates_a_fresh_database_and_skips_alembic_once_current(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert _started_console_modules(url) == {"alembic"}  # first run: the schema is made
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"use_case", "outbox", "alembic_version"} <= tables
    assert _started_console_modules(url) == set()  # at the head: one query, no Alembic, no web server


def test_console_upgrades_a_database_behind_the_code(tmp_path):
    from alembic import command

    from storage.migrate import alembic_config, heads, upgrade_sync

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade_sync(url)
    command.downgrade(alembic_config(url), "base")  # as old as a schema gets: only alembic_version
    assert "use_case" not in inspect(create_engine(url)).get_table_names()
    assert _started_console_modules(url) == {"alembic"}
    with create_engine(url).connect() as c:
        assert {r for (r,) in c.exec_driver_sql("SELECT version_num FROM alembic_version")} == heads()
    assert "use_case" in inspect(create_engine(url)).get_table_names()


def test_manifest_arguments_are_checked_with_a_clear_error(tmp_path):
    out = str(tmp_path / "a.zip")
    cases = [
        (("teams", "--app-id", "not-a-guid", "--url", "https://bot.example.com", "--out", out), "--app-id must be"),
        (
            ("teams", "--app-id", "11111111-2222-3333-4444-555555555555", "--url", "http://bot", "--out", out),
            "https://",
        ),
        (("teams", "--app-id", "11111111-2222-3333-4444-555555555555", "--url", "https://", "--out", out), "host"),
        (("slack", "--url", "ftp://bot.example.com"), "--url must be an https:// address"),
    ]
    for args, said in cases:
        proc = alignbot("manifest", *args)
        assert proc.returncode == 2 and said in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "a.zip").exists()


def test_teams_manifest_supports_files_and_names_its_legal_pages():
    from bot.manifest import teams_manifest
    from handlers.registry import Registry

    m = teams_manifest("11111111-2222-3333-4444-555555555555", "https://bot.example.com/", Registry.discover())
    assert m["bots"][0]["supportsFiles"] is True
    assert m["developer"]["privacyUrl"] == "https://bot.example.com/privacy"
    own = teams_manifest(
        "11111111-2222-3333-4444-555555555555",
        "https://bot.example.com",
        Registry.discover(),
        privacy_url="https://corp.example/p",
    )
    assert own["developer"]["privacyUrl"] == "https://corp.example/p"


def test_both_manifests_list_the_registrys_menu_commands_within_teams_limits():
    """The menus come from the registry: mark another command and both manifests show it."""
    from bot.manifest import slack_manifest, teams_manifest
    from handlers.registry import MENU_SIZE, Registry

    registry = Registry.discover()
    menu = [spec.name for spec in registry.menu()]
    assert menu[0] == "help" and {"usecase propose", "kpi suggest", "risk report"} <= set(menu)
    commands = teams_manifest("11111111-2222-3333-4444-555555555555", "https://b.example", registry)["bots"][0][
        "commandLists"
    ][0]["commands"]
    assert [c["title"] for c in commands] == menu
    assert [c["description"] for c in commands] == [registry.commands[n].summary for n in menu]
    assert len(commands) <= MENU_SIZE  # Teams' schema: at most 10 commands, title 32, description 128
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands)
    hint = yaml.safe_load(slack_manifest("https://b.example", registry))["features"]["slash_commands"][0]["usage_hint"]
    assert hint == " | ".join(menu)

    registry.commands["raci mine"] = dataclasses.replace(registry.commands["raci mine"], menu=False)
    registry.commands["risk list"] = dataclasses.replace(registry.commands["risk list"], menu=True)
    titles = [
        c["title"]
        for c in teams_manifest("11111111-2222-3333-4444-555555555555", "https://b.example", registry)["bots"][0][
            "commandLists"
        ][0]["commands"]
    ]
    assert titles == ["help", *sorted({*menu[1:], "risk list"} - {"raci mine"})]
    for name in sorted(registry.commands)[: MENU_SIZE + 1]:
        registry.commands[name] = dataclasses.replace(registry.commands[name], menu=True)
    with pytest.raises(RuntimeError, match="at most 10"):
        registry.menu()
