"""Polls through signed Slack requests against the recording fake Slack Web API: buttons,
modals, ephemeral confirmations, coalesced chat.update, concurrency, deadline close, reminders."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select

from storage.models import Ballot, Outbox, Participation, Poll, ProcessedEvent, UseCase
from storage.repos import polls as repo
from tests.support import block_action, make_settings, serve, slash_body, view_submission
from tests.test_poll_console import HAND, PROFILE, places


def texts(blocks: list[dict]) -> str:
    out = []
    for b in blocks:
        t = b.get("text")
        if isinstance(t, dict):
            out.append(t.get("text", ""))
        out += [f.get("text", "") for f in b.get("fields", [])]
        out += [e.get("text", "") for e in b.get("elements", []) if isinstance(e.get("text"), str)]
        out += [e["text"].get("text", "") for e in b.get("elements", []) if isinstance(e.get("text"), dict)]
    return "\n".join(out)


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b.get("type") == "actions" for e in b["elements"]]


async def count(server, model, *where) -> int:
    async with server.bot.db.reading() as s:
        return (await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def poll_message(server, slack_api, n: int = 1) -> dict:
    posts = await slack_api.wait_for("chat.postMessage", n, timeout=30)
    return next(p.params for p in posts if "POLL-" in texts(p.params["blocks"]) and "poll.ballot" in str(p.params))


def click(button: dict, user: str, channel: str = "C1", ts: str = "1700000001.000100") -> dict:
    return block_action(button["action_id"], button["value"], user=user, channel=channel, message_ts=ts)


async def settle_updates(server, slack_api) -> str:
    """Wait until the poll message shows the database's current state; its final text."""
    for _ in range(300):
        async with server.bot.db.reading() as s:
            poll = (await s.execute(select(Poll))).scalar_one()
            version = (await s.execute(select(repo.tally_version()).where(Poll.id == poll.id))).scalar_one()
            pending = await s.execute(select(func.count()).select_from(Outbox).where(Outbox.state != "sent"))
            if poll.rendered_version == version and pending.scalar_one() == 0:
                return texts(slack_api.of("chat.update")[-1].params["blocks"]) if slack_api.of("chat.update") else ""
        await asyncio.sleep(0.2)  # polling a condition, bounded: not a fixed wait for an outcome
    raise AssertionError("the poll message never caught up")


async def test_ranked_poll_through_buttons_and_modals_matches_the_hand_count(server, slack_api):
    for n in range(1, 5):
        await server.slash(f'usecase propose "Case {n}"')
    await slack_api.wait_for("chat.postMessage", 4, timeout=30)
    resp = await server.slash('poll start "Which first?" --method ranked --usecases all --anonymous --sets-priority')
    assert "POLL-1 is open with 4 options" in str(await resp.json())
    msg = await poll_message(server, slack_api, 5)
    assert "Anonymous: nobody, not even the creator or a facilitator" in texts(msg["blocks"])
    vote = next(b for b in buttons(msg["blocks"]) if b["action_id"] == "poll.ballot:1")
    voter = 0
    for n, ranking in PROFILE:
        for _ in range(n):
            voter += 1
            user = f"U{voter:03d}"
            await server.interact(click(vote, user))
            view = (await slack_api.wait_for("views.open", voter, timeout=30))[-1].params["view"]
            assert view["title"]["text"] == "Vote on POLL-1"
            values = {f"rank_{i}": p for i, p in enumerate(ranking.split(), start=1)}
            ok = await server.interact(view_submission(view, values, user=user))
            assert ok.status == 200 and (await ok.read()) in (b"", b"{}")
    confirmations = await slack_api.wait_for("chat.postEphemeral", 30, timeout=30)
    assert all("Your vote on POLL-1 is recorded" in texts(c.params["blocks"]) for c in confirmations)
    # A voter reopening the ballot finds it prefilled with what they voted.
    await server.interact(click(vote, "U001"))
    again = (await slack_api.wait_for("views.open", 31, timeout=30))[-1].params["view"]
    firsts = [b["element"].get("initial_option", {}).get("value") for b in again["blocks"]]
    assert firsts == ["1", "2", "3", "4"]
    await server.slash("poll close POLL-1")
    posts = await slack_api.wait_for("chat.postMessage", 6, timeout=30)
    result = texts(posts[-1].params["blocks"])
    assert "final result. 30 of 31 voted." in result
    assert places(result) == HAND["schulze"]
    async with server.bot.db.reading() as s:
        ranks = [u.priority_rank for u in (await s.execute(select(UseCase).order_by(UseCase.number))).scalars()]
        assert ranks == [4, 1, 2, 3]
        stored = [
            p.reply for p in (await s.execute(select(ProcessedEvent))).scalars() if p.key.startswith("slack:view")
        ]
    # The ledger (keyed by the delivery, which names the voter) keeps no anonymous ballot.
    assert stored and all(re.search(r"1st|Case", json.dumps(r)) is None for r in stored)
    for count_method in ("borda", "irv"):
        body = await (await server.slash(f"poll results POLL-1 --count {count_method}")).json()
        assert places(texts(body["blocks"])) == HAND[count_method]


async def test_the_same_voters_two_clicks_at_once_and_200_voters_at_once(server, slack_api, db_url):
    await server.slash('poll start "Lunch?" --method single --options "Pizza; Sushi; Salad"')
    msg = await poll_message(server, slack_api)
    pick = {b["action_id"]: b for b in buttons(msg["blocks"])}
    twice = await asyncio.gather(
        server.interact(click(pick["poll.pick:1:1"], "U777")), server.interact(click(pick["poll.pick:1:2"], "U777"))
    )
    assert [r.status for r in twice] == [200, 200]
    # Acked once stored: the ballot is there when the acks are, before any answer is posted.
    assert await count(server, Ballot) == 1 and await count(server, Participation) == 1
    await slack_api.wait_for("chat.postEphemeral", 2, timeout=30)

    voters = [f"V{i:03d}" for i in range(200)]
    choice = {v: (i % 3) + 1 for i, v in enumerate(voters)}
    started = asyncio.get_running_loop().time()
    responses = await asyncio.gather(*(server.interact(click(pick[f"poll.pick:1:{choice[v]}"], v)) for v in voters))
    assert all(r.status == 200 for r in responses)
    assert await count(server, Ballot) == 201 and await count(server, Participation) == 201
    await slack_api.wait_for("chat.postEphemeral", 202, timeout=60)
    final = await settle_updates(server, slack_api)
    elapsed = asyncio.get_running_loop().time() - started
    body = await (await server.slash("poll results POLL-1")).json()
    shown = texts(body["blocks"])
    async with server.bot.db.reading() as s:
        picks = [b["pick"] for b in (await s.execute(select(Ballot.choices))).scalars()]
    for option in (1, 2, 3):
        n = picks.count(option)
        assert re.search(rf"\(option {option}\) — {n} votes?", shown), shown
        assert f"{option}. " in final and f", {n} vote" in final.split(f"{option}. ", 1)[1].split("\n")[0]
    assert "201 of 202 voted" in final  # every voter and the creator are members
    # Coalescing: updates were queued at least 2 s apart, and each became one chat.update.
    async with server.bot.db.reading() as s:
        queued = sorted(
            (await s.execute(select(Outbox.created_at).where(Outbox.dedupe_key.like("poll-upd:%")))).scalars()
        )
    updates = slack_api.of("chat.update")
    assert len(updates) == len(queued) >= 1
    assert all(b - a >= timedelta(seconds=2) for a, b in itertools.pairwise(queued))
    # ...and reached Slack 2 s apart too, even when a busy outbox sent one of them late.
    assert all(b.at - a.at >= 1.95 for a, b in itertools.pairwise(updates))
    assert len(updates) <= 2 + elapsed / 2
    assert all(u.params["ts"] == updates[0].params["ts"] for u in updates)


async def update_showing(slack_api, text: str) -> dict:
    """The first chat.update whose message shows `text` (an earlier, queued one may come first)."""
    for n in range(1, 20):
        calls = await slack_api.wait_for("chat.update", n, timeout=30)
        if text in texts(calls[-1].params["blocks"]):
            return calls[-1].params
    raise AssertionError(f"no chat.update showed {text!r}")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


async def test_deadline_close_by_the_scheduler_also_after_a_restart(db_url, slack_api):
    clock = Clock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    settings = make_settings(db_url, slack_api_url=slack_api.url)
    first = await serve(settings, clock=clock)
    try:
        await first.slash('poll start "Now?" --method approval --options "A; B" --in 2h')
        await first.slash('poll start "Later?" --method score --options "A; B" --in 1d')
        msg = await poll_message(first, slack_api)
        await first.interact(click(buttons(msg["blocks"])[0], "U2"))
        await slack_api.wait_for("chat.postEphemeral", timeout=30)
    finally:
        await first.stop()
    clock.now += timedelta(hours=3)  # the first deadline passed while no server ran
    second = await serve(settings, clock=clock)
    try:
        async with second.bot.db.reading() as s:
            assert [p.status for p in (await s.execute(select(Poll).order_by(Poll.number))).scalars()] == ["open"] * 2
        await second.http.get(second.url + "/healthz")  # the app is started
        posts = await slack_api.wait_for("chat.postMessage", 3, timeout=30)
        result = posts[-1].params
        assert "POLL-1: Now?" in texts(result["blocks"]) and "final result. 1 of 2 voted." in texts(result["blocks"])
        assert "Place 1: A (option 1) — 1 approval" in texts(result["blocks"])
        closed = await update_showing(slack_api, "This poll is closed")
        assert not buttons(closed["blocks"])
        refused = await second.interact(click(buttons(msg["blocks"])[1], "U3"))
        assert refused.status == 200
        eph = await slack_api.wait_for("chat.postEphemeral", 2, timeout=30)
        assert "POLL-1 closed at 2026-11-26 12:00; votes are no longer accepted" in texts(eph[-1].params["blocks"])
        async with second.bot.db.reading() as s:
            polls = list((await s.execute(select(Poll).order_by(Poll.number))).scalars())
        assert [p.status for p in polls] == ["closed", "open"]
        clock.now += timedelta(days=1)
        posts = await slack_api.wait_for("chat.postMessage", 4, timeout=30)
        assert "POLL-2: Later?" in texts(posts[-1].params["blocks"])
        assert "final result. 0 of 2 voted." in texts(posts[-1].params["blocks"])
        assert len([p for p in slack_api.of("chat.postMessage") if "final result" in str(p.params)]) == 2
        # Each result carries its chart (drawn by the face from the Image's data): bar, then matrix.
        charts = await slack_api.wait_for("files.completeUploadExternal", 2, timeout=30)
        titles = [f.get("title", "") for c in charts for f in c.params.get("files") or []]
        assert titles == ["POLL-1: ranking", "POLL-2: impact vs feasibility"], titles
    finally:
        await second.stop()


async def test_reminders_reach_only_non_voters_once_and_never_after_close(sqlite_url, slack_api):
    clock = Clock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    slack_api.members["C1"] = ["U1", "U2", "U3", "U4", "UBOT"]  # the bot itself is never reminded
    running = await serve(make_settings(sqlite_url, slack_api_url=slack_api.url), clock=clock)
    try:
        await running.slash('poll start "Which?" --method ranked --options "A; B; C" --in 3d', user="U1")
        await poll_message(running, slack_api)
        await running.slash("poll vote POLL-1 2 1", user="U2")
        denied = await (await running.slash("poll remind POLL-1", user="U2")).json()
        assert "Only POLL-1's creator or a facilitator can do that." in str(denied)
        clock.now += timedelta(days=2, minutes=1)  # 24 h before the deadline
        dms = await slack_api.wait_for("chat.postMessage", 4, timeout=30)
        reminded = sorted(p.params["channel"] for p in dms[1:])
        assert reminded == ["U1", "U3", "U4"]
        note = dms[-1].params
        assert "You have not voted on POLL-1 yet: Which?. It closes 2026-11-29 09:00 (UTC)." in texts(note["blocks"])
        button = buttons(note["blocks"])[0]
        assert button["action_id"] == "poll.ballot:1" and json.loads(button["value"]) == {"c": "C1", "v": "1"}
        # U4 is only a channel member, yet the Vote button in the DM opens their ballot.
        opened = len(slack_api.of("views.open"))
        in_dm = next(p.params for p in dms if p.params["channel"] == "U4")
        await running.interact(click(buttons(in_dm["blocks"])[0], "U4", channel="D4"))
        view = (await slack_api.wait_for("views.open", opened + 1, timeout=30))[-1].params["view"]
        assert view["title"]["text"] == "Vote on POLL-1"
        await running.bot.polls.tick()  # another tick (or replica) finds nothing left to send
        await running.slash("poll vote POLL-1 1", user="U3")
        await running.slash("poll remind POLL-1", user="U1")
        dms = await slack_api.wait_for("chat.postMessage", 6, timeout=30)
        assert sorted(p.params["channel"] for p in dms[4:]) == ["U1", "U4"]
        await running.slash("poll close POLL-1", user="U1")
        await slack_api.wait_for("chat.postMessage", 7, timeout=30)
        refused = await (await running.slash("poll remind POLL-1", user="U1")).json()
        assert "POLL-1 closed at" in str(refused)
        await running.bot.polls.tick()
        await running.bot.outbox.drain()
        assert len(slack_api.of("chat.postMessage")) == 7
        assert all(p.params["channel"] != "U2" for p in slack_api.of("chat.postMessage"))
    finally:
        await running.stop()


async def test_hidden_results_stay_hidden_on_the_poll_message_until_close(server, slack_api):
    await server.slash('poll start "Secret?" --method single --options "Yes; No" --hide-results')
    msg = await poll_message(server, slack_api)
    pick = {b["action_id"]: b for b in buttons(msg["blocks"])}
    await server.interact(click(pick["poll.pick:1:1"], "U2"))
    await server.interact(click(pick["poll.pick:1:1"], "U3"))
    await slack_api.wait_for("chat.postEphemeral", 2, timeout=30)
    shown = await settle_updates(server, slack_api)
    assert "2 of 3 voted; the tally is hidden." in shown and "vote" not in shown.replace("voted", "")
    asked = texts((await (await server.slash("poll results POLL-1")).json())["blocks"])
    assert "hidden from everyone until the poll closes. 2 of 3 voted so far." in asked and "Place" not in asked
    await server.slash("poll close POLL-1")
    posts = await slack_api.wait_for("chat.postMessage", 2, timeout=30)
    assert "Place 1: Yes (option 1) — 2 votes" in texts(posts[-1].params["blocks"])
    final = await settle_updates(server, slack_api)
    assert "1. Yes — place 1, 2 votes" in final and "This poll is closed" in final


async def test_a_failed_update_is_retried_before_any_newer_one_so_the_last_is_exact(sqlite_url, slack_api):
    running = await serve(make_settings(sqlite_url, slack_api_url=slack_api.url))
    try:
        await running.slash('poll start "Order?" --method single --options "A; B"')
        msg = await poll_message(running, slack_api)
        pick = {b["action_id"]: b for b in buttons(msg["blocks"])}
        slack_api.fail_next("chat.update", 500, times=3)  # the client's own retries, then the outbox's
        await running.interact(click(pick["poll.pick:1:1"], "U2"))
        await slack_api.wait_for("chat.update", 1, timeout=30)
        await running.interact(click(pick["poll.pick:1:2"], "U3"))
        await running.interact(click(pick["poll.pick:1:2"], "U4"))
        final = await settle_updates(running, slack_api)
        assert "3 of 4 voted" in final
        shown = [
            int(re.search(r"(\d) of \d voted", texts(c.params["blocks"])).group(1)) for c in slack_api.of("chat.update")
        ]
        assert shown == sorted(shown) and shown[-1] == 3
    finally:
        await running.stop()


async def test_votes_racing_the_close_are_either_counted_or_refused_never_lost(server, slack_api):
    await server.slash('poll start "Race?" --method single --options "A; B"')
    msg = await poll_message(server, slack_api)
    pick = {b["action_id"]: b for b in buttons(msg["blocks"])}
    voters = [f"R{i:02d}" for i in range(40)]
    votes = [server.interact(click(pick[f"poll.pick:1:{1 + i % 2}"], v)) for i, v in enumerate(voters)]
    body = dict(parse_qsl(slash_body("poll close POLL-1")))
    body["response_url"] = slack_api.url + "response.close"  # a slow answer goes there
    await asyncio.gather(*votes[:20], server.slack(urlencode(body)), *votes[20:])
    answers = await slack_api.wait_for("chat.postEphemeral", 40, timeout=60)
    recorded = [a for a in answers if "Your vote on POLL-1 is recorded" in texts(a.params["blocks"])]
    refused = [a for a in answers if "POLL-1 closed at" in texts(a.params["blocks"])]
    assert all("votes are no longer accepted" in texts(a.params["blocks"]) for a in refused)
    assert len(recorded) + len(refused) == 40
    posts = await slack_api.wait_for("chat.postMessage", 2, timeout=30)
    final = next(texts(p.params["blocks"]) for p in posts if "final result" in texts(p.params["blocks"]))
    assert f"final result. {len(recorded)} of " in final
    assert await count(server, Ballot) == len(recorded) == await count(server, Participation)
