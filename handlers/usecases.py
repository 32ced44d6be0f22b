"""Use cases (Phase 1, step 1): propose, list, show, edit, requirements and the status workflow.

The pure rules (allowed status moves here, the score in scoring.py, title similarity in
title_rules.py) are plain functions so they can be tested without a database; the commands load,
call them, store, audit and say what to send.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from handlers import formats
from handlers.context import Context
from handlers.fields import LONG_MAX, SHORT_MAX, TITLE_MAX, Check, checked_reason, person_token
from handlers.grammar import Arg, Opt, Parsed, UsageError
from handlers.items import edited, history, may_change, name_of, numbered_columns, uc_id, use_case_or_refuse
from handlers.messages import (
    Action,
    Element,
    Fields,
    Form,
    FormField,
    FormSubmission,
    Heading,
    ListItems,
    Reply,
    Table,
    Text,
)
from handlers.registry import FACILITATOR, action, command, form
from handlers.report_rules import is_set_aside
from handlers.scoring import level, risk_score, score, sort_use_cases
from handlers.title_rules import similar_title
from storage.models import Kpi, Requirement, Risk, UseCase
from storage.repos import store
from storage.repos import usecases as repo

DESCRIPTION_MAX = 3000
REQUIREMENT_MAX = 300
REQUIREMENTS_PER_USE_CASE = 50
LINK_MAX = 500
FORM_TEXT_MAX = 3000  # Slack's limit for a text input

CATEGORIES = {
    "data engineering": "data engineering",
    "engineering": "data engineering",
    "de": "data engineering",
    "data science": "data science",
    "ds": "data science",
    "machine learning": "machine learning",
    "ml": "machine learning",
    "analytics/bi": "analytics/BI",
    "analytics": "analytics/BI",
    "bi": "analytics/BI",
    "real-time/streaming": "real-time/streaming",
    "real-time": "real-time/streaming",
    "realtime": "real-time/streaming",
    "streaming": "real-time/streaming",
    "governance": "governance",
    "other": "other",
}
STATUSES = {s: s for s in ("proposed", "shortlisted", "approved", "rejected", "withdrawn")}
# Where each status may go next; approved, rejected and withdrawn are final.
NEXT_STATUS = {
    "proposed": ("shortlisted", "rejected", "withdrawn"),
    "shortlisted": ("approved", "rejected", "withdrawn"),
}
SORTS = {"priority": "priority", "impact": "impact", "feasibility": "feasibility", "score": "score", "newest": "newest"}
FORCE_YES = "yes"
MOVED_PLURALS = {"requirement": "requirements", "KPI": "KPIs", "RACI activity": "RACI activities", "risk": "risks"}

# The text fields and their length limits; the same names are the commands' --options.
TEXT_FIELDS = {
    "title": TITLE_MAX,
    "description": DESCRIPTION_MAX,
    "department": SHORT_MAX,
    "sources": LONG_MAX,
    "benefit": LONG_MAX,
}
COLUMN = {"sources": "data_sources", "benefit": "expected_benefit"}


# ---- pure rules -----------------------------------------------------------------------------


def status_move_error(current: str, new: str) -> str | None:
    """Why `current` -> `new` is not allowed, or None when it is."""
    if current == new:
        return f"It is already {new}."
    allowed = NEXT_STATUS.get(current, ())
    if new in allowed:
        return None
    if not allowed:
        return f"It is {current}, which is final: its status cannot change any more."
    return f"A {current} use case can become {', '.join(allowed)}; not {new}."


def split_requirements(text: str | None) -> list[str]:
    """One requirement per line (or per `;` on a command line), blanks dropped."""
    return [part.strip() for part in re.split(r"[\n;]", text or "") if part.strip()]


# ---- form -----------------------------------------------------------------------------------


def propose_form(values: dict[str, str] | None = None, hints: dict[str, str] | None = None) -> Form:
    v = values or {}
    return Form(
        command="usecase propose",
        title="Propose a use case",
        submit_label="Propose",
        hints=hints or {},
        fields=[
            FormField("title", "Title", required=True, max_length=TITLE_MAX, initial=v.get("title", "")),
            FormField(
                "description",
                "Description",
                kind="textarea",
                max_length=DESCRIPTION_MAX,
                initial=v.get("description", ""),
            ),
            FormField("impact", "Business impact (1-5)", kind="select", options=_scale(), initial=v.get("impact", "")),
            FormField(
                "feasibility",
                "Feasibility (1-5)",
                kind="select",
                options=_scale(),
                initial=v.get("feasibility", ""),
            ),
            FormField("category", "Category", kind="select", options=_choices(CATEGORIES)),
            FormField("sponsor", "Sponsor", kind="user"),
            FormField("department", "Department", max_length=SHORT_MAX),
            FormField("sources", "Data sources involved", kind="textarea", max_length=LONG_MAX),
            FormField("benefit", "Expected benefit", kind="textarea", max_length=LONG_MAX),
            FormField(
                "requirements",
                "High-level requirements (one per line)",
                kind="textarea",
                max_length=FORM_TEXT_MAX,
            ),
            FormField(
                "force",
                "If a use case with a similar title exists",
                kind="select",
                options=[(FORCE_YES, "Propose mine anyway")],
            ),
        ],
    )


def _scale() -> list[tuple[str, str]]:
    return [(str(i), str(i)) for i in range(1, 6)]


def _choices(allowed: dict[str, str]) -> list[tuple[str, str]]:
    return [(v, v) for v in dict.fromkeys(allowed.values())]


# ---- commands -------------------------------------------------------------------------------

# A use case's fields as `usecase propose` and its form take them; `usecase edit` changes the same
# ones but requirements (`usecase require` adds those).
EDITABLE = ("title", "description", "impact", "feasibility", "category", "sponsor", "department", "sources", "benefit")
PROPOSE_FIELDS = (*EDITABLE, "requirements")


async def create_use_case(
    ctx: Context, values: dict[str, Any], *, force: bool, link: str = "", from_form: bool = False
) -> Reply:
    check = Check()
    texts = {
        name: check.text(name, values.get(name), max_len=limit, required=name == "title")
        for name, limit in TEXT_FIELDS.items()
    }
    impact = check.whole("impact", values.get("impact"), 1, 5)
    feasibility = check.whole("feasibility", values.get("feasibility"), 1, 5)
    category = check.choice("category", values.get("category"), CATEGORIES)
    sponsor = check.person("sponsor", person_token(values.get("sponsor")))
    reqs = _check_requirements(check, values.get("requirements"), already=0)
    link = _check_link(check, link)
    check.done()
    if not force:
        await _refuse_near_duplicate(ctx, texts["title"], from_form=from_form)
    sponsor_member = await ctx.person(sponsor) if sponsor else None
    values = dict(
        **await numbered_columns(ctx, "UC"),
        title=texts["title"],
        description=texts["description"],
        category=category,
        impact=impact,
        feasibility=feasibility,
        sponsor_member_id=sponsor_member.id if sponsor_member else None,
        department=texts["department"],
        data_sources=texts["sources"],
        expected_benefit=texts["benefit"],
        source_link=link,
        proposer_member_id=ctx.member.id,
        status="proposed",
    )
    uc = await repo.add(ctx.session, values)
    await _add_requirements(ctx, uc, reqs)
    ctx.audit("usecase.propose", uc_id(uc), title=uc.title, requirements=len(reqs))
    elements: list[Element] = [
        Text(f"{ctx.member.display_name} proposed {uc_id(uc)}: {uc.title}"),
        Fields(_summary_fields(uc)),
    ]
    if reqs:
        elements.append(ListItems(reqs))
    return Reply(elements, visibility="channel")


def _check_link(check: Check, raw: str) -> str:
    link = check.text("link", raw, max_len=LINK_MAX)
    if link and not re.fullmatch(r"https://\S+", link):
        check.fail("link", "The link back to the message must be an https:// address.")
    return link


async def _refuse_near_duplicate(ctx: Context, title: str, *, from_form: bool) -> None:
    """A live use case with the same or a very close title: say which, and how to propose anyway."""
    # row[1], not row.title: looking up a Row's attribute by name, for every live title, was
    # 11 % of a proposal's instructions at 330 titles (callgrind)
    existing = [(row[1], row) for row in await repo.live_titles(ctx.session, ctx.initiative.id)]
    twin = similar_title(title, existing)
    if twin is None:
        return
    if from_form:  # shown next to the title field, where Slack allows 150 characters
        short = twin.title if len(twin.title) <= 40 else twin.title[:39] + "…"
        message = f'Close to {uc_id(twin)} "{short}". Change the title, or pick "Propose mine anyway" below.'
    else:
        message = (
            f'{uc_id(twin)} "{twin.title}" already has the same or a very close title. '
            f"Look at it with `usecase show {uc_id(twin)}`; if yours is different, propose again with --force."
        )
    raise UsageError(message, field="title")


def _check_requirements(check: Check, raw: Any, *, already: int) -> list[str]:
    lines = split_requirements(" \n".join(raw) if isinstance(raw, list) else raw)
    out = [check.text("requirements", line, max_len=REQUIREMENT_MAX) for line in lines]
    if already + len(out) > REQUIREMENTS_PER_USE_CASE:
        check.fail(
            "requirements",
            f"a use case can have at most {REQUIREMENTS_PER_USE_CASE} requirements; "
            f"it has {already} and this adds {len(out)}.",
        )
    return out


async def _add_requirements(ctx: Context, uc: UseCase, lines: list[str]) -> None:
    await store.add(
        ctx.session,
        *(
            Requirement(use_case_id=uc.id, text=line, created_by_member_id=ctx.member.id, created_at=ctx.now)
            for line in lines
        ),
    )


def _summary_fields(uc: UseCase) -> list[tuple[str, str]]:
    s = score(uc)
    return [
        ("Impact", str(uc.impact or "-")),
        ("Feasibility", str(uc.feasibility or "-")),
        ("Score", str(s) if s is not None else "-"),
        ("Status", uc.status),
    ]


@command(
    "usecase propose",
    menu=True,
    summary="Propose a use case (no title: opens a form).",
    usage='usecase propose "TITLE" [--description TEXT] [--impact 1-5] [--feasibility 1-5] [--category C] '
    '[--sponsor @p] [--department TEXT] [--sources TEXT] [--benefit TEXT] [--requirements "A; B"] [--force]',
    args=(Arg("title"),),
    opts=(*(Opt(n) for n in PROPOSE_FIELDS if n != "title"), Opt("force", flag=True)),
    examples=(
        'usecase propose "Migrate legacy ETL" --impact 5 --feasibility 3',
        'usecase propose "Churn model" --category ml --sponsor @dana --requirements "Daily scores; GDPR review"',
    ),
)
async def propose(ctx: Context, args: Parsed) -> Reply:
    if args.text("title") is None and not args.opts:
        return Reply([propose_form()])
    values = {k: args.opts.get(k) if k == "sponsor" else args.text(k) for k in PROPOSE_FIELDS}
    return await create_use_case(ctx, values, force=args.flag("force"))


@form("usecase propose")
async def propose_submitted(ctx: Context, submission: FormSubmission) -> Reply:
    values = {k: submission.values.get(k) for k in PROPOSE_FIELDS}
    force = submission.values.get("force") == FORCE_YES
    link = submission.hints.get("source_link", "")
    return await create_use_case(ctx, values, force=force, link=link, from_form=True)


@action("usecase.from_message")
async def propose_from_message(ctx: Context, act: Action) -> Reply:
    """A chat message becomes the description of a new proposal, with a link back to it."""
    try:
        data = json.loads(act.value)
        text, link = str(data.get("text") or ""), str(data.get("link") or "")
    except (ValueError, AttributeError):
        text, link = "", ""
    return Reply([propose_form({"description": text[:DESCRIPTION_MAX]}, hints={"source_link": link[:LINK_MAX]})])


@command(
    "usecase list",
    menu=True,
    summary="List the initiative's use cases, optionally filtered and sorted.",
    usage="usecase list [--status S] [--category C] [--sort priority|impact|feasibility|score|newest]",
    opts=(Opt("status"), Opt("category"), Opt("sort")),
    examples=("usecase list --status shortlisted --sort score",),
)
async def list_use_cases(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    status = check.choice("status", args.text("status"), STATUSES)
    category = check.choice("category", args.text("category"), CATEGORIES)
    sort = check.choice("sort", args.text("sort"), SORTS)
    check.done()
    cases = await repo.list_for(ctx.session, ctx.initiative.id, status=status, category=category)
    if not cases:
        if status or category:
            return Reply([Text("No use cases match those filters.")])
        return Reply([Text('No use cases yet. Propose one with `usecase propose "TITLE"`.')])
    ordered = sort_use_cases(cases, sort)
    headers = ["ID", "Title", "Impact", "Feasibility", "Score", "Status"]
    rows = [
        [uc_id(uc), uc.title, str(uc.impact or "-"), str(uc.feasibility or "-"), str(score(uc) or "-"), uc.status]
        for uc in ordered
    ]
    if sort == "priority":
        # The rank the chosen priority poll gave (tied use cases share it); unranked ones, last, have none.
        headers.insert(0, "Rank")
        rows = [[str(uc.priority_rank or ""), *row] for uc, row in zip(ordered, rows, strict=True)]
    return Reply([Text(f"{len(cases)} use case(s)"), Table(headers, rows)])


@command(
    "usecase show",
    summary="Everything about one use case: fields, requirements, KPIs, risks, priority, history.",
    usage="usecase show UC-n",
    args=(Arg("usecase", required=True),),
    examples=("usecase show UC-1",),
)
async def show(ctx: Context, args: Parsed) -> Reply:
    uc = await use_case_or_refuse(ctx, args.text("usecase"))
    elements: list[Element] = [Heading(f"{uc_id(uc)}: {uc.title}")]
    if uc.description:
        elements.append(Text(uc.description))
    elements.append(Fields(await _show_fields(ctx, uc)))
    reqs = await repo.requirements(ctx.session, uc.id)
    kpis = await repo.kpis(ctx.session, ctx.initiative.id, uc.id)
    risks = await repo.risks(ctx.session, ctx.initiative.id, uc.id)
    elements += _attached("Requirements", [r.text for r in reqs])
    elements += _attached("KPIs", [_kpi_line(k) for k in kpis])
    elements += _attached("Risks", [_risk_line(r) for r in risks])
    elements += [Text("History"), ListItems(await history(ctx, uc_id(uc)))]
    return Reply(elements)


async def _show_fields(ctx: Context, uc: UseCase) -> list[tuple[str, str]]:
    members = await repo.members_by_id(ctx.session, ctx.initiative.id)
    fields = [
        ("Status", uc.status + (f" ({uc.status_reason})" if uc.status_reason else "")),
        ("Category", uc.category or "-"),
        *_summary_fields(uc)[:3],
        ("Proposer", name_of(members, uc.proposer_member_id)),
        ("Sponsor", name_of(members, uc.sponsor_member_id)),
        ("Department", uc.department or "-"),
        ("Data sources", uc.data_sources or "-"),
        ("Expected benefit", uc.expected_benefit or "-"),
    ]
    if uc.priority_rank is not None:
        poll = (
            await repo.poll_number(ctx.session, ctx.initiative.id, uc.priority_poll_id) if uc.priority_poll_id else None
        )
        fields.append(("Priority", f"#{uc.priority_rank}" + (f" (set by POLL-{poll})" if poll else "")))
    polls = await repo.polls_with_option(ctx.session, ctx.initiative.id, uc.id)
    if polls:
        fields.append(("Polls", f"an option in {polls} poll(s)"))
    if uc.source_link:
        fields.append(("From message", uc.source_link))
    return fields


def _attached(what: str, lines: list[str]) -> list[Element]:
    """What hangs off the use case, counted: its requirements, KPIs or risks."""
    return [Text(f"{what} ({len(lines)})"), ListItems(lines or ["none yet"])]


def _kpi_line(k: Kpi) -> str:
    moves = f"{formats.number(k.baseline)} → {formats.number(k.target)} {k.unit}".rstrip()
    return f"KPI-{k.number} {k.name}: {moves} ({k.status})"


def _risk_line(r: Risk) -> str:
    s = risk_score(r.likelihood, r.impact)
    return f"RISK-{r.number} {r.title}: {level(s)} (score {s}, {r.status})"


@command(
    "usecase edit",
    summary="Change fields of a use case (its proposer or a facilitator).",
    usage="usecase edit UC-n [--title T] [--description T] [--impact 1-5] [--feasibility 1-5] [--category C] "
    "[--sponsor @p] [--department T] [--sources T] [--benefit T]",
    args=(Arg("usecase", required=True),),
    opts=tuple(Opt(n) for n in EDITABLE),
    examples=("usecase edit UC-1 --impact 4 --department Finance",),
)
async def edit(ctx: Context, args: Parsed) -> Reply:
    uc = await use_case_or_refuse(ctx, args.text("usecase"))
    if not may_change(ctx, uc.proposer_member_id):
        raise UsageError(f"Only the proposer of {uc_id(uc)} or a facilitator can edit it.")
    if uc.status == "withdrawn":
        raise UsageError(f"{uc_id(uc)} is withdrawn; it cannot be edited.")
    if not args.opts:
        raise UsageError(f"Say what to change, e.g. `usecase edit {uc_id(uc)} --impact 4`.")
    check = Check()
    new: dict[str, Any] = {}
    for name, limit in TEXT_FIELDS.items():
        if args.has(name):
            new[COLUMN.get(name, name)] = check.text(name, args.text(name), max_len=limit, required=name == "title")
    for name in ("impact", "feasibility"):
        if args.has(name):
            new[name] = check.whole(name, args.text(name), 1, 5, required=True)
    if args.has("category"):
        new["category"] = check.choice("category", args.text("category"), CATEGORIES, required=True)
    sponsor = (
        check.person("sponsor", person_token(args.token("sponsor")), required=True) if args.has("sponsor") else None
    )
    check.done()
    if sponsor is not None:
        new["sponsor_member_id"] = (await ctx.person(sponsor)).id
    return edited(ctx, uc, uc_id(uc), new, "usecase.edit")


@command(
    "usecase require",
    summary="Add a high-level requirement to a use case (its proposer or a facilitator).",
    usage='usecase require UC-n "requirement text"',
    args=(Arg("usecase", required=True), Arg("text", required=True)),
    examples=('usecase require UC-1 "Nightly load finishes before 6:00"',),
)
async def require(ctx: Context, args: Parsed) -> Reply:
    uc = await use_case_or_refuse(ctx, args.text("usecase"))
    if not may_change(ctx, uc.proposer_member_id):
        raise UsageError(f"Only the proposer of {uc_id(uc)} or a facilitator can add requirements to it.")
    if uc.status in ("withdrawn", "rejected"):
        raise UsageError(f"{uc_id(uc)} is {uc.status}; it takes no more requirements.")
    check = Check()
    text = check.text("requirement", args.text("text"), max_len=REQUIREMENT_MAX, required=True)
    have = await repo.count_requirements(ctx.session, uc.id)
    if have >= REQUIREMENTS_PER_USE_CASE:
        check.fail("requirement", f"{uc_id(uc)} already has the maximum of {REQUIREMENTS_PER_USE_CASE} requirements.")
    check.done()
    await _add_requirements(ctx, uc, [text])
    uc.updated_at = ctx.now
    ctx.audit("usecase.require", uc_id(uc), text=text)
    return Reply([Text(f"Requirement {have + 1} added to {uc_id(uc)}: {text}")])


@command(
    "usecase withdraw",
    summary="Withdraw a use case (its proposer or a facilitator).",
    usage="usecase withdraw UC-n [--reason TEXT]",
    args=(Arg("usecase", required=True),),
    opts=(Opt("reason"),),
)
async def withdraw(ctx: Context, args: Parsed) -> Reply:
    uc = await use_case_or_refuse(ctx, args.text("usecase"))
    if not may_change(ctx, uc.proposer_member_id):
        raise UsageError(f"Only the proposer of {uc_id(uc)} or a facilitator can withdraw it.")
    return await _move(ctx, uc, "withdrawn", args.text("reason"))


@command(
    "usecase merge",
    summary="Merge a duplicate use case into another: its requirements, KPIs, risks and priority follow.",
    usage="usecase merge UC-keep UC-duplicate [--reason TEXT]",
    args=(Arg("keep", required=True), Arg("duplicate", required=True)),
    opts=(Opt("reason"),),
    roles=FACILITATOR,
    examples=('usecase merge UC-2 UC-7 --reason "Same churn model"',),
)
async def merge(ctx: Context, args: Parsed) -> Reply:
    keep = await use_case_or_refuse(ctx, args.text("keep"), "keep")
    drop = await use_case_or_refuse(ctx, args.text("duplicate"), "duplicate")
    reason = checked_reason(args.text("reason"))
    await _refuse_merge(ctx, keep, drop)
    moved = await repo.move_attachments(ctx.session, keep, drop)
    take_over(keep, drop, ctx.now)
    why = f"merged into {uc_id(keep)}" + (f": {reason}" if reason else "")
    old = drop.status
    drop.status, drop.status_reason, drop.updated_at = "merged", why, ctx.now
    ctx.audit("usecase.merged", uc_id(drop), old=old, new="merged", into=uc_id(keep), reason=why, moved=moved)
    parts = [f"{n} {what if n == 1 else MOVED_PLURALS[what]}" for what, n in moved.items() if n]
    line = f"Merged {uc_id(drop)} {drop.title} into {uc_id(keep)} {keep.title}"
    line += f" ({', '.join(parts)} moved)." if parts else "."
    return Reply([Text(line + f" {uc_id(drop)} is set aside as merged.")], visibility="channel")


async def _refuse_merge(ctx: Context, keep: UseCase, drop: UseCase) -> None:
    if keep.id == drop.id:
        raise UsageError(f"{uc_id(keep)} cannot be merged into itself: name the duplicate second.", "duplicate")
    for uc, field in ((keep, "keep"), (drop, "duplicate")):
        if is_set_aside("UC", uc.status):
            raise UsageError(f"{uc_id(uc)} is {uc.status}: only live use cases can be merged.", field)
    polls = await repo.open_polls_with(ctx.session, [keep.id, drop.id])
    if polls:
        names = ", ".join(f"POLL-{n}" for n in polls)
        raise UsageError(
            f"{names} still counts votes for {uc_id(keep)} or {uc_id(drop)}: merge once it has closed.", "duplicate"
        )


def take_over(keep: UseCase, drop: UseCase, now: datetime) -> None:
    """The better priority rank (and its poll) and any text field `keep` left empty."""
    if drop.priority_rank is not None and (keep.priority_rank is None or drop.priority_rank < keep.priority_rank):
        keep.priority_rank, keep.priority_poll_id = drop.priority_rank, drop.priority_poll_id
    for name in ("description", "department", "data_sources", "expected_benefit", "category"):
        if not getattr(keep, name) and getattr(drop, name):
            setattr(keep, name, getattr(drop, name))
    keep.updated_at = now


@command(
    "usecase status",
    summary="Shortlist, approve or reject a use case.",
    usage='usecase status UC-n shortlisted|approved|rejected|withdrawn [--reason "..."]',
    args=(Arg("usecase", required=True), Arg("status", required=True)),
    opts=(Opt("reason"),),
    roles=FACILITATOR,
    examples=('usecase status UC-2 approved --reason "Top of the vote"',),
)
async def set_status(ctx: Context, args: Parsed) -> Reply:
    uc = await use_case_or_refuse(ctx, args.text("usecase"))
    check = Check()
    new = check.choice("status", args.text("status"), {s: s for s in STATUSES if s != "proposed"}, required=True)
    new = check.present(new)
    return await _move(ctx, uc, new, args.text("reason"))


async def _move(ctx: Context, uc: UseCase, new: str, raw_reason: str | None) -> Reply:
    reason = checked_reason(raw_reason)
    problem = status_move_error(uc.status, new)
    if problem:
        raise UsageError(f"{uc_id(uc)} cannot become {new}: {problem}")
    old = uc.status
    uc.status, uc.status_reason, uc.updated_at = new, reason, ctx.now
    ctx.audit(f"usecase.{new}", uc_id(uc), old=old, new=new, reason=reason)
    line = f"{uc_id(uc)} {uc.title} is now {new} (was {old})" + (f": {reason}" if reason else ".")
    if uc.proposer_member_id != ctx.member.id:
        members = await repo.members_by_id(ctx.session, ctx.initiative.id)
        proposer = members.get(uc.proposer_member_id)
        if proposer is not None:
            await ctx.notify_user(
                proposer.user_id,
                [Text(f"Your use case {line} Changed by {ctx.member.display_name}.")],
                dedupe_key=f"usecase-status:{ctx.initiative.id}:{uc.number}:{new}",
            )
    return Reply([Text(line)], visibility="channel")
