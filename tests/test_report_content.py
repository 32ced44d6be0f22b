"""What the deliverables and the digest say on a database: staleness, escaping, Slack and Teams
limits on a large initiative, the RACI check, and the digest's messages (the pure rules are in
tests/test_report_rules.py)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.render import slack, teams
from bot.render.documents import render_markdown
from handlers.digest import build_digest
from handlers.messages import Heading, ListItems
from handlers.reports import build_documents, deliverable_version, document_elements
from storage import migrate
from storage.db import Database
from storage.models import Member, Risk, SignOffResponse, UseCase
from tests.report_sample import NOW, T0, add_sign_offs, insert_sample
from tests.support import table_text

HOSTILE = "<@U999> <!channel> *bold* _it_ `code` <script>alert(1)</script> [x](http://evil) | # =1+1"


# ---- on a database -------------------------------------------------------------------------


async def sample_db(url: str, *, sign_offs: bool = True) -> tuple[Database, object]:
    await migrate.upgrade(url)
    db = Database(url)
    async with db.transaction() as s:
        ini = await insert_sample(s)
        if sign_offs:
            hashes = {k: (await deliverable_version(s, ini, k, now=NOW))[0] for k in ("usecases", "kpis")}
            await add_sign_offs(s, ini, hashes)
    return db, ini


def approvals(doc) -> dict[str, list[str]]:
    section = next(s for s in doc.sections if s.heading == "Approvals")
    return {row[0]: row for row in section.table.rows}


async def test_an_approval_goes_stale_when_the_deliverable_changes(sqlite_url):
    db, ini = await sample_db(sqlite_url)
    async with db.reading() as s:
        (raci,) = await build_documents(s, ini, ["raci"], NOW)
    rows = approvals(raci)
    assert rows["Prioritized use cases"][1:3] == ["SIGN-1", "approved"]
    assert rows["Prioritized use cases"][3] == "Sam Sponsor"  # who approved
    assert rows["Objectives and KPIs"][1:3] == ["SIGN-2", "pending"]
    assert rows["Objectives and KPIs"][3] == "Priya Analyst" and rows["Objectives and KPIs"][5] == "Sam Sponsor"
    # Who rejected, and why.
    assert rows["Risk register and mitigation plans"][2:5] == [
        "rejected",
        "-",
        "Lee Security: Name an owner for the PCI mitigation",
    ]
    assert rows["Project plan and resource allocation"][2] == "not requested"
    async with db.transaction() as s:
        use_case = (await s.execute(select(UseCase).where(UseCase.number == 1))).scalar_one()
        use_case.title = "Demand forecasting per store and day"
    async with db.reading() as s:
        (raci,) = await build_documents(s, ini, ["raci"], NOW)
        # Approving does not change the RACI deliverable's own pinned version.
        before = await deliverable_version(s, ini, "raci", now=NOW)
    assert approvals(raci)["Prioritized use cases"][2] == "stale (changed since approval)"
    async with db.transaction() as s:
        for r in (await s.execute(select(SignOffResponse))).scalars():
            r.decision, r.decided_at = "approved", NOW
    async with db.reading() as s:
        assert await deliverable_version(s, ini, "raci", now=NOW) == before
    await db.dispose()


async def test_digest_overview_to_channel_and_dms_to_people_with_open_items(db_url):
    db, ini = await sample_db(db_url)
    async with db.reading() as s:
        messages = await build_digest(s, ini, NOW)
    kind, target, elements = messages[0]
    assert (kind, target) == ("channel", "retail-assessment")
    assert any(isinstance(e, Heading) and e.text == "Assessment overview" for e in elements)
    personal = {t: e for k, t, e in messages[1:] if k == "user"}
    assert len(personal) == len(messages) - 1

    def items(user: str) -> list[str]:
        return next(e for e in personal[user] if isinstance(e, ListItems)).items

    assert items("U02") == ["Sign-off SIGN-2 waits for you: Objectives and KPIs"]
    assert items("U03") == [
        "Vote in POLL-2: Which cloud region should host the workspace? (closes 2026-11-28 10:30)",
        "Overdue milestone MS-3: Infrastructure assessment (due 2026-11-25)",
    ]
    assert "U05" in personal and all("Overdue" not in i for i in items("U05"))

    async with db.transaction() as s:
        for r in (await s.execute(select(SignOffResponse))).scalars():
            r.decision, r.decided_at = "approved", NOW
        for m in (await s.execute(select(Member).where(Member.user_id == "U06"))).scalars():
            m.active = False
    async with db.reading() as s:
        later = await build_digest(s, ini, NOW + timedelta(days=3))  # the open poll has closed by then
    targets = [t for k, t, _ in later if k == "user"]
    assert targets == ["U03", "U04"]  # only the owners of the overdue milestone; U02 and U06 have nothing
    await db.dispose()


async def test_overview_attention_list(sqlite_url):
    db, ini = await sample_db(sqlite_url)
    async with db.reading() as s:
        (overview,) = await build_documents(s, ini, ["overview"], NOW)
    attention = next(s for s in overview.sections if s.heading == "Needs attention").items
    assert attention[0] == (
        "Sign-off rejected: SIGN-3 Risk register and mitigation plans "
        "(Lee Security: Name an owner for the PCI mitigation)"
    )
    assert any(a.startswith("Overdue: MS-3 Infrastructure assessment") for a in attention)
    assert "Over-allocated: Tariq Tech at 110% across MS-3" in attention
    # A team of 2 FTE with an owner is not its owner at 200 %.
    assert not any(a.startswith("Over-allocated: Priya") or "Olga Owner at" in a for a in attention)
    assert "Milestone without owner: MS-7 Steering committee" in attention
    assert "Risk without owner: RISK-7 Key analyst leaves" in attention
    assert "High risk without mitigation: RISK-2 PCI data leaks into the lake (score 15)" in attention
    assert "Review past due: RISK-3 Legacy DWH decommission slips (review 2026-11-20)" in attention
    assert "Gap without remediation owner: SRC-2 Inventory system quality (2) blocks UC-1" in attention
    assert not any("SRC-5" in a for a in attention)  # its remediation has an owner
    assert "Critical risk without mitigation: RISK-6 Store network bandwidth (score 20)" in attention
    assert "No one accountable: ACT-5 Project plan" in attention
    assert any(a.startswith("Poll closing soon: POLL-2") for a in attention)
    assert "Sign-off pending: SIGN-2 Objectives and KPIs (Sam Sponsor)" in attention
    assert not any("UC-11" in a for a in attention)  # rejected use cases need no KPI
    await db.dispose()


async def test_hostile_text_is_inert_in_every_chat_format(sqlite_url):
    db, ini = await sample_db(sqlite_url, sign_offs=False)
    async with db.transaction() as s:
        s.add(
            Risk(
                initiative_id=ini.id,
                number=99,
                title=HOSTILE[:150],
                category="x",
                likelihood=5,
                impact=5,
                mitigation=HOSTILE,
                created_by_member_id=(await s.execute(select(Member))).scalars().first().id,
                created_at=T0,
                updated_at=T0,
            )
        )
    async with db.reading() as s:
        (doc,) = await build_documents(s, ini, ["risks"], NOW)
    md = render_markdown(doc)
    assert "<script>" not in md and "<@U999>" not in md and "[x](http" not in md
    assert r"\<script\>" in md and r"\*bold\*" in md
    msgs = slack.messages(document_elements(doc))
    # Table cells are raw_text, which Slack shows as typed (no mrkdwn, mentions or links): user
    # text stays there verbatim; everywhere else it is escaped.
    cells = [c for m in msgs for b in m["blocks"] if b["type"] == "table" for r in b["rows"] for c in r]
    assert {c["type"] for c in cells} == {"raw_text"} and any("<@U999>" in c["text"] for c in cells)
    outside = json.dumps([[b for b in m["blocks"] if b["type"] != "table"] + [m["text"]] for m in msgs])
    assert "<@U999>" not in outside and "<!channel>" not in outside and "<script>" not in outside
    cards = json.dumps(teams.cards(document_elements(doc)))
    assert "<script>" not in cards and r"\\*bold\\*" in cards
    await db.dispose()


async def test_a_large_initiative_fits_slack_and_teams_limits_without_losing_a_row(sqlite_url):
    db, ini = await sample_db(sqlite_url, sign_offs=False)
    async with db.transaction() as s:
        member = (await s.execute(select(Member))).scalars().first()
        for n in range(100, 700):
            s.add(
                UseCase(
                    initiative_id=ini.id,
                    number=n,
                    title=f"Use case {n} " + "with a long descriptive title " * 4,
                    impact=n % 5 + 1,
                    feasibility=(n // 5) % 5 + 1,
                    proposer_member_id=member.id,
                    created_at=T0,
                    updated_at=T0,
                )
            )
            s.add(
                Risk(
                    initiative_id=ini.id,
                    number=n,
                    title=f"Risk {n}",
                    category="c",
                    likelihood=n % 5 + 1,
                    impact=2,
                    mitigation="Mitigate " * 20,
                    created_by_member_id=member.id,
                    created_at=T0,
                    updated_at=T0,
                )
            )
    async with db.reading() as s:
        docs = await build_documents(s, ini, ["usecases", "risks", "overview"], NOW)
    for doc in docs:
        elements = document_elements(doc)
        msgs = slack.messages(elements)
        assert len(msgs) > 1 or doc.key == "overview"
        for m in msgs:
            assert len(m["blocks"]) <= slack.MAX_BLOCKS
            for b in m["blocks"]:
                assert len(b.get("text", {}).get("text", "")) <= slack.MAX_SECTION
                assert len(b.get("fields", [])) <= slack.MAX_FIELDS
        cards = teams.cards(elements)
        assert all(teams.card_size(c) <= teams.MAX_CARD_BYTES for c in cards)
        slack_text = table_text(msgs)
        card_text = table_text(cards)
        prefix = "UC" if doc.key == "usecases" else "RISK"
        if doc.key != "overview":
            for n in range(100, 700):
                assert f"{prefix}-{n} " in slack_text, f"{prefix}-{n} missing in Slack"
                assert f"{prefix}-{n} " in card_text, f"{prefix}-{n} missing in Teams"
    await db.dispose()


async def test_only_the_overview_depends_on_the_clock(sqlite_url):
    db, ini = await sample_db(sqlite_url)
    later = NOW + timedelta(days=30)
    async with db.reading() as s:
        for key in ("usecases", "infrastructure", "kpis", "raci", "risks", "plan"):
            assert await deliverable_version(s, ini, key, now=NOW) == await deliverable_version(s, ini, key, now=later)
        assert await deliverable_version(s, ini, "overview", now=NOW) != await deliverable_version(
            s, ini, "overview", now=later
        )
    await db.dispose()


async def test_the_priority_chart_is_the_closed_polls_own_tally(sqlite_url):
    db, ini = await sample_db(sqlite_url, sign_offs=False)
    async with db.reading() as s:
        (doc,) = await build_documents(s, ini, ["usecases"], NOW)
    section = next(s for s in doc.sections if s.heading == "Priority poll result")
    assert section.text == "POLL-1: Which use cases should we start with? (5 ballots)"
    chart = section.chart
    assert chart.chart == "bar" and chart.title == "POLL-1: ranking"
    # Borda over the five sample rankings: option 1 (demand forecasting) wins, 2 next, 6 last.
    assert chart.data["labels"][0] == "Demand forecasting per store"
    assert chart.data["labels"][1] == "Customer 360 profile"
    assert chart.data["values"] == sorted(chart.data["values"], reverse=True) and len(chart.data["values"]) == 6
    await db.dispose()


async def test_overview_counts_changes_since_the_previous_digest(sqlite_url):
    from storage.models import AuditEvent, JobClaim

    db, ini = await sample_db(sqlite_url, sign_offs=False)
    async with db.transaction() as s:
        for days, action in ((6, "risk.report"), (2, "usecase.propose"), (1, "usecase.propose"), (0.5, "kpi.suggest")):
            s.add(
                AuditEvent(
                    workspace_id=ini.workspace_id,
                    initiative_id=ini.id,
                    actor_user_id="U01",
                    action=action,
                    at=NOW - timedelta(days=days),
                )
            )
        s.add(JobClaim(key=f"digest:{ini.id}:2026-11-23", claimed_by="x", claimed_at=NOW - timedelta(days=3)))
        s.add(JobClaim(key=f"digest:{ini.id + 1}:2026-11-25", claimed_by="x", claimed_at=NOW - timedelta(days=1)))
        s.add(JobClaim(key=f"digest:{ini.id}:2026-11-26", claimed_by="x", claimed_at=NOW))  # this period's own
    async with db.reading() as s:
        (overview,) = await build_documents(s, ini, ["overview"], NOW)
    changed = overview.sections[1]
    assert changed.heading == "Changed since the last digest (2026-11-23 10:30)"
    # In words people use, from the audit rows since then (the sample's own included).
    assert changed.items == [
        "2 use cases proposed, 1 withdrawn",
        "1 KPI suggested, 1 withdrawn",
        "1 milestone removed",
        "1 sign-off requested",
    ]
    await db.dispose()


def test_a_sign_off_pins_the_documents_data_not_its_rendering():
    """The hash is over the Document (so a template change keeps approvals current); a changed row
    changes it, a redrawn chart does not, and the kept copy has every row."""
    from handlers.messages import Image
    from handlers.report_views import Document, Section, TableData
    from handlers.reports import content_hash, document_text

    def doc(title: str, chart: str = "bar") -> Document:
        table = TableData(["ID", "Title"], [["UC-1", "Churn"], ["UC-2", title]])
        picture = Image("chart", chart=chart, data={"labels": ["UC-1"], "values": [1]})
        return Document("usecases", "Prioritized use cases", "Acme", [Section("Use cases", table=table, chart=picture)])

    assert content_hash(doc("Forecast")) == content_hash(doc("Forecast"))
    assert content_hash(doc("Forecast")) != content_hash(doc("Forecast per store"))
    assert content_hash(doc("Forecast")) == content_hash(doc("Forecast", chart="matrix"))
    assert document_text(doc("Forecast")).splitlines() == [
        "Prioritized use cases",
        "",
        "Use cases",
        "ID | Title",
        "UC-1 | Churn",
        "UC-2 | Forecast",
    ]
