"""Counting votes: pure functions of the options and the ballots, no session, no clock.

Options are numbered 1..n as shown on the poll. Every count returns a `Tally`: standings in
rank order where tied options share a rank (1, 1, 3), the figure behind each place, and notes that
state every tie and every tie-break rule that was applied. Ballot order never matters: every
count is a sum or a set operation over the ballots, and every ordering is by value then by
option number only for display, never to decide a place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeVar

COUNT_METHODS = ("schulze", "borda", "irv")

V = TypeVar("V", float, Fraction)  # counts and points (ints count as floats), or exact priorities


@dataclass(frozen=True)
class Standing:
    option: int
    rank: int
    value: float
    figure: str


@dataclass(frozen=True)
class Tally:
    method: str
    standings: list[Standing]
    ballots: int
    notes: list[str] = field(default_factory=list)

    @property
    def winners(self) -> list[int]:
        return [s.option for s in self.standings if s.rank == 1]

    def rank_of(self) -> dict[int, int]:
        return {s.option: s.rank for s in self.standings}


def _plural(n: float, word: str) -> str:
    shown = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{shown} {word}" + ("" if n == 1 else "s")


def rank_by_value(values: Mapping[int, V]) -> list[tuple[int, int, V]]:
    """(option, rank, value), highest value first; equal values share a rank (1, 1, 3)."""
    ordered = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    out: list[tuple[int, int, V]] = []
    for i, (option, value) in enumerate(ordered):
        rank = out[-1][1] if out and out[-1][2] == value else i + 1
        out.append((option, rank, value))
    return out


def tie_notes(standings: Sequence[Standing], labels: Mapping[int, str] | None = None) -> list[str]:
    """One note per group of options sharing a place: ties are shown, never broken silently."""
    groups: dict[int, list[int]] = {}
    for s in standings:
        groups.setdefault(s.rank, []).append(s.option)
    notes = []
    for rank, options in groups.items():
        if len(options) > 1:
            names = ", ".join((labels or {}).get(o, str(o)) for o in options)
            notes.append(f"Tie for place {rank}: {names}.")
    return notes


def _by_value(method: str, values: Mapping[int, float], unit: str, ballots: int) -> Tally:
    standings = [Standing(o, r, v, _plural(v, unit)) for o, r, v in rank_by_value(values)]
    return Tally(method, standings, ballots, tie_notes(standings))


def _check(options: int, chosen: Iterable[int]) -> None:
    for c in chosen:
        if not 1 <= c <= options:
            raise ValueError(f"option {c} is not between 1 and {options}")


def tally_single(options: int, ballots: Sequence[int]) -> Tally:
    """Plurality: one vote per ballot."""
    _check(options, ballots)
    counts = {o: 0 for o in range(1, options + 1)}
    for choice in ballots:
        counts[choice] += 1
    return _by_value("single", counts, "vote", len(ballots))


def tally_approval(options: int, ballots: Sequence[Iterable[int]]) -> Tally:
    """Each ballot approves a set; an option's figure is how many ballots approve it."""
    counts = {o: 0 for o in range(1, options + 1)}
    for approved in ballots:
        chosen = set(approved)
        _check(options, chosen)
        for c in chosen:
            counts[c] += 1
    return _by_value("approval", counts, "approval", len(ballots))


def tally_dots(options: int, ballots: Sequence[Mapping[int, int]]) -> Tally:
    """Each ballot spreads points; an option's figure is its total."""
    totals = {o: 0 for o in range(1, options + 1)}
    for points in ballots:
        _check(options, points)
        for c, p in points.items():
            totals[c] += p
    return _by_value("dots", totals, "point", len(ballots))


@dataclass(frozen=True)
class ScoreRow:
    option: int
    impact: float | None
    feasibility: float | None
    scored_by: int
    exact_priority: Fraction | None = None

    @property
    def priority(self) -> float | None:
        if self.impact is None or self.feasibility is None:
            return None
        return self.impact * self.feasibility


def score_rows(options: int, ballots: Sequence[Mapping[int, tuple[int, int]]]) -> list[ScoreRow]:
    """Mean impact and mean feasibility per option over the ballots that scored it; the exact
    priority is kept as a fraction, since means of a few hundred ballots differ in the tenth
    decimal and a rounded float would call them a tie."""
    sums = {o: [0, 0, 0] for o in range(1, options + 1)}
    for scores in ballots:
        _check(options, scores)
        for c, (impact, feasibility) in scores.items():
            sums[c][0] += impact
            sums[c][1] += feasibility
            sums[c][2] += 1
    return [
        ScoreRow(o, i / n, f / n, n, Fraction(i) * Fraction(f) / (n * n)) if n else ScoreRow(o, None, None, 0)
        for o, (i, f, n) in sorted(sums.items())
    ]


def tally_score(options: int, ballots: Sequence[Mapping[int, tuple[int, int]]]) -> Tally:
    """Priority = mean impact x mean feasibility, ranked exactly; options nobody scored come last, tied."""
    rows = score_rows(options, ballots)
    values = {r.option: r.exact_priority if r.exact_priority is not None else Fraction(-1) for r in rows}
    by = {r.option: r for r in rows}
    standings = []
    for o, rank, v in rank_by_value(values):
        r = by[o]
        figure = (
            f"impact {r.impact:.2f} x feasibility {r.feasibility:.2f} = {r.priority:.2f}"
            if r.priority is not None
            else "not scored"
        )
        standings.append(Standing(o, rank, max(float(v), 0.0), figure))
    notes = tie_notes(standings)
    if any(r.priority is None for r in rows):
        notes.append("Options nobody scored are placed last.")
    return Tally("score", standings, len(ballots), notes)


# ---- ranked ballots -------------------------------------------------------------------------


def _clean_ranking(options: int, ranking: Sequence[int]) -> list[int]:
    _check(options, ranking)
    if len(set(ranking)) != len(ranking):
        raise ValueError("an option appears twice in one ranking")
    return list(ranking)


def pairwise(options: int, ballots: Sequence[Sequence[int]]) -> dict[tuple[int, int], int]:
    """d[a, b]: ballots preferring a to b. A ranked option beats every unranked one; unranked
    options are tied with each other."""
    d = {(a, b): 0 for a in range(1, options + 1) for b in range(1, options + 1) if a != b}
    everyone = range(1, options + 1)
    for ranking in ballots:
        ranked = _clean_ranking(options, ranking)
        position = {o: i for i, o in enumerate(ranked)}
        for a in ranked:
            for b in everyone:
                if a != b and position[a] < position.get(b, options + 1):
                    d[a, b] += 1
    return d


def strongest_paths(options: int, d: Mapping[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """Schulze's widest paths (Floyd-Warshall over the winning margins' support)."""
    opts = range(1, options + 1)
    p = {(a, b): (d[a, b] if d[a, b] > d[b, a] else 0) for a in opts for b in opts if a != b}
    for k in opts:
        for a in opts:
            if a == k:
                continue
            for b in opts:
                if b in (a, k):
                    continue
                p[a, b] = max(p[a, b], min(p[a, k], p[k, b]))
    return p


def condorcet_winner(options: int, ballots: Sequence[Sequence[int]]) -> int | None:
    """The option that beats every other head to head, if there is one."""
    d = pairwise(options, ballots)
    for a in range(1, options + 1):
        if all(d[a, b] > d[b, a] for b in range(1, options + 1) if b != a):
            return a
    return None


def tally_schulze(options: int, ballots: Sequence[Sequence[int]]) -> Tally:
    """Places are peeled off: the options no remaining option beats by strongest path share the
    next place. Figure: how many options each one beats."""
    p = strongest_paths(options, pairwise(options, ballots))
    standings = _schulze_places(options, p)
    return Tally("schulze", standings, len(ballots), _schulze_notes(standings, p))


def _schulze_places(options: int, p: Mapping[tuple[int, int], int]) -> list[Standing]:
    beats = {a: sum(1 for b in range(1, options + 1) if b != a and p[a, b] > p[b, a]) for a in range(1, options + 1)}
    remaining = set(range(1, options + 1))
    standings: list[Standing] = []
    while remaining:
        top = sorted(a for a in remaining if not any(p[b, a] > p[a, b] for b in remaining if b != a))
        rank = len(standings) + 1
        for a in top:
            standings.append(Standing(a, rank, beats[a], f"beats {_plural(beats[a], 'option')}"))
        remaining -= set(top)
    return standings


def _schulze_notes(standings: list[Standing], p: Mapping[tuple[int, int], int]) -> list[str]:
    """The ties, and the rule that explains an option placed above one it does not beat."""
    notes = tie_notes(standings)
    if notes:
        notes.append("Schulze: options whose strongest paths are equal share a place; no tie-break is applied.")
    place = {s.option: s.rank for s in standings}
    if any(place[a] < place[b] and p[a, b] <= p[b, a] for a in place for b in place if a != b):
        notes.append(
            "Schulze: a place is given as soon as no option left beats an option, so an option can be "
            "placed above one it does not beat; its figure counts the options it does beat."
        )
    return notes


def borda_points(options: int, ranking: Sequence[int]) -> dict[int, int]:
    """With n options, a ballot's 1st choice gets n-1 points, 2nd n-2, ...; unranked get 0."""
    return {o: options - 1 - i for i, o in enumerate(_clean_ranking(options, ranking))}


def tally_borda(options: int, ballots: Sequence[Sequence[int]]) -> Tally:
    totals = {o: 0 for o in range(1, options + 1)}
    for ranking in ballots:
        for o, pts in borda_points(options, ranking).items():
            totals[o] += pts
    t = _by_value("borda", totals, "point", len(ballots))
    return Tally(
        "borda",
        t.standings,
        t.ballots,
        [*t.notes, f"Borda: 1st choice {options - 1} points, then one less per place; unranked options 0."],
    )


IRV_ROUND_BUDGET = 200  # rounds counted in all, over the separate counts of ties nothing breaks


def tally_irv(options: int, ballots: Sequence[Sequence[int]]) -> Tally:
    """Instant runoff, run until every option is placed: the last one standing wins, then the
    others in reverse order of elimination.

    Tie-break for elimination: among the options with the fewest votes, the one with fewer votes
    in the latest earlier round where they differed goes. Options it leaves tied go together
    (and share a place) when their votes together are fewer than the next option's, since then
    none of them could have overtaken it. Otherwise eliminating them together could decide the
    count (it could even elect an option they each beat), so the count goes on once without each
    of them and every option is placed as high as it comes in any of those counts: a tie that
    the ballots do not break shows as a shared place. When every option left is tied, they share
    the place. A ballot whose ranked options are all eliminated is exhausted.
    """
    rankings = Counter(tuple(_clean_ranking(options, r)) for r in ballots)  # each distinct ranking once
    everyone = set(range(1, options + 1))
    try:
        places, notes, rounds = _irv_count(rankings, everyone, [], [IRV_ROUND_BUDGET])
    except _TooManyTies:
        places, notes, rounds = _irv_count(rankings, everyone, [], None)
    standings = [
        Standing(o, rank, votes, f"{_plural(votes, 'vote')} in its last round")
        for o, (rank, votes) in sorted(places.items(), key=lambda kv: (kv[1][0], kv[0]))
    ]
    notes = [*tie_notes(standings), *notes, f"IRV rounds (option=votes) {'; '.join(rounds)}."]
    notes.append(
        "IRV tie-break: of the options tied for fewest votes, the one with fewer votes in the latest earlier "
        "round where they differed is eliminated; if they never differed, they are eliminated together when "
        "their votes together are fewer than the next option's, and otherwise the count goes on without each "
        "of them in turn and every option gets the best place it reaches."
    )
    return Tally("irv", standings, len(ballots), notes)


IrvPlaces = dict[int, tuple[int, int]]  # option -> (rank, votes in its last round)


class _TooManyTies(Exception):
    """Counting every way through the ties would take more than IRV_ROUND_BUDGET rounds."""


def _irv_count(
    rankings: Counter[tuple[int, ...]], continuing: set[int], history: list[dict[int, int]], budget: list[int] | None
) -> tuple[IrvPlaces, list[str], list[str]]:
    """The rounds from `continuing` on: places of these options, notes, and each round's counts.
    `budget` holds the rounds left for counting through ties; None: eliminate such ties together."""
    continuing = set(continuing)
    history = list(history)
    eliminated: list[tuple[list[int], int]] = []  # (options, their last-round votes)
    notes: list[str] = []
    rounds: list[str] = []
    while continuing:
        counts = _first_choices(rankings, continuing)
        history.append(counts)
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise _TooManyTies
        rounds.append(f"round {len(history)}: " + ", ".join(f"{o}={c}" for o, c in sorted(counts.items())))
        if len(continuing) == 1:
            eliminated.append((sorted(continuing), counts[next(iter(continuing))]))
            break
        low = min(counts.values())
        losers = sorted(o for o in continuing if counts[o] == low)
        if set(losers) == continuing:  # no tie-break decides a win: the last ones share first place
            notes.append(f"Round {len(history)}: the last options are tied, so they share first place.")
            eliminated.append((losers, low))
            break
        if len(losers) > 1:
            losers = _break_elimination_tie(losers, history, notes)
        if len(losers) > 1 and _count_each_way(counts, losers, low, len(history), budget is not None, notes):
            branches = _irv_branches(rankings, continuing, history, budget, losers, low, notes)
            return _irv_places(branches, eliminated), notes, rounds
        eliminated.append((losers, low))
        continuing -= set(losers)
    return _irv_places({}, eliminated), notes, rounds


def _first_choices(rankings: Counter[tuple[int, ...]], continuing: set[int]) -> dict[int, int]:
    """A round's votes: each ballot counts for its highest-ranked option still in the count
    (an exhausted one for none)."""
    counts = {o: 0 for o in continuing}
    for r, n in rankings.items():
        top = next((o for o in r if o in continuing), None)
        if top is not None:
            counts[top] += n
    return counts


def _count_each_way(
    counts: dict[int, int], losers: list[int], low: int, round_no: int, budget_left: bool, notes: list[str]
) -> bool:
    """For options tied for fewest votes in every round: whether the count must go on without
    each of them in turn (True), or they are eliminated together (False). Notes which and why."""
    next_votes = min(c for o, c in counts.items() if o not in losers)
    tied = f"Round {round_no}: options {', '.join(map(str, losers))} tied for fewest votes in every round"
    if low * len(losers) < next_votes:
        notes.append(f"{tied}; they are eliminated together.")
        return False
    if not budget_left:
        notes.append(f"{tied}; too many such ties to count each way, so they are eliminated together.")
        return False
    above = ", ".join(str(o) for o, c in sorted(counts.items()) if c == next_votes)
    notes.append(
        f"{tied}, and together they have at least the votes of option {above}, so they are not "
        "eliminated together: the count goes on without each of them in turn, and every option "
        "gets the best place it reaches."
    )
    return True


def _irv_branches(
    rankings: Counter[tuple[int, ...]],
    continuing: set[int],
    history: list[dict[int, int]],
    budget: list[int] | None,
    losers: list[int],
    low: int,
    notes: list[str],
) -> IrvPlaces:
    """Each tied option eliminated in turn: an option's place is the best it reaches in any count.
    Only the winners of each count are noted: the rounds of every count would bury the result."""
    best: dict[int, tuple[int, int]] = {}
    for out in losers:
        places, _, _ = _irv_count(rankings, continuing - {out}, history, budget)
        places[out] = (len(continuing), low)
        first = sorted(o for o, (rank, _) in places.items() if rank == 1)
        notes.append(f"Without {out}: {', '.join(map(str, first))} first.")
        for o, (rank, votes) in places.items():
            if o not in best or (rank, -votes) < (best[o][0], -best[o][1]):
                best[o] = (rank, votes)
    ranked = rank_by_value({o: -rank for o, (rank, _) in best.items()})
    return {o: (rank, best[o][1]) for o, rank, _ in ranked}


def _irv_places(top: IrvPlaces, eliminated: list[tuple[list[int], int]]) -> IrvPlaces:
    """`top` first, then the eliminated groups, the last eliminated highest."""
    places = dict(top)
    for group, votes in reversed(eliminated):
        rank = len(places) + 1
        for o in group:
            places[o] = (rank, votes)
    return places


def _break_elimination_tie(losers: list[int], history: list[dict[int, int]], notes: list[str]) -> list[int]:
    for back, earlier in enumerate(reversed(history[:-1])):
        votes = {o: earlier[o] for o in losers}
        low = min(votes.values())
        if len(set(votes.values())) > 1:
            chosen = sorted(o for o in losers if votes[o] == low)
            round_no = len(history) - 1 - back
            notes.append(
                f"Round {len(history)}: options {', '.join(map(str, losers))} tied for fewest votes; "
                f"round {round_no} decided ({', '.join(map(str, chosen))} eliminated)."
            )
            losers = chosen
            if len(losers) == 1:
                return losers
    return losers


def tally_ranked(options: int, ballots: Sequence[Sequence[int]], count: str) -> Tally:
    if count == "schulze":
        return tally_schulze(options, ballots)
    if count == "borda":
        return tally_borda(options, ballots)
    if count == "irv":
        return tally_irv(options, ballots)
    raise ValueError(f"unknown count method {count}")
