"""The plan commands through `alignbot console`, as a facilitator and a stakeholder would type them."""

from __future__ import annotations

import re

from tests.console import run_console


def rows(out: str, prefix: str = "MS-") -> dict[str, list[str]]:
    """The last table row printed for each id (split on two or more spaces)."""
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith(prefix):
            cells = re.split(r"\s{2,}", line.strip())
            found[cells[0]] = cells
    return found


def test_plan_init_gives_six_milestones_on_working_days_with_dependencies(sqlite_url):
    out = run_console(
        [
            "raci init",
            "plan init --start 2026-12-01",
            "plan init --start 2026-12-01",
            "plan show",
            "milestone show MS-4",
        ],
        sqlite_url,
    )
    init = out[out.index("laid out the Phase 1 plan (long) from 2026-12-01") :]
    table = rows(init[: init.index("The Phase 1 plan already exists")])
    assert table == {
        "MS-1": ["MS-1", "Identify use cases", "2026-12-01", "2026-12-14", "-", "ACT-1"],
        "MS-2": ["MS-2", "Assess current infrastructure", "2026-12-15", "2026-12-28", "MS-1", "ACT-2"],
        "MS-3": ["MS-3", "Define objectives & metrics", "2026-12-29", "2027-01-04", "MS-2", "ACT-3"],
        "MS-4": ["MS-4", "Stakeholder alignment", "2027-01-05", "2027-01-18", "MS-3", "ACT-4"],
        "MS-5": ["MS-5", "Risk assessment & mitigation", "2027-01-19", "2027-01-25", "MS-4", "ACT-5"],
        "MS-6": ["MS-6", "Create project plan", "2027-01-26", "2027-02-01", "MS-5", "ACT-6"],
    }
    assert "The Phase 1 plan already exists (MS-1, MS-2, MS-3, MS-4, MS-5, MS-6)" in out
    assert "Critical path: MS-1 -> MS-2 -> MS-3 -> MS-4 -> MS-5 -> MS-6" in out
    assert "Activity:       ACT-4 RACI matrix" in out
    assert "Next reminders: 2027-01-13 09:00, 2027-01-15 09:00, 2027-01-18 09:00, 2027-01-20 09:00" in out


def test_short_plan_with_holidays_and_moving_a_milestone_moves_its_dependants(sqlite_url):
    out = run_console(
        [
            "plan holiday add 2026-12-24",
            "plan holiday add 2026-12-25",
            "plan init --start 2026-12-14 --weeks short",
            "milestone edit MS-2 --due 2026-12-31",
            "milestone list",
        ],
        sqlite_url,
    )
    init = out[out.index("laid out") : out.index("changed MS-2")]
    assert [r[2:4] for r in rows(init).values()] == [
        ["2026-12-14", "2026-12-18"],
        ["2026-12-21", "2026-12-29"],  # Dec 24 and 25 are off
        ["2026-12-30", "2027-01-05"],
        ["2027-01-06", "2027-01-12"],
        ["2027-01-13", "2027-01-19"],
        ["2027-01-20", "2027-01-26"],
    ]
    assert (
        "Moved with it by the same working days: MS-3 to 2027-01-07; MS-4 to 2027-01-14; "
        "MS-5 to 2027-01-21; MS-6 to 2027-01-28." in out
    )
    listed = rows(out[out.index("6 milestone(s)") :])
    assert [r[2] for r in listed.values()] == [
        "2026-12-18",
        "2026-12-31",
        "2027-01-07",
        "2027-01-14",
        "2027-01-21",
        "2027-01-28",
    ]


def test_milestone_commands_statuses_and_polite_refusals(sqlite_url):
    out = run_console(
        [
            'milestone add "Kickoff" --due 2026-11-27 --owner @bob',
            'milestone add "Weekend" --due 2026-11-28',
            'milestone add "Bad" --due 2026-13-01 --remind soon --after MS-9 --owner bob',
            'milestone add "Later" --due 2027-03-01 --after MS-1',
            "milestone edit MS-1 --after MS-2",
            "milestone edit MS-1",
            "milestone show MS-7",
            "milestone done x",
            ":as carol",
            "milestone done MS-1",
            'milestone add "Not allowed" --due 2027-03-01',
            "milestone snooze MS-1 2d",
            ":as bob",
            "milestone done MS-1",
            "milestone done MS-1",
            "milestone list",
            "milestone reopen MS-1",
            ":as alice",
            "milestone remove MS-1",
            "milestone list",
            "plan show",
        ],
        sqlite_url,
    )
    assert "added MS-1: Kickoff, due 2026-11-27. Owners: @bob." in out
    assert "due 2026-11-28 (Saturday) is not a working day here; the next one is 2026-11-30." in out
    assert (
        "due must be a date as YYYY-MM-DD" in out
        and 'remind must be working days before the due date like "3d,1d,0d"' in out
    )
    assert 'after must name an existing milestone like MS-2, got "MS-9"' in out
    assert 'owner must be a person mentioned with @, got "bob"' in out
    assert "MS-1 cannot wait on MS-2: that would make a loop." in out
    assert "Say what to change: --name, --due, --start, --owner, --after or --remind." in out
    assert "There is no MS-7 in this initiative" in out
    assert '"x" is not a milestone id; write it like MS-3' in out
    assert "Only an owner of MS-1 or a facilitator can mark it done." in out
    assert "Only a facilitator of this initiative can use `milestone add`." in out
    assert 'Snooze for "1d" (a day) or "1w" (a week), got "2d".' in out
    assert "bob marked MS-1 Kickoff done." in out and "MS-1 is already done." in out
    listed = rows(out[out.index("2 milestone(s)") : out.index("bob reopened")])
    assert listed["MS-1"][-1] == "done" and listed["MS-2"][-1] == "on track"
    assert "bob reopened MS-1 Kickoff." in out
    assert "alice removed MS-1 Kickoff." in out
    final = out[out.rindex("1 milestone(s)") : out.index("Plan of")]
    assert "MS-1" not in final and rows(final)["MS-2"][4] == "-"  # no longer waits on the removed one
    assert "Critical path: MS-2" in out


def test_calendar_commands(sqlite_url):
    out = run_console(
        [
            "plan workdays mon,tue,xyz",
            "plan workdays sun-thu",
            "plan holiday add 2026-12-24",
            "plan holiday add 2026-12-24",
            "plan holiday list",
            "plan holiday remove 2026-12-24",
            "plan holiday remove 2026-12-24",
            "plan timezone Mars/Olympus",
            "plan timezone America/New_York",
            'milestone add "Friday" --due 2026-12-04',
            'milestone add "Sunday" --due 2026-12-06',
            "milestone show MS-1",
        ],
        sqlite_url,
    )
    assert '"xyz" is not a day: write days as mon,tue,... or a range like mon-fri.' in out
    assert "Working days are now mon,tue,wed,thu,sun." in out
    assert "2026-12-24 is now a holiday." in out and "2026-12-24 was already a holiday." in out
    assert "2026-12-24 (Thursday)" in out
    assert "2026-12-24 is a working day again." in out and "2026-12-24 was not a holiday." in out
    assert '"Mars/Olympus" is not a time zone I know' in out
    assert "Reminders now go out at 09:00 America/New_York." in out
    assert "due 2026-12-04 (Friday) is not a working day here; the next one is 2026-12-06." in out
    assert "added MS-1: Sunday, due 2026-12-06" in out
    assert "Next reminders: 2026-12-01 09:00, 2026-12-03 09:00, 2026-12-06 09:00" in out


def test_resources_totals_and_over_allocation(sqlite_url):
    out = run_console(
        [
            "plan init --start 2026-12-01 --weeks short",
            'milestone add "Parallel work" --due 2026-12-18 --owner @dana',
            'resource add "Data engineers" --kind person --amount 2 --unit FTE --milestone MS-3',
            'resource add "Dana" --kind person --amount 60 --unit % --milestone MS-3 --owner @dana',
            'resource add "Dana again" --kind person --amount 0.5 --unit FTE --milestone MS-7 --owner @dana',
            'resource add "Dana later" --kind person --amount 0.9 --unit FTE --milestone MS-6 --owner @dana',
            'resource add "Licences" --kind tool --amount 1200 --unit EUR --milestone MS-3',
            'resource add "Cloud" --kind budget --amount 1000 --unit EUR --milestone MS-3',
            'resource add "Cloud" --kind budget --amount 500 --unit EUR --milestone MS-3',
            'resource add "Bad" --kind money --amount lots --milestone MS-99 --unit EUR',
            "resource list",
            "resource remove RES-9",
            "resource remove RES-1",
            "plan resources",
        ],
        sqlite_url,
    )
    assert "added RES-1: Data engineers, person (2 FTE) for MS-3." in out
    assert 'kind must be one of person, budget, tool, infrastructure, got "money".' in out
    assert 'amount must be a number such as 12 or 3.5, got "lots".' in out
    assert 'milestone must name an existing milestone like MS-3, got "MS-99".' in out
    assert "RES-8" not in out
    assert 'There is no resource "RES-9" here' in out and "removed RES-1: Data engineers." in out
    report = out[out.index("Resources per milestone and kind") :]
    lines = [re.split(r"\s{2,}", line.strip()) for line in report.splitlines() if line.startswith("MS-")]
    assert lines == [
        ["MS-3", "budget", "1,500", "EUR", "2"],
        ["MS-3", "person", "60", "%", "1"],
        ["MS-3", "tool", "1,200", "EUR", "1"],
        ["MS-6", "person", "0.9", "FTE", "1"],
        ["MS-7", "person", "0.5", "FTE", "1"],
    ]
    # MS-3 (Dec 15-21) overlaps MS-7 (due Dec 18, no start): 60% + 50%; MS-6 (Dec 29-) overlaps nothing.
    assert "dana: 110% across MS-3, MS-7" in report


def test_a_new_due_date_keeps_the_start_and_a_start_moves_only_with_start(sqlite_url):
    out = run_console(
        [
            "plan init --start 2026-12-14 --weeks short",
            "milestone edit MS-2 --due 2026-12-30",
            "milestone show MS-2",
            "milestone edit MS-2 --start 2026-12-22",
            "milestone show MS-2",
            "milestone edit MS-2 --start 2027-01-04",
        ],
        sqlite_url,
    )
    first, second = out.split("changed MS-2")[1:3]
    assert "Start:          2026-12-21" in first  # the day after MS-1's due date, as laid out
    assert "Due:            2026-12-30" in first
    assert "start to 2026-12-22" in second and "Start:          2026-12-22" in second
    assert "start must be on or before the due date (2026-12-30)" in out
