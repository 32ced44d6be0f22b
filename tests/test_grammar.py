"""The command grammar: examples, and hypothesis over arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.grammar import Arg, Mention, Opt, UsageError, Word, parse_args, tokenize
from handlers.registry import Registry


def values(text: str) -> list:
    return [w.value for w in tokenize(text)]


def test_tokenize_quotes_mentions_and_smart_quotes():
    assert values('usecase propose "Migrate ETL" --impact 5') == ["usecase", "propose", "Migrate ETL", "--impact", "5"]
    assert values("assign A <@U123|ann> <@W9>") == ["assign", "A", Mention("U123", "ann"), Mention("W9")]
    assert values("propose \u201cSmart quoted\u201d") == ["propose", "Smart quoted"]
    assert values('say \'single\' "a \\"b\\""') == ["say", "single", 'a "b"']


def test_unclosed_quote_is_a_clear_refusal():
    with pytest.raises(UsageError, match="quote is not closed"):
        tokenize('usecase propose "oops')


def test_quoted_dashes_are_text_not_options():
    parsed = parse_args(tokenize('"--not-an-option"'), (Arg("title"),), (), "u")
    assert parsed.args["title"] == "--not-an-option"


def test_options_values_flags_and_many():
    words = tokenize('T --impact=4 --force --owner <@U1> <@U2> --note "x y"')
    parsed = parse_args(
        words, (Arg("title"),), (Opt("impact"), Opt("force", flag=True), Opt("owner", many=True), Opt("note")), "u"
    )
    assert parsed.args == {"title": "T"}
    assert parsed.opts == {"impact": "4", "force": True, "owner": [Mention("U1"), Mention("U2")], "note": "x y"}


@pytest.mark.parametrize(
    "line, message",
    [
        ("T --impct 3", "--impct is not an option of this command. Did you mean --impact?"),
        ("T --impact", "--impact needs a value."),
        ("T --impact 1 --impact 2", "--impact is given twice"),
        ("T extra", 'I did not expect "extra" there'),
        ("T --force=yes", "--force is a switch and takes no value."),
    ],
)
def test_refusals_name_the_problem(line, message):
    with pytest.raises(UsageError) as e:
        parse_args(tokenize(line), (Arg("title"),), (Opt("impact"), Opt("force", flag=True)), "u")
    assert message in e.value.message


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_parser(text):
    registry = Registry.discover()
    try:
        words = tokenize(text)
        spec, rest = registry.match(words)
        parse_args(rest, spec.args, spec.opts, spec.usage)
    except UsageError as e:
        assert e.message and len(e.message) < 2000 and "Traceback" not in e.message


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters="\"'\u201c\u201d\u2018\u2019\\"), min_size=1, max_size=20),
        max_size=6,
    )
)
def test_quoted_words_round_trip(parts):
    line = " ".join(f'"{p}"' for p in parts)
    assert [w.value for w in tokenize(line)] == parts
    assert all(isinstance(w, Word) and w.quoted for w in tokenize(line))
