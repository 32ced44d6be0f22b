"""The server's operator side: readiness, metrics, body limits, pacing and retries that never block."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text

from bot.observability import JsonFormatter, Redactor, request_id
from bot.ratelimit import TokenBuckets, backoff_delay, retry_after
from storage.models import ProcessedEvent, UseCase
from tests.support import message_activity, teams_reply


async def count(server, model) -> int:
    async with server.bot.db.reading() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def samples(server) -> dict[tuple[str, tuple], float]:
    resp = await server.http.get(server.url + "/metrics")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(await resp.text()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_readyz_needs_the_database_at_the_latest_migration(server):
    resp = await server.http.get(server.url + "/readyz")
    assert resp.status == 200 and (await resp.json())["status"] == "ready"
    async with server.bot.db.transaction() as s:
        head = (await s.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        await s.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    resp = await server.http.get(server.url + "/readyz")
    body = await resp.json()
    assert resp.status == 503 and "alignbot db upgrade" in body["problems"][0]
    async with server.bot.db.transaction() as s:
        await s.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": head})
    assert (await server.http.get(server.url + "/readyz")).status == 200


async def test_metrics_count_requests_by_platform_and_outcome_and_time_the_acks(server, slack_api, connector):
    await server.slash('usecase propose "Counted"')
    await server.slash("usecase propose --impact 9")  # refused politely: still a 200 to Slack
    await server.teams(message_activity("usecase list", service_url=connector.url))
    await server.http.post(server.url + "/api/messages", data=b"{broken", headers={"Content-Type": "application/json"})
    m = await samples(server)
    assert m[("alignbot_requests_total", (("outcome", "ok"), ("platform", "slack")))] == 2
    assert m[("alignbot_requests_total", (("outcome", "ok"), ("platform", "teams")))] == 1
    assert m[("alignbot_requests_total", (("outcome", "refused"), ("platform", "teams")))] == 1
    assert m[("alignbot_ack_seconds_count", (("platform", "slack"),))] == 2
    assert m[("alignbot_ack_seconds_bucket", (("le", "3.0"), ("platform", "slack")))] == 2
    assert ("alignbot_outbox_messages", (("state", "failed"),)) in m
    assert ("alignbot_reminders", (("state", "late"),)) in m


async def test_request_ids_are_returned_and_a_proxy_id_is_kept(server):
    resp = await server.http.get(server.url + "/healthz", headers={"X-Request-Id": "lb-1234abcd"})
    assert resp.headers["X-Request-Id"] == "lb-1234abcd"
    resp = await server.http.get(server.url + "/healthz", headers={"X-Request-Id": "<script>"})
    assert resp.headers["X-Request-Id"] != "<script>" and len(resp.headers["X-Request-Id"]) == 16


async def test_oversize_bodies_get_413_and_store_nothing(server, slack_api):
    big = b"text=" + b"x" * (server.bot.settings.max_body_bytes + 1)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (await server.http.post(server.url + "/slack/events", data=big, headers=headers)).status == 413

    async def chunks():  # no Content-Length: the limit still holds while reading
        for _ in range(3):
            yield b"x" * (server.bot.settings.max_body_bytes // 2)

    resp = await server.http.post(
        server.url + "/api/messages", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert await count(server, UseCase) == 0


async def healthz(server) -> None:
    assert (await server.http.get(server.url + "/healthz")).status == 200


async def test_slack_429_is_retried_after_retry_after_while_the_server_keeps_answering(server, slack_api):
    slack_api.fail_next("chat.postMessage", 429, headers={"Retry-After": "2"})
    await server.slash('usecase propose "Throttled once"', channel="C5")
    await slack_api.wait_for("chat.postMessage", 1)
    await healthz(server)
    assert len(slack_api.of("chat.postMessage")) == 1  # answered during the wait: a sleep, not a blocked loop
    calls = await slack_api.wait_for("chat.postMessage", 2)
    assert calls[1].at - calls[0].at >= 1.9  # not before Retry-After
    assert "Throttled once" in str(calls[1].params["blocks"])


async def test_teams_429_and_503_are_retried_without_blocking(server, connector):
    connector.fail_next(429, {"Retry-After": "1"})
    connector.fail_next(503)  # no Retry-After: bounded back-off with jitter
    activity = message_activity('usecase propose "Busy"', service_url=connector.url)
    assert (await server.teams(activity)).status in (200, 201)  # the reply is the outbox's to send
    await connector.wait_for_attempts(1)
    await healthz(server)
    assert len(connector.attempts) == 1  # answered while the reply waits out Retry-After
    replies = await teams_reply(server.bot, connector, activity)
    assert len(connector.attempts) == 3
    assert len(replies) == 1 and "Busy" in json.dumps(replies[0]["attachments"])


async def test_token_buckets_pace_each_key_on_its_own():
    buckets = TokenBuckets(rate=4.0, burst=2)
    waits = [await buckets.acquire("C1") for _ in range(4)]
    assert waits[:2] == [0.0, 0.0] and all(w > 0 for w in waits[2:])
    assert sum(waits) >= 0.45  # 2 beyond the burst at 4/s
    assert await buckets.acquire("C2") == 0.0  # another channel is not held up


def test_backoff_is_bounded_and_retry_after_is_honoured():
    assert [backoff_delay(n, jitter=lambda: 1.0) for n in (1, 2, 3, 6, 10)] == [0.5, 1.0, 2.0, 8.0, 8.0]
    assert backoff_delay(3, jitter=lambda: 0.0) == 0.0
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after({"Retry-After": "99999"}) == 60.0
    assert retry_after(None) is None


async def test_old_deliveries_are_purged_but_never_within_the_hour(server):
    bot = server.bot
    now = bot.clock()
    async with bot.db.transaction() as s:
        for key, age in (("old", timedelta(days=2)), ("recent", timedelta(minutes=59))):
            s.add(ProcessedEvent(key=key, reply=None, created_at=now - age))
    bot.settings = bot.settings.with_(delivery_retention_hours=0.01)  # asked for less than the floor
    assert await bot.purge_deliveries() == 1
    async with bot.db.reading() as s:
        assert set((await s.execute(select(ProcessedEvent.key))).scalars()) == {"recent"}
    assert "delivery-purge" in {j.id for j in bot.timer.scheduler.get_jobs()}


def test_logs_are_json_with_the_request_id_and_without_secrets():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redactor(["signing-secret-value"]))
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("alignbot.test.redaction")
    log.addHandler(handler)
    log.propagate = False
    token = request_id.set("req-42")
    try:
        log.warning(
            "posting with %s failed; Authorization: Bearer abcdefghijklmnop; secret %s; url ?client_secret=s3cr3t&x=1",
            "xoxb-1234-5678-abcdef",
            "signing-secret-value",
        )
        try:
            raise RuntimeError("token xoxp-999-888 rejected")
        except RuntimeError:
            log.exception("call failed")
    finally:
        request_id.reset(token)
        log.removeHandler(handler)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert [e["request_id"] for e in lines] == ["req-42", "req-42"]
    dumped = stream.getvalue()
    for leaked in ("xoxb-1234", "abcdefghijklmnop", "signing-secret-value", "s3cr3t", "xoxp-999"):
        assert leaked not in dumped
    assert "[redacted]" in lines[0]["message"] and "RuntimeError" in lines[1]["error"]
    assert datetime.fromisoformat(lines[0]["ts"]).tzinfo == UTC
