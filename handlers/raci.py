"""RACI per activity: activities, assignment with the rules enforced, views, and routing by role.

The routing function `recipients` and the activity lookup live in `handlers.activities`, which
the reminder, escalation, sign-off and digest features call to know whom to tell; here are the
facilitators' and stakeholders' commands. The rules themselves live in `handlers.raci_rules`;
this module loads, asks them, stores, tells.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import raci_rules as rules
from handlers.activities import NAME_MAX, act_id, act_label, find_activity, new_activity
from handlers.context import Context
from handlers.fields import Check, parse_human_id
from handlers.grammar import Arg, Mention, Opt, Parsed, Token, UsageError
from handlers.messages import Action, Button, Buttons, Element, ListItems, Reply, Table, Text
from handlers.registry import FACILITATOR, action, command
from storage.models import Member, RaciActivity, RaciProposal
from storage.repos import raci as repo
from storage.repos import scope, store

DESCRIPTION_MAX = 3000
# The six Phase 1 deliverables, keyed as the summaries feature keys them.
DELIVERABLES = (
    ("usecases", "Prioritized use-case list", "The use cases, scored and ranked by priority."),
    ("infrastructure", "Gap analysis", "Current data sources and infrastructure, and the gaps to close."),
    ("kpis", "KPI document", "The KPIs with baselines, targets and how they are measured."),
    ("raci", "RACI matrix", "Who is Responsible, Accountable, Consulted and Informed for each activity."),
    ("risks", "Risk register", "The risks with likelihood, impact, owner and mitigation."),
    ("plan", "Project plan", "Milestones, dates, owners and resources."),
)
TARGETS_USAGE = 'R @a @b A @c C @d I @e (any of the four letters, each followed by people or role:"NAME")'


async def parse_targets(ctx: Context, tokens: list[Token]) -> list[tuple[str, Member]]:
    """`R @a @b A @c C role:"data owner"` -> [(role, member), ...] in the order given."""
    out: list[tuple[str, Member]] = []
    role: str | None = None
    given = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if isinstance(tok, Mention):
            out.append((_letter_before(role, str(tok)), await ctx.person(tok)))
            given = True
            continue
        word = str(tok).strip()
        if word.lower().startswith("role:"):
            name, i = _project_role_name(word, tokens, i)
            letter = _letter_before(role, f'role:"{name}"')
            out += [(letter, m) for m in await _project_role_holders(ctx, name)]
            given = True
            continue
        if word.upper() not in rules.ROLES:
            raise UsageError(f'I did not expect "{word[:40]}" there. Give {TARGETS_USAGE}.')
        _someone_after(role, given)
        role, given = word.upper(), False
    _someone_after(role, given)
    if not out:
        raise UsageError(f"Say who gets which role: {TARGETS_USAGE}.")
    return out


def _letter_before(role: str | None, what: str) -> str:
    """The role letter that people (or a project role) named now get; refused before any letter."""
    if role is None:
        raise UsageError(f"Put a role letter before {what}: {TARGETS_USAGE}.")
    return role


def _someone_after(role: str | None, given: bool) -> None:
    """A letter must be followed by someone before the next letter or the end."""
    if role is not None and not given:
        raise UsageError(f"{role} needs at least one person after it: {TARGETS_USAGE}.")


def _project_role_name(word: str, tokens: list[Token], i: int) -> tuple[str, int]:
    """`role:"NAME"` is one token; `role: NAME` takes the next one (unless it is a mention).
    Returns the name and the position after it."""
    name = word[5:]
    if not name and i < len(tokens) and not isinstance(tokens[i], Mention):
        return str(tokens[i]), i + 1
    return name, i


async def _project_role_holders(ctx: Context, name: str) -> list[Member]:
    people = await repo.role_holders(ctx.session, ctx.initiative.id, name)
    if not people:
        raise UsageError(f'Nobody holds the project role "{name}". `role list` shows who holds what.')
    return people


async def _names(ctx: Context) -> dict[int, str]:
    return {m.id: m.display_name or m.user_id for m in await scope.members(ctx.session, ctx.initiative.id)}


# ---- changing the matrix ----------------------------------------------------------------------


async def apply_assignment(
    ctx: Context, activity: RaciActivity, wanted: list[tuple[str, Member]], *, replace: bool
) -> list[rules.Change]:
    """Apply the rules, store the difference, tell everyone whose role changed. Refusals raise."""
    before = await repo.cells(ctx.session, activity.id)
    names = await _names(ctx)
    try:
        outcome = rules.assign(before, [(r, m.id) for r, m in wanted], replace=replace, names=names)
    except rules.RaciRefused as e:
        raise UsageError(str(e)) from None
    await store_outcome(ctx, activity, before, outcome, names)
    return outcome.changes


async def store_outcome(
    ctx: Context, activity: RaciActivity, before: rules.Cells, outcome: rules.Outcome, names: dict[int, str]
) -> None:
    await repo.store_cells(
        ctx.session, activity.id, dict(before), outcome.cells, by_member_id=ctx.member.id, now=ctx.now
    )
    for change in outcome.changes:
        ctx.audit(
            "raci.assign",
            act_id(activity),
            member=names.get(change.member_id, ""),
            before=rules.cell_label(change.before),
            after=rules.cell_label(change.after),
        )
        member = await repo.member_by_id(ctx.session, ctx.initiative.id, change.member_id)
        if member is not None:
            await ctx.notify_user(member.user_id, [Text(_change_note(ctx, activity, change))])


def _change_note(ctx: Context, activity: RaciActivity, change: rules.Change) -> str:
    by = ctx.member.display_name
    where = f"{act_label(activity)} (in {ctx.initiative.name})"
    if not change.after:
        return f"{by} removed you from {where}; you were {_role_words(change.before)}."
    meaning = "; ".join(f"{rules.ROLE_NAMES[r]}: {rules.ROLE_MEANINGS[r]}" for r in "ARCI" if r in change.after)
    now, was = _role_words(change.after), _role_words(change.before)
    if not change.before:
        return f"{by} made you {now} for {where}. {meaning}."
    return f"{by} changed your role on {where} to {now} (was {was}). {meaning}."


def _role_words(roles: frozenset[str]) -> str:
    return " and ".join(f"{rules.ROLE_NAMES[r]} ({r})" for r in ("A", "R", "C", "I") if r in roles)


def _changes_text(changes: list[rules.Change], names: dict[int, str]) -> list[str]:
    lines = []
    for c in changes:
        who = names.get(c.member_id, str(c.member_id))
        after = rules.cell_label(c.after) or "no role"
        lines.append(f"{who}: {rules.cell_label(c.before) or '-'} → {after}")
    return lines


async def _roles_changed(ctx: Context, activity: RaciActivity, elements: list[Element]) -> Reply:
    """A change of an activity's roles, for everyone, with the roles it still lacks (no
    Accountable, no Responsible) so the gap is seen where it was made."""
    cells = await repo.cells(ctx.session, activity.id)
    issues = rules.check_matrix({act_id(activity): cells}, {})
    gaps = [i.message for i in issues if i.kind in ("no_accountable", "no_responsible")]
    if gaps:
        elements.append(Text("Still open: " + " ".join(gaps)))
    return Reply(elements, visibility="channel")


@command(
    "raci init",
    summary="Create the six Phase 1 deliverables as RACI activities.",
    usage="raci init",
    roles=FACILITATOR,
)
async def init(ctx: Context, args: Parsed) -> Reply:
    have = await repo.deliverable_keys(ctx.session, ctx.initiative.id)
    made = []
    for key, name, description in DELIVERABLES:
        if key in have:
            continue
        act = await new_activity(ctx, name, description)
        act.deliverable = key
        made.append(act)
    if not made:
        return Reply([Text("The six Phase 1 deliverables are already activities. `raci show` shows them.")])
    return Reply(
        [Text(f"Created {len(made)} activities:"), ListItems([act_label(a) for a in made])], visibility="channel"
    )


@command(
    "raci activity add",
    summary="Add an activity to the RACI matrix.",
    usage='raci activity add "NAME" [--description TEXT]',
    args=(Arg("name", required=True),),
    opts=(Opt("description"),),
    roles=FACILITATOR,
    examples=('raci activity add "Data governance policy"',),
)
async def activity_add(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    name = check.text("name", args.text("name"), max_len=NAME_MAX, required=True)
    description = check.text("description", args.text("description"), max_len=DESCRIPTION_MAX)
    check.done()
    await _refuse_taken_name(ctx, name)
    act = await new_activity(ctx, name, description)
    return Reply([Text(f"Added {act_label(act)}. Assign roles with `raci assign {act_id(act)} R @p A @q`.")])


async def _refuse_taken_name(ctx: Context, name: str, keep: RaciActivity | None = None) -> None:
    same = await repo.activity_by_name(ctx.session, ctx.initiative.id, name)
    if same is not None and same is not keep:
        raise UsageError(f'{act_id(same)} is already named "{same.name}"; choose another name.', field="name")


@command(
    "raci activity rename",
    summary="Rename an activity.",
    usage='raci activity rename ACT-n "NAME"',
    args=(Arg("activity", required=True), Arg("name", required=True)),
    roles=FACILITATOR,
)
async def activity_rename(ctx: Context, args: Parsed) -> Reply:
    act = await find_activity(ctx, args.token("activity"))
    check = Check()
    name = check.text("name", args.text("name"), max_len=NAME_MAX, required=True)
    check.done()
    await _refuse_taken_name(ctx, name, keep=act)
    old, act.name = act.name, name
    ctx.audit("raci.activity.rename", act_id(act), old=old, new=name)
    return Reply([Text(f'{act_id(act)} is now "{name}" (was "{old}").')])


@command(
    "raci activity remove",
    summary="Remove an activity (its history stays in the audit log).",
    usage="raci activity remove ACT-n",
    args=(Arg("activity", required=True),),
    roles=FACILITATOR,
)
async def activity_remove(ctx: Context, args: Parsed) -> Reply:
    act = await find_activity(ctx, args.token("activity"))
    act.removed = True
    ctx.audit("raci.activity.remove", act_id(act), name=act.name)
    return Reply([Text(f"Removed {act_label(act)}; its number is not reused.")])


_ASSIGN_ARGS = (Arg("activity", required=True), Arg("targets", rest=True))


@command(
    "raci assign",
    summary="Give people R, A, C or I roles on an activity.",
    usage='raci assign ACTIVITY R @a A @b C @c I @d [--replace]  (ACTIVITY: ACT-n, UC-n, MS-n or "NAME")',
    args=_ASSIGN_ARGS,
    opts=(Opt("replace", flag=True),),
    roles=FACILITATOR,
    examples=('raci assign ACT-2 R @ana @raj A @li C role:"data owner" I @sam', "raci assign ACT-2 A @raj --replace"),
)
async def assign(ctx: Context, args: Parsed) -> Reply:
    act = await find_activity(ctx, args.token("activity"), create=True)
    wanted = await parse_targets(ctx, args.tokens("targets"))
    changes = await apply_assignment(ctx, act, wanted, replace=args.flag("replace"))
    names = await _names(ctx)
    elements: list[Element] = [Text(f"{act_label(act)}: " + ("roles updated." if changes else "nothing changed."))]
    if changes:
        elements.append(ListItems(_changes_text(changes, names)))
    return await _roles_changed(ctx, act, elements)


@command(
    "raci unassign",
    summary="Take people's roles on an activity away.",
    usage="raci unassign ACTIVITY @p [@q ...]",
    args=_ASSIGN_ARGS,
    roles=FACILITATOR,
)
async def unassign(ctx: Context, args: Parsed) -> Reply:
    act = await find_activity(ctx, args.token("activity"))
    people = args.tokens("targets")
    mentions = [p for p in people if isinstance(p, Mention)]
    if not people or len(mentions) != len(people):
        raise UsageError("Mention the people to unassign: raci unassign ACTIVITY @p [@q ...]")
    members = [await ctx.person(p) for p in mentions]
    before = await repo.cells(ctx.session, act.id)
    outcome = rules.unassign(before, [m.id for m in members])
    names = await _names(ctx)
    await store_outcome(ctx, act, before, outcome, names)
    if not outcome.changes:
        return Reply([Text(f"None of them had a role on {act_label(act)}.")])
    elements: list[Element] = [
        Text(f"{act_label(act)}: roles removed."),
        ListItems(_changes_text(outcome.changes, names)),
    ]
    return await _roles_changed(ctx, act, elements)


# ---- proposals --------------------------------------------------------------------------------


@command(
    "raci propose",
    summary="Suggest RACI roles; a facilitator accepts or declines.",
    usage="raci propose ACTIVITY R @a A @b C @c I @d [--replace]",
    args=_ASSIGN_ARGS,
    opts=(Opt("replace", flag=True),),
    examples=("raci propose ACT-3 R @me C @li",),
)
async def propose(ctx: Context, args: Parsed) -> Reply:
    act = await find_activity(ctx, args.token("activity"), create=True)
    wanted = await parse_targets(ctx, args.tokens("targets"))
    replace = args.flag("replace")
    try:  # refuse now what could never be accepted
        rules.assign(
            await repo.cells(ctx.session, act.id),
            [(r, m.id) for r, m in wanted],
            replace=replace,
            names=await _names(ctx),
        )
    except rules.RaciRefused as e:
        raise UsageError(str(e)) from None
    prop = RaciProposal(
        initiative_id=ctx.initiative.id,
        number=await ctx.next_number("PROP"),
        activity_id=act.id,
        assignments=[[r, m.id] for r, m in wanted],
        replace=replace,
        proposed_by_member_id=ctx.member.id,
        status="pending",
        created_at=ctx.now,
    )
    await store.add(ctx.session, prop)
    ref = f"PROP-{prop.number}"
    summary = _proposal_text(act, wanted, replace)
    ctx.audit("raci.propose", ref, activity=act_id(act), proposal=summary)
    buttons = Buttons(
        [
            Button("Accept", f"raci.accept:{prop.number}", ref, "primary"),
            Button("Decline", f"raci.decline:{prop.number}", ref, "danger"),
        ]
    )
    note = Text(
        f"{ctx.member.display_name} proposes ({ref}) {summary}. Or type `raci accept {ref}` or `raci decline {ref}`."
    )
    for m in await scope.members(ctx.session, ctx.initiative.id):
        if m.role == "facilitator" and m.active and m.id != ctx.member.id:
            await ctx.notify_user(m.user_id, [note, buttons])
    return Reply([Text(f"Proposed {ref}: {summary}. A facilitator will accept or decline it.")])


def _proposal_text(act: RaciActivity, wanted: list[tuple[str, Member]], replace: bool) -> str:
    parts = [f"{r} {m.display_name or m.user_id}" for r, m in wanted]
    return f"{act_label(act)}: " + ", ".join(parts) + (" (replacing the current A)" if replace else "")


async def _decide_proposal(ctx: Context, ref: str | None, accept: bool) -> Reply:
    n = parse_human_id(ref, "PROP")
    prop = await repo.proposal(ctx.session, ctx.initiative.id, n) if n is not None else None
    if prop is None:
        raise UsageError(f'There is no proposal "{(ref or "")[:20]}" here; use PROP-n.', field="proposal")
    label = f"PROP-{prop.number}"
    if not await repo.decide_proposal(
        ctx.session, prop.id, "accepted" if accept else "declined", ctx.member.id, ctx.now
    ):
        return Reply([Text(f"{label} was already {prop.status}.")])
    act = await repo.activity(ctx.session, ctx.initiative.id, prop.activity_id)
    proposer = await repo.member_by_id(ctx.session, ctx.initiative.id, prop.proposed_by_member_id)
    if act is None or act.removed:
        raise UsageError(f"The activity of {label} was removed; decline it instead.")
    if not accept:
        ctx.audit("raci.proposal.decline", label)
        if proposer is not None:
            await ctx.notify_user(
                proposer.user_id, [Text(f"{ctx.member.display_name} declined {label} ({act_label(act)}).")]
            )
        return Reply([Text(f"Declined {label}.")])
    wanted = []
    for role, member_id in prop.assignments:
        m = await repo.member_by_id(ctx.session, ctx.initiative.id, int(member_id))
        if m is not None:
            wanted.append((str(role), m))
    changes = await apply_assignment(ctx, act, wanted, replace=prop.replace)
    ctx.audit("raci.proposal.accept", label)
    if proposer is not None:
        await ctx.notify_user(
            proposer.user_id, [Text(f"{ctx.member.display_name} accepted {label} ({act_label(act)}).")]
        )
    names = await _names(ctx)
    return Reply([Text(f"Accepted {label}."), ListItems(_changes_text(changes, names))], visibility="channel")


@command(
    "raci accept",
    summary="Accept a RACI proposal.",
    usage="raci accept PROP-n",
    args=(Arg("proposal", required=True),),
    roles=FACILITATOR,
)
async def accept_command(ctx: Context, args: Parsed) -> Reply:
    return await _decide_proposal(ctx, args.text("proposal"), True)


@command(
    "raci decline",
    summary="Decline a RACI proposal.",
    usage="raci decline PROP-n",
    args=(Arg("proposal", required=True),),
    roles=FACILITATOR,
)
async def decline_command(ctx: Context, args: Parsed) -> Reply:
    return await _decide_proposal(ctx, args.text("proposal"), False)


@action("raci.accept", roles=FACILITATOR)
async def accept_clicked(ctx: Context, clicked: Action) -> Reply:
    return await _decide_proposal(ctx, clicked.value, True)


@action("raci.decline", roles=FACILITATOR)
async def decline_clicked(ctx: Context, clicked: Action) -> Reply:
    return await _decide_proposal(ctx, clicked.value, False)


# ---- views ------------------------------------------------------------------------------------


async def matrix_table(session: AsyncSession, initiative_id: int) -> Table | None:
    """Activities as rows, people as columns, R/A/C/I in the cells; people who left are marked."""
    acts = await repo.activities(session, initiative_id)
    if not acts:
        return None
    cells = await repo.all_cells(session, initiative_id)
    people = await scope.members(session, initiative_id)
    involved = {m for a in cells.values() for m in a}
    cols = [m for m in people if m.id in involved]
    headers = ["Activity"] + [(m.display_name or m.user_id) + ("" if m.active else " (left)") for m in cols]
    rows = [[act_label(a)] + [rules.cell_label(cells.get(a.id, {}).get(m.id, ())) for m in cols] for a in acts]
    return Table(headers, rows)


@command(
    "raci show",
    summary="Show the RACI matrix, or one person's roles.",
    usage="raci show [@person]",
    args=(Arg("person"),),
)
async def show(ctx: Context, args: Parsed) -> Reply:
    if args.has("person"):
        check = Check()
        mention = check.person("person", args.token("person"), required=True)
        return await _person_roles(ctx, await ctx.person(check.present(mention)))
    table = await matrix_table(ctx.session, ctx.initiative.id)
    if table is None:
        return Reply([Text("No activities yet. `raci init` creates the six Phase 1 deliverables.")])
    return Reply([Text("RACI matrix (A/R: Accountable and also Responsible)"), table])


@command("raci mine", menu=True, summary="Your RACI roles.", usage="raci mine")
async def mine(ctx: Context, args: Parsed) -> Reply:
    return await _person_roles(ctx, ctx.member)


async def _person_roles(ctx: Context, member: Member) -> Reply:
    acts = await repo.activities(ctx.session, ctx.initiative.id)
    cells = await repo.all_cells(ctx.session, ctx.initiative.id)
    name = member.display_name or member.user_id
    rows = [
        [act_label(a), rules.cell_label(cells[a.id][member.id]), _role_words(cells[a.id][member.id])]
        for a in acts
        if member.id in cells.get(a.id, {})
    ]
    if not rows:
        return Reply([Text(f"{name} has no RACI role yet.")])
    left = "" if member.active else " (has left: reassign these)"
    return Reply([Text(f"{name}'s roles{left}"), Table(["Activity", "Role", "Meaning"], rows)])


@command(
    "raci check",
    summary="List every RACI rule violation and gap.",
    usage="raci check [--overload N]",
    opts=(Opt("overload"),),
)
async def check_command(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    overload = check.whole("overload", args.text("overload"), 1, 1000)
    check.done()
    acts = await repo.activities(ctx.session, ctx.initiative.id)
    cells = await repo.all_cells(ctx.session, ctx.initiative.id)
    people = await scope.members(ctx.session, ctx.initiative.id)
    issues = rules.check_matrix(
        {act_label(a): cells.get(a.id, {}) for a in acts},
        {m.id: m.display_name or m.user_id for m in people},
        inactive=[m.id for m in people if not m.active],
        overload=overload or rules.DEFAULT_OVERLOAD,
    )
    if not acts:
        return Reply([Text("No activities yet. `raci init` creates the six Phase 1 deliverables.")])
    if not issues:
        return Reply([Text(f"The RACI matrix is complete: {len(acts)} activities, each with one A and an R.")])
    return Reply([Text(f"{len(issues)} RACI issue(s):"), ListItems([i.message for i in issues])])
