"""`summary` and `export` in chat: the deliverables, always generated from what was collected.

A summary answers privately unless a facilitator asks to `--post` it to the channel. Nothing is
cut: a long deliverable is many elements, and each face splits them over several messages or
cards within its limits. `export` answers with a File element the face builds when it sends.
"""

from __future__ import annotations

from handlers.context import Context
from handlers.exports import EXPORT_FORMATS, export_reply
from handlers.fields import Check
from handlers.grammar import Arg, Opt, Parsed
from handlers.messages import Element, Reply, error_reply
from handlers.registry import command
from handlers.report_views import KEYS
from handlers.reports import build_documents, document_elements

CHOICES = {
    **{k: k for k in KEYS},
    "all": "all",
    "executive": "summary",
    "usecase": "usecases",
    "risk": "risks",
    "infra": "infrastructure",
}


def keys_for(what: str) -> list[str]:
    return list(KEYS) if what == "all" else [what]


@command(
    "summary",
    menu=True,
    summary="Show a deliverable (or all of them); --post shares it in the channel (facilitators).",
    usage="summary [summary|overview|usecases|infrastructure|kpis|raci|risks|plan|all] [--post]",
    args=(Arg("deliverable"),),
    opts=(Opt("post", flag=True),),
    examples=("summary", "summary risks", "summary all --post"),
)
async def summary(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    what = check.choice("deliverable", args.text("deliverable") or "overview", CHOICES)
    check.done()
    post = args.flag("post")
    if post and not ctx.is_facilitator:
        return error_reply(
            "Only a facilitator can post a summary to the channel. Type it without --post to see it yourself."
        )
    docs = await build_documents(
        ctx.session, ctx.initiative, keys_for(what or "overview"), ctx.now, ctx.config.timezone
    )
    elements: list[Element] = []
    for doc in docs:
        elements += document_elements(doc)
    if post:
        ctx.audit("summary.post", what or "overview")
        return Reply(elements, visibility="channel")
    return Reply(elements)


@command(
    "export",
    summary="Get the deliverables as a file: an HTML or PDF report, Markdown, CSV (zipped) or an Excel workbook.",
    usage="export [html|pdf|md|csv|xlsx]",
    args=(Arg("format"),),
    examples=("export", "export pdf", "export xlsx"),
)
async def export(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    fmt = check.choice("format", args.text("format") or "html", EXPORT_FORMATS)
    fmt = check.present(fmt)
    return export_reply(ctx, fmt)
