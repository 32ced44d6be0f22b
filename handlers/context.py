"""What a handler gets: the transaction, the resolved scope, the clock, and ways to record effects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.grammar import Mention, UsageError
from handlers.messages import MAX_ID, MAX_NAME, Element, Incoming, elements_to_json
from storage.models import Initiative, Member, Workspace
from storage.repos import record, scope


@dataclass(frozen=True)
class CoreConfig:
    timezone: str = "UTC"
    ballot_secret: str = "dev-only-secret"
    max_items_per_kind: int = 5000
    workspace_admins_are_facilitators: bool = False
    prints_pdf: bool = False  # Chromium is on this machine (`export pdf` prints the HTML report with it)


@dataclass
class Context:
    session: AsyncSession
    incoming: Incoming
    workspace: Workspace
    initiative: Initiative
    member: Member
    now: datetime
    config: CoreConfig
    registry: Any = None
    queued: int = field(default=0)
    # Set when the handler added, moved or cancelled reminder rows: the core then re-arms the timer.
    timers_changed: bool = field(default=False)
    audits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_facilitator(self) -> bool:
        if self.member.role == "facilitator":
            return True
        return self.config.workspace_admins_are_facilitators and self.incoming.actor.is_workspace_admin

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.initiative.timezone or self.config.timezone)

    @property
    def today(self) -> date:
        """The initiative's calendar day now, by the app's clock: what a due date may not be before."""
        return self.now.astimezone(self.tz).date()

    async def next_number(self, kind: str) -> int:
        """The next human number; refused past the per-initiative limit so nobody can flood an initiative."""
        number = await scope.next_number(self.session, self.initiative.id, kind)
        if number > self.config.max_items_per_kind:
            raise UsageError(
                f"This initiative already has the most {kind}-n items allowed ({self.config.max_items_per_kind}); "
                "ask the operator to raise ALIGNBOT_MAX_ITEMS_PER_KIND, or start a new initiative in another channel."
            )
        return number

    async def person(self, mention: Mention) -> Member:
        """The member a mention names, made on first mention so roles can be given to newcomers."""
        if len(mention.user_id) > MAX_ID:
            raise UsageError(f"That mention's user id is longer than {MAX_ID} characters; mention the person again.")
        return await scope.member(self.session, self.initiative, mention.user_id, mention.name[:MAX_NAME], self.now)

    def audit(self, action: str, entity: str = "", **detail: Any) -> None:
        """Kept until the handler has answered: the core writes a delivery's rows only with an
        accepted reply, all in one statement."""
        self.audits.append(
            record.audit_row(
                workspace_id=self.workspace.id,
                initiative_id=self.initiative.id,
                actor_user_id=self.member.user_id,
                actor_name=self.member.display_name,
                action=action,
                entity=entity,
                detail=detail,
                at=self.now,
            )
        )

    async def notify_user(self, user_id: str, elements: Sequence[Element], dedupe_key: str | None = None) -> None:
        await self._enqueue("user", user_id, elements, dedupe_key)

    async def post_to_channel(self, elements: Sequence[Element], dedupe_key: str | None = None) -> None:
        await self._enqueue("channel", self.initiative.conversation_id, elements, dedupe_key)

    async def _enqueue(self, kind: str, target: str, elements: Sequence[Element], dedupe_key: str | None) -> None:
        if await record.enqueue(
            self.session,
            workspace_id=self.workspace.id,
            initiative_id=self.initiative.id,
            target_kind=kind,
            target_id=target,
            payload={"elements": elements_to_json(elements)},
            now=self.now,
            dedupe_key=dedupe_key,
        ):
            self.queued += 1
