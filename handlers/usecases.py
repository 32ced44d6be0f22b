"""Use cases (Phase 1, step 1): propose and list."""

from __future__ import annotations

from handlers.context import Context
from handlers.fields import Check
from handlers.grammar import Arg, Opt, Parsed
from handlers.messages import Fields, Form, FormField, FormSubmission, Reply, Table, Text
from handlers.registry import command, form
from storage.models import UseCase
from storage.repos import usecases as repo

TITLE_MAX = 150
DESCRIPTION_MAX = 3000


def uc_id(uc: UseCase) -> str:
    return f"UC-{uc.number}"


def score(uc: UseCase) -> int | None:
    return uc.impact * uc.feasibility if uc.impact and uc.feasibility else None


def propose_form(values: dict[str, str] | None = None) -> Form:
    v = values or {}
    return Form(
        command="usecase propose",
        title="Propose a use case",
        submit_label="Propose",
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
        ],
    )


def _scale() -> list[tuple[str, str]]:
    return [(str(i), str(i)) for i in range(1, 6)]


async def create_use_case(ctx: Context, values: dict[str, str | None]) -> Reply:
    check = Check()
    title = check.text("title", values.get("title"), max_len=TITLE_MAX, required=True)
    description = check.text("description", values.get("description"), max_len=DESCRIPTION_MAX)
    impact = check.whole("impact", values.get("impact"), 1, 5)
    feasibility = check.whole("feasibility", values.get("feasibility"), 1, 5)
    check.done()
    uc = UseCase(
        initiative_id=ctx.initiative.id,
        number=await ctx.next_number("UC"),
        title=title,
        description=description,
        impact=impact,
        feasibility=feasibility,
        proposer_member_id=ctx.member.id,
        status="proposed",
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(uc)
    await ctx.session.flush()
    ctx.audit("usecase.propose", uc_id(uc), title=title)
    return Reply(
        [
            Text(f"{ctx.member.display_name} proposed {uc_id(uc)}: {uc.title}"),
            Fields(_summary_fields(uc)),
        ],
        visibility="channel",
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
    summary="Propose a use case (no title: opens a form).",
    usage='usecase propose "TITLE" [--description TEXT] [--impact 1-5] [--feasibility 1-5]',
    args=(Arg("title"),),
    opts=(Opt("description"), Opt("impact"), Opt("feasibility")),
    examples=('usecase propose "Migrate legacy ETL" --impact 5 --feasibility 3',),
)
async def propose(ctx: Context, args: Parsed) -> Reply:
    if args.text("title") is None and not args.opts:
        return Reply([propose_form()])
    return await create_use_case(ctx, {k: args.text(k) for k in ("title", "description", "impact", "feasibility")})


@form("usecase propose")
async def propose_submitted(ctx: Context, submission: FormSubmission) -> Reply:
    return await create_use_case(
        ctx, {k: submission.values.get(k) for k in ("title", "description", "impact", "feasibility")}
    )


@command("usecase list", summary="List the initiative's use cases.", usage="usecase list")
async def list_use_cases(ctx: Context, args: Parsed) -> Reply:
    cases = await repo.list_for(ctx.session, ctx.initiative.id)
    if not cases:
        return Reply([Text('No use cases yet. Propose one with `usecase propose "TITLE"`.')])
    rows = [
        [uc_id(uc), uc.title, str(uc.impact or "-"), str(uc.feasibility or "-"), str(score(uc) or "-"), uc.status]
        for uc in cases
    ]
    return Reply(
        [Text(f"{len(cases)} use case(s)"), Table(["ID", "Title", "Impact", "Feasibility", "Score", "Status"], rows)]
    )
