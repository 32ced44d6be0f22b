"""The deliverables' pure rules (handlers.report_rules): ordering, set-aside, gaps, which source a
use case needs, chart labels and the changes in words. No database: these are the tests
`bench/mutation report_rules` runs against each mutant."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.report_rules import (
    changes_in_words,
    gap_severity,
    is_set_aside,
    one_line,
    priority_order,
    risk_level,
    risk_score,
    sets_aside,
    short,
    source_gaps,
    uses_source,
)
from storage.models import DataSource, Risk, UseCase


def uc(number, impact=None, feasibility=None, rank=None, sources="") -> UseCase:
    return UseCase(number=number, impact=impact, feasibility=feasibility, priority_rank=rank, data_sources=sources)


def test_priority_order_is_rank_then_score_then_number():
    cases = [uc(1, 2, 2), uc(2, 5, 5), uc(3, 1, 1, rank=2), uc(4, 3, 3, rank=1), uc(5), uc(6, 5, 5)]
    assert [u.number for u in priority_order(cases)] == [4, 3, 2, 6, 1, 5]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.none() | st.integers(1, 20), st.integers(1, 5), st.integers(1, 5)), max_size=30))
def test_priority_order_is_a_permutation_with_ranked_first(rows):
    cases = [uc(i, imp, feas, rank) for i, (rank, imp, feas) in enumerate(rows, start=1)]
    ordered = priority_order(cases)
    assert sorted(u.number for u in ordered) == [u.number for u in cases]
    ranks = [u.priority_rank for u in ordered]
    first_unranked = next((i for i, r in enumerate(ranks) if r is None), len(ranks))
    assert all(r is None for r in ranks[first_unranked:])
    assert ranks[:first_unranked] == sorted(ranks[:first_unranked])


def test_what_is_set_aside_per_kind():
    aside = {
        "UC": ["rejected", "withdrawn", "merged"],
        "KPI": ["withdrawn", "removed"],
        "RISK": ["closed"],
        "MS": ["removed"],
        "ACT": ["removed"],
    }
    live = {"UC": ["proposed", "shortlisted", "approved"], "KPI": ["open"], "RISK": ["open", "mitigating"]}
    live |= {"MS": ["open", "done"], "ACT": ["open"]}
    for kind, statuses in aside.items():
        assert all(is_set_aside(kind, s) for s in statuses), kind
    for kind, statuses in live.items():
        assert not any(is_set_aside(kind, s) for s in statuses), kind
    assert not is_set_aside("POLL", "removed")  # a kind with no set-aside states
    assert not is_set_aside("UC", "removed")  # a state of another kind


def test_an_audit_row_sets_aside_unless_it_is_a_risk_update_that_does_not_close():
    assert sets_aside("usecase.withdrawn", {})
    assert sets_aside("kpi.withdraw", {"changed": {"status": ["open", "open"]}})
    assert sets_aside("risk.update", {"changed": {"status": ["open", "closed"]}})
    assert not sets_aside("risk.update", {"changed": {"status": ["closed", "open"]}})
    assert not sets_aside("risk.update", {"changed": {"owner": ["a", "b"]}})
    assert not sets_aside("risk.update", {})
    assert not sets_aside("risk.update", {"changed": None})
    assert not sets_aside("risk.update", {"changed": {"status": "closed"}})  # not a before/after pair
    assert not sets_aside("risk.update", {"changed": {"status": ["open", "closed", "open"]}})
    assert not sets_aside("risk.update", {"changed": {"status": ["closed"]}})


def test_a_risks_score_is_likelihood_times_impact():
    assert risk_score(Risk(likelihood=4, impact=3)) == 12
    assert risk_score(Risk(likelihood=1, impact=5)) == 5


def test_risk_levels_at_their_boundaries():
    assert [risk_level(s) for s in (1, 4, 5, 9, 10, 16, 20, 25)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
        "critical",
        "critical",
    ]


def test_gaps_are_ratings_of_two_or_less():
    src = DataSource(number=3, name="CRM", quality=2, accessibility=3, security=1)
    assert source_gaps(src) == [("quality", 2), ("security", 1)]
    assert [gap_severity(r) for _, r in source_gaps(src)] == ["moderate", "severe"]
    assert source_gaps(DataSource(number=1, name="x", quality=None, accessibility=5, security=3)) == []
    every = DataSource(number=2, name="y", quality=1, accessibility=2, security=0)
    assert source_gaps(every) == [("quality", 1), ("accessibility", 2), ("security", 0)]
    assert source_gaps(DataSource(number=4, name="z", quality=3, accessibility=None, security=None)) == []
    assert [gap_severity(r) for r in (0, 1, 2)] == ["severe", "severe", "moderate"]


def test_a_use_case_uses_a_source_it_names_by_id_or_whole_name():
    crm = DataSource(number=3, name="CRM")
    assert uses_source(uc(1, sources="src-3"), crm)
    assert uses_source(uc(1, sources="SRC-3, SRC-4"), crm)
    assert uses_source(uc(1, sources="CRM and POS"), crm)
    assert uses_source(uc(1, sources="pos, crm."), crm)
    assert not uses_source(uc(1, sources="SRC-33"), crm)
    assert not uses_source(uc(1, sources="XSRC-3"), crm)
    assert not uses_source(uc(1, sources="CRMX"), crm)
    assert not uses_source(uc(1, sources="old_crm"), crm)
    assert not uses_source(uc(1, sources=""), crm)
    assert not uses_source(UseCase(number=1, data_sources=None), crm)


def test_a_use_case_that_names_no_source_uses_none_whatever_its_name():
    for name in ("CRM", "XXXX", "none", "n/a", ""):
        src = DataSource(number=1, name=name)
        assert not uses_source(UseCase(number=2, data_sources=None), src), name
        assert not uses_source(uc(2, sources=""), src), name


def test_a_source_name_is_matched_as_text_not_as_a_pattern():
    cpp = DataSource(number=7, name="  C++ ")
    assert uses_source(uc(1, sources="the c++ feed"), cpp)
    assert not uses_source(uc(1, sources="the cc feed"), cpp)
    dotted = DataSource(number=8, name="S3.raw")
    assert not uses_source(uc(1, sources="S3xraw"), dotted)
    assert uses_source(uc(1, sources="s3.raw"), dotted)
    blank = DataSource(number=9, name="   ")
    assert not uses_source(uc(1, sources="anything at all"), blank)
    assert uses_source(uc(1, sources="src-9"), blank)


def test_a_chart_label_is_one_line_of_at_most_n_characters():
    assert short("a" * 40) == "a" * 40
    assert short("a" * 41) == "a" * 39 + "…"
    assert len(short("b" * 100)) == 40
    assert short("one\n  two\tthree", 9) == "one two …"
    assert short("one two", 7) == "one two"
    assert short("one two!", 7) == "one tw…"
    assert one_line("  a \n b  ") == "a b"
    assert one_line(None) == ""  # type: ignore[arg-type]  # a missing text is shown empty


def test_changes_are_said_in_words_one_line_per_kind():
    actions = {"kpi.withdraw": 1, "usecase.propose": 3, "kpi.suggest": 10, "poll.vote": 1}
    assert changes_in_words(actions) == [
        "3 use cases proposed",
        "10 KPIs suggested, 1 withdrawn",
        "1 vote cast",
    ]
    assert changes_in_words({"kpi.suggest": 1, "kpi.edit": 2}) == ["1 KPI suggested, 2 edited"]
    assert changes_in_words({"kpi.edit": 2, "kpi.suggest": 0}) == ["2 KPIs edited"]
    assert changes_in_words({}) == []


def test_an_action_without_words_shows_as_its_key_after_the_known_ones():
    actions = {"zeta.thing": 2, "alpha.thing": 1, "risk.report": 1}
    assert changes_in_words(actions) == ["1 risk reported", "alpha.thing: 1", "zeta.thing: 2"]
    assert changes_in_words({"zeta.thing": 0}) == []
