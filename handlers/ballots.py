"""Ballots: what a voter typed or filled in -> the stored choices, and back to words.

Stored choices hold option numbers only (1..n as shown on the poll):
single {"pick": 2}, approval {"approve": [1, 3]}, ranked {"rank": [2, 1]},
dots {"points": {"1": 6, "3": 4}}, score {"scores": {"2": [5, 3]}}.
The voter is never in them: a ballot row is found again by `voter_key`, a keyed hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from handlers.fields import Check, InvalidInput
from handlers.grammar import Token

METHODS = ("single", "approval", "ranked", "dots", "score")
_PAIR = re.compile(r"^\s*(\d)\s*/\s*(\d)\s*$")


def voter_key(secret: str, salt: str, voter_id: int | str) -> str:
    """HMAC-SHA256(server secret, poll salt + voter): stable for one voter in one poll, and
    unlinkable to the voter, or across polls, without the server secret."""
    return hmac.new(secret.encode(), f"{salt}:{voter_id}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Choices:
    """The options of one poll, and every spelling a voter may use for each."""

    labels: dict[int, str]  # position -> label
    aliases: dict[str, int]  # lower-case spelling -> position

    @classmethod
    def of(cls, labels: Mapping[int, str], extra: Mapping[str, int] | None = None) -> Choices:
        aliases = {str(p): p for p in labels}
        aliases |= {label.strip().lower(): p for p, label in labels.items()}
        aliases |= {k.lower(): v for k, v in (extra or {}).items()}
        return cls(dict(labels), aliases)

    def find(self, check: Check, text: str) -> int | None:
        p = self.aliases.get(text.strip().lower())
        if p is None:
            n = len(self.labels)
            check.fail(
                "choices",
                f'"{_clip(text)}" is not an option: give an option number from 1 to {n}, or its exact label in quotes.',
            )
        return p


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def join_assignments(tokens: Sequence[Token]) -> list[str]:
    """`"Label"=6` arrives as two tokens ("Label", "=6"); glue such pairs back together."""
    out: list[str] = []
    for t in tokens:
        s = str(t)
        if s.startswith("=") and out and "=" not in out[-1]:
            out[-1] += s
        else:
            out.append(s)
    return out


def parse_tokens(method: str, tokens: Sequence[Token], choices: Choices, *, dots: int) -> dict[str, Any]:
    """`poll vote` arguments -> stored choices; InvalidInput names what was wrong."""
    check = Check()
    words = join_assignments(tokens)
    if not words:
        check.fail("choices", _needs(method, dots))
        check.done()
    if method in ("single", "approval", "ranked"):
        picked = [choices.find(check, w) for w in words]
        check.done()
        return from_picks(method, [p for p in picked if p is not None], dots=dots)
    pairs: dict[int, str] = {}
    for w in words:
        name, sep, value = w.rpartition("=")
        if not sep or not name:
            check.fail("choices", f'"{_clip(w)}" needs a value: {_needs(method, dots)}')
            continue
        p = choices.find(check, name)
        if p is not None:
            if p in pairs:
                check.fail("choices", f"Option {p} is given twice; give each option once.")
            pairs[p] = value
    check.done()
    if method == "dots":
        return from_points({p: v for p, v in pairs.items()}, dots=dots)
    return from_scores({p: v for p, v in pairs.items()})


def _needs(method: str, dots: int) -> str:
    return {
        "single": "give one option, e.g. `2`.",
        "approval": "give the options you approve, e.g. `1 3`.",
        "ranked": "give the options in order of preference, e.g. `3 1 2`.",
        "dots": f"give NUMBER=POINTS for the options you back, e.g. `1=6 3=4` (at most {dots} points in all).",
        "score": "give NUMBER=IMPACT/FEASIBILITY, both 1-5, e.g. `2=5/3`.",
    }[method]


def from_picks(method: str, picked: list[int], *, dots: int = 10) -> dict[str, Any]:
    check = Check()
    if not picked:
        check.fail("choices", _needs(method, dots))
    elif len(set(picked)) != len(picked):
        check.fail("choices", "An option is given twice; give each option once.")
    elif method == "single" and len(picked) > 1:
        check.fail("choices", "This poll takes one choice; give a single option number.")
    check.done()
    if method == "single":
        return {"pick": picked[0]}
    if method == "approval":
        return {"approve": sorted(picked)}
    return {"rank": picked}


def from_points(raw: Mapping[int, str], *, dots: int) -> dict[str, Any]:
    check = Check()
    points: dict[int, int] = {}
    for p, v in sorted(raw.items()):
        n = check.whole(f"points for option {p}", v, 0, dots)
        if n:
            points[p] = n
    check.done()
    total = sum(points.values())
    if total == 0:
        raise InvalidInput({"choices": f"Give at least one point; you have {dots} to spread."})
    if total > dots:
        raise InvalidInput(
            {"choices": f"That is {total} points; this poll gives each voter {dots}. Remove {total - dots}."}
        )
    return {"points": {str(p): n for p, n in points.items()}}


def from_scores(raw: Mapping[int, str]) -> dict[str, Any]:
    check = Check()
    scores: dict[int, list[int]] = {}
    for p, v in sorted(raw.items()):
        m = _PAIR.match(v or "")
        if not m or not all(1 <= int(x) <= 5 for x in m.groups()):
            check.fail(f"option {p}", f'Option {p}: write IMPACT/FEASIBILITY, both 1-5 (like 5/3), got "{_clip(v)}".')
            continue
        scores[p] = [int(m.group(1)), int(m.group(2))]
    if not scores and not check.errors:
        check.fail("choices", _needs("score", 0))
    check.done()
    return {"scores": {str(p): s for p, s in scores.items()}}


def tally_input(method: str, ballots: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Stored choices -> the shapes handlers.tally counts."""
    if method == "single":
        return [int(b["pick"]) for b in ballots]
    if method == "approval":
        return [{int(x) for x in b["approve"]} for b in ballots]
    if method == "ranked":
        return [[int(x) for x in b["rank"]] for b in ballots]
    if method == "dots":
        return [{int(k): int(v) for k, v in b["points"].items()} for b in ballots]
    if method == "score":
        return [{int(k): (int(v[0]), int(v[1])) for k, v in b["scores"].items()} for b in ballots]
    raise ValueError(method)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe(method: str, choices: Mapping[str, Any], labels: Mapping[int, str]) -> str:
    """A ballot as the voter would say it back."""

    def name(p: Any) -> str:
        return f"{int(p)}. {labels.get(int(p), '?')}"

    if method == "single":
        return name(choices["pick"])
    if method == "approval":
        return "; ".join(name(p) for p in choices["approve"])
    if method == "ranked":
        return "; ".join(f"{ordinal(i + 1)} {name(p)}" for i, p in enumerate(choices["rank"]))
    if method == "dots":
        return "; ".join(f"{name(p)}: {n} point{'s' if n != 1 else ''}" for p, n in choices["points"].items())
    return "; ".join(f"{name(p)}: impact {s[0]}, feasibility {s[1]}" for p, s in choices["scores"].items())
