"""Polls through the console, as people would type them (several voters with `:as`)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEvent, Ballot, Member, Participation, ProcessedEvent, UseCase
from tests.console import ROOT, run_console

# The "done when" profile: 30 voters, 4 use cases (A..D = UC-1..UC-4), partial rankings allowed.
PROFILE = [(11, "1 2 3 4"), (9, "2 3 4 1"), (6, "3 4"), (4, "4 3 2 1")]
# Counted by hand (see docs/polls.md for the rules):
# Borda (3-2-1-0, unranked 0): A=11*3=33; B=11*2+9*3+4*1=53; C=11+9*2+6*3+4*2=55; D=9+6*2+4*3=33.
# Pairwise: B beats A 13-11, C 20-10, D 20-10; C beats A 19-11, D 26-4; D beats A 19-11 -> B>C>D>A.
# IRV: round 1 A11 B9 C6 D4 -> D out (its 4 go to C); round 2 A11 B9 C10 -> B out (9 go to C);
# round 3 A11 C19 -> A out: C, A, B, D.
HAND = {
    "schulze": [(1, 2), (2, 3), (3, 4), (4, 1)],
    "borda": [(1, 3), (2, 2), (3, 1), (3, 4)],
    "irv": [(1, 3), (2, 1), (3, 2), (4, 4)],
}
PLACE = re.compile(r"Place (\d+): .*\(option (\d+)\)")


def places(block: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in PLACE.findall(block)]


def sections(out: str, marker: str) -> list[str]:
    parts = out.split(marker)
    return [p.split("\n\n")[0] for p in parts[1:]]


def voter_lines(poll: str = "POLL-1") -> list[str]:
    lines = []
    v = 0
    for n, ranking in PROFILE:
        for _ in range(n):
            v += 1
            lines += [f":as voter{v}", f"poll vote {poll} {ranking}"]
    return lines


def setup_lines(extra: str = "") -> list[str]:
    return [
        'usecase propose "Alpha"',
        'usecase propose "Bravo"',
        'usecase propose "Charlie"',
        'usecase propose "Delta"',
        f'poll start "Which use case first?" --method ranked --usecases all --in 3d --sets-priority {extra}'.strip(),
    ]


async def db_rows(url: str, model) -> list:
    db = Database(url)
    try:
        async with db.reading() as s:
            return list((await s.execute(select(model))).scalars())
    finally:
        await db.dispose()


async def test_done_when_30_voters_ranked_matches_the_hand_count_and_sets_priority(sqlite_url):
    lines = [
        *setup_lines(),
        *voter_lines(),
        ":as alice",
        "poll results POLL-1",
        "poll results POLL-1 --count borda",
        "poll results POLL-1 --count irv",
        "poll close POLL-1",
        "poll vote POLL-1 1",
    ]
    out = run_console(lines, sqlite_url)
    assert out.count("Your vote on POLL-1 is recorded") == 30
    blocks = out.split("Ranked choice, counted by ")[1:]
    assert len(blocks) == 5  # the poll message, three results, the closing result
    assert blocks[1].startswith("Schulze, so far. 30 of 31 voted.")
    assert places(blocks[1]) == HAND["schulze"]
    assert places(blocks[2]) == HAND["borda"] and "Tie for place 3: 1, 4." in blocks[2]
    assert "53 points" in blocks[2] and "55 points" in blocks[2]
    assert places(blocks[3]) == HAND["irv"]
    assert "round 3: 1=11, 3=19" in blocks[3]
    assert blocks[4].startswith("Schulze, final result.") and places(blocks[4]) == HAND["schulze"]
    assert "POLL-1 closed at" in out and "votes are no longer accepted" in out
    cases = sorted(await db_rows(sqlite_url, UseCase), key=lambda u: u.number)
    assert [u.priority_rank for u in cases] == [4, 1, 2, 3]
    assert {u.priority_poll_id for u in cases} == {1}
    assert len(await db_rows(sqlite_url, Ballot)) == 30


async def test_a_later_poll_supersedes_the_earlier_priority_only_when_chosen(sqlite_url):
    lines = [
        *setup_lines(),
        "poll vote POLL-1 1 2 3 4",
        "poll close POLL-1",
        'poll start "Again" --method single --usecases all',
        "poll vote POLL-2 uc-4",
        "poll close POLL-2",
        "usecase list --sort priority",
        "usecase priority from POLL-3",
        'poll start "Open" --method single --usecases all',
        "usecase priority from POLL-3",
        ":as bob",
        "usecase priority from POLL-2",
        ":as alice",
        'poll start "Lunch" --method single --options "A; B" --sets-priority',
        "usecase priority from POLL-2",
        "usecase list --sort priority",
    ]
    out = run_console(lines, sqlite_url)
    # Closing POLL-2 did not take over: POLL-1 was chosen, POLL-2 only offers itself.
    assert "To rank the use cases by it: `usecase priority from POLL-2`." in out
    assert "There is no POLL-3 in this initiative" in out
    assert "POLL-3 is still open; close it first (`poll close POLL-3`)." in out
    assert "Only a facilitator of this initiative can use `usecase priority`." in out
    assert "--sets-priority needs the use cases as options: add --usecases all." in out
    assert "The use cases' priority now comes from POLL-2 (closed " in out
    listed = [re.findall(r"^\S+\s+(UC-\d) ", block, re.M) for block in out.split("4 use case(s)")[1:]]
    assert listed == [["UC-1", "UC-2", "UC-3", "UC-4"], ["UC-4", "UC-1", "UC-2", "UC-3"]]  # POLL-1's, then POLL-2's
    cases = sorted(await db_rows(sqlite_url, UseCase), key=lambda u: u.number)
    assert [u.priority_rank for u in cases] == [2, 2, 2, 1]
    assert {u.priority_poll_id for u in cases} == {2}


async def test_anonymous_poll_leaks_no_voter(sqlite_url, tmp_path):
    lines = [
        *setup_lines("--anonymous"),
        ":as zed",
        "poll vote POLL-1 4 3",
        ":as yan",
        "poll vote POLL-1 2",
        "poll vote POLL-1 3 2",
        ":as alice",
        "poll results POLL-1",
        "poll close POLL-1",
    ]
    out = run_console(lines, sqlite_url)
    assert "Anonymous: nobody, not even the creator or a facilitator, can see who chose what" in out.split("0 of")[0]
    results = out[out.index("so far") :]
    assert "zed" not in results and "yan" not in results and "Voted:" not in results
    members = {m.id: m for m in await db_rows(sqlite_url, Member)}
    ballots = await db_rows(sqlite_url, Ballot)
    assert len(ballots) == 2 and len(await db_rows(sqlite_url, Participation)) == 2
    for b in ballots:
        row = f"{b.voter_key} {b.choices} {b.updated_at}"
        assert not any(m.user_id in row or m.display_name in row for m in members.values())
        assert len(b.voter_key) == 64 and set(b.voter_key) <= set("0123456789abcdef")
    # Ballots carry the poll's start time, not the vote's, so they cannot be matched to the audit trail.
    assert len({b.updated_at for b in ballots}) == 1
    for a in await db_rows(sqlite_url, AuditEvent):
        if a.action == "poll.vote":
            assert a.detail == {}
    assert all("choices" not in str(p.reply) for p in await db_rows(sqlite_url, ProcessedEvent))
    # Nor does an export: whoever appears in it appears apart from any choice.
    for fmt in ("csv", "md"):
        exported = export_text(sqlite_url, fmt, tmp_path / fmt)
        assert not any(b.voter_key in exported for b in ballots)
        for line in exported.splitlines():
            if re.search(r"\b(zed|yan)\b", line):
                assert not re.search(r"Alpha|Bravo|Charlie|Delta|UC-\d", line), line


def export_text(db_url: str, fmt: str, out: Path) -> str:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "export",
            "--db",
            db_url,
            "--initiative",
            "general",
            "--format",
            fmt,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    texts = []
    for f in sorted(out.rglob("*")):
        if f.suffix == ".zip":
            with zipfile.ZipFile(f) as z:
                texts += [z.read(n).decode("utf-8", "replace") for n in z.namelist() if not n.endswith(".png")]
        elif f.is_file() and f.suffix in (".csv", ".md", ".html"):
            texts.append(f.read_text("utf-8", "replace"))
    assert texts, list(out.rglob("*"))
    return "\n".join(texts)


def test_methods_errors_rights_and_hidden_results(sqlite_url):
    out = run_console(
        [
            'poll start "Lunch?" --method single --options "Pizza; Sushi; Salad" --hide-results',
            'poll start "Bad" --method single --options "Only one"',
            'poll start "Bad" --method vote --options "A; B"',
            'poll start "Bad" --method dots --options "A; B" --count borda',
            'poll start "Bad" --method single --options "A; a"',
            'poll start "Bad" --method single --options "A; B" --in 3 days',
            'poll start "Bad" --method single --options "A; B" --closes 2001-01-01',
            'poll start "Bad" --method ranked --usecases shortlisted',
            "poll vote POLL-1 2",
            ":as bob",
            'poll vote POLL-1 "Pizza"',
            "poll vote POLL-1 1 2",
            "poll vote POLL-9 1",
            "poll results POLL-1",
            "poll close POLL-1",
            "poll remind POLL-1",
            'poll start "Tools" --method approval --options "Git; Jira; Slack"',
            "poll vote POLL-2 1 3",
            'poll start "Budget" --method dots --options "A; B; C" --dots 5',
            "poll vote POLL-3 1=3 2=3",
            'poll vote POLL-3 1=2 "C"=3',
            "poll vote POLL-3 1",
            'poll start "Score" --method score --options "A; B"',
            "poll vote POLL-4 1=5/3 2=6/1",
            "poll vote POLL-4 1=5/3 2=2/2",
            "poll results POLL-4",
            "poll results POLL-4 --count irv",
            ":as alice",
            "poll list --open",
            "poll close POLL-1",
            "poll results POLL-1",
            "poll extend POLL-2 --in 2d",
            "poll list",
        ],
        sqlite_url,
    )
    assert "Results are hidden from everyone until the poll closes" in out
    assert "A poll needs 2 to 50 options separated by ';', got 1." in out
    assert 'method must be one of single, approval, ranked, dots, score, got "vote".' in out
    assert "--count applies to ranked polls only." in out
    assert "Two options have the same label; make each one different." in out
    assert "I did not expect" in out  # --in 3 days: the word "days" is not part of the duration
    assert "has passed; give a later one." in out
    assert "There are 0 shortlisted use case(s); a poll needs at least 2. Shortlist more" in out
    assert "This poll takes one choice; give a single option number." in out
    assert "There is no POLL-9 in this initiative" in out
    hidden = out[out.index("POLL-9 in this initiative") :]
    assert "The results are hidden from everyone until the poll closes. 2 of 2 voted so far." in hidden
    assert out.count("Only POLL-1's creator or a facilitator can do that.") == 2
    assert "Your vote on POLL-2 is recorded: 1. Git; 3. Slack." in out
    assert "That is 6 points; this poll gives each voter 5. Remove 1." in out
    assert "Your vote on POLL-3 is recorded: 1. A: 2 points; 3. C: 3 points." in out
    assert '"1" needs a value' in out
    assert 'Option 2: write IMPACT/FEASIBILITY, both 1-5 (like 5/3), got "6/1".' in out
    assert "Place 1: A (option 1) — impact 5.00 x feasibility 3.00 = 15.00" in out
    assert "--count applies to ranked polls; POLL-4 is score." in out
    final = out[out.index("POLL-1 is closed") :]
    assert "Place 1: Pizza (option 1) — 1 vote" in final and "Place 1: Sushi (option 2) — 1 vote" in final
    assert "Tie for place 1: 1, 2." in final
    assert "Voted: alice, bob." in final
    assert "POLL-2 now closes" in out
    table = out[out.rindex("ID ") :]
    assert re.search(r"POLL-1\s+Lunch\?\s+single\s+closed\s+2", table)
