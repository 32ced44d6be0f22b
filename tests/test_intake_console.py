"""Intake through the console pipe: the issue's "Done when" session, validation, rights, workflow."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.models import Poll, PollOption, UseCase
from tests.console import run_console


def section(out: str, start: str, end: str) -> str:
    return out[out.index(start) : out.index(end, out.index(start))]


def test_done_when_session(db_url):
    out = run_console(
        [
            'usecase propose "Migrate legacy ETL" --impact 5 --feasibility 3 --category "data engineering" '
            '--requirements "Runs nightly; Keeps an audit trail"',
            'usecase propose "Churn model" --impact 4 --feasibility 2 --category ml --sponsor @dana',
            'usecase require UC-2 "Scores refreshed daily"',
            ":as bob",
            'usecase propose "Sales dashboard" --impact 3 --feasibility 5 --category bi',
            'usecase require UC-3 "Refresh hourly"',
            ":as alice",
            'kpi suggest UC-1 "Nightly load time" --baseline 240 --target 60 --unit minutes --by 2027-03-31',
            'kpi suggest UC-1 "Failed runs" --baseline 10 --target 2 --unit "per month" --direction decrease',
            'risk report "Spark skills gap" --category "skills gap" --likelihood 5 --impact 4 '
            "--usecase UC-1 --owner @bob",
            'source add "Oracle ERP" --type "relational db" --quality 4 --accessibility 2 --security 3',
            'source add "S3 lake" --type "cloud storage" --quality 5 --accessibility 4 --security 4',
            "source gaps",
            "usecase show UC-1",
            "usecase list --sort score",
        ],
        db_url,
    )
    for made in (
        "proposed UC-1",
        "proposed UC-2",
        "bob proposed UC-3",
        "KPI-1 for UC-1",
        "KPI-2 for UC-1",
        "reported RISK-1",
        "added SRC-1",
        "added SRC-2",
    ):
        assert made in out, made
    # the critical risk is announced in the channel and to its owner, through the outbox
    assert "→ #general: New critical risk RISK-1: Spark skills gap (score 20)" in out
    assert "→ @bob (private): New critical risk RISK-1" in out
    gaps = section(out, "1 gap(s)", "UC-1: Migrate legacy ETL")
    assert re.search(r"SRC-1\s+Oracle ERP\s+accessibility\s+2/5\s+major", gaps) and "SRC-2" not in gaps
    show = section(out, "UC-1: Migrate legacy ETL\n", "3 use case(s)")
    assert "Requirements (2)" in show and "• Runs nightly" in show and "• Keeps an audit trail" in show
    assert "KPI-1 Nightly load time: 240 → 60 minutes (active)" in show
    assert "KPI-2 Failed runs: 10 → 2 per month (active)" in show
    assert "RISK-1 Spark skills gap: critical (score 20, open)" in show
    assert re.search(r"Category:\s+data engineering", show) and re.search(r"Score:\s+15", show)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d propose by @alice", show)
    listing = out[out.index("3 use case(s)") :].splitlines()
    assert [line.split()[0] for line in listing if line.startswith("UC-")] == ["UC-1", "UC-3", "UC-2"]


def test_every_validation_failure_is_specific_and_stores_nothing(sqlite_url):
    out = run_console(
        [
            'usecase propose "X" --impact high',
            f'usecase propose "{"t" * 151}"',
            'usecase propose "Y" --category astrology',
            'usecase propose "Z" --sponsor dana',
            'usecase propose "W" --requirements "' + "r" * 301 + '"',
            'kpi suggest UC-9 "Speed" --baseline 1 --target 2 --unit s',
            'kpi suggest "Speed" --baseline fast --target 2 --unit s --objective "Go faster"',
            'kpi suggest "Speed" --baseline 10 --target 20 --unit s --direction decrease --objective "Be quick"',
            'kpi suggest "Speed" --baseline 10 --target 20 --unit s --objective "Be quick" --by tomorrow',
            'risk report "R" --category weather --likelihood 9 --impact 3',
            'risk report "R" --category cost --likelihood 3',
            'risk report "R" --category cost --likelihood 3 --impact 3 --usecase UC-7',
            'source add "S" --type spreadsheet',
            'source add "S" --type db --quality 0',
            "usecase list",
            "kpi list",
            "risk list",
            "source list",
        ],
        sqlite_url,
    )
    expected = [
        'impact must be a whole number from 1 to 5, got "high".',
        "title must be at most 150 characters, got 151.",
        "category must be one of data engineering, data science, machine learning, analytics/BI, "
        'real-time/streaming, governance, other, got "astrology".',
        'sponsor must be a person mentioned with @, got "dana".',
        "requirements must be at most 300 characters, got 301.",
        "There is no UC-9 in this initiative.",
        'baseline must be a number such as 12 or 3.5, got "fast".',
        "with direction decrease the target must be below the baseline (10), got 20.",
        'by must be a date as YYYY-MM-DD, got "tomorrow".',
        "• category must be one of data migration",
        '• likelihood must be a whole number from 1 to 5, got "9".',
        "impact is required: a whole number from 1 to 5.",
        "There is no UC-7 in this initiative.",
        "type must be one of relational DB, data warehouse, cloud storage, SaaS app, streaming, file share, other, "
        'got "spreadsheet".',
        'quality must be a whole number from 1 to 5, got "0".',
        "No use cases yet",
        "No KPIs yet",
        "No risks yet",
        "No data sources yet",
    ]
    for message in expected:
        assert message in out, message
    # nothing partial: the failed proposals did not use up numbers
    out = run_console(
        ['usecase propose "First real one"', 'risk report "R" --category cost --likelihood 1 --impact 1'], sqlite_url
    )
    assert "proposed UC-1: First real one" in out and "reported RISK-1" in out


def test_duplicates_rights_workflow_and_notifications(sqlite_url):
    out = run_console(
        [
            'usecase propose "Migrate legacy ETL"',
            ":as bob",
            'usecase propose "migrate legacy ETL!"',
            'usecase propose "migrate legacy ETL!" --force',
            "usecase edit UC-1 --impact 2",
            "usecase withdraw UC-1",
            "usecase status UC-2 shortlisted",
            "usecase edit UC-2 --impact 4 --department Finance",
            ":as alice",
            "usecase status UC-2 approved",
            'usecase status UC-2 shortlisted --reason "Good fit"',
            'usecase status UC-2 approved --reason "Top of the vote"',
            "usecase status UC-2 rejected",
            ":as bob",
            "usecase withdraw UC-2",
            "usecase show UC-2",
            "usecase list --status approved",
            "usecase list --category governance",
            "usecase list --status pending",
        ],
        sqlite_url,
    )
    assert 'UC-1 "Migrate legacy ETL" already has the same or a very close title.' in out
    assert "bob proposed UC-2: migrate legacy ETL!" in out
    assert "Only the proposer of UC-1 or a facilitator can edit it." in out
    assert "Only the proposer of UC-1 or a facilitator can withdraw it." in out
    assert "Only a facilitator of this initiative can use `usecase status`." in out
    assert "bob edited UC-2: department, impact." in out
    assert "UC-2 cannot become approved: A proposed use case can become shortlisted, rejected, withdrawn" in out
    assert "→ @bob (private): Your use case UC-2 migrate legacy ETL! is now shortlisted (was proposed): Good fit" in out
    assert "→ @bob (private): Your use case UC-2 migrate legacy ETL! is now approved (was shortlisted)" in out
    assert "UC-2 cannot become rejected: It is approved, which is final" in out
    assert "UC-2 cannot become withdrawn" in out
    show = out[out.index("UC-2: migrate legacy ETL!\n") :]
    assert re.search(r"Status:\s+approved \(Top of the vote\)", show)
    for step in ("propose by @bob", "edit by @bob", "shortlisted by @alice", "approved by @alice"):
        assert step in show, step
    assert out.count("Your use case") == 2
    approved = out[out.index("1 use case(s)") : out.index("No use cases match those filters.")]
    assert re.search(r"UC-2\s+migrate legacy ETL!.*approved", approved) and "UC-1" not in approved
    assert 'status must be one of proposed, shortlisted, approved, rejected, withdrawn, got "pending".' in out


def test_kpis_risks_sources_edit_withdraw_and_history(sqlite_url):
    out = run_console(
        [
            'usecase propose "Lakehouse"',
            'kpi suggest "Self-service users" --objective "Democratise data" --baseline 20 --target 200 --unit users',
            "kpi edit KPI-1 --target 10",
            "kpi edit KPI-1 --target 300 --owner @carol",
            "kpi withdraw KPI-1",
            "kpi withdraw KPI-1",
            'risk report "Vendor lock-in" --category lock-in --likelihood 2 --impact 2 --usecase UC-1',
            "risk update RISK-1 --likelihood 5 --impact 3 --status mitigating",
            "risk update RISK-1 --impact 2",
            "risk update RISK-1 --status sleeping",
            "risk list --level medium",
            "risk show RISK-1",
            'source add "CRM" --type saas --owner "Sales ops" --size "20 GB" --refresh daily',
            "source edit SRC-1 --quality 1 --security 2",
            "source edit SRC-1 --quality 1",
            "kpi show KPI-9",
            "risk show RISK-9",
            "source edit SRC-9 --quality 2",
            "source show SRC-1",
            ":as eve",
            "risk update RISK-1 --status closed",
            "source edit SRC-1 --quality 5",
            "kpi show KPI-1",
        ],
        sqlite_url,
    )
    assert "with direction increase the target must be above the baseline (20), got 10." in out
    assert "alice edited KPI-1: owner, target." in out
    assert "alice withdrew KPI-1: Self-service users." in out and "KPI-1 is already withdrawn." in out
    assert "→ #general: New" not in out  # a low risk is not announced
    assert "Score 4 (low) → 15 (high)." in out and "Score 15 (high) → 10 (high)." in out
    assert 'status must be one of open, mitigating, accepted, closed, got "sleeping".' in out
    assert "No risks match." in out
    show = out[out.index("RISK-1: Vendor lock-in\n") :]
    assert "@alice: 4 → 15 (likelihood 2 → 5, impact 2 → 3)" in show
    assert "@alice: 15 → 10 (likelihood 5 → 5, impact 3 → 2)" in show
    src = out[out.index("SRC-1: CRM\n") :]
    assert re.search(r"Owner:\s+Sales ops", src) and re.search(
        r"Gaps:\s+quality \(critical\), security/compliance readiness \(major\)", src
    )
    assert "add by @alice" in src and "edit by @alice" in src
    assert "Only the reporter or owner of RISK-1, or a facilitator, can update it." in out
    assert "Only whoever added SRC-1, its owner or a facilitator can edit it." in out
    assert "Nothing changed: SRC-1 already has those values." in out
    for missing in ("KPI-9 in this initiative. `kpi list`", "RISK-9 in this initiative. `risk list`"):
        assert f"There is no {missing} shows them." in out
    assert "There is no SRC-9 in this initiative. `source list` shows them." in out
    kpi = out[out.index("KPI-1: Self-service users\n") :]
    assert re.search(r"Measures:\s+objective: Democratise data", kpi) and re.search(r"Owner:\s+@carol", kpi)
    assert re.search(r"Status:\s+withdrawn", kpi) and "withdraw by @alice" in kpi


def test_unicode_and_hostile_text_round_trip_in_the_console(sqlite_url):
    title = "数据湖 🚀 مرحبا"
    hostile = "<!channel> hi *bold* <https://evil|click>"
    out = run_console(
        [
            f'usecase propose "{title}" --description "{hostile}"',
            f'risk report "{hostile}" --category cost --likelihood 1 --impact 2',
            f'source add "{title}" --type other --issues "{hostile}"',
            "usecase show UC-1",
            "risk list",
            "source show SRC-1",
        ],
        sqlite_url,
    )
    assert out.count(title) >= 4
    assert out.count(hostile) >= 4


def test_show_has_priority_and_polls_once_polls_set_them(sqlite_url):
    """The polls feature owns Poll and sets priority_rank; show only reads them."""
    run_console(['usecase propose "Lakehouse"', 'usecase propose "Dashboards"'], sqlite_url)
    engine = create_engine(sqlite_url)
    with Session(engine) as session, session.begin():
        uc = session.execute(select(UseCase).where(UseCase.number == 1)).scalar_one()
        poll = Poll(
            initiative_id=uc.initiative_id,
            number=3,
            question="Which first?",
            method="ranked",
            salt="s",
            created_by_member_id=uc.proposer_member_id,
            created_at=datetime.now(UTC),
        )
        session.add(poll)
        session.flush()
        session.add(PollOption(poll_id=poll.id, position=1, label="Lakehouse", use_case_id=uc.id))
        uc.priority_rank, uc.priority_poll_id = 2, poll.id
    engine.dispose()
    out = run_console(["usecase show UC-1", "usecase show UC-2"], sqlite_url)
    first, second = out[: out.index("UC-2: Dashboards")], out[out.index("UC-2: Dashboards") :]
    assert re.search(r"Priority:\s+#2 \(set by POLL-3\)", first) and re.search(
        r"Polls:\s+an option in 1 poll\(s\)", first
    )
    assert "Priority" not in second and "Polls:" not in second


def test_list_sorted_by_priority_shows_the_poll_rank(db_url):
    """`--sort priority` leads with the chosen poll's rank; an unranked use case comes last, blank."""
    out = run_console(
        [
            'usecase propose "Lakehouse" --impact 2 --feasibility 2',
            'usecase propose "Dashboards" --impact 5 --feasibility 5',
            'usecase propose "Churn model" --impact 3 --feasibility 3',
            'poll start "Which first?" --method ranked --usecases all --sets-priority',
            "poll vote POLL-1 1 3",
            "poll close POLL-1",
            'usecase propose "Late idea" --impact 5 --feasibility 4',
            "usecase list --sort priority",
            "usecase list --sort score",
        ],
        db_url,
    )
    by_priority = section(out, "4 use case(s)", "4 use case(s)\n" + "ID")
    lines = [line.split() for line in by_priority.splitlines() if "UC-" in line or "Rank" in line]
    assert lines[0][:2] == ["Rank", "ID"]
    # the poll placed UC-2, which nobody ranked, third; UC-4, proposed after it closed, has no rank
    assert [row[:2] for row in lines[1:4]] == [["1", "UC-1"], ["2", "UC-3"], ["3", "UC-2"]]
    assert [row[0] for row in lines[4:]] == ["UC-4"]
    by_score = out[out.rindex("4 use case(s)") :]
    assert "Rank" not in by_score
