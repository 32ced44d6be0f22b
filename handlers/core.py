"""The one core every face calls: resolve scope, de-duplicate, check rights, run, record, reply."""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.batches import Batches
from handlers.clock import Clock, utc_now
from handlers.context import Context, CoreConfig
from handlers.fields import InvalidInput
from handlers.grammar import UsageError, parse_args, tokenize
from handlers.messages import (
    MAX_NAME,
    ChannelReply,
    Incoming,
    Reply,
    Text,
    elements_to_json,
    error_reply,
    fitted,
    oversized_id,
    reply_from_json,
    reply_to_json,
)
from handlers.registry import ActionSpec, Registry
from storage.db import Database
from storage.repos import record, scope

log = logging.getLogger(__name__)

NOT_A_MEMBER = "That belongs to an initiative you are not part of, so I can't act on it."
BATCH_MAX = 200  # clicks per shared transaction: about 0.4 s of writing, so no batch holds the write turn long


class Raced(Exception):
    """A concurrent twin of a delivery in a batch claimed it first: the batch is undone."""


def _ledger(reply: Reply) -> dict[str, Any]:
    """What the de-duplication ledger keeps of a reply."""
    kept = reply if reply.ledger_elements is None else Reply(reply.ledger_elements, reply.visibility)
    return reply_to_json(kept)


def _replay(stored: dict[str, Any] | None) -> Reply | None:
    """The answer to a redelivery: the stored reply again, or silence."""
    if not stored:
        return None
    replay = reply_from_json(stored)
    replay.replayed = True
    return replay


def _reply_key(delivery_key: str, kind: str = "reply") -> str:
    """The outbox's dedupe key of a delivery's channel reply (or refusal), within its 200 characters."""
    if len(delivery_key) > 180:
        delivery_key = hashlib.sha256(delivery_key.encode()).hexdigest()
    return f"{kind}:{delivery_key}"


def _reply_row(ctx: Context, reply: Reply) -> dict[str, Any] | None:
    """The outbox row of a reply for everyone, when the face asked for it (Incoming.channel_reply);
    with `every_reply` (Teams), of every reply. None when the face answers it itself."""
    wanted = ctx.incoming.channel_reply
    if wanted is None or not (wanted.every_reply or (reply.visibility == "channel" and reply.form is None)):
        return None
    return _reply_outbox_row(wanted, ctx.incoming.delivery_key, reply, (ctx.workspace.id, ctx.initiative.id))


def _reply_outbox_row(
    wanted: ChannelReply, key: str | None, reply: Reply, where: tuple[int, int | None], kind: str = "reply"
) -> dict[str, Any]:
    """The outbox row sending `reply` where the face asked; `where` is (workspace id, initiative id)."""
    workspace_id, initiative_id = where
    return dict(
        workspace_id=workspace_id,
        initiative_id=initiative_id,
        target_kind="channel",
        target_id=wanted.conversation_id,
        payload={"elements": elements_to_json(reply.elements), "route": wanted.route},
        dedupe_key=_reply_key(key, kind) if key else None,
    )


def display_name(incoming: Incoming) -> str:
    """A new initiative's name: the conversation's, else its creator's, never a raw conversation
    id (a Teams chat's `19:...@thread.v2` means nothing to a person). `initiative rename` changes it."""
    if incoming.conversation_name:
        return incoming.conversation_name
    if incoming.actor.display_name and incoming.actor.display_name != incoming.actor.user_id:
        suffix = "'s initiative"  # the whole name fits the column, however long the person's
        return incoming.actor.display_name[: MAX_NAME - len(suffix)] + suffix
    return "The Alignbot initiative"


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
        self._batches = {
            spec.prefix: Batches(functools.partial(self._answer_batch, spec), max_size=BATCH_MAX)
            for spec in registry.actions.values()
            if spec.batched
        }

    async def handle(self, incoming: Incoming) -> Reply | None:
        """Answer one delivery. None means: a redelivery of something already answered silently."""
        if problem := oversized_id(incoming):  # faces refuse these with 400 first; the console cannot
            return error_reply(f"That request cannot be handled: {problem}.")
        incoming = fitted(incoming)
        act = self.registry.find_action(incoming.action.action_id) if incoming.action is not None else None
        if act is not None and act.batched:
            reply = await self._batches[act.prefix].submit(incoming)
        else:
            reply = await self._guarded(incoming, self._handle, functools.partial(self._handle, look_first=True))
        return await self._queue_refusal(incoming, reply)

    async def _queue_refusal(self, incoming: Incoming, reply: Reply | None) -> Reply | None:
        """Where every reply is a message (`ChannelReply.every_reply`), a refusal goes through the
        outbox too, in a transaction of its own (it stored nothing to be atomic with): after the
        person's earlier replies, and once even when a crash before the ack brings the delivery
        again. What cannot be queued (the database failed) the face sends itself."""
        wanted = incoming.channel_reply
        if wanted is None or not wanted.every_reply or reply is None or reply.queued or reply.replayed:
            return reply
        if reply.retryable:  # "something went wrong on our side": the database, the outbox with it
            return reply
        try:
            async with self.db.transaction() as session:
                now = self.clock()
                ws = await scope.workspace(session, incoming.actor.platform, incoming.actor.workspace_id, now)
                row = _reply_outbox_row(wanted, incoming.delivery_key, reply, (ws.id, None), "refusal")
                await record.enqueue_many(session, [row], now)
        except Exception:
            log.exception("could not queue a refusal for %s; the face sends it", incoming.actor)
            return reply
        reply.queued = True
        self.on_queued()
        return reply

    async def _guarded(
        self,
        incoming: Incoming,
        attempt: Callable[[Incoming], Awaitable[Reply | None]],
        retry: Callable[[Incoming], Awaitable[Reply | None]] | None = None,
    ) -> Reply | None:
        try:
            return await attempt(incoming)
        except (IntegrityError, Raced):
            # A concurrent twin of this delivery (or of this vote, this number...) won the race;
            # the second attempt sees what the first stored.
            try:
                return await (retry or attempt)(incoming)
            except Exception:
                return self._failure(incoming)
        except DBAPIError as e:
            if not e.connection_invalidated:
                return self._failure(incoming)
            # The connection dropped (a database restart, pg_terminate_backend): SQLAlchemy threw
            # it away, and a second try on a fresh one, reading the ledger first in case the commit
            # went through, takes effect once instead of apologising.
            log.warning("database connection lost during a delivery; trying it once more")
            try:
                return await (retry or attempt)(incoming)
            except Exception:
                return self._failure(incoming)
        except Exception:
            return self._failure(incoming)

    def _failure(self, incoming: Incoming) -> Reply:
        ref = uuid.uuid4().hex[:8]
        log.exception("handler failed (ref %s) for %s", ref, incoming.actor)
        failure = error_reply(f"Sorry, something went wrong on our side and nothing was saved. (ref {ref})")
        failure.retryable = True
        return failure

    async def _handle(self, incoming: Incoming, *, look_first: bool = False) -> Reply | None:
        """The delivery is claimed at the end, with its reply, in one statement. Redeliveries are
        rare (Slack resends only what it saw no ack for), so the ledger is read first only on the
        retry after a lost claim; a refusal reads it too, as a redelivery may be refused for what
        its first delivery did (the near-duplicate of its own use case)."""
        queued = 0
        key = incoming.delivery_key
        async with self.db.transaction() as session:
            now = self.clock()
            if key and look_first and key in (stored := await record.stored_replies(session, [key])):
                return _replay(stored[key])
            [ctx], _ = await self._scopes(session, [incoming], now)
            reply = await self._run(ctx) if ctx else error_reply(NOT_A_MEMBER)
            if not reply.ok:
                if key and not look_first and key in (stored := await record.stored_replies(session, [key])):
                    reply = _replay(stored[key])  # type: ignore[assignment]
                # Nothing partial is stored; a redelivery will be refused the same way.
                await session.rollback()
                return reply
            if ctx:
                await self._record_accepted(session, [(ctx, reply)])
            if key and not await record.claim_answered(session, {key: _ledger(reply)}, now):
                raise Raced("a twin of this delivery was answered first")
            queued = ctx.queued if ctx else 0
            timers_changed = bool(ctx and ctx.timers_changed)
        if queued:
            self.on_queued()
        if timers_changed:
            self.on_timers_changed()
        return reply

    @staticmethod
    async def _record_accepted(session: AsyncSession, accepted: list[tuple[Context, Reply]]) -> None:
        """The audit rows of accepted deliveries and the outbox rows of their replies, each kind in
        one statement (a batch of clicks writes two). A reply in the outbox with its effect cannot be
        lost by a crash after the commit, and a redelivery (which replays silently) need not repeat it."""
        await record.write_audit(session, [row for ctx, _ in accepted for row in ctx.audits])
        queued = [(ctx, reply, row) for ctx, reply in accepted if (row := _reply_row(ctx, reply)) is not None]
        if not queued:
            return
        if await record.enqueue_many(session, [row for _, _, row in queued], accepted[0][0].now):
            queued[0][0].queued += 1  # the sender is woken once the transaction commits
        for _, reply, _ in queued:
            reply.queued = True

    async def _answer_batch(self, spec: ActionSpec, batch: list[Incoming]) -> list[Reply | None]:
        """A batch in one transaction; if that fails, each delivery alone, so one bad click (or
        a twin being handled by another replica) costs the others only time."""
        if len(batch) > 1:
            try:
                return await self._handle_batch(spec, batch)
            except Exception:
                log.warning("%d %s deliveries failed together; answering each alone", len(batch), spec.prefix)
        alone = functools.partial(self._handle_alone, spec)
        return [await self._guarded(incoming, alone) for incoming in batch]

    async def _handle_alone(self, spec: ActionSpec, incoming: Incoming) -> Reply | None:
        return (await self._handle_batch(spec, [incoming]))[0]

    async def _handle_batch(self, spec: ActionSpec, batch: list[Incoming]) -> list[Reply | None]:
        """`_handle` for deliveries of one batched action. The action decides every reply first
        and writes only what it accepted; then the accepted deliveries are claimed with their
        replies in one statement, and losing any claim to a concurrent twin undoes the batch."""
        answers: list[Reply | None] = [None] * len(batch)
        async with self.db.transaction() as session:
            now = self.clock()
            stored = await record.stored_replies(session, [i.delivery_key for i in batch if i.delivery_key])
            firsts: dict[str, int] = {}
            fresh: list[int] = []
            for n, incoming in enumerate(batch):
                key = incoming.delivery_key
                if key in stored:
                    answers[n] = _replay(stored[key])
                elif key not in firsts:  # a twin inside the batch is answered after its first
                    if key:
                        firsts[key] = n
                    fresh.append(n)
            contexts, made = await self._scopes(session, [batch[n] for n in fresh], now)
            runnable: list[tuple[int, Context]] = []
            for n, ctx in zip(fresh, contexts, strict=True):
                if ctx is None:
                    answers[n] = error_reply(NOT_A_MEMBER)
                elif not self._allowed(ctx, spec.roles):
                    answers[n] = self._denied("that action")
                else:
                    runnable.append((n, ctx))
            if runnable:
                results = await spec.func([ctx for _, ctx in runnable])
                for (n, _), result in zip(runnable, results, strict=True):
                    answers[n] = self._refusal(result) if isinstance(result, Exception) else result
            refused = [i for i, n in enumerate(fresh) if not answers[n].ok]  # type: ignore[union-attr]
            if len(refused) == len(fresh):
                await session.rollback()  # as in _handle: nothing of a refused delivery is stored
            elif made & set(refused):
                raise Raced("a refused delivery made a member or initiative: each is answered alone")
            await self._record_accepted(
                session,
                [(ctx, answers[n]) for n, ctx in runnable if answers[n].ok],  # type: ignore[union-attr, misc]
            )
            ledger = {
                key: _ledger(answer)
                for n in fresh
                if (key := batch[n].delivery_key) and (answer := answers[n]) is not None and answer.ok
            }
            if await record.claim_answered(session, ledger, now) != len(ledger):
                raise Raced(f"{len(ledger)} {spec.prefix} deliveries: a concurrent twin claimed one first")
            queued = sum(ctx.queued for _, ctx in runnable)
            timers_changed = any(ctx.timers_changed for _, ctx in runnable)
        for n, incoming in enumerate(batch):
            key = incoming.delivery_key
            if key and firsts.get(key, n) != n:
                first = answers[firsts[key]]
                answers[n] = _replay(ledger[key]) if key in ledger else first
        if queued:
            self.on_queued()
        if timers_changed:
            self.on_timers_changed()
        return answers

    async def _scopes(self, session, incomings: list[Incoming], now: datetime) -> tuple[list[Context | None], set[int]]:
        """Workspace from the delivery; initiative from where it happened, or, for a hinted
        conversation (a button in a DM), only an existing one the actor already belongs to.
        Deliveries from one conversation (a burst of clicks) share the look-ups. Also returns
        which deliveries made something (workspace, initiative, member) on first contact."""
        contexts: list[Context | None] = [None] * len(incomings)
        made: set[int] = set()
        groups: dict[tuple[str, str, str], list[int]] = {}
        for n, incoming in enumerate(incomings):
            actor = incoming.actor
            groups.setdefault((actor.platform, actor.workspace_id, incoming.conversation_id), []).append(n)
        for (platform, external_id, conversation), ns in groups.items():
            here = [incomings[n] for n in ns]
            people = {i.actor.user_id for i in here}
            ws, initiative, members = await scope.resolve(session, platform, external_id, conversation, people)
            joining = [i for i in here if not i.conversation_is_hint]
            created = False
            if joining:
                if ws is None or initiative is None:
                    made.update(ns)
                if ws is None:
                    ws = await scope.workspace(session, platform, external_id, now)
                if initiative is None:
                    first = joining[0]
                    initiative, created = await scope.initiative(
                        session,
                        ws,
                        conversation,
                        name=display_name(first),
                        creator=first.actor.user_id,
                        is_private=first.is_private_conversation,
                        now=now,
                    )
                newcomers = {i.actor.user_id: i.actor.display_name for i in joining if i.actor.user_id not in members}
                made.update(n for n, i in zip(ns, here, strict=True) if i.actor.user_id in newcomers)
                if newcomers:
                    members.update(await scope.add_members(session, initiative, newcomers, now))
            for n, incoming in zip(ns, here, strict=True):
                member = members.get(incoming.actor.user_id)
                if ws is None or initiative is None or member is None:
                    continue
                scope.rename(member, incoming.actor.display_name)
                contexts[n] = Context(
                    session, incoming, ws, initiative, member, now, self.config, self.registry, created
                )
        return contexts, made

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
        except (UsageError, InvalidInput) as e:
            return self._refusal(e)
        return error_reply("Type a command, or `help` to see them all.")

    @staticmethod
    def _refusal(e: Exception) -> Reply:
        """The polite answer to input a handler refused; anything else is our failure."""
        if isinstance(e, UsageError):
            return error_reply(e.message, {e.field: e.message} if e.field else None)
        if isinstance(e, InvalidInput):
            lines = list(e.errors.values())
            text = lines[0] if len(lines) == 1 else "Please fix these:\n" + "\n".join(f"• {m}" for m in lines)
            return error_reply(text, e.errors)
        raise e

    @staticmethod
    def _allowed(ctx: Context, roles: frozenset[str]) -> bool:
        return ctx.member.role in roles or ("facilitator" in roles and ctx.is_facilitator)

    @staticmethod
    def _denied(what: str) -> Reply:
        return Reply(
            [Text(f"Only a facilitator of this initiative can use `{what}`. Ask one to do it, or to promote you.")],
            ok=False,
        )
