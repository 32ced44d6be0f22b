"""Plan arithmetic as pure functions: working days, the Phase 1 schedule, shifting dependants,
the critical path, statuses, reminder times and resource allocation.

Nothing here touches a session or a clock: callers pass today, the zone, the working days and the
holidays, so every rule is unit-tested without a database.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WORKDAYS = frozenset(range(5))
DEFAULT_OFFSETS = (3, 1, 0)


def stored_offsets(offsets: Iterable[int]) -> str:
    """How a milestone keeps its reminder offsets: (3, 1, 0) -> "3,1,0"."""
    return ",".join(str(n) for n in offsets)


# The column's default (storage/models.py writes it too: storage imports nothing from handlers).
DEFAULT_STORED_OFFSETS = stored_offsets(DEFAULT_OFFSETS)
REMIND_AT = time(9, 0)
OVERDUE_EVERY = 2  # working days between overdue reminders
ESCALATE_FROM = 2  # the n-th overdue reminder (1-based) and later also go to the Accountable
DUE_SOON = 3  # working days: "due soon" below this many working days left


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    deliverable: str  # RaciActivity.deliverable key
    weeks: tuple[int, int]  # reference duration, lower and upper bound


PHASE1_STEPS = (
    Step(1, "Identify use cases", "usecases", (1, 2)),
    Step(2, "Assess current infrastructure", "infrastructure", (1, 2)),
    Step(3, "Define objectives & metrics", "kpis", (1, 1)),
    Step(4, "Stakeholder alignment", "raci", (1, 2)),
    Step(5, "Risk assessment & mitigation", "risks", (1, 1)),
    Step(6, "Create project plan", "plan", (1, 1)),
)


class Calendar:
    """Which days count as working days: weekdays by number (Mon=0) minus holidays."""

    def __init__(self, workdays: Collection[int] = DEFAULT_WORKDAYS, holidays: Iterable[date] = ()) -> None:
        if not workdays:
            raise ValueError("at least one working day is needed")
        self.workdays = frozenset(workdays)
        self.holidays = frozenset(holidays)

    def is_workday(self, d: date) -> bool:
        return d.weekday() in self.workdays and d not in self.holidays

    def on_or_after(self, d: date) -> date:
        while not self.is_workday(d):
            d += timedelta(days=1)
        return d

    def add(self, d: date, n: int) -> date:
        """`n` working days after `d` (before, when negative); `d` itself need not be one."""
        step = 1 if n >= 0 else -1
        left = abs(n)
        while left:
            d += timedelta(days=step)
            if self.is_workday(d):
                left -= 1
        return d

    def between(self, a: date, b: date) -> int:
        """Signed working days from `a` to `b`: how far `add(a, k)` must go to reach `b`'s day."""
        step = 1 if b > a else -1
        count, d = 0, a
        while d != b:
            d += timedelta(days=step)
            if self.is_workday(d):
                count += step
        return count


def parse_workdays(text: str) -> frozenset[int]:
    """ "mon,tue,wed" or "mon-fri" -> weekday numbers; ValueError names the bad part."""
    days: set[int] = set()
    for part in re.split(r"[,\s]+", text.strip().lower()):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        if lo[:3] not in DAY_NAMES or (sep and hi[:3] not in DAY_NAMES):
            raise ValueError(part)
        a = DAY_NAMES.index(lo[:3])
        b = DAY_NAMES.index(hi[:3]) if sep else a
        i = a
        while True:
            days.add(i)
            if i == b:
                break
            i = (i + 1) % 7
    if not days:
        raise ValueError(text)
    return frozenset(days)


def format_workdays(days: Collection[int]) -> str:
    return ",".join(DAY_NAMES[i] for i in sorted(days))


def parse_offsets(text: str) -> tuple[int, ...]:
    """ "3d,1d,0d" -> (3, 1, 0): working days before the due day, largest first, no repeats;
    ValueError names the bad part."""
    out: set[int] = set()
    for part in re.split(r"[,\s]+", text.strip().lower()):
        if not part:
            continue
        m = re.fullmatch(r"(\d{1,2})d?", part)
        if not m:
            raise ValueError(part)
        out.add(int(m.group(1)))
    if not out:
        raise ValueError(text)
    return tuple(sorted(out, reverse=True))


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    start: date
    due: date


def phase1_schedule(start: date, length: str, cal: Calendar) -> list[PlannedStep]:
    """The six steps back to back; each lasts its weeks in working weeks of this calendar."""
    per_week = len(cal.workdays)
    out: list[PlannedStep] = []
    begin = cal.on_or_after(start)
    for step in PHASE1_STEPS:
        weeks = step.weeks[0] if length == "short" else step.weeks[1]
        due = cal.add(begin, weeks * per_week - 1)
        out.append(PlannedStep(step, begin, due))
        begin = cal.add(due, 1)
    return out


@dataclass(frozen=True)
class PlanItem:
    """What the rules need of a milestone."""

    id: int
    due: date
    after: int | None = None
    start: date | None = None
    done: bool = False


def dependants(items: Mapping[int, PlanItem], root: int) -> list[int]:
    """Every milestone that waits, directly or through others, on `root`; in dependency order."""
    children: dict[int, list[int]] = defaultdict(list)
    for item in items.values():
        if item.after is not None:
            children[item.after].append(item.id)
    out: list[int] = []
    queue = [root]
    while queue:
        for child in sorted(children[queue.pop(0)]):
            if child != root:  # each item waits on one other, so only a loop back to root repeats
                out.append(child)
                queue.append(child)
    return out


def creates_cycle(items: Mapping[int, PlanItem], milestone: int, after: int) -> bool:
    return after == milestone or after in dependants(items, milestone)


def shift(
    items: Mapping[int, PlanItem], moved: int, new_due: date, cal: Calendar
) -> dict[int, tuple[date | None, date]]:
    """Move `moved`'s due date to `new_due` and its dependants by the same number of working days.

    The moved milestone keeps its start: a later due date gives it more time, it does not open a
    gap after its predecessor (moving a start is `milestone edit --start`). Returns id -> (new
    start, new due) for every milestone that changed.
    """
    item = items[moved]
    delta = cal.between(item.due, new_due)
    changed: dict[int, tuple[date | None, date]] = {}
    if new_due != item.due:
        changed[moved] = (item.start, new_due)
    if delta == 0:
        return changed
    for dep in dependants(items, moved):
        d = items[dep]
        if d.done:
            continue
        changed[dep] = (cal.add(d.start, delta) if d.start else None, cal.add(d.due, delta))
    return changed


def critical_path(items: Mapping[int, PlanItem]) -> list[int]:
    """The dependency chain that ends last: every milestone on it delays the end of the plan.

    Each milestone waits on at most one other, so the chain is the latest-due open milestone and
    its predecessors (done ones included, since they shaped the dates).
    """
    open_items = [i for i in items.values() if not i.done]
    if not open_items:
        return []
    last = max(open_items, key=lambda i: (i.due, -i.id))
    chain = [last.id]
    seen = {last.id}
    while (after := items[chain[-1]].after) is not None and after in items and after not in seen:
        chain.append(after)
        seen.add(after)
    return list(reversed(chain))


def status(item: PlanItem, today: date, cal: Calendar) -> str:
    if item.done:
        return "done"
    if item.due < today:
        return "overdue"
    if cal.between(today, item.due) < DUE_SOON:
        return "due soon"
    return "on track"


def local_at(day: date, tz: ZoneInfo, at: time = REMIND_AT) -> datetime:
    """`at` o'clock on `day` in `tz`, as UTC. zoneinfo resolves DST: 09:00 stays 09:00 local."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def reminder_days(due: date, offsets: Iterable[int], cal: Calendar) -> list[tuple[int, date]]:
    """(offset, local day) for each "n working days before" reminder; the due day when n == 0."""
    return [(n, cal.add(due, -n)) for n in offsets]


def overdue_day(due: date, nth: int, cal: Calendar) -> date:
    """The day of the n-th overdue reminder (1-based): every OVERDUE_EVERY working days after due."""
    return cal.add(due, OVERDUE_EVERY * nth)


def escalates(nth: int) -> bool:
    return nth >= ESCALATE_FROM


def parse_snooze(text: str) -> timedelta | None:
    return {"1d": timedelta(days=1), "1w": timedelta(weeks=1)}.get(text.strip().lower())


# ---- resources --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """A person's share of their time for one milestone's span (1.0 = full time)."""

    person: str
    milestone: int
    share: float
    start: date
    end: date


def share_of(amount: float | None, unit: str) -> float | None:
    """FTE and % units give a share of one person's time; other units say nothing about it.

    More than one FTE is a team: its owner leads it and is not counted at 200 %."""
    if amount is None:
        return None
    u = unit.strip().lower()
    if u in ("fte", "ftes"):
        return amount if amount <= 1 else None
    if u in ("%", "percent", "pct"):
        return amount / 100
    if u == "":
        return amount if amount <= 1 else amount / 100
    return None


def over_allocated(allocations: Iterable[Allocation]) -> dict[str, tuple[float, list[int]]]:
    """person -> (peak share, milestones overlapping at the peak) when the peak is above 100%.

    The peak of a sum of intervals is reached at some interval's start, so checking starts suffices;
    of two equal peaks the earlier is reported. Sums are rounded to a millionth, so shares that add
    up to 100 % in floating point are not over.
    """
    by_person: dict[str, list[Allocation]] = defaultdict(list)
    for a in allocations:
        by_person[a.person].append(a)
    out: dict[str, tuple[float, list[int]]] = {}
    for person, items in by_person.items():
        best: tuple[float, list[int]] = (0.0, [])
        for probe in sorted(items, key=lambda a: (a.start, a.milestone)):
            live = [a for a in items if a.start <= probe.start <= a.end]
            total = round(sum(a.share for a in live), 6)
            if total > best[0]:
                best = (total, sorted({a.milestone for a in live}))
        if best[0] > 1.0:
            out[person] = best
    return out


PERSON_KINDS = ("person", "people")


def allocations(
    rows: Iterable[tuple[str, float | None, str, str | None, int | None, date | None, date | None]],
) -> list[Allocation]:
    """(kind, amount, unit, owner, milestone number, start, due) of each resource -> the owners'
    shares of their time over their milestones. Only people resources with an owner and a live
    milestone say anything about a person's time: `plan resources`, the plan deliverable and
    "Needs attention" all count over-allocation from this one list."""
    out = []
    for kind, amount, unit, owner, ms, start, due in rows:
        share = share_of(amount, unit) if kind in PERSON_KINDS else None
        if share is None or owner is None or ms is None or due is None:
            continue
        out.append(Allocation(owner, ms, share, start or due, due))
    return out


def totals(rows: Iterable[tuple[str, str, float | None, str]]) -> list[tuple[str, str, str, float, int]]:
    """(milestone label, kind, amount, unit) -> (milestone, kind, unit, sum of amounts, count)."""
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for ms, kind, amount, unit in rows:
        acc = sums[(ms, kind, unit)]
        acc[0] += amount or 0.0
        acc[1] += 1
    return [(ms, kind, unit, total, int(n)) for (ms, kind, unit), (total, n) in sorted(sums.items())]


# ---- weekly digest ----------------------------------------------------------------------------


def parse_digest_schedule(day: str, at: str) -> tuple[int, time]:
    d = day.strip().lower()[:3]
    if d not in DAY_NAMES or len(day.strip()) < 3:
        raise ValueError("day")
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", at.strip())
    if not m:
        raise ValueError("time")
    return DAY_NAMES.index(d), time(int(m.group(1)), int(m.group(2)))


def last_digest_time(weekday: int, at: time, tz: ZoneInfo, now: datetime) -> datetime:
    """The latest scheduled run at or before `now` (UTC), computed on the local calendar."""
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    when = local_at(day, tz, at)
    if when > now:
        when = local_at(day - timedelta(days=7), tz, at)
    return when


def next_digest_time(weekday: int, at: time, tz: ZoneInfo, now: datetime) -> datetime:
    last = last_digest_time(weekday, at, tz, now)
    return local_at(last.astimezone(tz).date() + timedelta(days=7), tz, at)


def digest_period(when: datetime, tz: ZoneInfo) -> str:
    """The ISO week of a run in local time: one digest per initiative and period."""
    year, week, _ = when.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def digest_claim_key(initiative_id: int, when: datetime, tz: ZoneInfo) -> str:
    return f"digest:{initiative_id}:{digest_period(when, tz)}"
