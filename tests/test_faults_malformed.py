"""Malformed and forged requests before any authentication (issue #19, point 6): each is answered
4xx, costs bounded work and writes at most one short log line, never a traceback; nothing is
stored. Run with and without TEAMS_APP_ID (then every Teams token is checked)."""

from __future__ import annotations

import json
import logging

import jwt
import pytest
from sqlalchemy import func, select

from storage.models import UseCase
from tests.fakes.openid_keys import FakeOpenIdKeys
from tests.support import make_settings, message_activity, serve, signed_headers, slash_body

APP_ID = "00000000-0000-0000-0000-00000000a19b"
DEEP = "[" * 100_000 + "]" * 100_000
BOGUS_FORM = "application/x-www-form-urlencoded; charset=bogus-9"


def slack_corpus() -> dict[str, tuple[bytes, dict[str, str]]]:
    """name -> (body, headers); the signed ones reach the parsers."""
    cmd = slash_body('usecase propose "Charset"')
    event = json.dumps({"type": "event_callback", "team_id": "T1", "event": {"type": "app_home_opened"}})
    deep_event = '{"type": "event_callback", "x": ' + DEEP + "}"

    def signed(body: str, content_type: str = "application/x-www-form-urlencoded") -> tuple[bytes, dict[str, str]]:
        return body.encode(), signed_headers(body, content_type=content_type)

    return {
        "unsigned deep JSON": (deep_event.encode(), {"Content-Type": "application/json"}),
        "signed deep JSON": signed(deep_event, "application/json"),
        "signed deep payload=": signed("payload=" + DEEP),
        "bogus charset, unsigned": (cmd.encode(), {"Content-Type": BOGUS_FORM}),
        # Slack sends UTF-8 whatever the header says: answered as any command (200), never a 500
        "bogus charset, signed": signed(slash_body("help"), BOGUS_FORM),
        "not UTF-8, signed": (b"text=\xff\xfe", signed_headers("text=\xff\xfe")),
        "timestamp not a number": (cmd.encode(), {**signed_headers(cmd), "X-Slack-Request-Timestamp": "9" * 5000}),
        "app_home_opened without user": signed(event, "application/json"),
    }


def teams_corpus(connector_url: str, keys: FakeOpenIdKeys | None) -> dict[str, tuple[bytes, dict[str, str]]]:
    activity = message_activity('usecase propose "Forged"', service_url=connector_url)
    body = json.dumps(activity).encode()
    claims = {"iss": "https://api.botframework.com", "aud": APP_ID, "serviceurl": connector_url}
    tokens = {
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "HS256": jwt.encode(claims, "a-shared-secret-nobody-should-accept-32b", algorithm="HS256"),
        "HS256 with a kid": jwt.encode(claims, "a-shared-secret-nobody-should-accept-32b", algorithm="HS256",
                                       headers={"kid": "key-1"}),
        "not a JWT": "not-a-token",
        "two tokens": "a b",
    }  # fmt: skip
    if keys is not None:
        tokens |= {
            "unknown kid": keys.sign(APP_ID, connector_url, kid="key-unknown"),
            "missing iss": keys.sign(APP_ID, connector_url, iss=None),
            "wrong audience": keys.sign("someone-else", connector_url),
            "expired": keys.sign(APP_ID, connector_url, exp=1_000_000_000),
        }
    json_headers = {"Content-Type": "application/json"}
    corpus = {f"token: {n}": (body, {**json_headers, "Authorization": f"Bearer {t}"}) for n, t in tokens.items()}
    deep = b'{"type": "message", "x": ' + DEEP.encode() + b"}"
    corpus |= {
        "no token": (body, json_headers),
        "deep JSON": (deep, json_headers),
        "bogus charset": (body, {"Content-Type": "application/json; charset=bogus-9"}),
    }
    if keys is not None:  # the one that needs the keys fetched: a channel the key is not endorsed for
        other = json.dumps({**activity, "channelId": "webchat"}).encode()
        token = keys.sign(APP_ID, connector_url)
        corpus["channel not endorsed"] = (other, {**json_headers, "Authorization": f"Bearer {token}"})
    return corpus


class LogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log_lines():
    handler, root = LogLines(), logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def assert_one_short_line_at_most(lines: LogLines, since: int, name: str) -> None:
    # aiohttp's access log (INFO, one line per request) is not counted: it is configured off by default
    mine = [r for r in lines.records[since:] if r.name != "aiohttp.access"]
    assert len(mine) <= 1, (name, [r.getMessage()[:200] for r in mine])
    for r in mine:
        assert r.exc_info is None and len(r.getMessage()) < 400, (name, r.getMessage()[:400])


async def use_cases(running) -> int:
    async with running.bot.db.reading() as s:
        return (await s.execute(select(func.count()).select_from(UseCase))).scalar_one()


@pytest.mark.parametrize("with_app_id", [False, True], ids=["dev", "app-id"])
async def test_malformed_and_forged_requests_get_4xx_one_line_and_store_nothing(
    sqlite_url, slack_api, connector, log_lines, with_app_id
):
    keys = FakeOpenIdKeys() if with_app_id else None
    extra = {}
    if keys is not None:
        extra = {"teams_app_id": APP_ID, "teams_app_password": "pw", "teams_openid_metadata_url": keys.metadata_url}
    running = await serve(make_settings(sqlite_url, slack_api_url=slack_api.url, teams=not with_app_id, **extra))
    try:
        corpus = {("/slack/events", n): c for n, c in slack_corpus().items()}
        if with_app_id:
            corpus |= {("/api/messages", n): c for n, c in teams_corpus(connector.url, keys).items()}
        else:  # in --dev there is no token to check: only the body's shape
            dev = teams_corpus(connector.url, None)
            corpus |= {("/api/messages", n): dev[n] for n in ("deep JSON",)}
        for (path, name), (body, headers) in corpus.items():
            since = len(log_lines.records)
            resp = await running.http.post(running.url + path, data=body, headers=headers)
            text = await resp.text()
            assert resp.status < 500, (path, name, resp.status, text[:300])
            if name not in ("app_home_opened without user", "bogus charset, signed"):  # acked; nothing must fail
                assert 400 <= resp.status < 500, (path, name, resp.status, text[:300])
            if path == "/api/messages" and name.startswith(("token", "no token", "channel")):
                assert resp.status == 401, (name, resp.status, text[:300])
            assert "Traceback" not in text
            await running.bot.slack.finish_in_flight(5)
            assert_one_short_line_at_most(log_lines, since, name)
        huge = {"X-Padding": "a" * 10_000}
        since = len(log_lines.records)
        for path in ("/slack/events", "/api/messages"):
            resp = await running.http.post(running.url + path, data=b"{}", headers=huge)
            assert resp.status == 400
        assert len([r for r in log_lines.records[since:] if r.name != "aiohttp.access"]) <= 2
        assert all(r.exc_info is None for r in log_lines.records[since:])
        assert await use_cases(running) == 0 and connector.activities == []
    finally:
        await running.stop()
        if keys:
            keys.stop()
