"""Shared fixtures: a fresh database per test (SQLite always; PostgreSQL when
ALIGNBOT_TEST_POSTGRES_URL is set), the recording fakes, and a running server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from storage.migrate import upgrade_sync
from tests import payload_rules
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import FakeSlackApi
from tests.support import Running, make_settings, serve

PG_URL = os.environ.get("ALIGNBOT_TEST_POSTGRES_URL", "")
PG_SKIP = "PostgreSQL tests need ALIGNBOT_TEST_POSTGRES_URL (./.ci/run sets it)"


class PostgresDatabases:
    """One migrated template per run; each test gets a copy (CREATE DATABASE ... TEMPLATE is fast)."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.template = f"alignbot_tmpl_{uuid.uuid4().hex[:8]}"
        self.made: list[str] = []

    def _admin(self) -> psycopg.Connection:
        u = self.url
        return psycopg.connect(
            host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database, autocommit=True
        )

    def _url(self, name: str) -> str:
        return self.url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)

    def prepare(self) -> None:
        with self._admin() as c:
            c.execute(f'CREATE DATABASE "{self.template}"')
        upgrade_sync(self._url(self.template))

    def new(self, *, migrated: bool = True) -> str:
        name = f"alignbot_t_{uuid.uuid4().hex[:10]}"
        with self._admin() as c:
            c.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{self.template}"' if migrated else ""))
        self.made.append(name)
        return self._url(name)

    def drop_all(self) -> None:
        with self._admin() as c:
            for name in [*self.made, self.template]:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres() -> PostgresDatabases | None:
    if not PG_URL:
        yield None
        return
    pg = PostgresDatabases(PG_URL)
    pg.prepare()
    yield pg
    pg.drop_all()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path, postgres) -> str:
    """Every test that takes `db_url` runs on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'alignbot.db'}"
    if postgres is None:
        pytest.skip(PG_SKIP)
    return postgres.new()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request, tmp_path, postgres) -> str:
    """Like `db_url`, but a database nobody has migrated yet (a first start)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'alignbot.db'}"
    if postgres is None:
        pytest.skip(PG_SKIP)
    return postgres.new(migrated=False)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'alignbot.db'}"


@pytest.fixture
def pg_url(postgres) -> str:
    if postgres is None:
        pytest.skip(PG_SKIP)
    return postgres.new()


class PayloadCheck:
    """The fakes of one test; at its end every payload they recorded is checked against the
    platforms' rules (tests/payload_rules.py)."""

    def __init__(self) -> None:
        self.slack: list[FakeSlackApi] = []
        self.teams: list[FakeBotConnector] = []

    def violations(self) -> list[str]:
        out = [
            f"Slack {c.method}: {v}"
            for fake in self.slack
            for c in fake.calls
            for v in payload_rules.slack_violations(c.method, c.params)
        ]
        return out + [
            f"Teams {a.get('_path')}: {v}"
            for fake in self.teams
            for a in fake.activities
            for v in payload_rules.teams_violations(a)
        ]


@pytest.fixture(autouse=True)
def payload_check() -> PayloadCheck:
    """Every test's payloads obey Slack's and Teams' rules: a violation fails the test at teardown."""
    check = PayloadCheck()
    yield check
    found = check.violations()
    assert not found, f"{len(found)} payload(s) break the platforms' rules:\n" + "\n".join(found[:20])


@pytest.fixture
async def slack_api(payload_check) -> AsyncIterator[FakeSlackApi]:
    fake = await FakeSlackApi().start()
    payload_check.slack.append(fake)
    yield fake
    await fake.stop()


@pytest.fixture
async def connector(payload_check) -> AsyncIterator[FakeBotConnector]:
    fake = await FakeBotConnector().start()
    payload_check.teams.append(fake)
    yield fake
    await fake.stop()


@pytest.fixture
async def server(db_url, slack_api) -> AsyncIterator[Running]:
    """`alignbot serve` with Slack pointed at the fake API and Teams in --dev mode."""
    running = await serve(make_settings(db_url, slack_api_url=slack_api.url, teams=True))
    yield running
    await running.stop()
