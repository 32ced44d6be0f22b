"""The Jinja2 environments for the deliverables, one per output family.

User text is only ever a value passed to a template, never a template. In Markdown every
`{{ expression }}` goes through the Markdown escape (the environment's `finalize`), so a template
cannot forget it; the HTML environment autoescapes. Markup lives only in the template files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.render import escape
from handlers.report_views import Document, Section

if TYPE_CHECKING:  # Jinja2 loads with the first document, not with every start of the console
    from jinja2 import Environment


def _cell(value: Any) -> str:
    """A table cell is one line: a newline in user text would end the Markdown row."""
    return " ".join(str(value).split())


def _md_finalize(value: Any) -> str:
    return escape.markdown("" if value is None else str(value))


@cache
def markdown_env() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=False,
        finalize=_md_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = _cell
    return env


@cache
def html_env() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = _cell
    return env


def _chart_only(s: Section) -> bool:
    return s.chart is not None and s.table is None and not s.items and not s.facts


def render_markdown(doc: Document, *, charts: dict[str, str] | None = None, generated: str = "") -> str:
    """`charts` maps a chart kind to the relative path of its PNG (exports); without it, none."""
    if not charts:  # a section that is only a picture has nothing to say without it
        doc = Document(doc.key, doc.title, doc.initiative, [s for s in doc.sections if not _chart_only(s)])
    text = markdown_env().get_template(f"md/{doc.key}.md.j2").render(doc=doc, charts=charts or {}, generated=generated)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"


@dataclass(frozen=True)
class Cover:
    """What the report's first page says about the initiative (`initiative rename`, `initiative set`)."""

    name: str
    organisation: str = ""
    sponsor: str = ""
    line: str = ""


def render_html(docs: list[Document], *, charts: dict[tuple[str, str], str], cover: Cover, generated: str) -> str:
    """One self-contained page, printable as the PDF export (its print stylesheet: a cover page,
    numbered pages, repeated table headers); `charts` maps (deliverable key, chart kind) to a data: URI."""
    return (
        html_env()
        .get_template("html/report.html.j2")
        .render(
            docs=docs,
            charts=charts,
            cover=cover,
            title=f"{cover.name}: assessment report",
            footer=escape.css_string(cover.name),
            generated=generated,
        )
    )
