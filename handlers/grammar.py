"""The one command grammar: words, "quoted strings", --options and people.

Faces hand us text in which people are already written as `<@ID>` or `<@ID|name>` (Slack's own
form; the Teams and console faces rewrite their mentions to it), so nothing here knows platforms.
Every refusal is a `UsageError` whose message is written for the person who typed the line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

MAX_COMMAND_LENGTH = 8000

_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u201d": "\u201d", "\u2018": "\u2019", "\u2019": "\u2019"}
_MENTION = re.compile(r"<@([A-Za-z0-9._:\-]+)(?:\|([^>]*))?>")


class UsageError(Exception):
    """A line we cannot accept; the message says what was wrong and what is allowed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Mention:
    user_id: str
    name: str = ""

    def __str__(self) -> str:
        return f"@{self.name or self.user_id}"


Token = str | Mention


@dataclass(frozen=True)
class Word:
    """A token plus whether it was quoted: a quoted "--x" is text, not an option."""

    value: Token
    quoted: bool = False


def tokenize(text: str) -> list[Word]:
    if len(text) > MAX_COMMAND_LENGTH:
        raise UsageError(f"That command is too long ({len(text)} characters; at most {MAX_COMMAND_LENGTH}).")
    words: list[Word] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _QUOTES:
            word, i = _quoted(text, i)
            words.append(word)
            continue
        m = _MENTION.match(text, i)
        if m:
            words.append(Word(Mention(m.group(1), (m.group(2) or "").strip())))
            i = m.end()
            continue
        j = _word_end(text, i)
        words.append(Word(text[i:j]))
        i = j
    return words


def _quoted(text: str, i: int) -> tuple[Word, int]:
    """The text of the quote opened at text[i], and where the text after its closing quote starts.
    A backslash keeps the closing quote or a backslash as text."""
    close = _QUOTES[text[i]]
    n = len(text)
    j = i + 1
    buf: list[str] = []
    inner = 0  # curly quotes opened inside a straight-quoted text: “smart” stays text
    while j < n and not _closes(text[j], close, inner):
        if close == '"' and text[j] in "\u201c\u201d":
            inner += 1 if text[j] == "\u201c" else -1
        if text[j] == "\\" and j + 1 < n and text[j + 1] in (close, "\\"):
            j += 1
        buf.append(text[j])
        j += 1
    if j >= n:
        raise UsageError("A quote is not closed: put a matching quote after the text it starts.")
    return Word("".join(buf), quoted=True), j + 1


def _word_end(text: str, i: int) -> int:
    """Where the bare word starting at text[i] ends: at a space, a quote or a mention."""
    j = i
    while j < len(text) and not text[j].isspace() and text[j] not in _QUOTES:
        if text[j] == "<" and _MENTION.match(text, j):
            break
        j += 1
    return j


def _closes(ch: str, close: str, inner: int) -> bool:
    """A straight quote may be closed by a curly one (phones retype it), unless that curly one
    closes a curly quote opened inside."""
    return ch == close or (close == '"' and ch == "\u201d" and inner == 0)


def readable_mentions(text: str) -> str:
    """`<@U1|bob>` as `@bob` and `<@U1>` as `@U1`: the neutral form is for us, never for a reader."""
    return _MENTION.sub(lambda m: "@" + ((m.group(2) or "").strip() or m.group(1)), text)


@dataclass(frozen=True)
class Arg:
    name: str
    required: bool = False
    rest: bool = False  # takes every remaining positional token
    help: str = ""


@dataclass(frozen=True)
class Opt:
    name: str
    flag: bool = False
    many: bool = False  # takes tokens up to the next --option
    help: str = ""


@dataclass
class Parsed:
    args: dict[str, Token | list[Token] | None] = field(default_factory=dict)
    opts: dict[str, Token | list[Token] | bool] = field(default_factory=dict)

    def text(self, name: str, default: str | None = None) -> str | None:
        v = self.args.get(name, self.opts.get(name))
        if v is None or isinstance(v, bool):
            return default
        if isinstance(v, list):
            return " ".join(str(x) for x in v)
        return str(v)  # a person as @name

    def token(self, name: str) -> Token | None:
        """The one word or person a single-valued argument or option holds; None when not given."""
        v = self.args.get(name, self.opts.get(name))
        if isinstance(v, bool | list):
            raise TypeError(f"{name} is a switch or takes several tokens: read it with flag() or tokens()")
        return v

    def word(self, name: str) -> str | None:
        """A single token as the text it was typed as (a person as @name), for references like POLL-1."""
        v = self.token(name)
        return str(v) if isinstance(v, Mention) else v

    def tokens(self, name: str) -> list[Token]:
        """Every token of a `rest` argument or a `many` option (one-valued ones too); [] when not given."""
        v = self.args.get(name, self.opts.get(name))
        if isinstance(v, bool):
            raise TypeError(f"{name} is a switch: read it with flag()")
        if v is None:
            return []
        return list(v) if isinstance(v, list) else [v]

    def flag(self, name: str) -> bool:
        return bool(self.opts.get(name))

    def has(self, name: str) -> bool:
        return name in self.opts or self.args.get(name) is not None


def parse_args(words: list[Word], args: tuple[Arg, ...], opts: tuple[Opt, ...], usage: str) -> Parsed:
    known = {o.name: o for o in opts}
    out = Parsed()
    positionals: list[Token] = []
    i = 0
    while i < len(words):
        w = words[i]
        if _is_option(w):
            i = _read_option(str(w.value), words, i + 1, known, out.opts, usage)
        else:
            positionals.append(w.value)
            i += 1
    out.args = _fill_args(args, positionals, usage)
    return out


def _read_option(word: str, words: list[Word], i: int, known: dict[str, Opt], given: dict, usage: str) -> int:
    """Reads one --option (`word`) and its values, which start at words[i], into `given`; returns
    where the next word starts. A value is given inline (--x=v) or as the next words."""
    name, _, inline = word[2:].partition("=")
    opt = known.get(name)
    if opt is None:
        raise UsageError(_unknown_option(name, known, usage))
    if name in given:
        raise UsageError(f"--{name} is given twice; give it once.")
    if opt.flag:
        if inline:
            raise UsageError(f"--{name} is a switch and takes no value.")
        given[name] = True
        return i
    if inline:
        given[name] = [inline] if opt.many else inline
        return i
    values: list[Token] = []
    while i < len(words) and not _is_option(words[i]) and (opt.many or not values):
        values.append(words[i].value)
        i += 1
    if not values:
        raise UsageError(f"--{name} needs a value. Usage: {usage}")
    given[name] = values if opt.many else values[0]
    return i


def _fill_args(args: tuple[Arg, ...], positionals: list[Token], usage: str) -> dict[str, Token | list[Token] | None]:
    """The positional words, one per argument in order (a `rest` one takes all left); a missing
    required one or a word left over is refused."""
    out: dict[str, Token | list[Token] | None] = {}
    for a in args:
        if a.rest:
            out[a.name] = positionals
            positionals = []
        elif positionals:
            out[a.name] = positionals.pop(0)
        elif a.required:
            raise UsageError(f"{a.name.upper()} is missing. Usage: {usage}", field=a.name)
        else:
            out[a.name] = None
    if positionals:
        extra = " ".join(f'"{p}"' if isinstance(p, str) else str(p) for p in positionals)
        raise UsageError(f"I did not expect {extra} there (put text with spaces in quotes). Usage: {usage}")
    return out


def _is_option(w: Word) -> bool:
    return not w.quoted and isinstance(w.value, str) and w.value.startswith("--") and len(w.value) > 2


def _unknown_option(name: str, known: dict[str, Opt], usage: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Did you mean --{close[0]}?" if close else ""
    return f"--{name} is not an option of this command.{hint} Usage: {usage}"
