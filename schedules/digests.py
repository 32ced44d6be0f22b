"""The weekly digest: every initiative with a schedule gets one per period, across replicas.

Each tick looks at the latest scheduled run of every scheduled initiative; whoever inserts the
`JobClaim` row keyed `digest:<initiative>:<ISO week>` builds the digest and queues its messages
in the same transaction, so two schedulers (or a restart mid-week) never send it twice. A run
found more than `grace` after its time (the bot was down) is skipped until the next period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from handlers import plan_rules as rules
from handlers.digest import build_digest
from handlers.messages import elements_to_json
from schedules.timer import Timer
from schedules.worker import QueueingWorker
from storage.models import Initiative, JobClaim
from storage.repos import record
from storage.repos.upsert import insert_ignore

log = logging.getLogger(__name__)

TICK_SECONDS = 60
TICK_JOB = "digest-tick"
DEFAULT_GRACE = timedelta(hours=24)


@dataclass(eq=False, kw_only=True)
class DigestScheduler(QueueingWorker):
    grace: timedelta = DEFAULT_GRACE

    def attach(self, timer: Timer) -> None:
        timer.every(TICK_JOB, TICK_SECONDS, self.tick)

    async def tick(self) -> None:
        try:
            await self.run_due()
        except Exception:
            log.exception("digest tick failed; the next tick retries")

    async def run_due(self) -> list[str]:
        """Send every digest whose period has come and was not yet claimed; the claimed keys."""
        async with self.db.transaction() as s:  # on SQLite: queued behind this process's writers
            scheduled = list(
                (await s.execute(select(Initiative.id).where(Initiative.digest_schedule.is_not(None)))).scalars()
            )
        sent = []
        for initiative_id in scheduled:
            key = await self._run_one(initiative_id)
            if key:
                sent.append(key)
        return sent

    async def _run_one(self, initiative_id: int) -> str | None:
        queued = 0
        async with self.db.transaction() as s:
            now = self.clock()
            initiative = await s.get(Initiative, initiative_id)
            if initiative is None or not initiative.digest_schedule:
                return None
            day, _, at = initiative.digest_schedule.partition(" ")
            weekday, when = rules.parse_digest_schedule(day, at)
            tz = ZoneInfo(initiative.timezone or self.default_timezone)
            last = rules.last_digest_time(weekday, when, tz, now)
            if now - last > self.grace:
                return None
            key = rules.digest_claim_key(initiative.id, last, tz)
            if not await insert_ignore(s, JobClaim, key=key, claimed_by=self.instance, claimed_at=now):
                return None
            for kind, target, elements in await build_digest(s, initiative, now):
                queued += await record.enqueue(
                    s,
                    workspace_id=initiative.workspace_id,
                    initiative_id=initiative.id,
                    target_kind=kind,
                    target_id=target,
                    payload={"elements": elements_to_json(elements)},
                    now=now,
                    dedupe_key=f"{key}:{kind}:{target}",
                )
        if queued:
            self.on_queued()
        return key
