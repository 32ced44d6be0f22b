"""Plan arithmetic without a database: working days, holidays, the Phase 1 layout, shifting,
the critical path, statuses, reminder times across DST, allocation and the digest schedule."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import plan_rules as rules
from handlers.plan_rules import Allocation, Calendar, PlanItem

MON_FRI = Calendar()
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
weekday_sets = st.sets(st.integers(0, 6), min_size=1, max_size=7)


def test_add_skips_weekends_and_holidays():
    cal = Calendar(holidays=[date(2026, 12, 24), date(2026, 12, 25)])
    assert cal.add(date(2026, 12, 23), 1) == date(2026, 12, 28)  # Thu/Fri off, then the weekend
    assert cal.add(date(2026, 12, 28), -1) == date(2026, 12, 23)
    assert cal.add(date(2026, 12, 5), 0) == date(2026, 12, 5)
    assert cal.on_or_after(date(2026, 12, 5)) == date(2026, 12, 7)
    assert not cal.is_workday(date(2026, 12, 24)) and cal.is_workday(date(2026, 12, 23))


@settings(max_examples=150, deadline=None)
@given(days, st.integers(-40, 40), weekday_sets, st.lists(days, max_size=5))
def test_add_and_between_are_inverse(start, n, workdays, holidays):
    cal = Calendar(workdays, holidays)
    start = cal.on_or_after(start)
    end = cal.add(start, n)
    assert cal.is_workday(end)
    assert cal.between(start, end) == n
    assert cal.add(end, -n) == start


def test_parse_workdays_and_offsets():
    assert rules.parse_workdays("mon-fri") == frozenset(range(5))
    assert rules.parse_workdays("sun,mon, tue") == frozenset({6, 0, 1})
    assert rules.parse_workdays("fri-mon") == frozenset({4, 5, 6, 0})
    assert rules.format_workdays(rules.parse_workdays("thu,mon")) == "mon,thu"
    for bad in ("funday", "mon-xyz", ""):
        with pytest.raises(ValueError):
            rules.parse_workdays(bad)
    assert rules.parse_offsets("0d,3d,1d,3") == (3, 1, 0)
    with pytest.raises(ValueError):
        rules.parse_offsets("3 days")


def test_phase1_long_from_2026_12_01():
    plan = rules.phase1_schedule(date(2026, 12, 1), "long", MON_FRI)
    assert [p.step.name for p in plan] == [
        "Identify use cases",
        "Assess current infrastructure",
        "Define objectives & metrics",
        "Stakeholder alignment",
        "Risk assessment & mitigation",
        "Create project plan",
    ]
    assert [(p.start, p.due) for p in plan] == [
        (date(2026, 12, 1), date(2026, 12, 14)),
        (date(2026, 12, 15), date(2026, 12, 28)),
        (date(2026, 12, 29), date(2027, 1, 4)),
        (date(2027, 1, 5), date(2027, 1, 18)),
        (date(2027, 1, 19), date(2027, 1, 25)),
        (date(2027, 1, 26), date(2027, 2, 1)),
    ]


def test_phase1_short_with_holidays_lands_on_working_days():
    cal = Calendar(holidays=[date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1)])
    plan = rules.phase1_schedule(date(2026, 12, 5), "short", cal)  # a Saturday: starts Monday
    assert plan[0].start == date(2026, 12, 7)
    assert all(cal.is_workday(p.due) and cal.is_workday(p.start) for p in plan)
    assert all(cal.between(p.start, p.due) == 4 for p in plan)  # one working week each
    assert all(cal.add(a.due, 1) == b.start for a, b in itertools.pairwise(plan))


@settings(max_examples=100, deadline=None)
@given(days, st.sampled_from(["short", "long"]), weekday_sets, st.lists(days, max_size=8))
def test_phase1_always_on_working_days_in_order(start, length, workdays, holidays):
    cal = Calendar(workdays, holidays)
    plan = rules.phase1_schedule(start, length, cal)
    assert len(plan) == 6
    for p in plan:
        assert cal.is_workday(p.start) and cal.is_workday(p.due) and p.start <= p.due
        weeks = p.step.weeks[0] if length == "short" else p.step.weeks[1]
        assert cal.between(p.start, p.due) == weeks * len(workdays) - 1
    assert all(a.due < b.start for a, b in itertools.pairwise(plan))


def chain() -> dict[int, PlanItem]:
    return {
        1: PlanItem(1, date(2026, 12, 4)),
        2: PlanItem(2, date(2026, 12, 11), after=1, start=date(2026, 12, 7)),
        3: PlanItem(3, date(2026, 12, 18), after=2),
        4: PlanItem(4, date(2026, 12, 9), after=1),
        5: PlanItem(5, date(2026, 12, 30)),  # independent
    }


def test_shift_moves_dependants_by_the_same_working_days():
    changed = rules.shift(chain(), 1, date(2026, 12, 8), MON_FRI)  # Fri -> Tue: +2 working days
    assert changed == {
        1: (None, date(2026, 12, 8)),
        2: (date(2026, 12, 9), date(2026, 12, 15)),
        4: (None, date(2026, 12, 11)),
        3: (None, date(2026, 12, 22)),
    }
    back = rules.shift(chain(), 2, date(2026, 12, 10), MON_FRI)  # its own start stays: no gap, no overlap
    assert back == {2: (date(2026, 12, 7), date(2026, 12, 10)), 3: (None, date(2026, 12, 17))}


def test_shift_leaves_done_dependants():
    items = chain()
    items[2] = PlanItem(2, date(2026, 12, 11), after=1, done=True)
    changed = rules.shift(items, 1, date(2026, 12, 7), MON_FRI)
    assert 2 not in changed and changed[3] == (None, date(2026, 12, 21))


def test_cycles_and_dependants():
    items = chain()
    assert rules.dependants(items, 1) == [2, 4, 3]
    assert rules.creates_cycle(items, 1, 3) and rules.creates_cycle(items, 2, 2)
    assert not rules.creates_cycle(items, 3, 4)


def test_critical_path_is_the_chain_that_ends_last():
    items = chain()
    assert rules.critical_path(items) == [5]
    items[5] = PlanItem(5, date(2026, 12, 30), after=3)
    assert rules.critical_path(items) == [1, 2, 3, 5]
    assert rules.critical_path({1: PlanItem(1, date(2026, 1, 1), done=True)}) == []


def test_status():
    today = date(2026, 12, 7)  # Monday
    assert rules.status(PlanItem(1, date(2026, 12, 4)), today, MON_FRI) == "overdue"
    assert rules.status(PlanItem(1, date(2026, 12, 4), done=True), today, MON_FRI) == "done"
    assert rules.status(PlanItem(1, date(2026, 12, 9)), today, MON_FRI) == "due soon"
    assert rules.status(PlanItem(1, date(2026, 12, 10)), today, MON_FRI) == "on track"


@pytest.mark.parametrize(
    "tz, change",
    [
        (BERLIN, date(2026, 3, 29)),
        (BERLIN, date(2026, 10, 25)),
        (NEW_YORK, date(2026, 3, 8)),
        (NEW_YORK, date(2026, 11, 1)),
    ],
)
def test_reminders_at_nine_local_on_both_sides_of_dst(tz, change):
    every_day = Calendar(range(7))
    due = change + timedelta(days=2)
    got = [rules.local_at(d, tz) for _, d in rules.reminder_days(due, (4, 3, 2, 1, 0), every_day)]
    assert [t.astimezone(tz).time() for t in got] == [time(9, 0)] * 5
    assert len(set(got)) == 5
    offsets = {t.astimezone(tz).utcoffset() for t in got}
    assert len(offsets) == 2  # the change really is inside the range
    gaps = {b - a for a, b in itertools.pairwise(got)}
    assert gaps == {timedelta(hours=24), timedelta(hours=23) if change.month < 6 else timedelta(hours=25)}


def test_reminder_days_and_overdue_days():
    due = date(2026, 12, 14)  # Monday
    assert rules.reminder_days(due, (3, 1, 0), MON_FRI) == [
        (3, date(2026, 12, 9)),
        (1, date(2026, 12, 11)),
        (0, due),
    ]
    assert [rules.overdue_day(due, n, MON_FRI) for n in (1, 2, 3)] == [
        date(2026, 12, 16),
        date(2026, 12, 18),
        date(2026, 12, 22),
    ]
    assert not rules.escalates(1) and rules.escalates(2) and rules.escalates(3)


def test_over_allocation_needs_overlap():
    a = Allocation("dana", 1, 0.6, date(2026, 12, 1), date(2026, 12, 10))
    b = Allocation("dana", 2, 0.5, date(2026, 12, 8), date(2026, 12, 20))
    c = Allocation("dana", 3, 0.5, date(2026, 12, 11), date(2026, 12, 20))
    assert rules.over_allocated([a, c]) == {}
    assert rules.over_allocated([a, b]) == {"dana": (1.1, [1, 2])}
    assert rules.over_allocated([a, Allocation("eve", 2, 0.5, a.start, a.end)]) == {}
    assert rules.share_of(50, "%") == 0.5 and rules.share_of(1, "FTE") == 1 and rules.share_of(3, "EUR") is None


def test_totals_per_milestone_kind_and_unit():
    got = rules.totals([("MS-3", "person", 2, "FTE"), ("MS-3", "person", 1, "FTE"), ("MS-3", "budget", 10, "EUR")])
    assert got == [("MS-3", "budget", "EUR", 10.0, 1), ("MS-3", "person", "FTE", 3.0, 2)]


def test_digest_times_and_periods():
    wd, at = rules.parse_digest_schedule("Monday", "09:00")
    assert (wd, at) == (0, time(9, 0))
    now = datetime(2026, 3, 30, 6, 59, tzinfo=UTC)  # Monday 08:59 CEST (after the change)
    assert rules.last_digest_time(wd, at, BERLIN, now) == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # CET
    assert rules.next_digest_time(wd, at, BERLIN, now) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # CEST
    later = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert rules.last_digest_time(wd, at, BERLIN, later) == later
    assert rules.digest_period(later, BERLIN) == "2026-W14"
    for bad in (("someday", "09:00"), ("mon", "9am"), ("mon", "24:00")):
        with pytest.raises(ValueError):
            rules.parse_digest_schedule(*bad)


# ---- gaps found by mutation testing (issue #17) ---------------------------------------------


@pytest.mark.parametrize("weekday", range(7))
def test_weekly_digest_on_every_weekday_computed_on_a_friday(weekday):
    friday = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # 13:00 in Berlin
    last = rules.last_digest_time(weekday, time(9, 0), BERLIN, friday)
    local = last.astimezone(BERLIN)
    assert local.weekday() == weekday and local.time() == time(9, 0)
    assert timedelta(0) <= friday - last < timedelta(days=7)
    nxt = rules.next_digest_time(weekday, time(9, 0), BERLIN, friday)
    assert nxt - last == timedelta(days=7) and nxt > friday


def test_weekly_digest_for_a_wednesday():
    friday = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert rules.last_digest_time(2, time(9, 0), BERLIN, friday) == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert rules.next_digest_time(2, time(9, 0), BERLIN, friday) == datetime(2026, 12, 9, 8, 0, tzinfo=UTC)
    # On the Wednesday before 09:00 local, the last run is the week before.
    early = datetime(2026, 12, 9, 7, 59, tzinfo=UTC)
    assert rules.last_digest_time(2, time(9, 0), BERLIN, early) == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert rules.digest_claim_key(7, early, BERLIN) == "digest:7:2026-W50"
    assert rules.parse_digest_schedule(" Wed ", "7:05") == (2, time(7, 5))
    for bad in (("we", "09:00"), ("wed", "09:60"), ("", "09:00")):
        with pytest.raises(ValueError):
            rules.parse_digest_schedule(*bad)


def test_status_boundaries():
    today = date(2026, 12, 7)  # Monday
    assert rules.status(PlanItem(1, today), today, MON_FRI) == "due soon"  # due today is not overdue
    assert rules.status(PlanItem(1, date(2026, 12, 6)), today, MON_FRI) == "overdue"
    assert rules.status(PlanItem(1, date(2026, 12, 9)), today, MON_FRI) == "due soon"  # 2 working days
    assert rules.status(PlanItem(1, date(2026, 12, 10)), today, MON_FRI) == "on track"  # 3 working days
    assert rules.status(PlanItem(1, date(2026, 12, 1), done=True), today, MON_FRI) == "done"


def test_allocation_boundaries():
    day = date(2026, 12, 10)
    a = Allocation("dana", 1, 0.5, date(2026, 12, 1), day)
    touching = Allocation("dana", 2, 0.6, day, date(2026, 12, 20))  # starts on a's last day
    after = Allocation("dana", 3, 0.6, day + timedelta(days=1), date(2026, 12, 20))
    assert rules.over_allocated([a, touching]) == {"dana": (1.1, [1, 2])}
    assert rules.over_allocated([a, after]) == {}
    exactly = Allocation("dana", 4, 0.5, date(2026, 12, 5), day)
    assert rules.over_allocated([a, exactly]) == {}  # exactly 100 % is not over
    third = Allocation("dana", 5, 0.1, day, day)
    assert rules.over_allocated([a, exactly, third]) == {"dana": (1.1, [1, 4, 5])}
    # The peak is reported, not the first overlap above 100 %.
    later = Allocation("dana", 6, 0.7, date(2026, 12, 15), date(2026, 12, 16))
    assert rules.over_allocated([a, touching, later]) == {"dana": (1.3, [2, 6])}
    assert rules.over_allocated([]) == {}


def test_share_of_each_unit():
    assert rules.share_of(None, "FTE") is None
    assert rules.share_of(1, " FTEs ") == 1 and rules.share_of(0.5, "fte") == 0.5
    assert rules.share_of(2, "FTE") is None  # a team, led by its owner
    assert rules.share_of(25, "percent") == rules.share_of(25, "pct") == rules.share_of(25, "%") == 0.25
    assert rules.share_of(1, "") == 1 and rules.share_of(0.4, "") == 0.4  # an empty unit: a share ...
    assert rules.share_of(40, "") == 0.4  # ... or, above 1, a percentage
    assert rules.share_of(3, "EUR") is None and rules.share_of(3, "days") is None


def test_totals_count_amounts_left_empty():
    got = rules.totals([("MS-1", "person", None, "FTE"), ("MS-1", "person", 0.5, "FTE")])
    assert got == [("MS-1", "person", "FTE", 0.5, 2)]
    assert rules.totals([]) == []


def test_stepping_over_a_holiday_next_to_a_weekend():
    friday_off = Calendar(holidays=[date(2026, 12, 11)])  # Friday before a weekend
    assert friday_off.add(date(2026, 12, 10), 1) == date(2026, 12, 14)
    assert friday_off.add(date(2026, 12, 14), -1) == date(2026, 12, 10)
    assert friday_off.between(date(2026, 12, 10), date(2026, 12, 14)) == 1
    assert friday_off.between(date(2026, 12, 14), date(2026, 12, 10)) == -1
    assert friday_off.on_or_after(date(2026, 12, 11)) == date(2026, 12, 14)
    monday_off = Calendar(holidays=[date(2026, 12, 14)])
    assert monday_off.add(date(2026, 12, 11), 1) == date(2026, 12, 15)
    assert monday_off.add(date(2026, 12, 11), 2) == date(2026, 12, 16)
    assert monday_off.between(date(2026, 12, 12), date(2026, 12, 15)) == 1  # from a Saturday
    got = rules.reminder_days(date(2026, 12, 15), (1, 0), monday_off)
    assert got == [(1, date(2026, 12, 11)), (0, date(2026, 12, 15))]
    assert rules.overdue_day(date(2026, 12, 10), 1, friday_off) == date(2026, 12, 15)
    with pytest.raises(ValueError):
        Calendar(workdays=[])


def test_phase1_short_and_long_differ_only_where_the_weeks_do():
    short = rules.phase1_schedule(date(2026, 12, 7), "short", MON_FRI)
    assert [(p.start, p.due) for p in short[:3]] == [
        (date(2026, 12, 7), date(2026, 12, 11)),
        (date(2026, 12, 14), date(2026, 12, 18)),
        (date(2026, 12, 21), date(2026, 12, 25)),
    ]
    four_days = Calendar(workdays=range(4))
    plan = rules.phase1_schedule(date(2026, 12, 7), "short", four_days)
    assert (plan[0].start, plan[0].due) == (date(2026, 12, 7), date(2026, 12, 10))


def test_shift_by_zero_and_of_a_start_only():
    items = {1: PlanItem(1, date(2026, 12, 4), start=date(2026, 12, 1)), 2: PlanItem(2, date(2026, 12, 11), after=1)}
    assert rules.shift(items, 1, date(2026, 12, 4), MON_FRI) == {}
    # Saturday is the same working-day position as Friday: the due moves, nothing else does.
    assert rules.shift(items, 1, date(2026, 12, 5), MON_FRI) == {1: (date(2026, 12, 1), date(2026, 12, 5))}


def test_critical_path_prefers_the_latest_due_then_the_lowest_id_and_survives_a_loop():
    items = {1: PlanItem(1, date(2026, 12, 4)), 2: PlanItem(2, date(2026, 12, 4)), 3: PlanItem(3, date(2026, 12, 1))}
    assert rules.critical_path(items) == [1]
    loop = {1: PlanItem(1, date(2026, 12, 4), after=2), 2: PlanItem(2, date(2026, 12, 1), after=1)}
    assert rules.critical_path(loop) == [2, 1]
    dangling = {1: PlanItem(1, date(2026, 12, 4), after=9)}
    assert rules.critical_path(dangling) == [1]
    done_last = {1: PlanItem(1, date(2026, 12, 1)), 2: PlanItem(2, date(2026, 12, 9), after=1, done=True)}
    assert rules.critical_path(done_last) == [1]


def test_parse_workdays_and_offsets_edges():
    assert rules.parse_workdays("Monday-Wednesday") == frozenset({0, 1, 2})
    assert rules.parse_workdays("sat-sat") == frozenset({5})
    assert rules.parse_workdays(" mon , , tue ") == frozenset({0, 1})
    assert rules.format_workdays(range(7)) == "mon,tue,wed,thu,fri,sat,sun"
    assert rules.parse_offsets("5d 2d") == (5, 2) and rules.parse_offsets("10") == (10,)
    for bad in ("", " , ", "100d", "-1d"):
        with pytest.raises(ValueError):
            rules.parse_offsets(bad)
    assert rules.parse_snooze(" 1D ") == timedelta(days=1) and rules.parse_snooze("1w") == timedelta(weeks=1)
    assert rules.parse_snooze("2d") is None
    assert rules.dependants({1: PlanItem(1, date(2026, 12, 1))}, 1) == []


AUCKLAND = ZoneInfo("Pacific/Auckland")  # UTC+13 in March: its Monday morning is Sunday in UTC


def test_digest_times_are_computed_on_the_local_calendar_and_clock():
    monday, at = 0, time(8, 0)
    now = datetime(2027, 3, 7, 19, 30, tzinfo=UTC)  # Monday 8 March, 08:30 in Auckland
    assert rules.last_digest_time(monday, at, AUCKLAND, now) == datetime(2027, 3, 7, 19, 0, tzinfo=UTC)
    assert rules.next_digest_time(monday, at, AUCKLAND, now) == datetime(2027, 3, 14, 19, 0, tzinfo=UTC)
    before = datetime(2027, 3, 7, 18, 30, tzinfo=UTC)  # Monday, 07:30 there: last week's run
    assert rules.last_digest_time(monday, at, AUCKLAND, before) == datetime(2027, 2, 28, 19, 0, tzinfo=UTC)
    assert rules.digest_period(now, AUCKLAND) == "2027-W10"  # in UTC it is still week 9
    assert rules.digest_claim_key(5, now, AUCKLAND) == "digest:5:2027-W10"


def test_a_local_time_is_returned_in_utc():
    got = rules.local_at(date(2027, 3, 8), AUCKLAND, time(8, 0))
    assert got == datetime(2027, 3, 7, 19, 0, tzinfo=UTC) and got.tzinfo is UTC
    assert rules.local_at(date(2027, 3, 8), AUCKLAND) == datetime(2027, 3, 7, 20, 0, tzinfo=UTC)  # 09:00


def test_a_bad_digest_schedule_says_which_field():
    for day in ("xyzday", "mo", "", "funday"):
        with pytest.raises(ValueError, match=r"^day$"):
            rules.parse_digest_schedule(day, "09:00")
    for at in ("24:00", "9", "09:60", "nine"):
        with pytest.raises(ValueError, match=r"^time$"):
            rules.parse_digest_schedule("mon", at)


def test_bad_workdays_and_offsets_name_the_bad_part():
    with pytest.raises(ValueError, match=r"^xyz$"):
        rules.parse_workdays("mon,xyz")
    with pytest.raises(ValueError, match=r"^mon-xyz$"):
        rules.parse_workdays("mon-xyz")
    with pytest.raises(ValueError, match=r"^ , $"):
        rules.parse_workdays(" , ")
    with pytest.raises(ValueError, match=r"^5w$"):
        rules.parse_offsets("3d,5w")
    with pytest.raises(ValueError, match=r"^ , $"):
        rules.parse_offsets(" , ")
    with pytest.raises(ValueError, match=r"^at least one working day is needed$"):
        Calendar(workdays=[])


def test_stray_separators_are_ignored():
    assert rules.parse_workdays(",mon, tue") == frozenset({0, 1})
    assert rules.parse_offsets(",3d 1d,") == (3, 1)
    assert rules.stored_offsets((3, 1, 0)) == "3,1,0"
    assert rules.stored_offsets(()) == ""
    assert rules.stored_offsets(rules.parse_offsets("0d,10d")) == "10,0"


def test_of_two_equal_peaks_the_earlier_is_reported():
    early = [Allocation("dana", 3, 0.6, date(2027, 1, 4), date(2027, 1, 8))]
    early.append(Allocation("dana", 4, 0.6, date(2027, 1, 5), date(2027, 1, 8)))
    late = [Allocation("dana", 1, 0.6, date(2027, 2, 1), date(2027, 2, 5))]
    late.append(Allocation("dana", 2, 0.6, date(2027, 2, 2), date(2027, 2, 5)))
    assert rules.over_allocated(late + early) == {"dana": (1.2, [3, 4])}
    assert rules.over_allocated(early + late) == {"dana": (1.2, [3, 4])}


def test_over_allocation_is_counted_to_a_millionth():
    a = Allocation("dana", 1, 0.1 + 0.2, date(2027, 1, 4), date(2027, 1, 8))  # 0.30000000000000004
    b = Allocation("dana", 2, 0.7, date(2027, 1, 4), date(2027, 1, 8))
    assert rules.over_allocated([a, b]) == {}
    noise = Allocation("dana", 2, 0.7000004, date(2027, 1, 4), date(2027, 1, 8))  # 1.0000004 in all
    assert rules.over_allocated([a, noise]) == {}
    over = Allocation("dana", 2, 0.700001, date(2027, 1, 4), date(2027, 1, 8))
    assert rules.over_allocated([a, over]) == {"dana": (1.000001, [1, 2])}


def test_an_empty_unit_above_one_is_a_percentage():
    assert rules.share_of(1.5, "") == 0.015
    assert rules.share_of(2, "") == 0.02


def test_only_owned_people_resources_on_a_dated_milestone_allocate_time():
    d1, d2 = date(2027, 1, 4), date(2027, 1, 8)
    rows = [
        ("person", 50, "%", "dana", 1, d1, d2),
        ("budget", 50, "%", "dana", 1, d1, d2),  # not a person
        ("person", 50, "%", None, 1, d1, d2),  # no owner
        ("person", 50, "%", "dana", None, d1, d2),  # no live milestone
        ("person", 50, "%", "dana", 3, d1, None),  # no due date
        ("person", 3, "EUR", "dana", 1, d1, d2),  # says nothing about time
        ("person", 2, "FTE", "dana", 1, d1, d2),  # a team led by dana
        ("people", 1, "FTE", "eve", 2, None, d2),  # no start: the due day only
    ]
    assert rules.allocations(rows) == [
        Allocation("dana", 1, 0.5, d1, d2),
        Allocation("eve", 2, 1, d2, d2),
    ]
    assert rules.allocations([]) == []


def test_critical_path_stops_at_a_loop_behind_the_last_milestone():
    # Stored data that loops (2 after 3, 3 after 2) must not hang the plan deliverable.
    items = {
        1: PlanItem(1, date(2027, 1, 29), after=2),
        2: PlanItem(2, date(2027, 1, 15), after=3),
        3: PlanItem(3, date(2027, 1, 8), after=2),
    }
    assert rules.critical_path(items) == [3, 2, 1]


def test_dependants_end_at_a_loop_back_to_the_root():
    loop = {1: PlanItem(1, date(2027, 1, 8), after=3), 2: PlanItem(2, date(2027, 1, 15), after=1)}
    loop[3] = PlanItem(3, date(2027, 1, 22), after=2)
    assert rules.dependants(loop, 1) == [2, 3]
    assert rules.creates_cycle(loop, 2, 3)
