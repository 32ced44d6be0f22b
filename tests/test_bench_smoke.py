"""The benchmark scripts run end to end with tiny sizes and write valid JSON.

No timing is asserted here (the machine is shared and noisy): only that each script measures
what it says, counts what it sent, and leaves a result the table can read.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import common
from bench.table import table
from tests.console import ROOT


def run_figure(module: str, out, *args: str, timeout: float = 240) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", "--quick", "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1, common.NOT_RUN), proc.stdout + proc.stderr
    doc = json.loads((out / f"{module}.json").read_text())
    assert doc["figure"] == module and doc["quick"] is True
    assert doc["summary"] in proc.stdout
    assert doc["met"] is (proc.returncode == 0)
    return proc.returncode, doc


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert common.percentile(values, 50) == 50
    assert common.percentile(values, 99) == 99
    assert common.percentile(values, 100) == 100
    assert common.percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        common.percentile(values, 0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=300), st.floats(min_value=0.1, max_value=100)
)
def test_percentile_is_an_observed_value_with_enough_below(values, p):
    got = common.percentile(values, p)
    assert got in values
    assert sum(v <= got for v in values) >= p / 100 * len(values)
    assert sum(v < got for v in values) < p / 100 * len(values)


async def test_run_load_counts_every_request_and_status():
    async def send(_http, i: int) -> int:
        return 200 if i % 4 else 503

    res = await common.run_load(send, requests=40, concurrency=3)
    assert (res.requests, res.ok, res.errors) == (40, 30, 10)
    assert res.statuses == {"200": 30, "503": 10}
    assert len(res.latencies_ms) == 30


def test_fig1_slack_ack_runs_and_checks_every_proposal_was_stored(tmp_path):
    _, doc = run_figure("fig1_slack_ack", tmp_path, "--db", "sqlite", "--requests", "8", "--concurrency", "1,4")
    servers = [(r["server"], r["db"], r["concurrency"], r["ok"]) for r in doc["rows"]]
    assert servers == [
        ("bare-bolt", "-", 1, 8),
        ("bolt+store", "sqlite", 1, 8),
        ("alignbot", "sqlite", 1, 8),
        ("bare-bolt", "-", 4, 8),
        ("bolt+store", "sqlite", 4, 8),
        ("alignbot", "sqlite", 4, 8),
    ]
    assert all(r["p99_ratio"] > 0 and r["p99_ratio_vs_stored"] > 0 for r in doc["rows"] if r["server"] == "alignbot")
    # The second floor stores what it acks: 10 warm-up + 2 x 8 rows of its own.
    assert doc["checks"]["bolt+store sqlite: every acked command stored (26/26)"] is True
    stored = [k for k in doc["checks"] if k.startswith("sqlite: every acked proposal stored once")]
    assert stored == [
        "sqlite: every acked proposal stored once (26/26)"
    ]  # 10 warm-up + 2 x 8 and doc["checks"][stored[0]]


def test_fig2_teams_runs_and_sees_one_reply_per_activity(tmp_path):
    _, doc = run_figure("fig2_teams", tmp_path, "--db", "sqlite", "--requests", "6", "--concurrency", "2")
    assert [(r["server"], r["ok"]) for r in doc["rows"]] == [("bare-botbuilder", 6), ("alignbot", 6)]
    replies = {k: v for k, v in doc["checks"].items() if "one reply per accepted activity" in k}
    assert len(replies) == 4 and all(replies.values())


def test_fig3_vote_burst_counts_every_ballot_once_or_says_polls_are_missing(tmp_path):
    from bench.fig3_vote_burst import polls_available

    rc, doc = run_figure("fig3_vote_burst", tmp_path, "--db", "sqlite", "--voters", "20")
    missing = polls_available()
    if missing:
        assert rc == common.NOT_RUN and doc["not_run"] == missing
        return
    r = doc["results"]["sqlite"]
    assert (r["voters"], r["deliveries"], r["ballots"], r["participations"]) == (20, 20, 20, 20)
    assert r["picks"] == {"1": 5, "2": 5, "3": 5, "4": 5}
    assert doc["checks"]["sqlite: every ballot holds the choice clicked"]


def test_fig4_reports_renders_the_seeded_initiative_within_block_kit(tmp_path):
    _, doc = run_figure("fig4_reports", tmp_path, "--db", "sqlite", "--scale", "0.01")
    assert doc["sizes"] == {"use_cases": 20, "ballots": 200, "risks": 5, "milestones": 2, "sources": 1}
    r = doc["results"]["sqlite"]
    assert r["slack_messages"] >= 1 and r["blockkit_violations"] == []
    assert r["html_embedded_images"] > 0 and r["html_bytes"] > 10_000
    assert doc["checks"]["sqlite: Block Kit within limits"]


def test_blockkit_violations_names_each_broken_limit():
    from bench.fig4_reports import blockkit_violations

    fine = {"text": "t", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}]}
    assert blockkit_violations([fine]) == []
    broken = {
        "text": "t",
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "x" * 3001}}] * 51
        + [{"type": "section", "fields": [{"type": "plain_text", "text": "f"}] * 11}],
    }
    problems = blockkit_violations([fine, broken])
    assert "message 1: 52 blocks > 50" in problems
    assert "message 1 block 0: section text 3001 > 3000" in problems
    assert "message 1 block 51: 11 fields > 10" in problems


@pytest.mark.skipif(not common.postgres_admin_url(), reason="figure 5 runs two replicas on PostgreSQL")
def test_fig5_reminders_sends_each_due_reminder_once_across_two_replicas(tmp_path):
    from bench.fig5_reminders import reminders_available

    rc, doc = run_figure("fig5_reminders", tmp_path, "--milestones", "10", "--lead", "10")
    if reminders_available():
        assert rc == common.NOT_RUN
        return
    r = doc["result"]
    assert (r["reminders_pending_at_start"], r["messages"], r["people_reached"]) == (100, 10, 10)
    assert r["people_reached_twice"] == 0 and r["still_pending_later_reminders"] == 90
    assert len(r["startup_s"]) == 2 and sum(r["sent_by_replica"].values()) == 10


def test_fig6_footprint_measures_memory_and_console_start(tmp_path):
    _, doc = run_figure("fig6_footprint", tmp_path, "--runs", "1", "--requests", "10")
    assert 20 < doc["serve_rss"]["idle_mb"] < 2000
    assert doc["serve_rss"]["slash_load"]["ok"] == 10
    console = doc["console"]
    assert 0 < console["python_c_pass_s_median"] < console["to_prompt_s_median"]
    assert console["piped_spawn_to_first_reply_s_median"] > 0


def test_table_shows_every_figure_and_marks_missing_results(tmp_path):
    common.write_result(
        "fig4_reports",
        {"summary": "fig4 reports: summary 1ms; met", "met": True, "target": "t"},
        quick=True,
        out_dir=tmp_path,
    )
    common.not_run("fig3_vote_burst", "fig3 vote burst", "polls have not landed", quick=True, out_dir=tmp_path)
    text = table(tmp_path)
    assert "| 4. Report rendering | t | summary 1ms | met |" in text
    assert "| 3. Vote burst |  | NOT RUN — polls have not landed | not run |" in text
    assert text.count("no result") == 4


def test_instructions_counts_what_the_proposals_cost():
    """bench/instructions.py: a count of instructions (run under callgrind), not a time."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.instructions", "--warm", "3", "--count", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if shutil.which("valgrind") is None:  # every machine of ours has it; say so rather than fake a count
        assert proc.returncode == common.NOT_RUN, proc.stdout + proc.stderr
        return
    assert proc.returncode == 0, proc.stdout + proc.stderr
    counted = re.search(r"instructions per proposal \(sqlite, 3 before, 10 channels\): ([\d,]+)", proc.stdout)
    assert counted is not None, proc.stdout
    assert 1_000_000 < int(counted.group(1).replace(",", "")) < 100_000_000
