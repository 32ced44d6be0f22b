"""Intake's pure rules (no database) and hypothesis over the intake commands' argument parsing."""

from __future__ import annotations

import difflib
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.fields import Check, InvalidInput, person_token
from handlers.grammar import Mention, UsageError, parse_args, tokenize
from handlers.kpis import direction_problem
from handlers.registry import Registry
from handlers.risks import level, risk_score, sort_by_score
from handlers.sources import gaps_of, rank_gaps
from handlers.title_rules import SIMILAR_RATIO, normal_title, similar_title
from handlers.usecases import sort_use_cases, split_requirements, status_move_error


@pytest.mark.parametrize(
    "likelihood, impact, expected",
    [
        (1, 1, "low"),
        (2, 2, "low"),
        (1, 4, "low"),
        (1, 5, "medium"),
        (3, 3, "medium"),
        (2, 5, "high"),
        (4, 4, "high"),
        (5, 4, "critical"),
        (5, 5, "critical"),
    ],
)
def test_risk_level_bands(likelihood, impact, expected):
    assert level(risk_score(likelihood, impact)) == expected


def test_every_possible_score_has_its_band():
    bands = {"low": range(1, 5), "medium": range(5, 10), "high": range(10, 17), "critical": range(20, 26)}
    for l_ in range(1, 6):
        for i in range(1, 6):
            s = risk_score(l_, i)
            assert s == l_ * i and s in bands[level(s)]


def test_risks_sort_by_score_then_number():
    risks = [
        SimpleNamespace(number=n, likelihood=lk, impact=im)
        for n, lk, im in [(1, 1, 1), (2, 5, 5), (3, 2, 2), (4, 4, 1)]
    ]
    assert [r.number for r in sort_by_score(risks)] == [2, 3, 4, 1]


def test_similar_titles():
    existing = [("Migrate legacy ETL", 1), ("Churn model", 2)]
    assert similar_title("migrate  legacy etl!", existing) == 1
    assert similar_title("Migrate legacy ETLs", existing) == 1
    assert similar_title("Churn modell", existing) == 2
    assert similar_title("Sales dashboard", existing) is None
    assert similar_title("Migrate CRM", existing) is None


def test_a_title_exactly_at_the_threshold_is_close():
    """17 of 20 characters in common: a ratio of exactly 0.85 counts, for difflib and the prefilter."""
    assert difflib.SequenceMatcher(None, "abcdefghijklmnopqrst", "abcdefghijklmnopqxyz").ratio() == SIMILAR_RATIO
    assert similar_title("abcdefghijklmnopqrst", [("abcdefghijklmnopqxyz", 1)]) == 1


def test_the_prefilter_only_proposes_difflib_decides():
    """rapidfuzz finds these two close (89), difflib's matching blocks do not (0.74): not similar."""
    assert difflib.SequenceMatcher(None, "acbaaabaacabcc", "acbaaabacbcac").ratio() < SIMILAR_RATIO
    assert similar_title("acbaaabacbcac", [("acbaaabaacabcc", 1)]) is None


def test_the_first_close_title_wins_even_among_many_closer_ones():
    """The earliest close item is the twin, however many closer ones follow it (rapidfuzz would
    keep only its five best without limit=None)."""
    existing = [("abcdefghijklmnopqxyz", 1)] + [("abcdefghijklmnopqrst", n) for n in range(2, 8)]
    assert similar_title("abcdefghijklmnopqrst", existing) == 1


def _difflib_only(title: str, existing: list[tuple[str, int]]) -> int | None:
    """The near-duplicate rule as written before rapidfuzz pre-filtered it: difflib alone."""
    wanted = normal_title(title)
    for other, item in existing:
        have = normal_title(other)
        if have == wanted or difflib.SequenceMatcher(None, have, wanted, autojunk=False).ratio() >= SIMILAR_RATIO:
            return item
    return None


_title = st.text(alphabet="abcdeéß ETL-!", min_size=1, max_size=24)


@st.composite
def _near(draw, title: str) -> str:
    """`title` with a few characters cut, added or changed: around the similarity threshold."""
    text = title
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", "x", "é", " "])) + text[at + 1 :]
    return text


@st.composite
def _title_and_others(draw) -> tuple[str, list[str]]:
    title = draw(_title)
    return title, draw(st.lists(st.one_of(_title, _near(title)), max_size=12))


@settings(max_examples=400, deadline=None)
@given(_title_and_others())
def test_the_prefilter_never_changes_which_title_is_close(case):
    title, others = case
    existing = [(other, i) for i, other in enumerate(others)]
    assert similar_title(title, existing) == _difflib_only(title, existing)


def test_status_moves():
    assert status_move_error("proposed", "shortlisted") is None
    assert status_move_error("shortlisted", "approved") is None
    assert status_move_error("proposed", "withdrawn") is None
    assert (
        status_move_error("proposed", "approved")
        == "A proposed use case can become shortlisted, rejected, withdrawn; not approved."
    )
    assert "final" in status_move_error("approved", "rejected")
    assert status_move_error("rejected", "rejected") == "It is already rejected."


def test_kpi_direction():
    assert direction_problem(240, 60, None) == ("decrease", None)
    assert direction_problem(10, 20, "increase") == ("increase", None)
    moved, why = direction_problem(10, 2, "increase")
    assert moved is None and "target must be above the baseline (10), got 2" in why and "--direction decrease" in why
    moved, why = direction_problem(5, 5, None)
    assert moved is None and "equals the baseline" in why
    assert direction_problem(0.5, 0.25, "decrease") == ("decrease", None)


def test_gaps_and_their_ranking():
    a = gaps_of(1, "ERP", {"quality": 4, "accessibility": 2, "security": None})
    b = gaps_of(2, "CRM", {"quality": 1, "accessibility": 2, "security": 2})
    c = gaps_of(3, "Lake", {"quality": 5, "accessibility": 3, "security": 3})
    assert [(g.dimension, g.rating) for g in a] == [("accessibility", 2)] and c == []
    ranked = rank_gaps(a + b)
    assert [(g.source_number, g.dimension, g.severity) for g in ranked] == [
        (2, "quality", "critical"),
        (2, "accessibility", "major"),
        (2, "security", "major"),
        (1, "accessibility", "major"),
    ]


def test_requirements_split_and_use_case_sorting():
    assert split_requirements("A; B\n\n C ;") == ["A", "B", "C"]
    cases = [SimpleNamespace(number=n, impact=i, feasibility=f) for n, i, f in [(1, 5, 1), (2, 3, 3), (3, None, 4)]]
    assert [c.number for c in sort_use_cases(cases, "score")] == [2, 1, 3]
    assert [c.number for c in sort_use_cases(cases, "impact")] == [1, 2, 3]
    assert [c.number for c in sort_use_cases(cases, "feasibility")] == [3, 2, 1]
    assert [c.number for c in sort_use_cases(cases, "newest")] == [3, 2, 1]


def test_people_from_forms():
    assert person_token("<@U123>") == Mention("U123")
    assert person_token("@dana") == Mention("dana", "dana")
    assert person_token(Mention("X")) == Mention("X")
    assert person_token("") is None
    check = Check()
    check.person("owner", person_token("dana"))
    with pytest.raises(InvalidInput) as e:
        check.done()
    assert e.value.errors == {"owner": 'owner must be a person mentioned with @, got "dana".'}


INTAKE = Registry.discover()
INTAKE_COMMANDS = sorted(n for n in INTAKE.commands if n.split()[0] in ("usecase", "kpi", "risk", "source"))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(INTAKE_COMMANDS), st.text(max_size=200))
def test_intake_arguments_never_crash_and_refusals_are_clear(name, tail):
    spec = INTAKE.commands[name]
    try:
        words = tokenize(f"{name} {tail}")
        found, rest = INTAKE.match(words)
        assert found is spec
        parse_args(rest, spec.args, spec.opts, spec.usage)
    except UsageError as e:
        assert e.message.strip() and len(e.message) < 2000
        assert e.message[0].isupper() or e.message[0] in '-"`'


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.text(max_size=20))
def test_field_checks_never_crash_and_name_the_field(title, number):
    check = Check()
    check.text("title", title, max_len=150, required=True)
    check.whole("impact", number, 1, 5)
    check.number("baseline", number)
    check.day("by", number)
    for name, message in check.errors.items():
        assert message.startswith(name.replace("_", " ")) and len(message) < 300
