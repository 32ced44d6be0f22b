"""`digest schedule DAY HH:MM` and `digest off`: when the weekly digest goes out (local time)."""

from __future__ import annotations

from handlers import plan_rules as rules
from handlers.context import Context
from handlers.grammar import Arg, Parsed, UsageError
from handlers.messages import Reply, Text
from handlers.registry import FACILITATOR, command
from storage.models import JobClaim
from storage.repos.upsert import insert_ignore


@command(
    "digest schedule",
    summary="Send the weekly digest every week on DAY at HH:MM in the initiative's time zone.",
    usage="digest schedule DAY HH:MM",
    args=(Arg("day", required=True), Arg("time", required=True)),
    roles=FACILITATOR,
    examples=("digest schedule mon 09:00",),
)
async def schedule(ctx: Context, args: Parsed) -> Reply:
    day, at = args.text("day") or "", args.text("time") or ""
    try:
        weekday, when = rules.parse_digest_schedule(day, at)
    except ValueError as e:
        if str(e) == "day":
            raise UsageError(f'"{day[:20]}" is not a day; use mon, tue, wed, thu, fri, sat or sun.', "day") from None
        raise UsageError(f'"{at[:20]}" is not a time; use 24-hour HH:MM like 09:00.', "time") from None
    ctx.initiative.digest_schedule = f"{rules.DAY_NAMES[weekday]} {when.strftime('%H:%M')}"
    # A run already past belongs to before the schedule existed: claim it so it is not sent now.
    last = rules.last_digest_time(weekday, when, ctx.tz, ctx.now)
    await insert_ignore(
        ctx.session,
        JobClaim,
        key=rules.digest_claim_key(ctx.initiative.id, last, ctx.tz),
        claimed_by="digest schedule",
        claimed_at=ctx.now,
    )
    first = rules.next_digest_time(weekday, when, ctx.tz, ctx.now).astimezone(ctx.tz)
    ctx.audit("digest.schedule", "digest", schedule=ctx.initiative.digest_schedule)
    return Reply(
        [
            Text(
                f"The weekly digest goes out every {first.strftime('%A')} at {when.strftime('%H:%M')} ({ctx.tz}); "
                f"the next one {first.strftime('%Y-%m-%d %H:%M')}."
            )
        ],
        visibility="channel",
    )


@command("digest off", summary="Stop the weekly digest.", usage="digest off", roles=FACILITATOR)
async def off(ctx: Context, args: Parsed) -> Reply:
    if not ctx.initiative.digest_schedule:
        return Reply([Text("The weekly digest is already off.")])
    ctx.initiative.digest_schedule = None
    ctx.audit("digest.off", "digest")
    return Reply(
        [Text("The weekly digest is off. `digest schedule mon 09:00` turns it back on.")], visibility="channel"
    )
