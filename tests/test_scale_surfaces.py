"""Every surface at the bot's own maxima, on both platforms, within their limits: 50-option polls
of every method (the ballot opened as a Slack modal and a Teams card), a RACI of 30 people by 20
activities, 5,000 use cases. The payload_check fixture (tests/conftest.py) validates everything
the fakes recorded at the end; the Slack acks, which no fake sees, are checked here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.ratelimit import TokenBuckets
from handlers.polls import MAX_OPTIONS
from storage.models import Counter, Initiative, Member, RaciActivity, RaciAssignment, UseCase, Workspace
from tests import payload_rules
from tests.support import dm_event, make_settings, message_activity, serve, slack_event, table_text, teams_reply

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
USE_CASES, PEOPLE, ACTIVITIES = 5_000, 30, 20
METHODS = ("single", "approval", "ranked", "dots", "score")
OPTIONS = "; ".join(f"Option {n:02d} with a forty-character label." for n in range(1, MAX_OPTIONS + 1))


@pytest.fixture
async def big(sqlite_url, slack_api, connector):
    running = await serve(make_settings(sqlite_url, slack_api_url=slack_api.url, teams=True), clock=lambda: NOW)
    # Thousands of rows make a hundred Slack messages; a channel's pacing (tested elsewhere) would
    # make this test wait a second for each.
    running.bot.slack.channels = TokenBuckets(rate=10_000.0, burst=10_000)
    yield running
    await running.stop()


async def seed(server, platform: str, conversation: str, facilitator: str) -> None:
    """The initiative's people, use cases and RACI written in bulk, as the repos store them."""
    async with server.bot.db.transaction() as s:
        ini = (
            await s.execute(
                select(Initiative)
                .join(Workspace, Workspace.id == Initiative.workspace_id)
                .where(Workspace.platform == platform, Initiative.conversation_id == conversation)
            )
        ).scalar_one()
        me = (await s.execute(select(Member).where(Member.user_id == facilitator))).scalar_one()
        people = [me] + [
            Member(
                initiative_id=ini.id, user_id=f"{platform[0].upper()}P{n}", display_name=f"Person {n}", joined_at=NOW
            )
            for n in range(2, PEOPLE + 1)
        ]
        s.add_all(people[1:])
        s.add_all(
            UseCase(
                initiative_id=ini.id,
                number=n,
                title=f"Use case {n} with a title of some length",
                impact=n % 5 + 1,
                feasibility=n // 5 % 5 + 1,
                proposer_member_id=me.id,
                created_at=NOW,
                updated_at=NOW,
            )
            for n in range(1, USE_CASES + 1)
        )
        activities = [
            RaciActivity(initiative_id=ini.id, number=n, name=f"Activity {n} of the assessment", created_at=NOW)
            for n in range(1, ACTIVITIES + 1)
        ]
        s.add_all(activities)
        s.add_all(
            [
                Counter(initiative_id=ini.id, kind="UC", value=USE_CASES),
                Counter(initiative_id=ini.id, kind="ACT", value=ACTIVITIES),
            ]
        )
        await s.flush()
        s.add_all(
            RaciAssignment(
                activity_id=a.id,
                member_id=p.id,
                role="R" if i == n % PEOPLE else "A" if i == (n + 1) % PEOPLE else "CI"[i % 2],
                assigned_by_member_id=me.id,
                created_at=NOW,
            )
            for n, a in enumerate(activities)
            for i, p in enumerate(people)
        )


async def test_the_bots_maxima_fit_slack_and_teams(big, slack_api, connector):
    slack_acks = []
    for method in METHODS:
        start = await big.slash(f'poll start "Which {method}?" --method {method} --options "{OPTIONS}"', user="U1")
        slack_acks.append(await start.json() if start.content_type == "application/json" else {})
    for n in range(1, len(METHODS) + 1):
        await big.slash(f"poll vote POLL-{n}", user="U1")  # no choices: the ballot opens
    ballots = await slack_api.wait_for("views.open", len(METHODS))
    assert all(len(b.params["view"]["blocks"]) <= payload_rules.MAX_VIEW_BLOCKS for b in ballots)

    await seed(big, "slack", "C1", "U1")
    for line in ("usecase list", "raci show"):
        await big.event(slack_event(dm_event(line, user="U1", channel="C1")))
    await big.bot.slack.finish_in_flight(60)
    posted = table_text([c.params["blocks"] for c in slack_api.of("chat.postMessage")])
    assert f"UC-{USE_CASES}" in posted and "UC-1  " in posted  # every row, none cut
    for ack in slack_acks:
        assert payload_rules.slack_violations("response_url", ack) == []

    teams = dict(
        service_url=connector.url, user="aad-1", conversation="19:big@thread.v2", conversation_type="groupChat"
    )
    for method in METHODS:
        await big.teams(
            message_activity(f'poll start "Which {method}?" --method {method} --options "{OPTIONS}"', **teams)
        )
    votes = [message_activity(f"poll vote POLL-{n}", **teams) for n in range(1, len(METHODS) + 1)]
    for vote in votes:
        await big.teams(vote)
    ballot_cards = [a for vote in votes for a in await teams_reply(big.bot, connector, vote)]
    assert len(ballot_cards) >= len(METHODS)
    assert all(payload_rules.teams_size(a) <= payload_rules.MAX_TEAMS_BYTES for a in ballot_cards)

    await seed(big, "teams", "19:big@thread.v2", "aad-1")
    for line in ("usecase list", "raci show"):
        asked = message_activity(line, **teams)
        await big.teams(asked)
        await teams_reply(big.bot, connector, asked, timeout=30)
    cards = table_text([a.get("attachments") for a in connector.activities])
    assert f"UC-{USE_CASES}" in cards
