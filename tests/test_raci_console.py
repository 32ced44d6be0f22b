"""RACI through the console, several people at one keyboard (`:as`)."""

from __future__ import annotations

import itertools
import re

from tests.console import run_console


def _matrix(out: str) -> dict[str, dict[str, str]]:
    """The last `raci show` table as {activity: {person: cell}}."""
    lines = out.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("RACI matrix"))
    header, rule = lines[start + 1], lines[start + 2]
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    cols = [header[a:b].strip() for a, b in spans]
    table = {}
    for line in lines[start + 3 :]:
        gaps = [line[b:a2] for (_, b), (a2, _) in itertools.pairwise(spans)]
        if not line.startswith("ACT-") or any(g.strip() for g in gaps):
            break
        cells = [line[a:b].strip() for a, b in spans]
        table[cells[0]] = {c: v for c, v in zip(cols[1:], cells[1:], strict=True) if v}
    return table


def test_done_when_init_assign_check_show_catch_missing_and_double_a(db_url):
    out = run_console(
        [
            "raci init",
            "raci assign ACT-1 R @bob @cy A @ann C @dee I @eve",
            "raci assign ACT-2 R @bob A @bob",
            "raci assign ACT-3 R @cy",
            "raci assign ACT-1 A @bob",  # a second A: refused, ann named
            "raci assign ACT-1 A @bob @cy",  # two As in one line: refused
            "raci check",
            "raci show",
            "raci assign ACT-1 A @dee --replace",
            "raci show",
        ],
        db_url,
        user="ann",
    )
    assert "Created 6 activities" in out and "ACT-6 Project plan" in out
    assert "ann is already the Accountable (A) here and an activity has exactly one. Add --replace" in out
    assert "An activity has exactly one Accountable (A), but bob, cy were given; name one." in out
    check = out.split("RACI issue(s):")[1].split("RACI matrix (A/R")[0]
    assert "ACT-3 KPI document has no Accountable (A)." in check
    assert "ACT-2 Gap analysis has no Accountable" not in check
    assert "ACT-4 RACI matrix has no Responsible (R)." in check
    first, second = out.split("RACI matrix (A/R")[1:3]
    assert _matrix("RACI matrix (A/R" + first) == {
        "ACT-1 Prioritized use-case list": {"ann": "A", "bob": "R", "cy": "R", "dee": "C", "eve": "I"},
        "ACT-2 Gap analysis": {"bob": "A/R"},
        "ACT-3 KPI document": {"cy": "R"},
        "ACT-4 RACI matrix": {},
        "ACT-5 Risk register": {},
        "ACT-6 Project plan": {},
    }
    # --replace handed A over: dee moved from C to A, ann lost A; nothing else changed.
    assert _matrix("RACI matrix (A/R" + second)["ACT-1 Prioritized use-case list"] == {
        "bob": "R",
        "cy": "R",
        "dee": "A",
        "eve": "I",
    }


def test_everyone_assigned_is_told_privately_and_removals_too(sqlite_url):
    out = run_console(
        [
            'raci activity add "Data policy" --description "Who may read what"',
            'raci assign "data policy" R @bob A @ann',
            "raci assign ACT-1 C @bob",
            "raci unassign ACT-1 @bob",
        ],
        sqlite_url,
        user="ann",
    )
    assert (
        "→ @bob (private): ann made you Responsible (R) for ACT-1 Data policy (in general). "
        "Responsible: you do the work" in out
    )
    assert "→ @ann (private): ann made you Accountable (A) for ACT-1 Data policy" in out
    assert (
        "→ @bob (private): ann changed your role on ACT-1 Data policy (in general) "
        "to Consulted (C) (was Responsible (R))" in out
    )
    assert "→ @bob (private): ann removed you from ACT-1 Data policy (in general); you were Consulted (C)." in out
    assert "Still open: ACT-1 has no Responsible (R)." in out


def test_non_facilitator_cannot_assign_but_can_propose_and_a_facilitator_decides(sqlite_url):
    out = run_console(
        [
            'raci activity add "Data policy"',
            ":as bob",
            "raci assign ACT-1 R @bob",
            'raci activity add "Sneaky"',
            "raci propose ACT-1 R @bob C @cy",
            "raci accept PROP-1",
            ":as ann",
            "raci accept PROP-1",
            "raci accept PROP-1",
            "raci show @bob",
            ":as bob",
            "raci mine",
        ],
        sqlite_url,
        user="ann",
    )
    assert out.count("Only a facilitator of this initiative can use `raci assign`") == 1
    assert "Only a facilitator of this initiative can use `raci activity add`" in out
    assert "Only a facilitator of this initiative can use `raci accept`" in out
    assert "Proposed PROP-1: ACT-1 Data policy: R bob, C cy." in out
    assert "→ @ann (private): bob proposes (PROP-1)" in out and "[Accept]  [Decline]" in out
    assert "Accepted PROP-1." in out and "PROP-1 was already accepted." in out
    assert "→ @bob (private): ann accepted PROP-1" in out
    assert "Sneaky" not in out.split('raci activity add "Sneaky"')[0] and "ACT-2" not in out
    mine = out.split("bob's roles")
    assert len(mine) == 3 and all("ACT-1 Data policy  R" in part for part in mine[1:])


def test_activities_use_cases_and_project_roles_as_targets(sqlite_url):
    out = run_console(
        [
            'usecase propose "Churn model"',
            'role assign @li "Data Owner" --for "Sales data"',
            "role assign @raj sponsor",
            "role list",
            'raci assign UC-1 R @bob A @raj C role:"data owner" I role:sponsor',
            'raci assign UC-1 R @bob A @raj C role:"data owner"',
            'raci activity rename ACT-1 "Churn model build"',
            'raci activity add "Churn model build"',
            "raci assign ACT-9 R @bob",
            "raci assign UC-7 R @bob",
            'raci assign "no such thing" R @bob',
            'raci assign ACT-1 C role:"nobody"',
            "raci activity remove ACT-1",
            "raci show",
            'role remove @li "data owner"',
            "role list",
        ],
        sqlite_url,
        user="ann",
    )
    assert 'li now holds "data owner" for "Sales data".' in out
    assert "ACT-1 UC-1: Churn model: roles updated." in out
    assert "raj was given A/I; a person holds one role per activity" in out
    assert "li: - → C" in out and "raj: - → A" in out
    assert 'ACT-1 is now "Churn model build"' in out
    assert 'ACT-1 is already named "Churn model build"; choose another name.' in out
    assert "There is no activity ACT-9 here." in out and "There is no use case UC-7 here." in out
    assert 'There is no activity named "no such thing".' in out
    assert 'Nobody holds the project role "nobody".' in out
    assert "Removed ACT-1 Churn model build" in out
    assert "No activities yet." in out
    assert 'li no longer holds "data owner".' in out
    assert out.rstrip().endswith("sponsor  -    raj")


def test_show_of_an_empty_person_is_a_polite_refusal(sqlite_url):
    out = run_console(['raci show ""'], sqlite_url)
    assert "person is required: mention a person" in out
