"""Print the results table (Markdown) from bench/results/*.json, in figure order."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import common

FIGURES = (
    ("fig1_slack_ack", "1. Slack ack latency"),
    ("fig2_teams", "2. Teams message latency"),
    ("fig3_vote_burst", "3. Vote burst"),
    ("fig4_reports", "4. Report rendering"),
    ("fig5_reminders", "5. Reminder load"),
    ("fig6_footprint", "6. Footprint"),
)


def table(out_dir: Path) -> str:
    lines = [
        "| figure | target | result | verdict | run |",
        "|---|---|---|---|---|",
    ]
    for name, title in FIGURES:
        path = out_dir / f"{name}.json"
        if not path.exists():
            lines.append(f"| {title} | | no result | — | |")
            continue
        doc = json.loads(path.read_text())
        result = doc.get("summary", "").split(": ", 1)[-1]
        if doc.get("not_run"):
            verdict = "not run"
        else:
            verdict = "met" if doc.get("met") else "MISSED"
            result = result.rsplit("; MISSED", 1)[0].rsplit("; met", 1)[0]
        mach = doc.get("machine", {})
        size = "quick" if doc.get("quick") else "full"
        run = f"{doc.get('finished_at', '')} {size}, load {mach.get('loadavg_1m_at_end')}"
        lines.append(f"| {title} | {doc.get('target', '')} | {result.replace('|', '/')} | {verdict} | {run} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = common.standard_args(__doc__)
    args = parser.parse_args(argv)
    print(table(args.out or common.RESULTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
