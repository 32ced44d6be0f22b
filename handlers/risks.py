"""Risk reports (Phase 1, step 5): report, list, show and update, with every re-score kept.

A new risk at level high or critical is announced in the initiative's channel and to its owner
through the outbox, so the announcement is stored with the risk or not at all.
"""

from __future__ import annotations

from typing import Any

from handlers.context import Context
from handlers.fields import LONG_MAX, TITLE_MAX, Check, changed_names, changes, fmt_dt, person_token
from handlers.grammar import Arg, Opt, Parsed, UsageError
from handlers.items import history, may_change, name_of, numbered_columns, numbered_or_refuse, uc_id, use_case_or_refuse
from handlers.messages import Fields, Form, FormField, FormSubmission, Heading, ListItems, Reply, Table, Text
from handlers.registry import command, form
from handlers.scoring import level, risk_score
from storage.models import Member, Risk, RiskScoreChange, RiskUseCase
from storage.repos import risks as repo
from storage.repos import store
from storage.repos import usecases as uc_repo

DESCRIPTION_MAX = 3000
LINKS_MAX = 20

CATEGORIES = {
    "data migration": "data migration",
    "migration": "data migration",
    "skills gap": "skills gap",
    "skills": "skills gap",
    "resistance to change": "resistance to change",
    "resistance": "resistance to change",
    "change": "resistance to change",
    "security & compliance": "security & compliance",
    "security and compliance": "security & compliance",
    "security": "security & compliance",
    "compliance": "security & compliance",
    "cost": "cost",
    "vendor lock-in": "vendor lock-in",
    "lock-in": "vendor lock-in",
    "timeline": "timeline",
    "data quality": "data quality",
    "quality": "data quality",
    "other": "other",
}
STATUSES = {s: s for s in ("open", "mitigating", "accepted", "closed")}
LEVELS = {s: s for s in ("low", "medium", "high", "critical")}
ANNOUNCED = ("high", "critical")


# ---- pure rules -----------------------------------------------------------------------------


def _score(risk: Risk) -> int:
    return risk_score(risk.likelihood, risk.impact)


def sort_by_score(risks: list[Risk]) -> list[Risk]:
    return sorted(risks, key=lambda r: (-_score(r), r.number))


def rid(risk: Risk) -> str:
    return f"RISK-{risk.number}"


# ---- form -----------------------------------------------------------------------------------


def report_form() -> Form:
    scale = [(str(i), str(i)) for i in range(1, 6)]
    return Form(
        command="risk report",
        title="Report a risk",
        submit_label="Report",
        fields=[
            FormField("title", "Title", required=True, max_length=TITLE_MAX),
            FormField("description", "Description", kind="textarea", max_length=DESCRIPTION_MAX),
            FormField(
                "category",
                "Category",
                kind="select",
                required=True,
                options=[(v, v) for v in dict.fromkeys(CATEGORIES.values())],
            ),
            FormField("likelihood", "Likelihood (1-5)", kind="select", required=True, options=scale),
            FormField("impact", "Impact (1-5)", kind="select", required=True, options=scale),
            FormField("mitigation", "Mitigation plan", kind="textarea", max_length=LONG_MAX),
            FormField("owner", "Owner", kind="user"),
            FormField("usecase", "Linked use cases (UC-1 UC-2)", max_length=200, placeholder="UC-1"),
            FormField("review", "Review date", kind="date"),
        ],
    )


# ---- commands -------------------------------------------------------------------------------

REPORT_FIELDS = ("title", "description", "category", "likelihood", "impact", "mitigation", "owner", "usecase", "review")


async def create_risk(ctx: Context, values: dict[str, Any]) -> Reply:
    check = Check()
    title = check.text("title", values.get("title"), max_len=TITLE_MAX, required=True)
    description = check.text("description", values.get("description"), max_len=DESCRIPTION_MAX)
    category = check.choice("category", values.get("category"), CATEGORIES, required=True)
    likelihood = check.whole("likelihood", values.get("likelihood"), 1, 5, required=True)
    impact = check.whole("impact", values.get("impact"), 1, 5, required=True)
    mitigation = check.text("mitigation", values.get("mitigation"), max_len=LONG_MAX)
    owner = check.person("owner", person_token(values.get("owner")))
    review = check.day("review", values.get("review"), not_before=ctx.today)
    refs = _refs(values.get("usecase"))
    if len(refs) > LINKS_MAX:
        check.fail("usecase", f"link at most {LINKS_MAX} use cases.")
    check.done()
    cases = [await use_case_or_refuse(ctx, ref) for ref in dict.fromkeys(refs)]
    owner_member = await ctx.person(owner) if owner else None
    risk = Risk(
        **await numbered_columns(ctx, "RISK"),
        title=title,
        description=description,
        category=category,
        likelihood=likelihood,
        impact=impact,
        mitigation=mitigation,
        owner_member_id=owner_member.id if owner_member else None,
        status="open",
        review_date=review,
        created_by_member_id=ctx.member.id,
    )
    await store.add(ctx.session, risk)
    await store.add(
        ctx.session, *(RiskUseCase(risk_id=risk.id, use_case_id=i) for i in dict.fromkeys(uc.id for uc in cases))
    )
    ctx.audit("risk.report", rid(risk), title=title, score=_score(risk), usecases=[uc_id(uc) for uc in cases])
    if level(_score(risk)) in ANNOUNCED:
        await _announce(ctx, risk, owner_member)
    summary = [*_rating_fields(risk), ("Use cases", ", ".join(uc_id(uc) for uc in cases) or "-")]
    return Reply([Text(f"{ctx.member.display_name} reported {rid(risk)}: {title}"), Fields(summary)], "channel")


def _rating_fields(risk: Risk) -> list[tuple[str, str]]:
    """How the risk is rated, as `risk report` answers and `risk show` lists it."""
    return [
        ("Category", risk.category),
        ("Likelihood", str(risk.likelihood)),
        ("Impact", str(risk.impact)),
        ("Score", str(_score(risk))),
        ("Level", level(_score(risk))),
    ]


async def _announce(ctx: Context, risk: Risk, owner: Member | None) -> None:
    """A new high or critical risk is said in the channel and to its owner, through the outbox."""
    s = _score(risk)
    alert = [Text(f"New {level(s)} risk {rid(risk)}: {risk.title} (score {s}), reported by {ctx.member.display_name}.")]
    await ctx.post_to_channel(alert, dedupe_key=f"risk-new:{ctx.initiative.id}:{risk.number}:channel")
    if owner is not None:
        await ctx.notify_user(
            owner.user_id,
            [*alert, Text(f"You are its owner. `risk show {rid(risk)}` has the details.")],
            dedupe_key=f"risk-new:{ctx.initiative.id}:{risk.number}:owner",
        )


def _refs(raw: Any) -> list[str]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [part for item in items for part in str(item).replace(",", " ").split() if part]


@command(
    "risk report",
    menu=True,
    summary="Report a risk (no title: opens a form).",
    usage='risk report "TITLE" --category C --likelihood 1-5 --impact 1-5 [--mitigation TEXT] [--owner @p] '
    "[--usecase UC-n ...] [--description TEXT] [--review YYYY-MM-DD]",
    args=(Arg("title"),),
    opts=(
        Opt("category"),
        Opt("likelihood"),
        Opt("impact"),
        Opt("mitigation"),
        Opt("owner"),
        Opt("usecase", many=True),
        Opt("description"),
        Opt("review"),
    ),
    examples=('risk report "Skills gap in Spark" --category "skills gap" --likelihood 4 --impact 3 --usecase UC-1',),
)
async def report(ctx: Context, args: Parsed) -> Reply:
    if args.text("title") is None and not args.opts:
        return Reply([report_form()])
    values = {k: args.opts.get(k) if k in ("owner", "usecase") else args.text(k) for k in REPORT_FIELDS}
    return await create_risk(ctx, values)


@form("risk report")
async def report_submitted(ctx: Context, submission: FormSubmission) -> Reply:
    return await create_risk(ctx, {k: submission.values.get(k) for k in REPORT_FIELDS})


@command(
    "risk list",
    summary="The risk register, highest score first.",
    usage="risk list [--level low|medium|high|critical] [--status open|mitigating|accepted|closed]",
    opts=(Opt("level"), Opt("status")),
)
async def list_risks(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    wanted_level = check.choice("level", args.text("level"), LEVELS)
    status = check.choice("status", args.text("status"), STATUSES)
    check.done()
    risks = await repo.list_for(ctx.session, ctx.initiative.id, status=status)
    if wanted_level:
        risks = [r for r in risks if level(_score(r)) == wanted_level]
    if not risks:
        return Reply(
            [
                Text(
                    "No risks match."
                    if wanted_level or status
                    else 'No risks yet. Report one with `risk report "TITLE" ...`.'
                )
            ]
        )
    rows = [
        [
            rid(r),
            r.title,
            str(r.likelihood),
            str(r.impact),
            str(_score(r)),
            level(_score(r)),
            r.status,
        ]
        for r in sort_by_score(risks)
    ]
    return Reply([Text(f"{len(risks)} risk(s)"), Table(["ID", "Title", "L", "I", "Score", "Level", "Status"], rows)])


async def risk_or_refuse(ctx: Context, ref: str | None) -> Risk:
    return await numbered_or_refuse(ctx, ref, "RISK", "risk", repo.by_number)


@command(
    "risk show",
    summary="Everything about one risk, with its score history.",
    usage="risk show RISK-n",
    args=(Arg("risk", required=True),),
)
async def show(ctx: Context, args: Parsed) -> Reply:
    risk = await risk_or_refuse(ctx, args.text("risk"))
    members = await uc_repo.members_by_id(ctx.session, ctx.initiative.id)
    cases = await repo.linked_use_cases(ctx.session, risk.id)
    elements: list = [Heading(f"{rid(risk)}: {risk.title}")]
    if risk.description:
        elements.append(Text(risk.description))
    elements.append(
        Fields(
            [
                *_rating_fields(risk),
                ("Status", risk.status),
                ("Owner", name_of(members, risk.owner_member_id)),
                ("Mitigation", risk.mitigation or "-"),
                ("Review date", risk.review_date.isoformat() if risk.review_date else "-"),
                ("Use cases", ", ".join(f"{uc_id(uc)} {uc.title}" for uc in cases) or "-"),
                ("Reported by", name_of(members, risk.created_by_member_id)),
            ]
        )
    )
    rescores = await repo.score_history(ctx.session, risk.id)
    if rescores:
        elements += [
            Text("Score history"),
            ListItems(
                [
                    f"{fmt_dt(c.at, ctx.tz)} {name_of(members, c.member_id)}: "
                    f"{risk_score(c.old_likelihood, c.old_impact)} → {risk_score(c.new_likelihood, c.new_impact)} "
                    f"(likelihood {c.old_likelihood} → {c.new_likelihood}, impact {c.old_impact} → {c.new_impact})"
                    for c in rescores
                ]
            ),
        ]
    elements += [Text("History"), ListItems(await history(ctx, rid(risk)))]
    return Reply(elements)


@command(
    "risk update",
    summary="Re-score a risk, change its status, owner or mitigation (its reporter, owner or a facilitator).",
    usage="risk update RISK-n [--status S] [--likelihood 1-5] [--impact 1-5] [--mitigation TEXT] [--owner @p] "
    "[--review YYYY-MM-DD]",
    args=(Arg("risk", required=True),),
    opts=(Opt("status"), Opt("likelihood"), Opt("impact"), Opt("mitigation"), Opt("owner"), Opt("review")),
    examples=("risk update RISK-1 --likelihood 2 --status mitigating",),
)
async def update(ctx: Context, args: Parsed) -> Reply:
    risk = await risk_or_refuse(ctx, args.text("risk"))
    if not may_change(ctx, risk.created_by_member_id, risk.owner_member_id):
        raise UsageError(f"Only the reporter or owner of {rid(risk)}, or a facilitator, can update it.")
    if not args.opts:
        raise UsageError(f"Say what to change, e.g. `risk update {rid(risk)} --status mitigating`.")
    check = Check()
    new: dict[str, Any] = {}
    if args.has("status"):
        new["status"] = check.choice("status", args.text("status"), STATUSES, required=True)
    for name in ("likelihood", "impact"):
        if args.has(name):
            new[name] = check.whole(name, args.text(name), 1, 5, required=True)
    if args.has("mitigation"):
        new["mitigation"] = check.text("mitigation", args.text("mitigation"), max_len=LONG_MAX)
    if args.has("review"):
        new["review_date"] = check.day("review", args.text("review"), required=True, not_before=ctx.today)
    owner = check.person("owner", person_token(args.token("owner")), required=True) if args.has("owner") else None
    check.done()
    if owner is not None:
        new["owner_member_id"] = (await ctx.person(owner)).id
    old_l, old_i = risk.likelihood, risk.impact
    changed = changes(risk, new)
    if not changed:
        return Reply([Text(f"Nothing changed: {rid(risk)} already has those values.")])
    risk.updated_at = ctx.now
    lines = [f"{ctx.member.display_name} updated {rid(risk)}: {changed_names(changed)}."]
    if (old_l, old_i) != (risk.likelihood, risk.impact):
        await store.add(
            ctx.session,
            RiskScoreChange(
                risk_id=risk.id,
                member_id=ctx.member.id,
                old_likelihood=old_l,
                old_impact=old_i,
                new_likelihood=risk.likelihood,
                new_impact=risk.impact,
                at=ctx.now,
            ),
        )
        old_s, new_s = risk_score(old_l, old_i), _score(risk)
        lines.append(f"Score {old_s} ({level(old_s)}) → {new_s} ({level(new_s)}).")
    ctx.audit("risk.update", rid(risk), changed=changed)
    return Reply([Text(" ".join(lines))], visibility="channel")
