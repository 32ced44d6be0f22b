"""Sign-off: approval of one pinned version of a deliverable, kept as an audit trail.

A request stores the content it asks about (a SHA-256 and the text itself), so an approval always
names exactly what was approved. Decisions are written once (pending -> approved/rejected by a
conditional update) and never edited; a newer request for the same activity supersedes the older
ones, and an approval whose content has changed since is shown as stale, never carried over.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from handlers.activities import act_id, act_label, find_activity, recipients
from handlers.context import Context
from handlers.fields import Check, fmt_dt, parse_human_id
from handlers.grammar import Arg, Mention, Opt, Parsed, UsageError
from handlers.messages import (
    Action,
    Button,
    Buttons,
    Element,
    Form,
    FormField,
    FormSubmission,
    Reply,
    Table,
    Text,
)
from handlers.registry import action, command, form
from storage.models import Member, RaciActivity, SignOff, SignOffResponse
from storage.repos import raci as repo
from storage.repos import scope, store

COMMENT_MAX = 2000
PREVIEW_CHARS = 1500


def sign_id(sign: SignOff) -> str:
    return f"SIGN-{sign.number}"


async def current_version(ctx: Context, activity: RaciActivity) -> tuple[str, str]:
    """(hash, copy) of what is signed: a Phase 1 deliverable's data, else the name and description."""
    if activity.deliverable:
        from handlers.reports import deliverable_version  # the summaries feature builds deliverables

        return await deliverable_version(ctx.session, ctx.initiative, activity.deliverable, now=ctx.now)
    text = f"{activity.name}\n\n{activity.description}".strip() + "\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), text


@dataclass(frozen=True)
class Standing:
    """Where a request stands now: superseded by a newer one, or stale because content changed."""

    superseded_by: SignOff | None
    stale: bool

    @property
    def label(self) -> str:
        if self.superseded_by is not None:
            return f"superseded by {sign_id(self.superseded_by)}"
        return "STALE: content changed since, request again" if self.stale else "current"


async def standing(ctx: Context, sign: SignOff, activity: RaciActivity) -> Standing:
    latest = await repo.latest_sign_off(ctx.session, ctx.initiative.id, sign.activity_id)
    newer = latest if latest is not None and latest.number > sign.number else None
    stale = (await current_version(ctx, activity))[0] != sign.content_hash
    return Standing(newer, stale)


# ---- request ----------------------------------------------------------------------------------


@command(
    "signoff request",
    summary="Ask the activity's Accountable (and anyone named) to approve its current version.",
    usage="signoff request ACTIVITY [@person ...] [--due YYYY-MM-DD]",
    args=(Arg("activity", required=True), Arg("people", rest=True)),
    opts=(Opt("due"),),
    examples=("signoff request ACT-4 --due 2026-12-04", "signoff request ACT-1 @cfo"),
)
async def request(ctx: Context, args: Parsed) -> Reply:
    activity = await find_activity(ctx, args.token("activity"))
    check = Check()
    due = check.day("due", args.text("due"), not_before=ctx.today)
    people = args.tokens("people")
    mentions = [p for p in people if isinstance(p, Mention)]
    if len(mentions) != len(people):
        check.fail("people", "After the activity, name approvers as @mentions only.")
    check.done()
    cells = await repo.cells(ctx.session, activity.id)
    if not ctx.is_facilitator and "R" not in cells.get(ctx.member.id, frozenset()):
        raise UsageError(f"Only a facilitator or a Responsible of {act_id(activity)} can request its sign-off.")
    approvers = await _approvers(ctx, activity, mentions)
    version, copy = await current_version(ctx, activity)
    previous = await repo.latest_sign_off(ctx.session, ctx.initiative.id, activity.id)
    sign = SignOff(
        initiative_id=ctx.initiative.id,
        number=await ctx.next_number("SIGN"),
        activity_id=activity.id,
        requested_by_member_id=ctx.member.id,
        content_hash=version,
        snapshot=copy,
        due_date=due,
        created_at=ctx.now,
    )
    await store.add(ctx.session, sign)
    await store.add(
        ctx.session,
        *(SignOffResponse(sign_off_id=sign.id, member_id=m.id, decision="pending") for m in approvers),
    )
    names = [m.display_name or m.user_id for m in approvers]
    ctx.audit(
        "signoff.request",
        sign_id(sign),
        activity=act_id(activity),
        content_hash=sign.content_hash,
        approvers=names,
        due=due.isoformat() if due else None,
        supersedes=sign_id(previous) if previous else None,
    )
    for m in approvers:
        await ctx.notify_user(m.user_id, approval_message(ctx, sign, activity))
    due_text = f", due {due.isoformat()}" if due else ""
    said = (
        f"{sign_id(sign)}: sign-off of {act_label(activity)} (version {sign.content_hash[:8]}{due_text}) "
        f"requested from {', '.join(names)}."
    )
    return Reply(
        [Text(said + (f" It supersedes {sign_id(previous)}." if previous is not None else ""))], visibility="channel"
    )


async def _approvers(ctx: Context, activity: RaciActivity, mentions: list[Mention]) -> list[Member]:
    """Who is asked: the activity's sign-off recipients (its Accountable), then anyone named, each
    once; refused when that is nobody."""
    approvers = {m.id: m for m in await recipients(ctx.session, ctx.initiative.id, activity.id, "signoff")}
    for p in mentions:
        m = await ctx.person(p)
        approvers.setdefault(m.id, m)
    if not approvers:
        raise UsageError(
            f"{act_label(activity)} has no Accountable to approve it. Assign one "
            f"(raci assign {act_id(activity)} A @p) or name approvers: signoff request {act_id(activity)} @p"
        )
    return list(approvers.values())


def approval_message(ctx: Context, sign: SignOff, activity: RaciActivity) -> list[Element]:
    preview = sign.snapshot if len(sign.snapshot) <= PREVIEW_CHARS else sign.snapshot[:PREVIEW_CHARS] + "…"
    due = f" by {sign.due_date.isoformat()}" if sign.due_date else ""
    ref = sign_id(sign)
    return [
        Text(
            f"{ctx.member.display_name} asks you to approve {act_label(activity)} in {ctx.initiative.name}{due} "
            f"({ref}, version {sign.content_hash[:8]}):"
        ),
        Text(preview),
        Buttons(
            [
                Button("Approve", f"signoff.approve:{sign.number}", ref, "primary"),
                Button("Request changes", f"signoff.reject:{sign.number}", ref, "danger"),
            ]
        ),
        Text(f"Or type `signoff approve {ref}` or `signoff reject {ref} --comment TEXT`."),
    ]


# ---- decisions --------------------------------------------------------------------------------


async def decide(ctx: Context, ref: str | None, decision: str, comment: str) -> Reply:
    """Re-checks everything a button value only hints at (`_undecided`), then records the decision
    once, tells the requester, and the channel when everyone asked has approved."""
    sign, activity, others = await _undecided(ctx, ref)
    label = sign_id(sign)
    if not await repo.decide(ctx.session, sign.id, ctx.member.id, decision, comment, ctx.now):
        raise UsageError(f"You already decided {label}; decisions are final.")
    ctx.audit(
        f"signoff.{'approve' if decision == 'approved' else 'reject'}",
        label,
        content_hash=sign.content_hash,
        comment=comment,
    )
    verb = "approved" if decision == "approved" else "requested changes to"
    note = f"{ctx.member.display_name} {verb} {label} ({act_label(activity)})" + (f": {comment}" if comment else ".")
    requester = await repo.member_by_id(ctx.session, ctx.initiative.id, sign.requested_by_member_id)
    if requester is not None and requester.id != ctx.member.id:
        await ctx.notify_user(requester.user_id, [Text(note)])
    if decision == "approved" and all(r.decision == "approved" for r in others):
        await ctx.post_to_channel(
            [Text(f"{label}: {act_label(activity)} version {sign.content_hash[:8]} is approved by everyone asked.")],
            dedupe_key=f"signoff-complete:{sign.id}",
        )
    return Reply([Text(f"Recorded: you {verb} {label} ({act_label(activity)}, version {sign.content_hash[:8]}).")])


async def _undecided(ctx: Context, ref: str | None) -> tuple[SignOff, RaciActivity, list[SignOffResponse]]:
    """The request `ref` names, its activity and the other approvers' responses, once checked that
    it belongs to this initiative, the person is one of its approvers and has not decided, and it
    is neither superseded nor stale."""
    n = parse_human_id(ref, "SIGN")
    sign = await repo.sign_off(ctx.session, ctx.initiative.id, n) if n is not None else None
    if sign is None:
        raise UsageError(f'There is no sign-off request "{(ref or "")[:20]}" here; use SIGN-n.', field="sign_off")
    label = sign_id(sign)
    responses = {r.member_id: r for r in await repo.responses(ctx.session, [sign.id])}
    mine = responses.pop(ctx.member.id, None)
    if mine is None:
        raise UsageError(f"You are not an approver of {label}.")
    activity = await repo.activity_of(ctx.session, sign)
    if mine.decision != "pending":
        raise UsageError(
            f"You already {mine.decision} {label} on {fmt_dt(mine.decided_at, ctx.tz)}; decisions are final "
            "(a new request supersedes them)."
        )
    now_standing = await standing(ctx, sign, activity)
    if now_standing.superseded_by is not None:
        raise UsageError(
            f"{label} can no longer be decided: it was superseded by {sign_id(now_standing.superseded_by)}."
        )
    if now_standing.stale:
        raise UsageError(
            f"{label} can no longer be decided: {act_label(activity)} changed since it was requested; "
            "ask for a new request."
        )
    return sign, activity, list(responses.values())


@command(
    "signoff approve",
    summary="Approve a sign-off request.",
    usage="signoff approve SIGN-n [--comment TEXT]",
    args=(Arg("sign_off", required=True),),
    opts=(Opt("comment"),),
)
async def approve_command(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    comment = check.text("comment", args.text("comment"), max_len=COMMENT_MAX)
    check.done()
    return await decide(ctx, args.text("sign_off"), "approved", comment)


@command(
    "signoff reject",
    summary="Request changes on a sign-off request (a comment saying why is required).",
    usage="signoff reject SIGN-n --comment TEXT",
    args=(Arg("sign_off", required=True),),
    opts=(Opt("comment"),),
)
async def reject_command(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    comment = check.text("comment", args.text("comment"), max_len=COMMENT_MAX)
    if not comment and not check.errors:
        check.fail("comment", "Say what should change: signoff reject SIGN-n --comment TEXT (a comment is required).")
    check.done()
    return await decide(ctx, args.text("sign_off"), "rejected", comment)


@action("signoff.approve")
async def approve_clicked(ctx: Context, clicked: Action) -> Reply:
    return await decide(ctx, clicked.value, "approved", "")


@action("signoff.reject")
async def reject_clicked(ctx: Context, clicked: Action) -> Reply:
    """Changes need a reason: the button opens a form for the comment."""
    return Reply(
        [
            Form(
                command="signoff reject",
                title="Request changes",
                submit_label="Send",
                fields=[
                    FormField("comment", "What should change?", kind="textarea", required=True, max_length=COMMENT_MAX)
                ],
                hints={"sign_off": clicked.value[:20]},
            )
        ]
    )


@form("signoff reject")
async def reject_submitted(ctx: Context, submission: FormSubmission) -> Reply:
    check = Check()
    comment = check.text("comment", submission.values.get("comment"), max_len=COMMENT_MAX, required=True)
    check.done()
    return await decide(ctx, submission.hints.get("sign_off"), "rejected", comment)


# ---- status -----------------------------------------------------------------------------------


@command(
    "signoff status",
    summary="Who approved which version when, who is pending, who asked for changes and why.",
    usage="signoff status [ACTIVITY]",
    args=(Arg("activity"),),
)
async def status(ctx: Context, args: Parsed) -> Reply:
    only = await find_activity(ctx, args.token("activity")) if args.has("activity") else None
    signs = await repo.sign_offs(ctx.session, ctx.initiative.id, only.id if only else None)
    if not signs:
        where = f" for {act_label(only)}" if only else ""
        return Reply([Text(f"No sign-off requests{where} yet. `signoff request ACTIVITY` asks for one.")])
    people = {m.id: m for m in await scope.members(ctx.session, ctx.initiative.id)}
    responses = await repo.responses(ctx.session, [s.id for s in signs])
    elements: list[Element] = []
    for sign in signs:
        elements.extend(await _sign_off_status(ctx, sign, [r for r in responses if r.sign_off_id == sign.id], people))
    return Reply(elements)


async def _sign_off_status(
    ctx: Context, sign: SignOff, responses: list[SignOffResponse], people: dict[int, Member]
) -> list[Element]:
    """One request: what was asked by whom and where it stands, then a row per approver (an
    approval of content changed since is marked stale)."""
    activity = await repo.activity_of(ctx.session, sign)
    now = await standing(ctx, sign, activity)
    requester = people.get(sign.requested_by_member_id)
    due = f", due {sign.due_date.isoformat()}" if sign.due_date else ""
    heading = Text(
        f"{sign_id(sign)} {act_label(activity)}: version {sign.content_hash[:8]} requested by "
        f"{requester.display_name if requester else '?'} on {fmt_dt(sign.created_at, ctx.tz)}{due}; "
        f"{now.label}."
    )
    rows = []
    for r in responses:
        m = people.get(r.member_id)
        decision = "approved (stale)" if r.decision == "approved" and now.stale else r.decision
        rows.append([m.display_name if m else "?", decision, fmt_dt(r.decided_at, ctx.tz) or "-", r.comment or "-"])
    return [heading, Table(["Approver", "Decision", "When", "Comment"], rows)]
