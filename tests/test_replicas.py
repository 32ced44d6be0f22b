"""Two `alignbot serve` processes behind one PostgreSQL: duplicate deliveries split across them."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from sqlalchemy import select

from storage.db import Database
from storage.models import ProcessedEvent, UseCase
from tests.serve_process import serve_env, start_serve
from tests.support import message_activity, signed_headers, slash_body

TOPICS = ["churn model", "fraud scoring", "supply forecast", "lakehouse migration", "pricing engine", "HR analytics"]
N = len(TOPICS)  # distinct titles: the intake refuses near-duplicates


async def test_two_replicas_do_every_effect_exactly_once(pg_url, slack_api, connector):
    a, b = await asyncio.gather(
        start_serve(serve_env(pg_url, slack_api.url)), start_serve(serve_env(pg_url, slack_api.url))
    )
    assert a.url != b.url
    try:
        async with aiohttp.ClientSession() as http:

            async def slack(url: str, body: str, retry: int) -> int:
                headers = signed_headers(body) | ({"X-Slack-Retry-Num": str(retry)} if retry else {})
                async with http.post(url + "/slack/events", data=body.encode(), headers=headers) as r:
                    return r.status

            async def teams(url: str, activity: dict) -> int:
                async with http.post(url + "/api/messages", json=activity) as r:
                    return r.status

            sends = []
            for i in range(N):
                body = slash_body(f'usecase propose "Slack {TOPICS[i]}"', channel="C1", trigger_id=f"trig.replica.{i}")
                sends += [slack(a.url, body, 0), slack(b.url, body, 1), slack(a.url if i % 2 else b.url, body, 2)]
                activity = message_activity(
                    f'usecase propose "Teams {TOPICS[i]}"', service_url=connector.url, activity_id=f"replica-{i}"
                )
                sends += [teams(a.url, activity), teams(b.url, activity)]
            statuses = await asyncio.gather(*sends)
            assert all(s in (200, 201) for s in statuses), statuses

        await slack_api.wait_for("chat.postMessage", N, timeout=30)
        await connector.wait_for(N, timeout=30)
        a.terminate()
        b.terminate()  # graceful: whatever either replica still had to post is posted before exit
        assert await a.wait() == 0 and await b.wait() == 0

        posts = sorted(json.dumps(c.params["blocks"]) for c in slack_api.of("chat.postMessage"))
        assert len(posts) == N and all(any(f"Slack {t}" in p for p in posts) for t in TOPICS)
        assert len(connector.activities) == N
        db = Database(pg_url)
        try:
            async with db.reading() as s:
                cases = (await s.execute(select(UseCase.title, UseCase.number, UseCase.initiative_id))).all()
                keys = (await s.execute(select(ProcessedEvent.key))).scalars().all()
        finally:
            await db.dispose()
        titles = sorted(t for t, _, _ in cases)
        assert titles == sorted([f"Slack {t}" for t in TOPICS] + [f"Teams {t}" for t in TOPICS])
        by_initiative: dict[int, list[int]] = {}
        for _, number, ini in cases:
            by_initiative.setdefault(ini, []).append(number)
        assert all(sorted(ns) == list(range(1, N + 1)) for ns in by_initiative.values())  # no number twice
        assert len(keys) == 2 * N
    finally:
        await asyncio.gather(a.stop(), b.stop())
