"""The console through a pipe: the README's own example, `:as` switching, errors."""

from __future__ import annotations

from tests.console import run_console


def test_readme_example_shows_uc1_with_title_impact_feasibility(sqlite_url):
    out = run_console(['usecase propose "Migrate legacy ETL" --impact 5 --feasibility 3', "usecase list"], sqlite_url)
    table = out[out.index("ID ") :]
    row = next(line for line in table.splitlines() if line.startswith("UC-1"))
    assert row.split() == ["UC-1", "Migrate", "legacy", "ETL", "5", "3", "15", "proposed"]


def test_as_switches_user_and_first_speaker_is_facilitator(sqlite_url):
    out = run_console(
        ['usecase propose "One"', ":as bob", 'usecase propose "Two"', ":as alice", "usecase list"], sqlite_url
    )
    assert "alice proposed UC-1: One" in out
    assert "(you are now @bob)" in out
    assert "bob proposed UC-2: Two" in out


def test_channels_are_separate_initiatives(sqlite_url):
    out = run_console(['usecase propose "Here"', ":channel other", "usecase list"], sqlite_url)
    assert "No use cases yet" in out


def test_data_survives_between_sessions(sqlite_url):
    run_console(['usecase propose "Kept"'], sqlite_url)
    out = run_console(["usecase list"], sqlite_url)
    assert "UC-1" in out and "Kept" in out


def test_errors_are_specific_and_store_nothing(sqlite_url):
    out = run_console(
        [
            'usecase propose "X" --impact high',
            'usecase propose "Y" --feasability 3',
            'usecase propose "unterminated',
            "usecse list",
            "usecase list",
        ],
        sqlite_url,
    )
    assert 'impact must be a whole number from 1 to 5, got "high".' in out
    assert "--feasability is not an option of this command. Did you mean --feasibility?" in out
    assert "A quote is not closed" in out
    assert "The closest is `usecase list`" in out
    assert "No use cases yet" in out


def test_help_lists_commands_and_explains_one(sqlite_url):
    out = run_console(["help", "help usecase propose"], sqlite_url)
    assert "usecase list" in out
    assert 'Example: usecase propose "Migrate legacy ETL" --impact 5 --feasibility 3' in out


def test_unicode_round_trips(sqlite_url):
    title = "数据湖 🚀 مرحبا"
    out = run_console([f'usecase propose "{title}"', "usecase list"], sqlite_url)
    assert out.count(title) == 2
