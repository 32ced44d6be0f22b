"""`source remove` and `source merge` (issue #18): set-aside sources leave every live list, count
and gap and appear only in the infrastructure deliverable's "Set aside" part."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from handlers.sources import merged_values
from storage.models import AuditEvent, DataSource
from tests.console import run_console


def test_remove_and_merge_set_sources_aside_everywhere(db_url):
    out = run_console(
        [
            'source add "Oracle ERP" --type "relational db" --quality 4 --accessibility 2 --security 3',
            'source add "Oracle ERP" --type "relational db" --quality 2 --accessibility 2 --force',
            'source add "Old FTP" --type "file share" --security 1',
            'usecase propose "Forecast" --sources "SRC-2 nightly"',
            "source merge SRC-1 SRC-2",
            'source remove SRC-3 --reason "Switched off in 2025"',
            "source list",
            "source gaps",
            "summary infrastructure",
            "summary overview",
        ],
        db_url,
    )
    assert "merged SRC-2 Oracle ERP into SRC-1 Oracle ERP; it took quality from SRC-2." in out
    assert "removed SRC-3 Old FTP: Switched off in 2025" in out
    listing = out[out.index("1 data source(s)") : out.index("gap(s)")]
    assert "SRC-1" in listing and "SRC-2" not in listing and "SRC-3" not in listing
    gaps = out[out.index("2 gap(s)") :]
    gaps = gaps[: gaps.index("Infrastructure report")]
    assert "SRC-2" not in gaps and "SRC-3" not in gaps
    assert re.search(r"SRC-1\s+Oracle ERP\s+quality\s+2/5", gaps)
    report = out[out.index("Infrastructure report") :]
    inventory, aside = report[: report.index("Set aside")], report[report.index("Set aside") :]
    assert "SRC-2" not in inventory and "SRC-3" not in inventory and "Old FTP" not in inventory
    assert "UC-1" in inventory  # the use case that named the duplicate is blocked by the one kept
    assert re.search(r"SRC-2\s+Oracle ERP\s+merged\s+@?alice.*merged into SRC-1", aside)
    assert re.search(r"SRC-3\s+Old FTP\s+removed\s+@?alice.*Switched off in 2025", aside)
    assert re.search(r"Data sources:\s+1 \(1 with gaps\)", out)
    assert "2 data sources" in out[out.rindex("Set aside") :]


def test_bad_merges_and_removals_are_refused_and_store_nothing(sqlite_url):
    out = run_console(
        [
            'source add "CRM" --type saas',
            'source add "CRM copy" --type saas',
            "source merge SRC-1 SRC-1",
            "source merge SRC-1 SRC-9",
            ":as bob",
            "source remove SRC-1",
            ":as alice",
            "source remove SRC-2",
            "source remove SRC-2",
            "source merge SRC-1 SRC-2",
            "source edit SRC-2 --quality 3",
        ],
        sqlite_url,
    )
    assert "SRC-1 cannot be merged into itself" in out
    assert "There is no SRC-9 in this initiative" in out
    assert "Only whoever added SRC-1, its owner or a facilitator can remove it." in out
    assert out.count("SRC-2 was already removed") == 3
    engine = create_engine(sqlite_url)
    with Session(engine) as s:
        assert [r.status for r in s.execute(select(DataSource).order_by(DataSource.number)).scalars()] == [
            "active",
            "removed",
        ]
        actions = s.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action)).all()
    engine.dispose()
    assert dict(actions).get("source.remove") == 1 and "source.merge" not in dict(actions)


def test_merge_keeps_the_lower_rating_and_fills_only_what_is_missing():
    keep = DataSource(
        number=1,
        name="A",
        quality=4,
        accessibility=None,
        security=3,
        size="",
        owner="Ops",
        owner_member_id=None,
        refresh="",
        issues="",
        remediation="",
        remediation_owner_member_id=None,
    )
    dup = DataSource(
        number=2,
        name="A",
        quality=2,
        accessibility=5,
        security=4,
        size="2 TB",
        owner="",
        owner_member_id=7,
        refresh="daily",
        issues="",
        remediation="",
        remediation_owner_member_id=None,
    )
    assert merged_values(keep, dup) == {"quality": 2, "accessibility": 5, "size": "2 TB", "refresh": "daily"}
