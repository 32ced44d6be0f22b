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
@given(rankings, st.data())
def test_the_condorcet_winner_wins_schulze(case, data):
    # A planted winner: ranked first by more ballots than all the others together, so it beats
    # every option head to head whatever the other ballots say.
    n, others = case
    favourite = data.draw(st.integers(1, n))
    rest = [o for o in range(1, n + 1) if o != favourite]
    tails = data.draw(st.lists(st.permutations(rest), min_size=len(others) + 1, max_size=len(others) + 1))
    ballots = [[favourite, *t] for t in tails] + others
    assert condorcet_winner(n, ballots) == favourite
    assert tally_schulze(n, ballots).winners == [favourite]


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


# ---- gaps found by mutation testing (issue #17) ---------------------------------------------


def spread(total: int, n: int) -> list[int]:
    """n scores of 1..5 adding up to total."""
    q, r = divmod(total, n)
    return [q + 1] * r + [q] * (n - r)


def test_score_means_that_differ_in_the_tenth_decimal_are_not_a_tie():
    # Option 1: 180 ballots, impact 479, feasibility 649 -> 9.5947839506...; option 2: 187 ballots,
    # impact 360, feasibility 932 -> 9.5947839515...: equal when rounded to 9 decimals.
    i1, f1, i2, f2 = spread(479, 180), spread(649, 180), spread(360, 187), spread(932, 187)
    ballots = [{2: (i2[k], f2[k]), **({1: (i1[k], f1[k])} if k < 180 else {})} for k in range(187)]
    t = tally_score(2, ballots)
    assert order(t) == [(2, 1), (1, 2)]
    assert t.notes == []
    assert t.standings[0].figure == "impact 1.93 x feasibility 4.98 = 9.59"


def test_score_places_only_the_poll_options_and_names_the_unscored():
    t = tally_score(2, [{1: (2, 3), 2: (1, 1)}])
    assert [(s.option, s.rank, s.value) for s in t.standings] == [(1, 1, 6.0), (2, 2, 1.0)]
    assert t.notes == []  # every option scored: no "nobody scored" note, no phantom option
    t = tally_score(3, [{1: (1, 1)}, {2: (1, 1)}])
    assert order(t) == [(1, 1), (2, 1), (3, 3)]
    assert t.notes == ["Tie for place 1: 1, 2.", "Options nobody scored are placed last."]
    assert t.standings[2].value == 0.0 and t.ballots == 2


@pytest.mark.parametrize(
    "count, ballots",
    [
        (tally_approval, [{1, 4}]),
        (tally_approval, [{0}]),
        (tally_dots, [{4: 3}]),
        (tally_dots, [{0: 3}]),
        (tally_score, [{4: (1, 1)}]),
        (tally_score, [{0: (1, 1)}]),
        (tally_single, [0]),
    ],
)
def test_every_ballot_kind_refuses_an_option_outside_the_poll(count, ballots):
    with pytest.raises(ValueError, match="not between 1 and 3"):
        count(3, ballots)


def test_schulze_figure_counts_the_options_each_one_beats():
    t = tally_schulze(5, SCHULZE_45)
    assert [s.figure for s in t.standings] == [
        "beats 4 options",
        "beats 3 options",
        "beats 2 options",
        "beats 1 option",
        "beats 0 options",
    ]
    assert [s.value for s in t.standings] == [4, 3, 2, 1, 0]


def test_schulze_explains_a_place_above_an_option_it_does_not_beat():
    # 1 beats 2 (1-0); 3 ties both 1 and 2 (1-1). Nothing beats 1 or 3, so they share place 1 and
    # 2 is third: 3 is placed above 2 without beating it, and the results say why.
    t = tally_schulze(3, [[3], [1, 2]])
    assert [(s.option, s.rank, s.figure) for s in t.standings] == [
        (1, 1, "beats 1 option"),
        (3, 1, "beats 0 options"),
        (2, 3, "beats 0 options"),
    ]
    assert t.notes[-1].startswith("Schulze: a place is given as soon as no option left beats an option")
    # When every place beats every place below it, nothing needs explaining.
    assert not any("placed above" in n for n in tally_schulze(5, SCHULZE_45).notes)
    assert not any("placed above" in n for n in tally_schulze(3, [[1, 2, 3]]).notes)


def test_condorcet_winner_needs_to_beat_every_other_option():
    assert condorcet_winner(3, [[1, 2, 3], [1, 3, 2], [2, 3, 1]]) == 1
    assert condorcet_winner(3, [[3, 2, 1], [3, 1, 2], [2, 1, 3]]) == 3  # the last option counts too
    assert condorcet_winner(3, [[1, 2, 3], [2, 3, 1], [3, 1, 2]]) is None  # a cycle
    assert condorcet_winner(2, [[1], [2]]) is None  # a tie is not a win


def test_irv_looks_back_to_the_latest_earlier_round_that_differed():
    # Round 1: 1=4, 2=4, 3=1, 4=3, 5=7 -> 3 out (to 2). Round 2: 1=4, 2=5, 4=3, 5=7 -> 4 out
    # (two ballots to 1, one to 2). Round 3: 1=6, 2=6, 5=7: 1 and 2 tie; round 2 had 1 behind,
    # round 1 had them equal, so the latest earlier round that differed decides: 1 goes.
    ballots = [[1]] * 4 + [[2]] * 4 + [[3, 2]] + [[4, 1]] * 2 + [[4, 2]] + [[5]] * 7
    t = tally_irv(5, ballots)
    assert order(t) == [(5, 1), (2, 2), (1, 3), (4, 4), (3, 5)]
    assert "Round 3: options 1, 2 tied for fewest votes; round 2 decided (1 eliminated)." in t.notes
    assert "round 3: 1=6, 2=6, 5=7" in t.notes[-2]
    assert [s.figure for s in t.standings][:3] == [
        "7 votes in its last round",
        "6 votes in its last round",
        "6 votes in its last round",
    ]


def test_irv_never_elects_an_option_every_tied_one_beats():
    # 3 voters "3", 2 "1>2", 2 "2>1": 1 and 2 tie for fewest (2 each) but have 4 together, more
    # than 3's 3 votes; each beats 3 by 4-3, so eliminating both at once would elect a Condorcet loser.
    ballots = [[3]] * 3 + [[1, 2]] * 2 + [[2, 1]] * 2
    t = tally_irv(3, ballots)
    assert order(t) == [(1, 1), (2, 1), (3, 3)]
    assert 3 not in t.winners
    assert "Without 1: 2 first." in t.notes and "Without 2: 1 first." in t.notes
    assert any("not eliminated together" in n for n in t.notes)
    # Below the next option's votes, a tied group still goes together.
    t = tally_irv(4, [[4]] * 3 + [[1, 2]] + [[2, 1]] + [[3]] * 5)
    assert order(t) == [(3, 1), (4, 2), (1, 3), (2, 3)]
    assert any("options 1, 2 tied for fewest votes in every round; they are eliminated together." in n for n in t.notes)


def test_irv_a_group_that_goes_together_is_counted_one_way_only():
    # 1 and 2 have 2 votes together, fewer than 4's 3: they go at once, the count runs on to its
    # last round, and no count without each of them is made.
    t = tally_irv(4, [[4]] * 3 + [[1, 2]] + [[2, 1]] + [[3]] * 5)
    assert [n for n in t.notes if n.startswith("Without")] == []
    assert "IRV rounds (option=votes) round 1: 1=1, 2=1, 3=5, 4=3; round 2: 3=5, 4=3; round 3: 3=5." in t.notes


def test_irv_gives_up_counting_every_way_when_the_ties_are_endless():
    ballots = [[o] for o in range(1, 30)] + [[30]] * 15
    t = tally_irv(30, ballots)
    assert t.winners == [30]
    assert any("too many such ties to count each way" in n for n in t.notes)


def test_every_count_names_its_method_and_counts_its_ballots():
    ranked = [[1, 2], [2]]
    assert (tally_single(2, [1, 1, 2]).method, tally_single(2, [1, 1, 2]).ballots) == ("single", 3)
    assert (tally_approval(2, [{1}, set()]).method, tally_approval(2, [{1}, set()]).ballots) == ("approval", 2)
    assert (tally_dots(2, [{1: 2}]).method, tally_dots(2, [{1: 2}]).ballots) == ("dots", 1)
    assert (tally_score(2, [{1: (1, 2)}]).method, tally_score(2, [{1: (1, 2)}]).ballots) == ("score", 1)
    for count in ("schulze", "borda", "irv"):
        t = tally_ranked(2, ranked, count)
        assert (t.method, t.ballots) == (count, 2)
    assert tally_approval(2, [{1}, {1, 2}]).standings[0].figure == "2 approvals"
    assert tally_approval(2, [{1}, {1, 2}]).standings[1].figure == "1 approval"
    assert tally_borda(3, [[1, 2]]).standings[0].figure == "2 points"


def test_score_rows_count_who_scored_each_option():
    from handlers.tally import score_rows

    rows = score_rows(3, [{1: (1, 2), 2: (3, 4)}, {1: (5, 4)}])
    assert [(r.option, r.scored_by, r.impact, r.feasibility) for r in rows] == [
        (1, 2, 3.0, 3.0),
        (2, 1, 3.0, 4.0),
        (3, 0, None, None),
    ]
    assert rows[0].priority == 9.0 and rows[2].priority is None and rows[2].exact_priority is None


def test_irv_ties_worded_in_full_and_at_the_boundary():
    # Together exactly as many votes as the next option: still not eliminated together.
    # (Then 4 to 4 in the last round either way: all three share first place; together they would
    # have gone and 3 would have won alone.)
    t = tally_irv(3, [[3]] * 4 + [[1, 2]] * 2 + [[2, 1]] * 2)
    assert t.winners == [1, 2, 3]
    assert (
        "Round 1: options 1, 2 tied for fewest votes in every round, and together they have at least the votes "
        "of option 3, so they are not eliminated together: the count goes on without each of them in turn, and "
        "every option gets the best place it reaches."
    ) in t.notes
    assert [n for n in t.notes if n.startswith("Without")] == ["Without 1: 2, 3 first.", "Without 2: 1, 3 first."]
    t = tally_irv(2, [[1], [2]])
    assert "Round 1: the last options are tied, so they share first place." in t.notes
    with pytest.raises(ValueError, match="unknown count method condorcet"):
        tally_ranked(3, [[1]], "condorcet")
