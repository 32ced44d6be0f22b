"""The deliverables' new fields set in chat, end to end through the console: a gap's remediation
and owner, a KPI withdrawn with its reason, and numbers written one way in chat and report."""

from __future__ import annotations

import re

from tests.console import run_console


def test_remediation_and_a_withdrawn_kpi_reach_the_deliverables(sqlite_url):
    out = run_console(
        [
            'usecase propose "Demand forecasting" --impact 5 --feasibility 4 --sources "SRC-1"',
            'source add "Inventory" --type "data warehouse" --quality 2',
            'kpi suggest UC-1 "Planner hours" --baseline 1234.5678 --target 2000 --unit hours',
            'kpi suggest UC-1 "Forecast error" --baseline 30 --target 20 --unit %',
            'kpi withdraw KPI-2 --reason "Not measurable yet"',
            'source edit SRC-1 --remediation "Deduplicate SKUs" --remediation-owner @olga',
            "source show SRC-1",
            "kpi show KPI-1",
            "summary infrastructure",
            "summary kpis",
        ],
        sqlite_url,
    )
    assert re.search(r"Remediation:\s+Deduplicate SKUs", out) and re.search(r"Remediation owner:\s+@olga", out)
    report = out[out.index("Infrastructure report and gap analysis") :]
    gaps = report[report.index("Gaps\n") : report.index("Objectives and KPIs")]
    assert "Deduplicate SKUs" in gaps and "olga" in gaps
    kpis = out[out.index("Objectives and KPIs") :]
    live, aside = kpis.split("Set aside", 1)
    assert "KPI-1" in live and "KPI-2" not in live
    assert "KPI-2" in aside and "Not measurable yet" in aside and "withdrawn" in aside
    # One formatter: the same baseline in `kpi show` and in the report.
    assert "1,234.5678 hours" in out and "1,234.5678" in live
