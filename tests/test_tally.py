"""The tally rules: worked examples with known answers, and properties over random ballots."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.tally import (
    borda_points,
    condorcet_winner,
    tally_approval,
    tally_borda,
    tally_dots,
    tally_irv,
    tally_ranked,
    tally_schulze,
    tally_score,
    tally_single,
)


def order(t) -> list[tuple[int, int]]:
    return [(s.option, s.rank) for s in t.standings]


def expand(groups: list[tuple[int, str]], names: str) -> list[list[int]]:
    """(count, "ACBED") -> ballots of option numbers (A=1 ...)."""
    return [[names.index(c) + 1 for c in ranking] for n, ranking in groups for _ in range(n)]


# Wikipedia's Schulze example: 45 voters, 5 candidates, ranking E > A > C > B > D.
SCHULZE_45 = expand(
    [
        (5, "ACBED"),
        (5, "ADECB"),
        (8, "BEDAC"),
        (3, "CABED"),
        (7, "CAEBD"),
        (2, "CBADE"),
        (7, "DCEBA"),
        (8, "EBADC"),
    ],
    "ABCDE",
)

# Tennessee's capital (percentages as voters): M=Memphis N=Nashville C=Chattanooga K=Knoxville.
TENNESSEE = expand([(42, "MNCK"), (26, "NCKM"), (15, "CKNM"), (17, "KCNM")], "MNCK")


def test_schulze_on_the_worked_example():
    t = tally_schulze(5, SCHULZE_45)
    assert [s.option for s in t.standings] == [5, 1, 3, 2, 4]
    assert [s.rank for s in t.standings] == [1, 2, 3, 4, 5]
    assert t.notes == []


def test_three_counts_disagree_on_tennessee_as_the_textbooks_say():
    m, n, c, k = 1, 2, 3, 4
    assert [s.option for s in tally_schulze(4, TENNESSEE).standings] == [n, c, k, m]
    borda = tally_borda(4, TENNESSEE)
    assert [(s.option, s.value) for s in borda.standings] == [(n, 194), (c, 173), (m, 126), (k, 107)]
    irv = tally_irv(4, TENNESSEE)
    assert [s.option for s in irv.standings] == [k, m, n, c]
    assert "round 1: 1=42, 2=26, 3=15, 4=17" in irv.notes[-2]
    assert "round 3: 1=42, 4=58" in irv.notes[-2]


def test_single_approval_dots_count_and_report_ties():
    t = tally_single(3, [1, 2, 2, 1, 3])
    assert order(t) == [(1, 1), (2, 1), (3, 3)]
    assert t.notes == ["Tie for place 1: 1, 2."]
    assert t.standings[0].figure == "2 votes" and t.standings[2].figure == "1 vote"
    a = tally_approval(3, [{1, 2}, {2}, {2, 3}])
    assert order(a) == [(2, 1), (1, 2), (3, 2)] and a.standings[0].value == 3
    d = tally_dots(3, [{1: 6, 3: 4}, {3: 10}])
    assert order(d) == [(3, 1), (1, 2), (2, 3)] and d.standings[0].figure == "14 points"


def test_score_is_mean_impact_times_mean_feasibility():
    t = tally_score(3, [{1: (5, 3), 2: (2, 2)}, {1: (3, 3)}])
    assert t.standings[0].option == 1 and t.standings[0].value == pytest.approx(12.0)
    assert t.standings[0].figure == "impact 4.00 x feasibility 3.00 = 12.00"
    assert t.standings[1].option == 2 and t.standings[1].value == 4
    assert t.standings[2].option == 3 and t.standings[2].figure == "not scored"
    assert "Options nobody scored are placed last." in t.notes


def test_irv_tie_break_looks_back_then_eliminates_together():
    # Round 1: 1=3, 2=2, 3=2, 4=1 -> 4 out (its ballot goes to 3). Round 2: 1=3, 2=2, 3=3 -> 2 out.
    ballots = [[1], [1], [1], [2], [2], [3], [3], [4, 3]]
    t = tally_irv(4, ballots)
    assert order(t) == [(1, 1), (3, 1), (2, 3), (4, 4)]
    assert "Tie for place 1: 1, 3." in t.notes
    # 2 and 3 tie now (2 each) but round 1 had 3 ahead of 2 -> 2 is eliminated first.
    t = tally_irv(4, [[1], [1], [1], [1], [1], [2], [2], [3], [3], [3], [4, 2]])
    assert t.standings[-1].option == 4
    assert any("round 1 decided (2 eliminated)" in n for n in t.notes)
    assert order(t)[:2] == [(1, 1), (3, 2)]
    # Never differed: eliminated together and share a place.
    t = tally_irv(3, [[1], [1], [1], [2], [3]])
    assert order(t) == [(1, 1), (2, 2), (3, 2)]
    assert any("eliminated together" in n for n in t.notes)


def test_borda_is_not_a_majority_method_and_the_results_say_how_it_counts():
    # 3 of 5 rank A first, yet Borda puts B first (a known property of Borda, stated in docs/polls.md).
    ballots = expand([(3, "ABC"), (2, "BCA")], "ABC")
    assert tally_borda(3, ballots).winners == [2]
    assert tally_schulze(3, ballots).winners == [1] and tally_irv(3, ballots).winners == [1]
    assert "Borda: 1st choice 2 points" in tally_borda(3, ballots).notes[-1]


def test_bad_ballots_are_refused_by_the_rules():
    with pytest.raises(ValueError):
        tally_single(2, [3])
    with pytest.raises(ValueError):
        tally_schulze(3, [[1, 1]])
    with pytest.raises(ValueError):
        tally_ranked(3, [[1]], "condorcet")


# ---- properties -----------------------------------------------------------------------------

rankings = st.integers(2, 6).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(
            st.permutations(range(1, n + 1)).flatmap(lambda p: st.integers(1, n).map(lambda k: list(p[:k]))),
            max_size=25,
        ),
    )
)


@settings(max_examples=150, deadline=None)
@given(rankings, st.randoms(use_true_random=False))
def test_ballot_order_never_changes_a_ranked_result(case, rnd):
    n, ballots = case
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    for count in ("schulze", "borda", "irv"):
        assert tally_ranked(n, ballots, count) == tally_ranked(n, shuffled, count)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 6), st.data())
def test_ballot_order_never_changes_other_results(n, data):
    singles = data.draw(st.lists(st.integers(1, n), max_size=20))
    approvals = data.draw(st.lists(st.sets(st.integers(1, n)), max_size=20))
    dots = data.draw(st.lists(st.dictionaries(st.integers(1, n), st.integers(1, 10)), max_size=20))
    scores = data.draw(
        st.lists(st.dictionaries(st.integers(1, n), st.tuples(st.integers(1, 5), st.integers(1, 5))), max_size=20)
    )
    rnd = random.Random(data.draw(st.integers(0, 10**6)))
    for fn, ballots in (
        (tally_single, singles),
        (tally_approval, approvals),
        (tally_dots, dots),
        (tally_score, scores),
    ):
        shuffled = list(ballots)
        rnd.shuffle(shuffled)
        assert fn(n, ballots) == fn(n, shuffled)


@settings(max_examples=150, deadline=None)
@given(rankings, st.data())
def test_a_majority_first_choice_wins_schulze_and_irv(case, data):
    n, others = case
    favourite = data.draw(st.integers(1, n))
    rest = [o for o in range(1, n + 1) if o != favourite]
    tails = data.draw(st.lists(st.permutations(rest), min_size=len(others) + 1, max_size=len(others) + 1))
    majority = [[favourite, *t] for t in tails]  # more ballots than all the others together
    ballots = majority + others
    assert tally_schulze(n, ballots).winners == [favourite]
    assert tally_irv(n, ballots).winners == [favourite]


@settings(max_examples=150, deadline=None)
@given(rankings)
def test_the_condorcet_winner_wins_schulze(case):
    n, ballots = case
    winner = condorcet_winner(n, ballots)
    if winner is not None:
        assert tally_schulze(n, ballots).winners == [winner]


@settings(max_examples=150, deadline=None)
@given(rankings)
def test_borda_totals_add_up_to_what_the_ballots_imply(case):
    n, ballots = case
    t = tally_borda(n, ballots)
    assert sum(s.value for s in t.standings) == sum(n - 1 - i for b in ballots for i in range(len(b)))
    for s in t.standings:
        assert s.value == sum(borda_points(n, b).get(s.option, 0) for b in ballots)


@settings(max_examples=100, deadline=None)
@given(rankings)
def test_every_count_places_every_option_once_with_consistent_ranks(case):
    n, ballots = case
    for count in ("schulze", "borda", "irv"):
        t = tally_ranked(n, ballots, count)
        assert sorted(s.option for s in t.standings) == list(range(1, n + 1))
        ranks = [s.rank for s in t.standings]
        assert ranks[0] == 1 and ranks == sorted(ranks)
        for i, r in enumerate(ranks):
            assert r == 1 or r == ranks[i - 1] or r == i + 1
