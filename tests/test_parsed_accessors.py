"""Parsed's typed accessors, which replace `args.args.get()` and its union, and Check.present."""

from __future__ import annotations

import pytest

from handlers.fields import Check, InvalidInput
from handlers.grammar import Arg, Mention, Opt, Parsed, parse_args, tokenize

ARGS = (Arg("poll"), Arg("person"), Arg("rest", rest=True))
OPTS = (Opt("owner"), Opt("owners", many=True), Opt("quiet", flag=True))


def parse(text: str) -> Parsed:
    return parse_args(tokenize(text), ARGS, OPTS, "usage")


def test_token_word_and_tokens_read_what_was_typed():
    p = parse("POLL-2 <@U1|ann> a <@U2> --owner <@U3|cy> --owners <@U4> x --quiet")
    assert p.token("poll") == "POLL-2"
    assert p.token("person") == Mention("U1", "ann")
    assert p.word("person") == "@ann"
    assert p.token("owner") == Mention("U3", "cy")
    assert p.tokens("rest") == ["a", Mention("U2")]
    assert p.tokens("owners") == [Mention("U4"), "x"]
    assert p.tokens("owner") == [Mention("U3", "cy")]  # one value reads as a list of one


def test_absent_values_are_none_or_empty():
    p = parse("")
    assert p.token("poll") is None and p.word("poll") is None and p.token("owner") is None
    assert p.tokens("rest") == [] and p.tokens("owners") == [] and p.tokens("person") == []


def test_reading_a_switch_or_a_list_as_one_token_is_a_bug_not_a_value():
    p = parse("a b --quiet")
    with pytest.raises(TypeError, match="tokens"):
        p.token("rest")
    with pytest.raises(TypeError, match="flag"):
        p.word("quiet")
    with pytest.raises(TypeError, match="flag"):
        p.tokens("quiet")


def test_present_refuses_the_input_first_and_then_gives_the_value():
    check = Check()
    day = check.day("date", "2026-12-01", required=True)
    assert check.present(day).isoformat() == "2026-12-01"
    check = Check()
    missing = check.day("date", None, required=True)
    with pytest.raises(InvalidInput, match="date is required"):
        check.present(missing)
    with pytest.raises(TypeError):
        Check().present(None)  # nothing refused its absence: a caller's bug, not a silent None
