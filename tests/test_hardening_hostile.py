"""Hostile and broken deliveries, signed so they reach the parsers: a clear refusal, never a 500.

Hypothesis drives a sync client against a real server running on its own loop in a thread, so
each example is a real HTTP request through Bolt's and botbuilder's parsing and ours.
"""

from __future__ import annotations

import asyncio
import json
import threading
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from storage.models import UseCase
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import FakeSlackApi
from tests.support import block_action, make_settings, message_activity, serve, signed_headers, slash_body

EXAMPLES = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


class Live:
    """The real web app on a loop of its own, for a synchronous (hypothesis) client."""

    def __init__(self, db_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.slack_api = self.run(FakeSlackApi().start())
        self.connector = self.run(FakeBotConnector().start())
        self.server = self.run(serve(make_settings(db_url, slack_api_url=self.slack_api.url, teams=True)))
        self.url = self.server.url
        self.http = requests.Session()

    def run(self, coro, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def use_cases(self) -> int:
        async def count() -> int:
            async with self.server.bot.db.reading() as s:
                return (await s.execute(select(func.count()).select_from(UseCase))).scalar_one()

        return self.run(count())

    def close(self) -> None:
        self.http.close()
        self.run(self.server.stop())
        self.run(self.slack_api.stop())
        self.run(self.connector.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    running = Live(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'h.db'}")
    yield running
    running.close()


def post_slack(live: Live, body: str) -> requests.Response:
    return live.http.post(live.url + "/slack/events", data=body.encode(), headers=signed_headers(body), timeout=30)


def refused_cleanly(resp: requests.Response) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.text[:300])
    assert "Traceback" not in resp.text and 'File "' not in resp.text


def mutate(base: dict, data, keep: tuple[str, ...] = ()) -> dict:
    """Drop keys, retype values, add junk: the shapes a broken or forged payload takes."""
    out = dict(base)
    for key in [k for k in base if k not in keep]:
        choice = data.draw(st.sampled_from(["keep", "keep", "drop", "retype"]))
        if choice == "drop":
            del out[key]
        elif choice == "retype":
            out[key] = data.draw(json_values)
    out.update(data.draw(st.dictionaries(st.text(max_size=10), json_values, max_size=3)))
    return out


@EXAMPLES
@given(fields=st.dictionaries(st.sampled_from(["command", "text", "user_id", "team_id", "channel_id",
                                               "trigger_id", "payload", "type", "ssl_check"]) | st.text(max_size=8),
                              st.text(max_size=300), max_size=8))  # fmt: skip
def test_arbitrary_signed_slack_forms_never_500(live, fields):
    refused_cleanly(post_slack(live, urlencode(fields)))


@EXAMPLES
@given(raw=st.binary(max_size=400))
def test_arbitrary_signed_slack_bytes_never_500(live, raw):
    headers = signed_headers(raw.decode("latin-1"))
    resp = live.http.post(live.url + "/slack/events", data=raw, headers=headers, timeout=30)
    assert resp.status_code < 500


@EXAMPLES
@given(data=st.data())
def test_broken_slack_interactions_never_500(live, data):
    kind = data.draw(st.sampled_from(["block_actions", "view_submission", "raw"]))
    if kind == "raw":
        payload = data.draw(st.text(max_size=200) | json_values.map(json.dumps))
    else:
        base = block_action("usecase.view:1", '{"c":"C1","v":"1"}')
        if kind == "view_submission":
            view = {"callback_id": "alignbot_form", "id": "V1", "private_metadata": data.draw(st.text(max_size=80)),
                    "state": {"values": data.draw(json_values)}}  # fmt: skip
            base = {**base, "type": "view_submission", "view": view}
        payload = json.dumps(mutate(base, data))
    refused_cleanly(post_slack(live, urlencode({"payload": payload})))


@EXAMPLES
@given(text=st.text(max_size=3000))
def test_arbitrary_command_text_gets_a_polite_reply_and_stores_nothing(live, text):
    before = live.use_cases()
    resp = post_slack(live, slash_body("x " + text))  # never a real command: `x` is no command word
    refused_cleanly(resp)
    assert resp.status_code == 200
    assert live.use_cases() == before


@EXAMPLES
@given(data=st.data())
def test_broken_teams_activities_never_500(live, data):
    base = message_activity(data.draw(st.text(max_size=200)), service_url=live.connector.url)
    # serviceUrl stays: in production the Bot Framework token vouches for it, and a forged one is
    # refused with 401 before any parsing (test_foundation_teams).
    activity = mutate(base, data, keep=("serviceUrl",))
    if data.draw(st.booleans()):
        activity["value"] = data.draw(json_values)
    resp = live.http.post(live.url + "/api/messages", json=activity, timeout=30)
    refused_cleanly(resp)


@EXAMPLES
@given(raw=st.binary(max_size=400))
def test_arbitrary_teams_bytes_never_500(live, raw):
    resp = live.http.post(
        live.url + "/api/messages", data=raw, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert resp.status_code < 500
