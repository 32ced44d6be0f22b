"""member promote / demote / list: the creator is the first facilitator, and one always remains."""

from __future__ import annotations

from tests.console import run_console


def test_promote_demote_list_and_never_without_a_facilitator(sqlite_url):
    out = run_console(
        [
            "member list",
            ":as bob",
            "member promote @bob",  # a stakeholder cannot promote themselves
            ":as ann",
            "member demote @ann",  # the last facilitator stays
            "member promote @bob",
            "member promote @bob",
            ":as bob",
            'raci activity add "Now allowed"',
            "member demote @ann",
            "member demote @bob",
            "member demote @cy",
            "member list",
        ],
        sqlite_url,
        user="ann",
    )
    assert "1 member(s)" in out and "ann   facilitator  active" in out
    assert "Only a facilitator of this initiative can use `member promote`" in out
    assert "ann is the last facilitator; promote someone else first" in out
    assert "bob is now a facilitator." in out and "bob is already a facilitator." in out
    assert "→ @bob (private): ann made you a facilitator of general" in out
    assert "Added ACT-1 Now allowed." in out
    assert "ann is now a stakeholder." in out
    assert "bob is the last facilitator" in out
    assert "cy is not a facilitator." in out
    last = out.split("member(s)")[-1]
    assert last.index("bob   facilitator") < last.index("ann   stakeholder")
