"""Platform values longer than our columns (issue #19, point 7), on SQLite and PostgreSQL alike:
display names (Slack user_name/channel_name of 300, Teams from.name of 1,000, a mention's name)
are cut to fit and the command works; ids longer than any platform issues (Slack user or channel
id of 300, Teams conversation.id of 400) are refused with 400 and nothing is stored."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.messages import MAX_NAME
from storage.models import Initiative, Member, UseCase
from tests.support import message_activity, slash_body


async def counts(server) -> tuple[int, int]:
    async with server.bot.db.reading() as s:
        cases = (await s.execute(select(func.count()).select_from(UseCase))).scalar_one()
        members = (await s.execute(select(func.count()).select_from(Member))).scalar_one()
    return cases, members


async def test_long_names_are_cut_and_long_ids_refused_on_both_databases(server, slack_api, connector):
    long_name = "n" * 300
    resp = await server.slash('usecase propose "Long names"', user_name=long_name, channel_name=long_name)
    assert resp.status == 200 and "went wrong" not in await resp.text()
    resp = await server.slash(f"member promote <@U77|{'m' * 300}>", user_name=long_name, channel_name=long_name)
    assert resp.status == 200 and "went wrong" not in await resp.text()
    teams = message_activity('usecase propose "Teams long name"', service_url=connector.url, name="t" * 1000)
    assert (await server.teams(teams)).status in (200, 201)
    async with server.bot.db.reading() as s:
        names = list((await s.execute(select(Member.display_name))).scalars())
        places = list((await s.execute(select(Initiative.name))).scalars())
    assert names and max(len(n) for n in names) == MAX_NAME and all(len(p) <= MAX_NAME for p in places)
    before = await counts(server)
    assert before[0] == 2, before

    refused = {
        "slack user id": slash_body('usecase propose "Long user"', user="U" + "1" * 299),
        "slack channel id": slash_body('usecase propose "Long channel"', channel="C" + "1" * 299),
        "slack team id": slash_body('usecase propose "Long team"', team="T" + "1" * 299),
    }
    for name, body in refused.items():
        resp = await server.slack(body)
        assert resp.status == 400, (name, resp.status)
    long_conversation = message_activity(
        'usecase propose "Long conversation"', service_url=connector.url, conversation="c" * 400
    )
    resp = await server.teams(long_conversation)
    assert resp.status == 400 and "conversation.id" in await resp.text()
    assert await counts(server) == before
