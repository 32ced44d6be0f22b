"""The RACI rules as pure functions: no database, no clock."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import raci_rules as rules

NAMES = {1: "ann", 2: "bob", 3: "cy", 4: "dee"}


def test_one_accountable_is_enforced_and_the_current_one_is_named():
    cells = rules.assign({}, [("A", 1), ("R", 2)]).cells
    with pytest.raises(rules.RaciRefused, match="ann is already the Accountable") as e:
        rules.assign(cells, [("A", 2)], names=NAMES)
    assert "--replace" in str(e.value)
    with pytest.raises(rules.RaciRefused, match=r"exactly one Accountable.*bob, cy"):
        rules.assign({}, [("A", 2), ("A", 3)], names=NAMES)


def test_replace_hands_a_over_and_the_old_a_keeps_an_r():
    cells = rules.assign({}, [("A", 1), ("R", 1), ("R", 2)]).cells
    assert cells == {1: frozenset("AR"), 2: frozenset("R")}
    out = rules.assign(cells, [("A", 2)], replace=True)
    assert out.cells == {1: frozenset("R"), 2: frozenset("AR")}
    assert [(c.member_id, rules.cell_label(c.before), rules.cell_label(c.after)) for c in out.changes] == [
        (1, "A/R", "R"),
        (2, "R", "A/R"),
    ]


def test_a_person_holds_one_role_except_a_with_r():
    cells = rules.assign({}, [("C", 1)]).cells
    assert rules.assign(cells, [("I", 1)]).cells == {1: frozenset("I")}  # moved, not doubled
    assert rules.assign(cells, [("R", 1), ("A", 1)]).cells == {1: frozenset("AR")}
    assert rules.cell_label(frozenset("RA")) == "A/R"
    # A then C: the person moves to C and the activity is left without an A (allowed while building).
    assert rules.assign({1: frozenset("A")}, [("C", 1)]).cells == {1: frozenset("C")}


def test_two_roles_for_one_person_in_one_command_are_refused_unless_a_and_r():
    with pytest.raises(rules.RaciRefused, match="ann was given A/C; a person holds one role per activity"):
        rules.assign({}, [("A", 1), ("C", 1)], names=NAMES)
    assert rules.assign({}, [("R", 1), ("A", 1)]).cells == {1: frozenset("AR")}


def test_unknown_letter_is_refused():
    with pytest.raises(rules.RaciRefused, match='"X" is not a RACI role'):
        rules.assign({}, [("X", 1)])


def test_reassigning_the_same_role_changes_nothing():
    cells = {1: frozenset("A")}
    assert rules.assign(cells, [("A", 1)]).changes == []
    assert rules.unassign(cells, [2]).changes == []


def test_check_finds_every_gap_and_violation():
    activities = {
        "ACT-1 Plan": {1: frozenset("AR")},
        "ACT-2 Risks": {2: frozenset("C")},
        "ACT-3 KPIs": {1: frozenset("A"), 2: frozenset("A"), 3: frozenset("RC")},
        **{f"ACT-{n} X": {1: frozenset("A"), 3: frozenset("R")} for n in range(4, 8)},
    }
    issues = rules.check_matrix(activities, {**NAMES, 5: "eve"}, inactive=[3], overload=4)
    kinds = sorted(i.kind for i in issues)
    assert kinds == sorted(
        [
            "no_accountable",
            "no_responsible",
            "many_accountable",
            "double_role",
            "no_role",
            "no_role",
            "inactive",
            "overloaded",
        ]
    )
    text = "\n".join(i.message for i in issues)
    assert "ACT-2 Risks has no Accountable (A)." in text and "ACT-2 Risks has no Responsible (R)." in text
    assert "ACT-3 KPIs has 2 Accountables (ann, bob)" in text
    assert "cy holds R/C on ACT-3 KPIs" in text
    assert "dee has no role" in text and "eve has no role" in text
    assert "cy has left" in text
    assert "ann is Accountable for 6 activities (more than 4)" in text
    assert rules.check_matrix({"ACT-1 Plan": {1: frozenset("AR")}}, {1: "ann"}) == []
    assert [i.kind for i in rules.check_matrix(activities, NAMES, overload=6)].count("overloaded") == 0


def test_routing_purposes():
    assert {p: rules.role_for_purpose(p) for p in rules.PURPOSE_ROLES} == {
        "nudge": "R",
        "escalation": "A",
        "signoff": "A",
        "input": "C",
        "digest": "I",
    }
    with pytest.raises(ValueError):
        rules.role_for_purpose("spam")


_step = st.one_of(
    st.tuples(
        st.just("assign"),
        st.lists(st.tuples(st.sampled_from(rules.ROLES), st.integers(1, 5)), min_size=1, max_size=4),
        st.booleans(),
    ),
    st.tuples(st.just("unassign"), st.lists(st.integers(1, 5), min_size=1, max_size=2), st.just(False)),
)


def _expected_refusal(cells: dict[int, frozenset[str]], payload: list[tuple[str, int]], replace: bool) -> str | None:
    """Which rule refuses this assign, worked out independently of raci_rules' own order of checks."""
    new_as = {m for role, m in payload if role == "A"}
    if len(new_as) > 1:
        return "exactly one Accountable (A), but"
    given: dict[int, set[str]] = {}
    for role, m in payload:
        given.setdefault(m, set()).add(role)
    if any(len(r) > 1 and r != {"A", "R"} for r in given.values()):
        return "a person holds one role per activity"
    if new_as and not replace and any("A" in r for m, r in cells.items() if m not in new_as):
        return "is already the Accountable (A) here"
    return None


@settings(max_examples=150, deadline=None)
@given(st.lists(_step, max_size=25))
def test_no_sequence_of_commands_leaves_two_accountables(steps):
    cells: dict[int, frozenset[str]] = {}
    for kind, payload, replace in steps:
        if kind == "unassign":
            out = rules.unassign(cells, payload)
            assert not set(payload) & set(out.cells)
            assert {m: r for m, r in cells.items() if m not in payload} == out.cells
        else:
            refusal = _expected_refusal(cells, payload, replace)
            if refusal is not None:
                with pytest.raises(rules.RaciRefused, match=re.escape(refusal)):
                    rules.assign(cells, payload, replace=replace)
                continue  # a refused command changes nothing
            out = rules.assign(cells, payload, replace=replace)
            for role, m in payload:
                assert role in out.cells[m]
        changed = {c.member_id for c in out.changes}
        assert changed == {m for m in set(cells) | set(out.cells) if cells.get(m) != out.cells.get(m)}
        cells = out.cells
        assert len(rules.accountable(cells)) <= 1
        # and nobody holds two roles other than A/R
        assert all(len(r) == 1 or r == frozenset("AR") for r in cells.values())


def test_unassign_removes_the_people_named_and_says_what_they_held():
    cells = {1: frozenset("AR"), 2: frozenset("C"), 3: frozenset("I")}
    out = rules.unassign(cells, [1, 3, 4])
    assert out.cells == {2: frozenset("C")}
    assert [(c.member_id, rules.cell_label(c.before), c.after) for c in out.changes] == [
        (1, "A/R", frozenset()),
        (3, "I", frozenset()),
    ]


def test_a_newcomer_appears_in_the_changes():
    out = rules.assign({1: frozenset("A")}, [("R", 2), ("C", 3)])
    assert out.cells == {1: frozenset("A"), 2: frozenset("R"), 3: frozenset("C")}
    assert [(c.member_id, c.before, rules.cell_label(c.after)) for c in out.changes] == [
        (2, frozenset(), "R"),
        (3, frozenset(), "C"),
    ]


def test_refusals_leave_the_cells_as_they_were():
    cells = {1: frozenset("A"), 2: frozenset("R")}
    before = dict(cells)
    for wanted, kw, message in [
        ([("A", 2)], {}, "ann is already the Accountable (A) here and an activity has exactly one."),
        ([("A", 2), ("A", 3)], {"replace": True}, "but bob, cy were given; name one."),
        ([("C", 3), ("I", 3)], {}, "cy was given C/I; a person holds one role per activity (only A and R"),
        ([("Q", 3)], {}, '"Q" is not a RACI role; use R, A, C or I.'),
    ]:
        with pytest.raises(rules.RaciRefused) as e:
            rules.assign(cells, wanted, names=NAMES, **kw)
        assert message in str(e.value)
    assert cells == before
    # Without names, people are shown by their ids.
    with pytest.raises(rules.RaciRefused, match=r"^1 is already the Accountable"):
        rules.assign(cells, [("A", 2)])


def test_replace_with_the_current_accountable_is_not_a_handover():
    cells = {1: frozenset("A"), 2: frozenset("R")}
    out = rules.assign(cells, [("A", 1)], replace=True)
    assert out.cells == cells and out.changes == []
    out = rules.assign(cells, [("A", 1), ("R", 1)])
    assert out.cells == {1: frozenset("AR"), 2: frozenset("R")}


def test_check_matrix_boundaries():
    people = {1: "Ann", 2: "bob"}
    five = {f"ACT-{n}": {1: frozenset("A"), 2: frozenset("R")} for n in range(1, 6)}
    assert [i.message for i in rules.check_matrix(five, people, overload=5)] == []
    assert [i.kind for i in rules.check_matrix(five, people, overload=4)] == ["overloaded"]
    assert [i.kind for i in rules.check_matrix(five, people)] == ["overloaded"]  # the default is 4
    # An empty cell is no role; people are listed by name, whatever the case.
    issues = rules.check_matrix({"ACT-1": {1: frozenset("AR"), 2: frozenset()}}, {1: "zed", 2: "Bob", 3: "amy"})
    assert [i.message for i in issues] == ["amy has no role on any activity.", "Bob has no role on any activity."]
    issues = rules.check_matrix({"ACT-1": {1: frozenset("AR")}}, {1: "ann"}, inactive=[1, 2])
    assert [i.message for i in issues] == ["ann has left but still holds roles; reassign them."]
    issues = rules.check_matrix({"ACT-1": {7: frozenset("AR"), 8: frozenset("CI")}}, {})
    assert [i.message for i in issues] == ["8 holds C/I on ACT-1; keep one."]
    assert rules.cell_label(["I", "C", "R", "A"]) == "A/R/C/I"


def test_people_without_a_name_are_shown_by_id_in_every_message():
    with pytest.raises(rules.RaciRefused, match="but 7, 8 were given"):
        rules.assign({}, [("A", 7), ("A", 8)])
    with pytest.raises(rules.RaciRefused, match=r"^7 was given C/I;"):
        rules.assign({}, [("C", 7), ("I", 7)])
    with pytest.raises(rules.RaciRefused, match=r"Add --replace to hand A over\.$"):
        rules.assign({1: frozenset("A")}, [("A", 2)])
    five = {f"ACT-{n}": {7: frozenset("A"), 9: frozenset("A"), 8: frozenset("R")} for n in range(5)}
    text = [i.message for i in rules.check_matrix(five, {}, inactive=[8])]
    assert "ACT-0 has 2 Accountables (7, 9); keep one." in text
    assert "8 has left but still holds roles; reassign them." in text
    assert "7 is Accountable for 5 activities (more than 4)." in text
    # Names sort by their lower case: "_x" (underscore) comes before "b" only in lower case.
    issues = rules.check_matrix({}, {1: "b", 2: "_x"})
    assert [i.message for i in issues] == ["_x has no role on any activity.", "b has no role on any activity."]
    with pytest.raises(ValueError, match="unknown purpose 'spam'; one of nudge, escalation, signoff, input, digest"):
        rules.role_for_purpose("spam")
