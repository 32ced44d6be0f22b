"""Ballot rules without a database: typed choices, form values, prefilled forms, voter keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.ballots import Choices, describe, parse_tokens, voter_key
from handlers.fields import InvalidInput
from handlers.grammar import tokenize
from handlers.poll_views import ballot_form, choices_from_form
from storage.models import Poll, PollOption

LABELS = {1: "Migrate ETL", 2: "Churn model", 3: "Fraud"}
CHOICES = Choices.of(LABELS, {"uc-7": 3})


def words(text: str) -> list:
    return [w.value for w in tokenize(text)]


def make_poll(method: str, dots: int = 10) -> tuple[Poll, list[PollOption]]:
    poll = Poll(id=1, number=4, method=method, dots=dots, salt="s", question="Q", created_at=datetime.now(UTC))
    return poll, [PollOption(position=p, label=label) for p, label in LABELS.items()]


def test_typed_choices_by_number_label_or_use_case_id():
    assert parse_tokens("ranked", words('3 "churn model" 1'), CHOICES, dots=10) == {"rank": [3, 2, 1]}
    assert parse_tokens("approval", words("UC-7 1"), CHOICES, dots=10) == {"approve": [1, 3]}
    assert parse_tokens("dots", words('1=6 "Fraud"=4'), CHOICES, dots=10) == {"points": {"1": 6, "3": 4}}
    assert parse_tokens("score", words("2=5/3"), CHOICES, dots=10) == {"scores": {"2": [5, 3]}}


@pytest.mark.parametrize(
    ("method", "typed", "message"),
    [
        ("single", "4", '"4" is not an option: give an option number from 1 to 3'),
        ("ranked", "1 1", "An option is given twice; give each option once."),
        ("single", "1 2", "This poll takes one choice"),
        ("dots", "1=8 2=3", "That is 11 points; this poll gives each voter 10. Remove 1."),
        ("dots", "1=0", "Give at least one point"),
        ("dots", "1=x", "points for option 1 must be a whole number from 0 to 10"),
        ("dots", "1=3 1=2", "Option 1 is given twice"),
        ("score", "1=5", 'Option 1: write IMPACT/FEASIBILITY, both 1-5 (like 5/3), got "5".'),
        ("score", "1", '"1" needs a value'),
        ("approval", "", "give the options you approve"),
    ],
)
def test_bad_typed_choices_say_what_is_wrong(method, typed, message):
    with pytest.raises(InvalidInput) as e:
        parse_tokens(method, words(typed), CHOICES, dots=10)
    assert message in " ".join(e.value.errors.values())


def test_forms_are_prefilled_and_read_back_for_every_method():
    cases = {
        "single": ({"pick": 2}, {"choice": "2"}),
        "approval": ({"approve": [1, 3]}, {"approve": ["1", "3"]}),
        "ranked": ({"rank": [3, 1]}, {"rank_1": "3", "rank_2": "1", "rank_3": None}),
        "dots": ({"points": {"1": 4, "3": 6}}, {"points_1": "4", "points_2": "", "points_3": 6.0}),
        "score": ({"scores": {"2": [5, 3]}}, {"impact_2": "5", "feasibility_2": "3"}),
    }
    for method, (stored, submitted) in cases.items():
        poll, options = make_poll(method)
        form = ballot_form(poll, options, stored)
        assert form.command == "poll vote" and form.hints == {"poll": "4"} and form.private
        filled = {f.name: f.initial for f in form.fields if f.initial}
        for name, value in submitted.items():
            if value not in (None, ""):
                expected = ",".join(value) if isinstance(value, list) else str(int(float(value)))
                assert filled[name] == expected, (method, name)
        assert choices_from_form(poll, options, submitted) == stored, method


def test_bad_form_values_point_at_their_field():
    poll, options = make_poll("score")
    with pytest.raises(InvalidInput) as e:
        choices_from_form(poll, options, {"impact_1": "4"})
    assert e.value.errors == {"impact_1": "Option 1: give both impact and feasibility."}
    poll, options = make_poll("ranked")
    with pytest.raises(InvalidInput) as e:
        choices_from_form(poll, options, {"rank_1": "2", "rank_2": "2"})
    assert "rank_1" in e.value.errors
    poll, options = make_poll("dots", dots=5)
    with pytest.raises(InvalidInput) as e:
        choices_from_form(poll, options, {"points_2": "3", "points_3": "3"})
    assert e.value.errors == {"points_2": "That is 6 points; this poll gives each voter 5. Remove 1."}


def test_voter_keys_are_stable_per_poll_and_unlinkable_across_polls_and_secrets():
    a = voter_key("secret", "salt-1", 42)
    assert a == voter_key("secret", "salt-1", 42)
    assert a != voter_key("secret", "salt-2", 42) != voter_key("other", "salt-1", 42)
    assert a != voter_key("secret", "salt-1", 43) and len(a) == 64


def test_a_ballot_is_described_back_in_words():
    assert describe("ranked", {"rank": [3, 1]}, LABELS) == "1st 3. Fraud; 2nd 1. Migrate ETL"
    assert describe("dots", {"points": {"2": 1}}, LABELS) == "2. Churn model: 1 point"
