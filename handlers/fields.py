"""Field checks shared by commands and forms, so both give the same message for the same mistake.

A `Check` collects every problem of one input (a form shows them all next to their fields) and
`done()` raises `InvalidInput` if there were any; nothing is stored in that case. Beside it: the
text limits the intake items share, a person as a command or a form gives one, and what an edit
changed.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime
from typing import Any, TypeVar

from handlers import formats
from handlers.grammar import Mention, Token, UsageError, tokenize

T = TypeVar("T")

# The intake items' text limits: a title or a name, a short text (a department, a team), a long
# one (a benefit, a mitigation, a reason).
TITLE_MAX = 150
SHORT_MAX = 200
LONG_MAX = 2000

_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


class InvalidInput(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _label(name: str) -> str:
    return name.replace("_", " ")


class Check:
    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def text(self, name: str, value: str | None, *, max_len: int, required: bool = False, min_len: int = 1) -> str:
        value = (value or "").strip()
        if not value:
            if required:
                self.fail(name, f"{_label(name)} is required.")
            return ""
        if len(value) < min_len:
            self.fail(name, f"{_label(name)} must be at least {min_len} characters.")
        if len(value) > max_len:
            self.fail(name, f"{_label(name)} must be at most {max_len} characters, got {len(value)}.")
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            self.fail(name, f"{_label(name)} contains control characters; remove them.")
        return value

    def whole(self, name: str, value: str | None, lo: int, hi: int, *, required: bool = False) -> int | None:
        if value is None or str(value).strip() == "":
            if required:
                self.fail(name, f"{_label(name)} is required: a whole number from {lo} to {hi}.")
            return None
        raw = str(value).strip()
        if not re.fullmatch(r"[+-]?\d{1,9}", raw) or not lo <= int(raw) <= hi:
            self.fail(name, f'{_label(name)} must be a whole number from {lo} to {hi}, got "{_clip(raw)}".')
            return None
        return int(raw)

    def number(self, name: str, value: str | None, *, required: bool = False) -> float | None:
        """One convention, the one the documents print: a point for decimals (3.5), commas only
        between groups of three digits (1,200,000.5). "1,5" or "1.234,5" could mean two numbers a
        thousand times apart, so they are refused with the way to write them, never guessed."""
        if value is None or str(value).strip() == "":
            if required:
                self.fail(name, f"{_label(name)} is required: a number such as 12 or 3.5.")
            return None
        raw = str(value).strip().removesuffix("%").strip()
        if "," in raw and not _GROUPED.fullmatch(raw):
            self.fail(
                name,
                f'{_label(name)} "{_clip(str(value))}" is ambiguous: write decimals with a point (1.5) and '
                "thousands, if at all, with commas in groups of three (1,234.5).",
            )
            return None
        try:
            number = float(raw.replace(",", ""))
        except ValueError:
            self.fail(name, f'{_label(name)} must be a number such as 12 or 3.5, got "{_clip(str(value))}".')
            return None
        if number != number or number in (float("inf"), float("-inf")) or abs(number) > 1e15:
            self.fail(name, f"{_label(name)} must be a finite number below 10^15.")
            return None
        return number

    def choice(self, name: str, value: str | None, allowed: dict[str, str], *, required: bool = False) -> str | None:
        """`allowed` maps every accepted spelling (lower case) to the stored value."""
        if value is None or str(value).strip() == "":
            if required:
                self.fail(name, f"{_label(name)} is required: one of {_names(allowed)}.")
            return None
        key = str(value).strip().lower()
        if key in allowed:
            return allowed[key]
        close = difflib.get_close_matches(key, list(allowed), n=1)
        hint = f' Did you mean "{allowed[close[0]]}"?' if close else ""
        self.fail(name, f'{_label(name)} must be one of {_names(allowed)}, got "{_clip(str(value))}".{hint}')
        return None

    def day(
        self, name: str, value: str | None, *, required: bool = False, not_before: date | None = None
    ) -> date | None:
        """`not_before` (the initiative's today, `ctx.today`) where the date is a deadline: a due
        date already past is a typo far more often than a plan, as `poll --closes` holds too."""
        if value is None or str(value).strip() == "":
            if required:
                self.fail(name, f"{_label(name)} is required: a date as YYYY-MM-DD.")
            return None
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(name, f'{_label(name)} must be a date as YYYY-MM-DD, got "{_clip(str(value))}".')
            return None
        if not_before is not None and day < not_before:
            self.fail(
                name,
                f"{_label(name)} {day.isoformat()} has passed (today is {not_before.isoformat()}); give a later date.",
            )
            return None
        return day

    def person(self, name: str, value: Token | None, *, required: bool = False) -> Mention | None:
        if value is None or value == "":
            if required:
                self.fail(name, f"{_label(name)} is required: mention a person, like @name.")
            return None
        if isinstance(value, Mention):
            return value
        self.fail(name, f'{_label(name)} must be a person mentioned with @, got "{_clip(str(value))}".')
        return None

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(dict(self.errors))

    def present(self, value: T | None) -> T:
        """`done()`, then a value the checks refuse to leave out (a field checked with required=True):
        done() has refused the input if it was missing, so None here is a bug in the caller."""
        self.done()
        if value is None:
            raise TypeError("present() takes a value whose absence the checks refuse")
        return value


def checked_reason(value: str | None) -> str:
    """The reason a person gives for a status change or a set-aside, or InvalidInput; "" if none."""
    check = Check()
    reason = check.text("reason", value, max_len=LONG_MAX)
    check.done()
    return reason


def _names(allowed: dict[str, str]) -> str:
    return ", ".join(dict.fromkeys(allowed.values()))


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def parse_human_id(value: str | None, prefix: str) -> int | None:
    """`UC-3`, `uc-3` or `3` -> 3; anything else None."""
    if value is None:
        return None
    m = re.fullmatch(rf"(?:{prefix}-)?(\d{{1,9}})", str(value).strip(), flags=re.IGNORECASE)
    return int(m.group(1)) if m else None


def fmt_dt(value: datetime | None, tz) -> str:
    return formats.local(value, tz) if value else ""


def person_token(value: Any) -> Token | None:
    """A person from a command (a Mention) or a form (`<@ID>` from Slack's user picker, `@name` typed
    in a Teams card); anything else is returned as text so the check can refuse it by name."""
    if value is None or isinstance(value, Mention):
        return value
    text = str(value).strip()
    if not text:
        return None
    if text.startswith("<@"):
        try:
            words = tokenize(text)
        except UsageError:
            return text
        if len(words) == 1 and isinstance(words[0].value, Mention):
            return words[0].value
        return text
    if re.fullmatch(r"@[\w][\w.\-]{0,80}", text):
        return Mention(text[1:], text[1:])
    return text


def changes(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the given attributes; what changed as {name: [old, new]} for the audit row."""
    changed: dict[str, list[Any]] = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            setattr(obj, name, new)
            changed[name] = [_plain(old), _plain(new)]
    return changed


def changed_names(changed: dict[str, list[Any]]) -> str:
    """Column names as a person would say them: owner_member_id -> owner."""
    names = {n.removesuffix("_member_id").removesuffix("_id").replace("_", " ") for n in changed}
    return ", ".join(sorted(names))


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
