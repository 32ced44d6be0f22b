"""The export reply, shared by the `export` command and the Home tab's export button: a File
element the face builds (HTML, PDF, Markdown, CSV or XLSX) when it sends."""

from __future__ import annotations

from handlers.context import Context
from handlers.messages import File, Reply, Text, error_reply
from handlers.report_views import DELIVERABLES, TITLES

EXPORT_FORMATS = {
    "md": "md",
    "markdown": "md",
    "html": "html",
    "pdf": "pdf",
    "csv": "csv",
    "xlsx": "xlsx",
    "excel": "xlsx",
}
NO_PDF = (
    "PDF export needs Chromium on the machine that runs Alignbot, and it is not installed there: ask whoever "
    "runs the bot to install it. Until then `export html` gives the same report, which prints to PDF from any browser."
)


def export_reply(ctx: Context, fmt: str) -> Reply:
    """The deliverables as one file of `fmt` (a value of EXPORT_FORMATS)."""
    if fmt == "pdf" and not ctx.config.prints_pdf:
        return error_reply(NO_PDF)
    names = ", ".join(TITLES[k] for k in DELIVERABLES)
    return Reply(
        [
            Text(f"The {fmt.upper()} export of {ctx.initiative.name}: the executive summary, overview and {names}."),
            File(
                title=f"{ctx.initiative.name} deliverables ({fmt})", export_format=fmt, initiative_id=ctx.initiative.id
            ),
        ]
    )
