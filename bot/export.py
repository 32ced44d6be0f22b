"""The deliverables as files: Markdown (+ chart PNGs), one self-contained HTML page, CSV per
entity, and an XLSX workbook with one sheet per entity.

Chart drawing and file building block, so they run in a worker thread; the database reads stay
on the event loop. Output is deterministic for the same data and clock (fixed ZIP and XLSX
timestamps, charts without metadata), so exports can be compared and tested byte for byte.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import functools
import hashlib
import io
import json
import logging
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cells import typed_rows
from bot.pdf import PdfUnavailable, print_pdf
from bot.render.charts import render_chart
from bot.render.documents import Cover, render_html, render_markdown
from bot.render.escape import csv_cell
from handlers.messages import Element, File, Image
from handlers.report_views import KEYS, Document, TableData
from handlers.reports import build_documents, initiative_zone
from storage.db import Database
from storage.models import Initiative

FORMATS = ("md", "html", "pdf", "csv", "xlsx")
MAX_SHEET_TITLE = 31
MAX_INLINE_IMAGE = 60_000  # characters of a data: URI inside an (80 KB) Adaptive Card
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportFile:
    name: str  # relative path inside the export
    content: bytes
    mime: str


def cover_of(initiative: Initiative) -> Cover:
    return Cover(initiative.name, initiative.organisation, initiative.sponsor, initiative.cover_line)


def slug(text: str) -> str:
    """A file name's part: "Évaluation Données" -> "evaluation-donnees" (accents dropped, not the letters)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:60] or "initiative"


def file_base(initiative: Initiative) -> str:
    return f"alignbot-{slug(initiative.name)}"


def charts_of(docs: list[Document]) -> list[tuple[str, str, dict]]:
    return [(d.key, s.chart.chart, s.chart.data) for d in docs for s in d.sections if s.chart is not None]


def draw_all(docs: list[Document]) -> dict[tuple[str, str], bytes]:
    return {(key, kind): render_chart(kind, data) for key, kind, data in charts_of(docs)}


def tables_of(docs: list[Document]) -> list[TableData]:
    return [s.table for d in docs for s in d.sections if s.table is not None and s.table.name]


def csv_bytes(table: TableData) -> bytes:
    """Numbers unquoted and without thousands separators, empty cells empty, text that a
    spreadsheet would run as a formula made inert; UTF-8 with a BOM so Excel reads accents."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in table.headers])
    for row in typed_rows(table.rows):
        writer.writerow(
            ["" if c.value is None else csv_cell(c.plain) if c.number_format == "@" else c.plain for c in row]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


HEADER_FILL = PatternFill("solid", start_color="DDE7F3")
MAX_WIDTH = 60


def _sheet_setup(ws, header_row: int, columns: int, last_row: int) -> None:
    """What makes a sheet work as one: a filter on the header, the header frozen and printed on
    every page, landscape and one page wide."""
    last = get_column_letter(max(columns, 1))
    ws.auto_filter.ref = f"A{header_row}:{last}{max(last_row, header_row)}"
    ws.freeze_panes = f"A{header_row + 1}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _write_table(ws, header_row: int, headers: list[str], rows: list[list[str]]) -> None:
    for c, header in enumerate(headers, start=1):
        cell = ws.cell(header_row, c, header)
        cell.data_type = "s"
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
    for r, row in enumerate(typed_rows(rows), start=header_row + 1):
        for c, typed_cell in enumerate(row, start=1):
            if typed_cell.value is None:
                continue  # empty, not "-": a filter shows "(empty)", a sum skips it
            cell = ws.cell(r, c, typed_cell.value)
            if typed_cell.number_format == "@":
                cell.data_type = "s"  # text, never a formula: openpyxl would run "=..."
            else:
                cell.number_format = typed_cell.number_format
    for c, header in enumerate(headers, start=1):
        longest = max([len(header) + 3, *(len(row[c - 1]) for row in rows[:500])])  # + 3: the filter button
        ws.column_dimensions[get_column_letter(c)].width = min(MAX_WIDTH, longest + 2)
    _sheet_setup(ws, header_row, len(headers), header_row + len(rows))


def _overview_sheet(ws, docs: list[Document], cover: Cover, generated: str) -> None:
    """The first sheet: what the workbook is about and what each sheet holds."""
    ws["A1"] = cover.name
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].data_type = "s"
    facts = [
        ("Organisation", cover.organisation),
        ("Sponsor", cover.sponsor),
        ("About", cover.line),
        ("Generated", generated),
    ]
    row = 2
    for label, value in facts:
        if value:
            ws.cell(row, 1, label).font = Font(bold=True)
            ws.cell(row, 2, value).data_type = "s"
            row += 1
    index = [
        [s.table.name[:MAX_SHEET_TITLE], d.title, s.heading, str(len(s.table.rows))]
        for d in docs
        for s in d.sections
        if s.table is not None and s.table.name
    ]
    _write_table(ws, row + 1, ["Sheet", "Deliverable", "Section", "Rows"], index)
    for r, (sheet, *_) in enumerate(index, start=row + 2):
        ws.cell(r, 1).hyperlink = f"#'{sheet}'!A1"


def xlsx_bytes(docs: list[Document], cover: Cover, created: datetime, generated: str = "") -> bytes:
    """An Overview sheet, then one sheet per entity, every cell typed (numbers, percentages,
    days) with its number format."""
    wb = Workbook()
    _overview_sheet(wb.active, docs, cover, generated)
    wb.active.title = "Overview"
    for t in tables_of(docs):
        _write_table(wb.create_sheet(t.name[:MAX_SHEET_TITLE]), 1, t.headers, t.rows)
    naive = created.replace(tzinfo=None)
    wb.properties.created = naive
    wb.properties.modified = naive
    wb.properties.creator = "Alignbot"
    wb.properties.title = cover.name
    buf = io.BytesIO()
    wb.save(buf)
    return restamp_zip(buf.getvalue(), created)


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def restamp_zip(data: bytes, when: datetime) -> bytes:
    """openpyxl stamps the ZIP entries and the "modified" property with the wall clock at save;
    use the report's time instead, so the same data gives the same workbook."""
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, content)
    return out.getvalue()


def zip_bytes(files: list[ExportFile], when: datetime) -> bytes:
    buf = io.BytesIO()
    stamp = when.timetuple()[:6]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.writestr(zipfile.ZipInfo(f.name, date_time=stamp), f.content, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def build_files(
    docs: list[Document], fmt: str, *, base: str, generated: str, now: datetime, cover: Cover
) -> list[ExportFile]:
    """Blocking: draws charts and builds the files of one format."""
    if fmt == "md":
        pngs = draw_all(docs)
        files = [ExportFile(f"charts/{k}-{kind}.png", png, "image/png") for (k, kind), png in pngs.items()]
        text = "\n".join(
            render_markdown(
                d, charts={kind: f"charts/{d.key}-{kind}.png" for (k, kind) in pngs if k == d.key}, generated=generated
            )
            for d in docs
        )
        return [ExportFile(f"{base}.md", text.encode("utf-8"), "text/markdown"), *files]
    if fmt == "html":
        uris = {
            key: "data:image/png;base64," + base64.b64encode(png).decode("ascii") for key, png in draw_all(docs).items()
        }
        page = render_html(docs, charts=uris, cover=cover, generated=generated)
        return [ExportFile(f"{base}.html", page.encode("utf-8"), "text/html")]
    if fmt == "csv":
        return [ExportFile(f"{t.name}.csv", csv_bytes(t), "text/csv") for t in tables_of(docs)]
    if fmt == "xlsx":
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return [ExportFile(f"{base}.xlsx", xlsx_bytes(docs, cover, now, generated), mime)]
    raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")


@dataclass(frozen=True)
class Loaded:
    """An initiative's deliverables as read from the database: everything a file needs, so the
    drawing and printing (seconds, for a PDF) happen after the read transaction has ended. On
    SQLite a reader held that long kept every writer out ("database is locked")."""

    docs: list[Document]
    base: str
    cover: Cover
    generated: str
    now: datetime


async def load_export(session: AsyncSession, initiative: Initiative, now: datetime, default_tz: str = "UTC") -> Loaded:
    docs = await build_documents(session, initiative, list(KEYS), now, default_tz)
    generated = now.astimezone(initiative_zone(initiative, default_tz)).strftime("%Y-%m-%d %H:%M %Z")
    return Loaded(docs, file_base(initiative), cover_of(initiative), generated, now)


async def build_export(loaded: Loaded, fmt: str) -> list[ExportFile]:
    """Every deliverable in one format (CSV: one file per entity); PdfUnavailable for a PDF
    where Chromium is missing or fails."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    build = functools.partial(
        build_files, loaded.docs, base=loaded.base, generated=loaded.generated, now=loaded.now, cover=loaded.cover
    )
    if fmt == "pdf":  # the HTML report, printed: the same page people see in a browser
        (page,) = await asyncio.to_thread(build, "html")
        return [ExportFile(f"{loaded.base}.pdf", await print_pdf(page.content), "application/pdf")]
    return await asyncio.to_thread(build, fmt)


async def export_initiative(
    session: AsyncSession, initiative: Initiative, fmt: str, now: datetime, default_tz: str = "UTC"
) -> list[ExportFile]:
    return await build_export(await load_export(session, initiative, now, default_tz), fmt)


def single_file(files: list[ExportFile], fmt: str, base: str, now: datetime) -> ExportFile:
    """What chat uploads: the file itself, or a ZIP when a format is several files (CSV, MD + charts)."""
    if len(files) == 1:
        return files[0]
    return ExportFile(f"{base}-{fmt}.zip", zip_bytes(files, now), "application/zip")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    title: str
    mime: str


def chart_filename(image: Image) -> str:
    digest = hashlib.sha256(json.dumps(image.data, sort_keys=True).encode()).hexdigest()[:12]
    return f"{image.chart}-{digest}.png"


async def attachments(
    db: Database | None, elements: Sequence[Element], now: datetime, default_tz: str = "UTC"
) -> list[tuple[Image | File, Attachment]]:
    """The files a reply carries, built now: chart PNGs and exports (blocking work in a thread)."""
    out: list[tuple[Image | File, Attachment]] = []
    for e in elements:
        if isinstance(e, Image) and e.chart:
            png = await asyncio.to_thread(render_chart, e.chart, e.data)
            out.append((e, Attachment(chart_filename(e), png, e.title or e.alt, "image/png")))
        elif isinstance(e, File) and db is not None:
            async with db.reading() as s:
                initiative = await s.get(Initiative, e.initiative_id)
                if initiative is None:
                    continue
                loaded = await load_export(s, initiative, now, default_tz)
            try:
                files = await build_export(loaded, e.export_format)
            except PdfUnavailable as problem:  # `export pdf` checked first; Chromium failed since
                log.warning("no %s export of initiative %s: %s", e.export_format, e.initiative_id, problem)
                continue
            f = single_file(files, e.export_format, loaded.base, now)
            out.append((e, Attachment(f.name, f.content, e.title, f.mime)))
    return out


async def with_pictures(elements: list[Element]) -> list[Element]:
    """Charts drawn into data: URIs (in `path`), for cards that carry their images inline (Teams)."""
    out: list[Element] = []
    for e in elements:
        if isinstance(e, Image) and e.chart and not e.path:
            for dpi in (100, 60):  # a smaller picture rather than a card over the limit
                png = await asyncio.to_thread(render_chart, e.chart, e.data, dpi)
                uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
                if len(uri) <= MAX_INLINE_IMAGE:
                    e = Image(alt=e.alt, title=e.title, path=uri, chart=e.chart, data=e.data)
                    break
        out.append(e)
    return out
