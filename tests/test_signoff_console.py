"""Sign-off through the console: request to the A, decisions once, supersede, stale after a change."""

from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.db import sync_url
from storage.models import AuditEvent, SignOff, SignOffResponse
from tests.console import run_console


def test_request_approve_reject_supersede_and_stale(db_url):
    out = run_console(
        [
            'raci activity add "Data policy" --description "Who may read what"',
            "signoff request ACT-1",  # no A yet: refused, nothing stored
            "raci assign ACT-1 A @bob R @ann",
            "signoff request ACT-1 @cy @eve --due 2026-12-04",
            "signoff approve SIGN-1",  # ann is not an approver
            ":as bob",
            'signoff approve SIGN-1 --comment "fine by me"',
            "signoff approve SIGN-1",  # decisions are final
            ":as cy",
            "signoff reject SIGN-1",  # a comment is required
            'signoff reject SIGN-1 --comment "add PII rules"',
            ":as dee",
            "signoff request ACT-1",  # neither facilitator nor R
            "signoff status",
            ":as ann",
            "signoff request ACT-1",
            ":as eve",
            "signoff approve SIGN-1",  # superseded
            ":as bob",
            "signoff approve SIGN-2",
            ":as ann",
            'raci activity rename ACT-1 "Data access policy"',
            "signoff status ACT-1",
            ":as bob",
            "signoff approve SIGN-9",
        ],
        db_url,
        user="ann",
    )
    assert "ACT-1 Data policy has no Accountable to approve it." in out
    assert "SIGN-1: sign-off of ACT-1 Data policy (version " in out and "requested from bob, cy, eve." in out
    assert "→ @bob (private): ann asks you to approve ACT-1 Data policy in general by 2026-12-04 (SIGN-1" in out
    assert "→ @cy (private): ann asks you to approve ACT-1 Data policy" in out
    assert "[Approve]  [Request changes]" in out
    assert "You are not an approver of SIGN-1." in out
    assert "Recorded: you approved SIGN-1" in out
    assert "→ @ann (private): bob approved SIGN-1 (ACT-1 Data policy): fine by me" in out
    assert "You already approved SIGN-1 on" in out and "decisions are final" in out
    assert "Say what should change: signoff reject SIGN-n --comment TEXT (a comment is required)." in out
    assert "→ @ann (private): cy requested changes to SIGN-1 (ACT-1 Data policy): add PII rules" in out
    assert "Only a facilitator or a Responsible of ACT-1 can request its sign-off." in out
    first_status = out.split("(you are now @dee)")[1].split("(you are now @ann)")[0]
    assert "; current." in first_status
    assert "bob       approved" in first_status and "fine by me" in first_status
    assert "cy        rejected" in first_status and "add PII rules" in first_status
    assert "It supersedes SIGN-1." in out
    assert "SIGN-1 can no longer be decided: it was superseded by SIGN-2." in out
    assert "→ #general: SIGN-2: ACT-1 Data policy version" in out and "is approved by everyone asked." in out
    last_status = out.split('raci activity rename ACT-1 "Data access policy"')[-1]
    assert "superseded by SIGN-2." in last_status
    assert "STALE: content changed since, request again." in last_status
    assert last_status.count("approved (stale)") == 2
    assert 'There is no sign-off request "SIGN-9" here' in out

    engine = create_engine(sync_url(db_url))
    try:
        with Session(engine) as s:
            signs = s.execute(select(SignOff).order_by(SignOff.number)).scalars().all()
            assert [x.number for x in signs] == [1, 2]
            assert signs[0].snapshot == "Data policy\n\nWho may read what\n"
            assert signs[0].content_hash == signs[1].content_hash and len(signs[0].content_hash) == 64
            decisions = sorted(
                (r.sign_off_id, r.decision, r.comment) for r in s.execute(select(SignOffResponse)).scalars()
            )
            assert decisions == sorted(
                [
                    (signs[0].id, "approved", "fine by me"),
                    (signs[0].id, "pending", ""),  # eve never decided SIGN-1 before it was superseded
                    (signs[0].id, "rejected", "add PII rules"),
                    (signs[1].id, "approved", ""),
                ]
            )
            actions = [a.action for a in s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]
            assert [a for a in actions if a.startswith("signoff.")] == [
                "signoff.request",
                "signoff.approve",
                "signoff.reject",
                "signoff.request",
                "signoff.approve",
            ]
    finally:
        engine.dispose()


def test_a_deliverable_is_pinned_as_rendered_and_goes_stale_when_its_data_changes(sqlite_url):
    out = run_console(
        [
            "raci init",
            "raci assign ACT-1 A @bob R @ann",
            "signoff request ACT-1",
            'usecase propose "Churn model" --impact 4 --feasibility 2',
            "signoff status ACT-1",
            ":as bob",
            "signoff approve SIGN-1",
        ],
        sqlite_url,
        user="ann",
    )
    request = out.split("→ @bob (private): ann asks you to approve ACT-1 Prioritized use-case list")[1]
    assert "No use cases yet." in request.split("[Approve]")[0]
    assert "STALE: content changed since, request again." in out
    assert "SIGN-1 can no longer be decided: ACT-1 Prioritized use-case list changed since it was requested" in out
