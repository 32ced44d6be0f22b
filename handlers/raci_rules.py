"""RACI rules as pure functions: no session, no clock, so every rule is tested without a database.

A matrix is held as `{member_id: frozenset of roles}` per activity. Commands load it, ask these
functions what the change would make of it (or why it is refused), store the answer and say what
changed, so the rule that "an activity has exactly one Accountable" lives in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ROLES = ("R", "A", "C", "I")
ROLE_NAMES = {"R": "Responsible", "A": "Accountable", "C": "Consulted", "I": "Informed"}
ROLE_MEANINGS = {
    "R": "you do the work and get the reminders and nudges for it",
    "A": "you own the outcome: you approve it (sign-off) and get the escalations",
    "C": "your input is asked for before decisions",
    "I": "you are kept up to date (digests)",
}
# Who the bot tells, by purpose: the routing that reminders, escalations and digests rely on.
PURPOSE_ROLES = {"nudge": "R", "escalation": "A", "signoff": "A", "input": "C", "digest": "I"}
DEFAULT_OVERLOAD = 4

Cells = Mapping[int, frozenset[str]]


class RaciRefused(Exception):
    """A change the rules do not allow; the message is written for the person who asked."""


@dataclass(frozen=True)
class Change:
    """One person's roles on one activity before and after a change."""

    member_id: int
    before: frozenset[str]
    after: frozenset[str]


@dataclass
class Outcome:
    cells: dict[int, frozenset[str]]
    changes: list[Change] = field(default_factory=list)


def cell_label(roles: Iterable[str]) -> str:
    """R/A/C/I in that order, A first: A and R together are shown as "A/R"."""
    held = set(roles)
    order = ("A", "R", "C", "I")
    return "/".join(r for r in order if r in held)


def role_for_purpose(purpose: str) -> str:
    try:
        return PURPOSE_ROLES[purpose]
    except KeyError:
        raise ValueError(f"unknown purpose {purpose!r}; one of {', '.join(PURPOSE_ROLES)}") from None


def accountable(cells: Cells) -> list[int]:
    return sorted(m for m, roles in cells.items() if "A" in roles)


def _combined(before: frozenset[str], role: str) -> frozenset[str]:
    """One role per person per activity, except that the A may also be an R."""
    if role in before:
        return before
    if {role} | before <= {"A", "R"}:
        return before | {role}
    return frozenset({role})


def assign(
    cells: Cells,
    wanted: Iterable[tuple[str, int]],
    *,
    replace: bool = False,
    names: Mapping[int, str] | None = None,
) -> Outcome:
    """Apply (role, member) pairs in order, or refuse the whole set.

    A second Accountable is refused with the current one named, unless `replace` hands A over
    (the previous A keeps an R they also held). Giving a person another role moves them to it.
    """
    names = names or {}
    wanted = list(wanted)
    new_as = _refuse_impossible_set(wanted, names)
    out = dict(cells)
    if new_as:
        _hand_over_accountable(out, new_as[0], replace, names)
    for role, m in wanted:
        out[m] = _combined(out.get(m, frozenset()), role)
    return Outcome(_tidy(out), _changes(cells, out))


def _refuse_impossible_set(wanted: list[tuple[str, int]], names: Mapping[int, str]) -> list[int]:
    """Refuses a set that no matrix could hold (an unknown role, two A, two roles for one person
    other than A and R); returns who it makes Accountable."""
    for role, _ in wanted:
        if role not in ROLES:
            raise RaciRefused(f'"{role}" is not a RACI role; use R, A, C or I.')
    new_as = list(dict.fromkeys(m for role, m in wanted if role == "A"))
    if len(new_as) > 1:
        listed = ", ".join(names.get(m, str(m)) for m in new_as)
        raise RaciRefused(f"An activity has exactly one Accountable (A), but {listed} were given; name one.")
    given: dict[int, set[str]] = {}
    for role, m in wanted:
        given.setdefault(m, set()).add(role)
    for m, roles in given.items():
        if len(roles) > 1 and roles != {"A", "R"}:
            raise RaciRefused(
                f"{names.get(m, str(m))} was given {cell_label(roles)}; a person holds one role per activity "
                "(only A and R may go together)."
            )
    return new_as


def _hand_over_accountable(out: dict[int, frozenset[str]], new_a: int, replace: bool, names: Mapping[int, str]) -> None:
    """Takes A from whoever else holds it in `out`, which only `replace` allows."""
    current = [m for m in accountable(out) if m != new_a]
    if current and not replace:
        who = names.get(current[0], str(current[0]))
        raise RaciRefused(
            f"{who} is already the Accountable (A) here and an activity has exactly one. Add --replace to hand A over."
        )
    for m in current:
        out[m] = out[m] - {"A"}


def unassign(cells: Cells, member_ids: Iterable[int]) -> Outcome:
    out = dict(cells)
    for m in member_ids:
        out.pop(m, None)
    return Outcome(_tidy(out), _changes(cells, out))


def _tidy(cells: Mapping[int, frozenset[str]]) -> dict[int, frozenset[str]]:
    return {m: frozenset(r) for m, r in cells.items() if r}


def _changes(before: Cells, after: Mapping[int, frozenset[str]]) -> list[Change]:
    out = []
    for m in sorted(set(before) | set(after)):
        b, a = frozenset(before.get(m, ())), frozenset(after.get(m, ()))
        if a != b:
            out.append(Change(m, b, a))
    return out


@dataclass(frozen=True)
class Issue:
    kind: str  # no_accountable | many_accountable | no_responsible | double_role | no_role | inactive | overloaded
    message: str


def check_matrix(
    activities: Mapping[str, Cells],
    people: Mapping[int, str],
    *,
    inactive: Iterable[int] = (),
    overload: int = DEFAULT_OVERLOAD,
) -> list[Issue]:
    """Every violation and gap of a matrix: `activities` maps an activity's label to its cells,
    `people` every member who should appear (member id -> name)."""
    issues = [issue for label, cells in activities.items() for issue in _activity_issues(label, cells, people)]
    involved = {m for cells in activities.values() for m, r in cells.items() if r}
    for m, name in sorted(people.items(), key=lambda p: p[1].lower()):
        if m not in involved:
            issues.append(Issue("no_role", f"{name} has no role on any activity."))
    for m in sorted(set(inactive) & involved):
        issues.append(Issue("inactive", f"{people.get(m, str(m))} has left but still holds roles; reassign them."))
    a_count = Counter(m for cells in activities.values() for m in accountable(cells))
    for m, n in sorted(a_count.items()):
        if n > overload:
            issues.append(
                Issue(
                    "overloaded", f"{people.get(m, str(m))} is Accountable for {n} activities (more than {overload})."
                )
            )
    return issues


def _activity_issues(label: str, cells: Cells, people: Mapping[int, str]) -> list[Issue]:
    """One activity's own violations: not exactly one A, no R, a person with two roles."""
    issues: list[Issue] = []
    accs = accountable(cells)
    if not accs:
        issues.append(Issue("no_accountable", f"{label} has no Accountable (A)."))
    elif len(accs) > 1:
        who = ", ".join(people.get(m, str(m)) for m in accs)
        issues.append(Issue("many_accountable", f"{label} has {len(accs)} Accountables ({who}); keep one."))
    if not any("R" in r for r in cells.values()):
        issues.append(Issue("no_responsible", f"{label} has no Responsible (R)."))
    for m, roles in sorted(cells.items()):
        if len(roles) > 1 and set(roles) != {"A", "R"}:
            issues.append(
                Issue("double_role", f"{people.get(m, str(m))} holds {cell_label(roles)} on {label}; keep one.")
            )
    return issues
