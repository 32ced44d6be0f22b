"""Numbers are read one way (a point for decimals, commas between groups of three) and the
ambiguous are refused; deadlines already past are refused by the app's clock, not the machine's."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.fields import Check
from tests.clock import SUITE_NOW
from tests.console import run_console


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.5", 1.5), ("1,234.5", 1234.5), ("1,200,000", 1200000), ("-3", -3), ("12%", 12), ("0.0125", 0.0125)],
)
def test_numbers_written_the_documented_way_are_read(text, value):
    check = Check()
    assert check.number("baseline", text) == value
    assert not check.errors


@pytest.mark.parametrize("text", ["1,5", "1.234,5", "12,34", "1,2345", "1,234,5"])
def test_ambiguous_numbers_are_refused_with_the_way_to_write_them(text):
    check = Check()
    assert check.number("baseline", text) is None
    assert check.errors["baseline"] == (
        f'baseline "{text}" is ambiguous: write decimals with a point (1.5) and thousands, if at all, '
        "with commas in groups of three (1,234.5)."
    )


def test_a_deadline_before_today_is_refused_and_today_is_not():
    today = date(2026, 11, 16)
    check = Check()
    assert check.day("due", "2026-11-16", not_before=today) == today
    assert check.day("due", "2026-11-15", not_before=today) is None
    assert check.errors == {"due": "due 2026-11-15 has passed (today is 2026-11-16); give a later date."}
    assert Check().day("start", "2020-01-01") == date(2020, 1, 1)  # a start or a holiday may be past


def test_commands_refuse_past_deadlines_and_ambiguous_numbers(sqlite_url):
    assert SUITE_NOW.date() == date(2026, 11, 16)  # the console runs on the suite's clock
    out = run_console(
        [
            'usecase propose "Churn model" --impact 4 --feasibility 2',
            'kpi suggest UC-1 "Churn" --baseline "1,5" --target 1 --unit %',
            'kpi suggest UC-1 "Churn" --baseline 2 --target 1 --unit % --by 2026-11-13',
            'kpi suggest UC-1 "Churn" --baseline "1,234.5" --target 1 --unit % --by 2026-12-31',
            "kpi edit KPI-1 --by 2026-01-01",
            'milestone add "Kick-off" --due 2026-11-02',
            'risk report "Skills" --category "skills gap" --likelihood 3 --impact 3 --review 2026-11-10',
            'risk report "Skills" --category "skills gap" --likelihood 3 --impact 3 --review 2026-11-20',
            "risk update RISK-1 --review 2025-12-01",
            "raci init",
            "signoff request ACT-1 @bob --due 2026-11-01",
            "kpi list",
        ],
        sqlite_url,
    )
    assert 'baseline "1,5" is ambiguous: write decimals with a point (1.5)' in out
    assert "by 2026-11-13 has passed (today is 2026-11-16); give a later date." in out
    assert "by 2026-01-01 has passed" in out
    assert "due 2026-11-02 has passed" in out and "MS-1" not in out
    assert "review 2026-11-10 has passed" in out and "review 2025-12-01 has passed" in out
    assert "due 2026-11-01 has passed" in out and "SIGN-1" not in out
    assert "1,234.5" in out.split("kpi list")[-1]  # KPI-1 stored 1234.5, not 12345 or 1.2345
    assert "KPI-2" not in out  # the refused suggestions stored nothing


def test_a_source_named_like_another_is_refused_unless_forced(sqlite_url):
    out = run_console(
        [
            'source add "Oracle ERP" --type "relational db" --quality 2',
            'source add "oracle  ERP." --type "relational db" --quality 2',
            'source add "Oracle ERP (EU)" --type "relational db" --force',
            "source list",
        ],
        sqlite_url,
    )
    assert 'SRC-1 "Oracle ERP" already has the same or a very close name.' in out
    assert "add it again with --force" in out
    assert "added SRC-2: Oracle ERP (EU)" in out and "SRC-3" not in out
