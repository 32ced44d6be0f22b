"""The spreadsheet exports work as spreadsheets: typed numbers and dates with number formats,
empty cells empty, a filter, a frozen and repeated header, print setup; CSV without thousands
separators; both read back to the same figures; LibreOffice opens the workbook."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
from datetime import date, datetime

from openpyxl import load_workbook

from bot.cells import column_kind, typed, typed_rows
from tests.test_export import _files, sample_url
from tests.test_export_pdf import tool


def test_cells_are_typed_by_column():
    assert typed("1,200,000", "number").value == 1200000 and typed("1,200,000", "number").plain == "1200000"
    assert typed("1,234.5678", "number").value == 1234.5678
    assert typed("1,234.5678", "number").number_format == "#,##0.0000"
    assert typed("62.5%", "percent").value == 0.625 and typed("62.5%", "percent").number_format == "0.0%"
    assert typed("2026-12-18", "day").value == date(2026, 12, 18)
    assert typed("2026-11-26 10:30", "minute").value == datetime(2026, 11, 26, 10, 30)
    assert typed("-", "number").value is None
    assert column_kind(["1", "-", "2,000"]) == "number"
    assert column_kind(["1,5", "2"]) == "text"  # "1,5" is not a number we write: never misread
    assert column_kind(["Budget", "1,234"]) == "text"  # free text that happens to look like one
    assert column_kind(["2026-13-45"]) == "text"
    assert column_kind(["-", ""]) == "text"
    assert [[c.value for c in row] for row in typed_rows([["UC-1", "3"], ["UC-2", "-"]])] == [
        ["UC-1", 3],
        ["UC-2", None],
    ]


def _sheet_rows(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_xlsx_is_typed_filtered_frozen_and_printable(tmp_path):
    url = sample_url(tmp_path)
    (xlsx,) = asyncio.run(_files(url, "xlsx"))
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames[0] == "Overview"
    overview = wb["Overview"]
    assert overview["A1"].value == "retail-assessment"
    listed = [r[0].value for r in overview.iter_rows() if r[0].hyperlink is not None]
    assert set(wb.sheetnames[1:]) == set(listed)

    kpis = wb["kpis"]
    header = [c.value for c in kpis[1]]
    by_id = {r[0].value: r for r in kpis.iter_rows(min_row=2)}
    baseline, by = by_id["KPI-6"][header.index("Baseline")], by_id["KPI-1"][header.index("By")]
    assert baseline.value == 1200000 and baseline.data_type == "n" and baseline.number_format == "#,##0"
    assert by_id["KPI-2"][header.index("Baseline")].value == 7.5
    assert by_id["KPI-2"][header.index("Baseline")].number_format == "#,##0.0"
    assert by.value == datetime(2027, 6, 30) and by.is_date and by.number_format == "yyyy-mm-dd"
    assert by_id["KPI-5"][header.index("By")].value is None  # not set: empty, not "-"

    for ws in wb.worksheets[1:]:
        cells = [c for row in ws.iter_rows(min_row=2) for c in row]
        assert all(c.value != "-" for c in cells), ws.title
        assert all(c.font.b for c in ws[1]), ws.title
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref == ws.dimensions, ws.title
        assert ws.print_title_rows == "$1:$1", ws.title
        assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        widths = [ws.column_dimensions[c.column_letter].width for c in ws[1]]
        assert all(len(str(c.value)) + 2 <= w <= 60 for c, w in zip(ws[1], widths, strict=True)), ws.title

    # It sums: the budget lines add up to the budget total, with no cleaning up.
    lines = _sheet_rows(wb["resources"])
    totals = {r["Kind"]: r["Amount"] for r in _sheet_rows(wb["resource_totals"]) if r["Period"] == "whole plan"}
    assert sum(r["Amount"] for r in lines if r["Kind"] == "budget") == totals["budget"] == 28000


def test_csv_has_plain_numbers_and_empty_cells_and_reads_back(tmp_path):
    url = sample_url(tmp_path)
    files = {f.name: f.content for f in asyncio.run(_files(url, "csv"))}
    raw = files["kpis.csv"]
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    text = raw.decode("utf-8-sig")
    assert "KPI-6,Data platform cost,Reduce platform cost,1200000,900000," in text  # unquoted, no separators
    assert ",-," not in text and "'-" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert next(r for r in rows if r["ID"] == "KPI-5")["By"] == ""
    lines = list(csv.DictReader(io.StringIO(files["resources.csv"].decode("utf-8-sig"))))
    totals = list(csv.DictReader(io.StringIO(files["resource_totals.csv"].decode("utf-8-sig"))))
    budget = next(float(t["Amount"]) for t in totals if t["Kind"] == "budget" and t["Period"] == "whole plan")
    assert sum(float(r["Amount"]) for r in lines if r["Kind"] == "budget") == budget == 28000


def test_libreoffice_opens_the_workbook(tmp_path):
    """One real spreadsheet program reads the file: LibreOffice converts every sheet to CSV."""
    soffice = tool("soffice")
    url = sample_url(tmp_path)
    (xlsx,) = asyncio.run(_files(url, "xlsx"))
    book = tmp_path / "book.xlsx"
    book.write_bytes(xlsx.content)
    # 44,34,76: comma, double quote, UTF-8; the last -1 writes every sheet to its own file.
    options = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    proc = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
            "--headless",
            "--convert-to",
            options,
            "--outdir",
            str(tmp_path / "out"),
            str(book),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    made = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").glob("*.csv")}
    assert "book-kpis.csv" in made and "book-Overview.csv" in made, sorted(made)
    kpi6 = next(line for line in made["book-kpis.csv"].splitlines() if line.startswith("KPI-6"))
    assert "1200000" in kpi6.replace(",", "").replace('"', "")  # a number to LibreOffice too
    assert "2027-12-31" in kpi6
