"""Structural rules: handlers/ stays platform-neutral; botbuilder stays inside the Teams face;
the layers point one way (faces -> core -> rules -> storage); features do not import each other;
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


def imported_modules(path: Path, with_members: bool = False) -> set[str]:
    """Every module a file imports (imports inside functions too); `with_members` reads
    `from handlers import formats` as handlers.formats as well, for rules about our own modules."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if with_members:
                names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def offenders(folder: str, banned: tuple[str, ...], root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        for name in imported_modules(path):
            if name.split(".")[0] in banned:
                found.append(f"{path.relative_to(root)} imports {name}")
    return found


def module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts)


def is_command_module(path: Path) -> bool:
    """A feature: a module that registers a @command, @action or @form with the registry."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if isinstance(target, ast.Name) and target.id in ("command", "action", "form"):
                    return True
    return False


def command_modules(root: Path = ROOT) -> set[str]:
    return {module_name(p, root) for p in (root / "handlers").rglob("*.py") if is_command_module(p)}


# Pure rule modules: functions of plain values and model objects (storage.models), no session,
# no clock, no feature. Unit-tested without a database.
PURE_MODULES = ("*_rules.py", "tally.py", "formats.py", "scoring.py")


def pure_modules(root: Path = ROOT) -> list[Path]:
    return sorted({p for pattern in PURE_MODULES for p in (root / "handlers").glob(pattern)})


def banned_imports(paths: list[Path], banned, root: Path = ROOT) -> list[str]:
    """`banned(importer, imported)` says whether a file (as a module name) may not import a module."""
    found = []
    for path in paths:
        importer = module_name(path, root)
        for name in sorted(imported_modules(path, with_members=True)):
            if name != importer and banned(importer, name):
                found.append(f"{importer} imports {name}")
    return found


def reaching_up(root: Path = ROOT) -> list[str]:
    """handlers and schedules import nothing from bot; storage nothing from above it."""
    above = {"handlers": ("bot",), "schedules": ("bot",), "storage": ("bot", "handlers", "schedules")}
    found = []
    for folder, banned in above.items():
        paths = sorted((root / folder).rglob("*.py"))
        found += banned_imports(paths, lambda _, name, b=banned: name.split(".")[0] in b, root)
    return found


def features_importing_features(root: Path = ROOT) -> list[str]:
    commands = command_modules(root)
    paths = sorted(p for p in (root / "handlers").rglob("*.py") if module_name(p, root) in commands)
    return banned_imports(paths, lambda _, name: name in commands, root)


def impure_rules(root: Path = ROOT) -> list[str]:
    commands = command_modules(root)

    def banned(_: str, name: str) -> bool:
        return name in commands or (name.split(".")[0] == "storage" and not name.startswith("storage.models"))

    return banned_imports(pure_modules(root), banned, root)


# What only storage/ may do: build statements and call the session. A handler goes through
# storage/repos/ (store.add, store.by_id, ... and the feature repositories) and reads as its rule.
SESSION_CALLS = {
    "add",
    "add_all",
    "flush",
    "get",
    "get_one",
    "execute",
    "scalar",
    "scalars",
    "delete",
    "refresh",
    "merge",
}
SQL_IMPORTS = ("sqlalchemy",)
SQL_TYPES = {"sqlalchemy.ext.asyncio", "sqlalchemy.ext.asyncio.AsyncSession", "sqlalchemy.exc"}


def talking_sql(root: Path = ROOT) -> list[str]:
    """Handlers that call the session or import SQLAlchemy beyond its session type and its errors."""
    found = []
    for path in sorted((root / "handlers").rglob("*.py")):
        name = module_name(path, root)
        for imported in sorted(imported_modules(path, with_members=True)):
            if imported.split(".")[0] in SQL_IMPORTS and not any(imported.startswith(t) for t in SQL_TYPES):
                found.append(f"{name} imports {imported}")
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SESSION_CALLS
                and _names_a_session(node.func.value)
            ):
                found.append(f"{name}:{node.lineno} calls session.{node.func.attr}")
    return found


def _names_a_session(node: ast.expr) -> bool:
    """`session`, `s`, `ctx.session`, `self.session`: how the code names the session it was given."""
    if isinstance(node, ast.Name):
        return node.id in ("session", "s", "db_session")
    return isinstance(node, ast.Attribute) and node.attr == "session"


# Known exceptions, each with its reason; remove an entry when its import goes.
ALLOWED_REACHING_UP: set[str] = set()
# None left (issue #21): what features share lives in modules that register nothing (items.py
# for numbered items, fields.py for limits and the edit diff, title_rules.py, scoring.py, ...).
ALLOWED_FEATURE_IMPORTS: set[str] = set()
ALLOWED_IMPURE_RULES: set[str] = set()


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


def test_layers_do_not_reach_up():
    assert sorted(set(reaching_up()) - ALLOWED_REACHING_UP) == []


def test_no_command_module_imports_another():
    assert sorted(set(features_importing_features()) - ALLOWED_FEATURE_IMPORTS) == []


def test_handlers_talk_no_sql():
    assert talking_sql() == []


def test_pure_rule_modules_import_no_feature_and_no_storage():
    assert sorted(set(impure_rules()) - ALLOWED_IMPURE_RULES) == []


def test_the_allowlists_hold_only_imports_that_still_exist():
    """An exception outlives its import otherwise, and would silently allow it back."""
    assert ALLOWED_REACHING_UP <= set(reaching_up())
    assert ALLOWED_FEATURE_IMPORTS <= set(features_importing_features())
    assert ALLOWED_IMPURE_RULES <= set(impure_rules())


def plant(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


FEATURE = "from handlers.registry import command\n\n@command('x')\nasync def x(ctx, args): ...\n"


def test_the_checker_catches_a_layer_reaching_up(tmp_path):
    plant(
        tmp_path,
        {
            "handlers/a.py": "import json\nfrom bot.render import documents\n",
            "schedules/b.py": "def f():\n    import bot.app\n",
            "storage/c.py": "from handlers import fields\nfrom storage import models\n",
        },
    )
    assert reaching_up(tmp_path) == [
        "handlers.a imports bot.render",
        "handlers.a imports bot.render.documents",
        "schedules.b imports bot.app",
        "storage.c imports handlers",
        "storage.c imports handlers.fields",
    ]


def test_the_checker_catches_a_feature_importing_a_feature(tmp_path):
    plant(
        tmp_path,
        {
            "handlers/one.py": FEATURE,
            "handlers/two.py": FEATURE + "def f():\n    from handlers.one import helper\n",
            "handlers/three.py": FEATURE + "from handlers import shared\n",
            "handlers/shared.py": "from handlers import one\n",
        },
    )
    assert command_modules(tmp_path) == {"handlers.one", "handlers.two", "handlers.three"}
    assert features_importing_features(tmp_path) == ["handlers.two imports handlers.one"]


def test_the_checker_catches_an_impure_rule_module(tmp_path):
    plant(
        tmp_path,
        {
            "handlers/one.py": FEATURE,
            "handlers/x_rules.py": "from handlers.one import helper\nfrom storage.models import Risk\n",
            "handlers/tally.py": "from storage.repos import polls\n",
            "handlers/fine.py": "from storage.repos import polls\n",
        },
    )
    assert impure_rules(tmp_path) == [
        "handlers.tally imports storage.repos",
        "handlers.tally imports storage.repos.polls",
        "handlers.x_rules imports handlers.one",
    ]


def test_the_checker_catches_a_handler_talking_sql(tmp_path):
    plant(
        tmp_path,
        {
            "handlers/one.py": FEATURE
            + "from sqlalchemy import select\nfrom sqlalchemy.ext.asyncio import AsyncSession\n"
            + "async def f(ctx, session):\n    ctx.session.add(1)\n    await session.execute(select(1))\n"
            + "    await store.add(ctx.session, 1)\n    {}.get('x')\n",
            "handlers/fine.py": "from sqlalchemy.exc import IntegrityError\nfrom storage.repos import store\n",
        },
    )
    assert talking_sql(tmp_path) == [
        "handlers.one imports sqlalchemy",
        "handlers.one imports sqlalchemy.select",
        "handlers.one:8 calls session.add",
        "handlers.one:9 calls session.execute",
    ]


def test_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade_sync(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], "models changed: run `python -m storage.migrations.regenerate`"
