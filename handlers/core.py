"""The one core every face calls: resolve scope, de-duplicate, check rights, run, record, reply."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from handlers.context import Context, CoreConfig
from handlers.fields import InvalidInput
from handlers.grammar import UsageError, parse_args, tokenize
from handlers.messages import Incoming, Reply, Text, error_reply, reply_from_json, reply_to_json
from handlers.registry import Registry
from storage.db import Database
from storage.repos import record, scope

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

NOT_A_MEMBER = "That belongs to an initiative you are not part of, so I can't act on it."


def utc_now() -> datetime:
    return datetime.now(UTC)


class Core:
    def __init__(
        self,
        db: Database,
        registry: Registry,
        config: CoreConfig,
        *,
        clock: Clock = utc_now,
        on_queued: Callable[[], None] | None = None,
        on_timers_changed: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.config = config
        self.clock = clock
        self.on_queued = on_queued or (lambda: None)
        self.on_timers_changed = on_timers_changed or (lambda: None)

    async def handle(self, incoming: Incoming) -> Reply | None:
        """Answer one delivery. None means: a redelivery of something already answered silently."""
        try:
            return await self._handle(incoming)
        except IntegrityError:
            # A concurrent twin of this delivery (or of this vote, this number...) won the race;
            # the second attempt sees what the first stored.
            try:
                return await self._handle(incoming)
            except Exception:
                return self._failure(incoming)
        except Exception:
            return self._failure(incoming)

    def _failure(self, incoming: Incoming) -> Reply:
        ref = uuid.uuid4().hex[:8]
        log.exception("handler failed (ref %s) for %s", ref, incoming.actor)
        return error_reply(f"Sorry, something went wrong on our side and nothing was saved. (ref {ref})")

    async def _handle(self, incoming: Incoming) -> Reply | None:
        queued = 0
        async with self.db.transaction() as session:
            now = self.clock()
            key = incoming.delivery_key
            if key and not await record.claim_delivery(session, key, now):
                stored = await record.delivery_reply(session, key)
                if not stored:
                    return None
                replay = reply_from_json(stored)
                replay.replayed = True
                return replay
            ctx = await self._scope(session, incoming, now)
            reply = await self._run(ctx) if ctx else error_reply(NOT_A_MEMBER)
            if not reply.ok:
                # Nothing partial is stored; a redelivery will be refused the same way.
                await session.rollback()
                return reply
            if key:
                kept = reply if reply.ledger_elements is None else Reply(reply.ledger_elements, reply.visibility)
                await record.remember_reply(session, key, reply_to_json(kept))
            queued = ctx.queued if ctx else 0
            timers_changed = bool(ctx and ctx.timers_changed)
        if queued:
            self.on_queued()
        if timers_changed:
            self.on_timers_changed()
        return reply

    async def _scope(self, session, incoming: Incoming, now: datetime) -> Context | None:
        """Workspace from the delivery; initiative from where it happened, or, for a hinted
        conversation (a button in a DM), only an existing one the actor already belongs to."""
        actor = incoming.actor
        ws, initiative, member = await scope.resolve(
            session, actor.platform, actor.workspace_id, incoming.conversation_id, actor.user_id
        )
        if incoming.conversation_is_hint:
            if initiative is None or member is None:
                return None
            return Context(session, incoming, ws, initiative, member, now, self.config, self.registry)
        if ws is None:
            ws = await scope.workspace(session, actor.platform, actor.workspace_id, now)
        created = False
        if initiative is None:
            initiative, created = await scope.initiative(
                session,
                ws,
                incoming.conversation_id,
                name=incoming.conversation_name,
                creator=actor.user_id,
                is_private=incoming.is_private_conversation,
                now=now,
            )
        if member is None:
            role = "facilitator" if initiative.created_by == actor.user_id else "stakeholder"
            member = await scope.add_member(session, initiative, actor.user_id, actor.display_name, now, role)
        else:
            scope.rename(member, actor.display_name)
        return Context(session, incoming, ws, initiative, member, now, self.config, self.registry, created)

    async def _run(self, ctx: Context) -> Reply:
        incoming = ctx.incoming
        try:
            if incoming.text is not None:
                words = tokenize(incoming.text)
                spec, rest = self.registry.match(words)
                if not self._allowed(ctx, spec.roles):
                    return self._denied(spec.name)
                parsed = parse_args(rest, spec.args, spec.opts, spec.usage)
                return await spec.func(ctx, parsed)
            if incoming.form is not None:
                form = self.registry.forms.get(incoming.form.command)
                if form is None:
                    return error_reply("That form is no longer supported; run the command again.")
                if not self._allowed(ctx, form.roles):
                    return self._denied(incoming.form.command)
                return await form.func(ctx, incoming.form)
            if incoming.action is not None:
                act = self.registry.find_action(incoming.action.action_id)
                if act is None:
                    return error_reply("That button is no longer supported.")
                if not self._allowed(ctx, act.roles):
                    return self._denied("that action")
                return await act.func(ctx, incoming.action)
        except UsageError as e:
            return error_reply(e.message, {e.field: e.message} if e.field else None)
        except InvalidInput as e:
            lines = list(e.errors.values())
            text = lines[0] if len(lines) == 1 else "Please fix these:\n" + "\n".join(f"• {m}" for m in lines)
            return error_reply(text, e.errors)
        return error_reply("Type a command, or `help` to see them all.")

    @staticmethod
    def _allowed(ctx: Context, roles: frozenset[str]) -> bool:
        return ctx.member.role in roles or ("facilitator" in roles and ctx.is_facilitator)

    @staticmethod
    def _denied(what: str) -> Reply:
        return Reply(
            [Text(f"Only a facilitator of this initiative can use `{what}`. Ask one to do it, or to promote you.")],
            ok=False,
        )
