"""The command grammar: examples, and hypothesis over arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.grammar import (
    MAX_COMMAND_LENGTH,
    Arg,
    Mention,
    Opt,
    UsageError,
    Word,
    parse_args,
    readable_mentions,
    tokenize,
)
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


def test_a_straight_quote_may_be_closed_by_a_curly_one():
    # Phones turn the closing " into ” ; the title must still end there.
    assert values('say "abc\u201d d') == ["say", "abc", "d"]
    assert values("say \u201cabc\u201d \u2018x y\u2019") == ["say", "abc", "x y"]
    assert values("say 'it\u2019s' x") == ["say", "it\u2019s", "x"]  # only " has a curly stand-in
    with pytest.raises(UsageError, match="quote is not closed"):
        tokenize("say \u2018abc")


def test_a_word_glued_to_a_mention_is_split_from_it():
    assert tokenize("hi<@U1|ann>there") == [Word("hi"), Word(Mention("U1", "ann")), Word("there")]
    assert values("x<@U1><@U2>") == ["x", Mention("U1"), Mention("U2")]
    assert values("a<b c") == ["a<b", "c"]  # a < that starts no mention stays in the word
    assert values('x"a b"y') == ["x", "a b", "y"]
    assert values("<@U1|  ann  >") == [Mention("U1", "ann")]
    assert values("  a\t\nb  ") == ["a", "b"]


def test_escapes_inside_quotes():
    assert values('"a\\\\b"') == ["a\\b"]
    assert values('"a\\nb"') == ["a\\nb"]  # only the quote and the backslash are escaped
    assert values('"end\\" x"') == ['end" x']


def test_too_long_a_command_is_refused_with_its_length():
    tokenize("x" * MAX_COMMAND_LENGTH)
    with pytest.raises(UsageError) as e:
        tokenize("x" * (MAX_COMMAND_LENGTH + 1))
    assert f"too long ({MAX_COMMAND_LENGTH + 1} characters; at most {MAX_COMMAND_LENGTH})" in e.value.message


def test_parsed_has_tells_a_given_option_or_argument_from_a_missing_one():
    spec = (Arg("title"), Arg("note")), (Opt("options"), Opt("usecases"), Opt("force", flag=True))
    p = parse_args(tokenize('T --options "a;b"'), *spec, "u")
    assert p.has("options") and not p.has("usecases")
    assert p.has("title") and not p.has("note")  # an optional argument left out is None
    assert not p.has("force") and not p.flag("force")
    p = parse_args(tokenize("T --usecases all --force"), *spec, "u")
    assert p.has("usecases") and not p.has("options") and p.flag("force")
    assert p.text("usecases") == "all" and p.text("note", "none") == "none" and p.text("force") is None


def test_parsed_text_joins_lists_and_shows_mentions():
    p = parse_args(
        tokenize("<@U1|ann> --who <@U2> b"), (Arg("owner"),), (Opt("who", many=True), Opt("x")), "u"
    )
    assert p.text("owner") == "@ann" and p.text("who") == "@U2 b"
    assert p.text("x") is None and p.text("x", "d") == "d"
    p = parse_args(tokenize("a b c"), (Arg("first", required=True), Arg("rest", rest=True)), (), "u")
    assert p.args == {"first": "a", "rest": ["b", "c"]} and p.text("rest") == "b c"


def test_option_values_stop_at_the_next_option():
    spec = (), (Opt("owner", many=True), Opt("note"))
    p = parse_args(tokenize("--owner a b --note n"), *spec, "u")
    assert p.opts == {"owner": ["a", "b"], "note": "n"}
    p = parse_args(tokenize("--owner=a"), *spec, "u")
    assert p.opts == {"owner": ["a"]}
    with pytest.raises(UsageError, match=r"--note needs a value\. Usage: u"):
        parse_args(tokenize("--note --owner a"), *spec, "u")
    p = parse_args(tokenize('--note "--owner"'), *spec, "u")  # a quoted value is text
    assert p.opts == {"note": "--owner"}
    p = parse_args(tokenize("-- x"), (Arg("a"), Arg("b")), (), "u")  # a bare -- is a word
    assert p.args == {"a": "--", "b": "x"}


def test_a_missing_argument_names_itself_and_its_field():
    with pytest.raises(UsageError) as e:
        parse_args([], (Arg("title", required=True),), (), "usage line")
    assert e.value.message == "TITLE is missing. Usage: usage line" and e.value.field == "title"
    with pytest.raises(UsageError) as e:
        parse_args(tokenize("T <@U1> 'x y'"), (Arg("title"),), (), "u")
    assert e.value.message.startswith('I did not expect @U1 "x y" there')
    with pytest.raises(UsageError) as e:
        parse_args(tokenize("--zzz"), (), (Opt("impact"),), "u")
    assert e.value.message == "--zzz is not an option of this command. Usage: u"


def test_mentions_read_as_at_names():
    assert readable_mentions("ask <@U1|bob> and <@U2>") == "ask @bob and @U2"
    assert readable_mentions("<@U1|  >") == "@U1"  # a blank name falls back to the id
    assert readable_mentions("<@U1| ann >, <@W2.x:y-z|Eve>") == "@ann, @Eve"
    assert readable_mentions("no one <here> <@> a<@U3>b") == "no one <here> <@> a@U3b"
    assert str(Mention("U1", "ann")) == "@ann" and str(Mention("U1")) == "@U1"


def test_an_unknown_option_suggests_the_closest():
    with pytest.raises(UsageError) as e:
        parse_args(tokenize("--impcat 3"), (), (Opt("impact"), Opt("feasibility")), "u")
    assert e.value.message == "--impcat is not an option of this command. Did you mean --impact? Usage: u"


def test_an_option_given_twice_or_a_switch_with_a_value_is_refused():
    spec = (), (Opt("note"), Opt("force", flag=True))
    with pytest.raises(UsageError) as e:
        parse_args(tokenize("--note a --note b"), *spec, "u")
    assert e.value.message == "--note is given twice; give it once."
    with pytest.raises(UsageError) as e:
        parse_args(tokenize("--force=yes"), *spec, "u")
    assert e.value.message == "--force is a switch and takes no value."
    assert parse_args(tokenize("--note=a b"), (Arg("t"),), spec[1], "u").args == {"t": "b"}


def test_curly_quotes_inside_a_straight_quote_are_text_until_balanced():
    # A phone turns the closing " into ”; a “quoted” word before it must not end the text early.
    assert values('"the \u201csmart\u201d one\u201d x') == ["the \u201csmart\u201d one", "x"]
    assert values('say "a \u201csmart\u201d word" x') == ["say", "a \u201csmart\u201d word", "x"]
    assert values("'a \u201cb\u201d c' d") == ["a \u201cb\u201d c", "d"]  # only " counts them
    assert values('"XX\u201d y') == ["XX", "y"]  # other characters count nothing


def test_a_backslash_at_the_end_of_a_quote_escapes_nothing():
    for text in ('"a\\', '"a\\"'):  # "a\ and "a\" : the closing quote is escaped or missing
        with pytest.raises(UsageError) as e:
            tokenize(text)
        assert e.value.message == "A quote is not closed: put a matching quote after the text it starts."


def test_a_bare_double_dash_is_a_value_and_a_one_letter_option_is_an_option():
    spec = (), (Opt("owner", many=True), Opt("x"))
    assert parse_args(tokenize("--owner a -- b"), *spec, "u").opts == {"owner": ["a", "--", "b"]}
    assert parse_args(tokenize("--owner a --x 1"), *spec, "u").opts == {"owner": ["a"], "x": "1"}
    assert parse_args(tokenize("--x 1"), *spec, "u").opts == {"x": "1"}


def test_typed_accessors_of_parsed():
    spec = (Arg("who"), Arg("rest", rest=True)), (Opt("many", many=True), Opt("one"), Opt("on", flag=True))
    p = parse_args(tokenize("<@U1|ann> a b --many x y --one zed --on"), *spec, "u")
    assert p.token("who") == Mention("U1", "ann") and p.word("who") == "@ann"
    assert p.token("one") == "zed" and p.word("one") == "zed"
    assert p.tokens("many") == ["x", "y"] and p.tokens("rest") == ["a", "b"] and p.tokens("one") == ["zed"]
    p.tokens("many").append("q")  # a copy: the parsed value does not change
    assert p.tokens("many") == ["x", "y"]
    assert p.flag("on") and p.text("on") is None
    for name, reader in (("many", p.token), ("on", p.token), ("rest", p.word)):
        with pytest.raises(TypeError) as e:
            reader(name)
        assert str(e.value) == f"{name} is a switch or takes several tokens: read it with flag() or tokens()"
    with pytest.raises(TypeError) as e:
        p.tokens("on")
    assert str(e.value) == "on is a switch: read it with flag()"
    empty = parse_args(tokenize(""), *spec, "u")
    assert empty.token("one") is None and empty.word("one") is None and empty.word("who") is None
    assert empty.tokens("many") == [] and empty.tokens("rest") == [] and not empty.flag("on")
