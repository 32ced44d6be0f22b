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
from storage.models import Initiative, Member, Workspace
from storage.repos import outbox, record, scope

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


def _sort_batch(
    batch: list[Incoming], stored: dict[str, dict[str, Any] | None]
) -> tuple[list[Reply | None], dict[str, int], list[int]]:
    """The answers known before a batch runs (the stored reply of a redelivery), the first
    position of each key, and the fresh positions: neither a redelivery nor a twin of an earlier
    delivery in the batch (a twin is answered after its first)."""
    answers: list[Reply | None] = [None] * len(batch)
    firsts: dict[str, int] = {}
    fresh: list[int] = []
    for n, incoming in enumerate(batch):
        key = incoming.delivery_key
        if key in stored:
            answers[n] = _replay(stored[key])
        elif key not in firsts:
            if key:
                firsts[key] = n
            fresh.append(n)
    return answers, firsts, fresh


def _by_conversation(incomings: list[Incoming]) -> dict[tuple[str, str, str], list[int]]:
    """The positions of the deliveries by where they happened: (platform, workspace, conversation)."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    for n, incoming in enumerate(incomings):
        actor = incoming.actor
        groups.setdefault((actor.platform, actor.workspace_id, incoming.conversation_id), []).append(n)
    return groups


async def _first_contact(
    session: AsyncSession,
    where: tuple[str, str, str],
    ws: Workspace | None,
    initiative: Initiative | None,
    first: Incoming,
    now: datetime,
) -> tuple[Workspace, Initiative, bool]:
    """The workspace and the conversation's initiative, made if missing (the first speaker
    creates the initiative), and whether this made the initiative."""
    platform, external_id, conversation = where
    if ws is None:
        ws = await scope.workspace(session, platform, external_id, now)
    if initiative is not None:
        return ws, initiative, False
    initiative, created = await scope.initiative(
        session,
        ws,
        conversation,
        name=display_name(first),
        creator=first.actor.user_id,
        is_private=first.is_private_conversation,
        now=now,
    )
    return ws, initiative, created


async def _add_newcomers(
    session: AsyncSession, initiative: Initiative, joining: list[Incoming], members: dict[str, Member], now: datetime
) -> set[str]:
    """Make members (into `members`) of the people speaking here for the first time; returns their ids."""
    newcomers = {i.actor.user_id: i.actor.display_name for i in joining if i.actor.user_id not in members}
    if newcomers:
        members.update(await scope.add_members(session, initiative, newcomers, now))
    return set(newcomers)


async def _record_accepted(session: AsyncSession, accepted: list[tuple[Context, Reply]]) -> None:
    """The audit rows of accepted deliveries and the outbox rows of their replies, each kind in
    one statement (a batch of clicks writes two). A reply in the outbox with its effect cannot be
    lost by a crash after the commit, and a redelivery (which replays silently) need not repeat it."""
    await record.write_audit(session, [row for ctx, _ in accepted for row in ctx.audits])
    queued = [(ctx, reply, row) for ctx, reply in accepted if (row := _reply_row(ctx, reply)) is not None]
    if not queued:
        return
    if await outbox.enqueue_many(session, [row for _, _, row in queued], accepted[0][0].now):
        queued[0][0].queued += 1  # the sender is woken once the transaction commits
    for _, reply, _ in queued:
        reply.queued = True


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
                await outbox.enqueue_many(session, [row], now)
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
        key = incoming.delivery_key
        async with self.db.transaction() as session:
            now = self.clock()
            if key and look_first and key in (stored := await record.stored_replies(session, [key])):
                return _replay(stored[key])
            [ctx], _ = await self._scopes(session, [incoming], now)
            reply = await self._run(ctx) if ctx else error_reply(NOT_A_MEMBER)
            if ctx is None or not reply.ok:
                return await self._refused(session, None if look_first else key, reply)
            await _record_accepted(session, [(ctx, reply)])
            if key and not await record.claim_answered(session, {key: _ledger(reply)}, now):
                raise Raced("a twin of this delivery was answered first")
        self._wake(ctx.queued, ctx.timers_changed)
        return reply

    @staticmethod
    async def _refused(session: AsyncSession, key: str | None, refusal: Reply) -> Reply | None:
        """Nothing partial of a refused delivery is stored, so a redelivery is refused the same
        way; but one accepted before (`key` in the ledger, when not read already) gets its first
        reply again."""
        answer: Reply | None = refusal
        if key and key in (stored := await record.stored_replies(session, [key])):
            answer = _replay(stored[key])
        await session.rollback()
        return answer

    def _wake(self, queued: int, timers_changed: bool) -> None:
        """After the commit: the outbox sender for what was queued, the timer for changed due times."""
        if queued:
            self.on_queued()
        if timers_changed:
            self.on_timers_changed()

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
        async with self.db.transaction() as session:
            now = self.clock()
            stored = await record.stored_replies(session, [i.delivery_key for i in batch if i.delivery_key])
            answers, firsts, fresh = _sort_batch(batch, stored)
            contexts, made = await self._scopes(session, [batch[n] for n in fresh], now)
            replies, runnable = await self._decide_batch(spec, contexts)
            keys = [batch[n].delivery_key for n in fresh]
            ledger = await self._store_batch(session, spec, keys, replies, runnable, made, now)
        for n, reply in zip(fresh, replies, strict=True):
            answers[n] = reply
        for n, incoming in enumerate(batch):
            key = incoming.delivery_key
            if key and firsts.get(key, n) != n:
                answers[n] = _replay(ledger[key]) if key in ledger else answers[firsts[key]]
        self._wake(sum(ctx.queued for _, ctx in runnable), any(ctx.timers_changed for _, ctx in runnable))
        return answers

    async def _decide_batch(
        self, spec: ActionSpec, contexts: list[Context | None]
    ) -> tuple[list[Reply], list[tuple[int, Context]]]:
        """One reply for each context: refused here (not a member, no right) or decided by the
        action, which gets all the others in one call; and those others, by position."""
        decided: dict[int, Reply] = {}
        runnable: list[tuple[int, Context]] = []
        for i, ctx in enumerate(contexts):
            if ctx is None:
                decided[i] = error_reply(NOT_A_MEMBER)
            elif not self._allowed(ctx, spec.roles):
                decided[i] = self._denied("that action")
            else:
                runnable.append((i, ctx))
        if runnable:
            results = await spec.func([ctx for _, ctx in runnable])
            for (i, _), result in zip(runnable, results, strict=True):
                decided[i] = self._refusal(result) if isinstance(result, Exception) else result
        return [decided[i] for i in range(len(contexts))], runnable

    @staticmethod
    async def _store_batch(
        session: AsyncSession,
        spec: ActionSpec,
        keys: list[str | None],
        replies: list[Reply],
        runnable: list[tuple[int, Context]],
        made: set[int],
        now: datetime,
    ) -> dict[str, dict[str, Any]]:
        """Audit what was accepted and claim those deliveries with their replies; returns the
        claimed replies by key. As in `_handle` nothing of a refused delivery is stored: all
        refused, the transaction is rolled back; one refused that made a member or initiative on
        first contact cannot be undone alone, so the batch is."""
        refused = {i for i, reply in enumerate(replies) if not reply.ok}
        if len(refused) == len(replies):
            await session.rollback()
        elif made & refused:
            raise Raced("a refused delivery made a member or initiative: each is answered alone")
        await _record_accepted(session, [(ctx, replies[i]) for i, ctx in runnable if replies[i].ok])
        ledger = {key: _ledger(reply) for key, reply in zip(keys, replies, strict=True) if key and reply.ok}
        if await record.claim_answered(session, ledger, now) != len(ledger):
            raise Raced(f"{len(ledger)} {spec.prefix} deliveries: a concurrent twin claimed one first")
        return ledger

    async def _scopes(
        self, session: AsyncSession, incomings: list[Incoming], now: datetime
    ) -> tuple[list[Context | None], set[int]]:
        """Workspace from the delivery; initiative from where it happened, or, for a hinted
        conversation (a button in a DM), only an existing one the actor already belongs to.
        Deliveries from one conversation (a burst of clicks) share the look-ups. Also returns
        which deliveries made something (workspace, initiative, member) on first contact."""
        contexts: list[Context | None] = [None] * len(incomings)
        made: set[int] = set()
        for where, ns in _by_conversation(incomings).items():
            here = [incomings[n] for n in ns]
            ws, initiative, members = await scope.resolve(session, *where, {i.actor.user_id for i in here})
            joining = [i for i in here if not i.conversation_is_hint]
            created = False
            if joining:
                if ws is None or initiative is None:
                    made.update(ns)
                ws, initiative, created = await _first_contact(session, where, ws, initiative, joining[0], now)
                newcomers = await _add_newcomers(session, initiative, joining, members, now)
                made.update(n for n, i in zip(ns, here, strict=True) if i.actor.user_id in newcomers)
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
