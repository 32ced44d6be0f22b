"""`initiative rename`, `initiative set`, `initiative show`: the name the report, the files and
the messages use instead of the channel's slug."""

from __future__ import annotations

from tests.console import run_console


def test_rename_set_and_show(sqlite_url):
    out = run_console(
        [
            'initiative rename "Acme  Databricks adoption"',
            'initiative set --sponsor "Sam Sponsor, CFO" --organisation "Acme Retail" --cover "For the steering group"',
            "initiative show",
            'initiative set --cover ""',
            "initiative show",
            "export md",
        ],
        sqlite_url,
    )
    assert "renamed the initiative Acme Databricks adoption (was general)" in out
    assert "set the initiative's cover line, organisation, sponsor" in out
    assert "Acme Retail" in out and "Sam Sponsor, CFO" in out and "For the steering group" in out
    assert "set the initiative's cover line." in out
    assert "The MD export of Acme Databricks adoption" in out
    assert "alignbot-acme-databricks-adoption.md" in out


def test_only_facilitators_rename_and_names_stay_unique_in_a_workspace(sqlite_url):
    run_console(['initiative rename "Lakehouse"'], sqlite_url, user="alice", channel="one")
    out = run_console(['initiative rename "lakehouse"', 'initiative rename ""'], sqlite_url, user="bob", channel="two")
    assert 'Another initiative of this workspace is already called "lakehouse"' in out
    assert "name is required" in out
    out = run_console(['initiative rename "Mine"'], sqlite_url, user="carol", channel="one")
    assert "facilitator" in out and "renamed" not in out
