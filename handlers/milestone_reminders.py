"""A milestone's calendar, plan item and reminder rows: which rows it should have
(`plan_reminders`, `plan_overdue`) and what a reminder says (`reminder_elements`).

Shared by the milestone and plan commands, so neither imports the other; schedules/reminders.py
claims and sends the rows.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import plan_rules as rules
from handlers.messages import Button, Buttons, Element, Text
from storage.models import Initiative, Milestone
from storage.repos import plan as repo


def ms_id(ms: Milestone) -> str:
    return f"MS-{ms.number}"


def deliverable_of(ms: Milestone) -> str | None:
    if ms.phase_step and 1 <= ms.phase_step <= len(rules.PHASE1_STEPS):
        return rules.PHASE1_STEPS[ms.phase_step - 1].deliverable
    return None


async def load_calendar(session: AsyncSession, initiative: Initiative) -> rules.Calendar:
    days = rules.parse_workdays(initiative.workdays or "mon-fri")
    return rules.Calendar(days, await repo.holidays(session, initiative.id))


def zone(initiative: Initiative, default: str) -> ZoneInfo:
    return ZoneInfo(initiative.timezone or default)


def offsets_of(ms: Milestone) -> tuple[int, ...]:
    return rules.parse_offsets(ms.remind_offsets or rules.DEFAULT_STORED_OFFSETS)


def plan_item(ms: Milestone) -> rules.PlanItem:
    return rules.PlanItem(ms.id, ms.due_date, ms.after_milestone_id, ms.start_date, ms.status == "done")


# ---- reminder rows ----------------------------------------------------------------------------


def reminder_key(ms: Milestone, kind: str, n: int) -> str:
    """Keyed by the due date too: moving the milestone makes new reminders, moving it back
    revives the cancelled ones, and a reminder already sent for a date is never sent again."""
    return f"ms:{ms.id}:{ms.due_date.isoformat()}:{kind}:{n}"


async def plan_reminders(
    session: AsyncSession, initiative: Initiative, ms: Milestone, cal: rules.Calendar, tz: ZoneInfo, now: datetime
) -> int:
    """Replace the milestone's pending reminders with the ones its current date calls for.

    Times already past are skipped (a milestone added today does not remind about this morning);
    the first overdue reminder still in the future is planned, and each sent one plans the next.
    """
    await repo.cancel_pending(session, ms.id, kinds=("before", "overdue"))
    if ms.status != "open":
        return 0
    made = 0
    for n, day in rules.reminder_days(ms.due_date, offsets_of(ms), cal):
        at = rules.local_at(day, tz)
        if at > now:
            made += await repo.put_reminder(
                session,
                initiative_id=initiative.id,
                key=reminder_key(ms, "before", n),
                kind="before",
                milestone_id=ms.id,
                due_at=at,
                payload={"offset": n},
                now=now,
            )
    nth = 1
    while rules.local_at(rules.overdue_day(ms.due_date, nth, cal), tz) <= now:
        nth += 1
    made += await plan_overdue(session, initiative, ms, nth, cal, tz, now)
    return made


async def plan_overdue(
    session: AsyncSession,
    initiative: Initiative,
    ms: Milestone,
    nth: int,
    cal: rules.Calendar,
    tz: ZoneInfo,
    now: datetime,
) -> int:
    return int(
        await repo.put_reminder(
            session,
            initiative_id=initiative.id,
            key=reminder_key(ms, "overdue", nth),
            kind="overdue",
            milestone_id=ms.id,
            due_at=rules.local_at(rules.overdue_day(ms.due_date, nth, cal), tz),
            payload={"nth": nth},
            now=now,
        )
    )


def reminder_elements(ms: Milestone, kind: str, payload: dict, today: date, cal: rules.Calendar) -> list[Element]:
    if kind == "overdue":
        late = cal.between(ms.due_date, today)
        head = f"Overdue: {ms_id(ms)} {ms.name} was due {ms.due_date.isoformat()} ({late} working day(s) ago)."
    elif kind == "snooze":
        head = f"Reminder (snoozed): {ms_id(ms)} {ms.name} is due {ms.due_date.isoformat()}."
    elif payload.get("offset", 0) == 0:
        head = f"Due today: {ms_id(ms)} {ms.name}."
    else:
        left = cal.between(today, ms.due_date)
        head = f"Reminder: {ms_id(ms)} {ms.name} is due {ms.due_date.isoformat()}, in {left} working day(s)."
    return [Text(head), action_buttons(ms)]


def action_buttons(ms: Milestone) -> Buttons:
    value = str(ms.number)
    return Buttons(
        [
            Button("Done", "milestone.done", value, style="primary"),
            Button("Snooze 1 day", "milestone.snooze:1d", value),
            Button("Snooze 1 week", "milestone.snooze:1w", value),
        ]
    )


# ---- command helpers --------------------------------------------------------------------------
