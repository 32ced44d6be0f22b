"""The Slack face: a slack_bolt AsyncApp that turns deliveries into neutral messages and back.

Bolt verifies every request's signature and timestamp before any listener runs. Listeners only
translate: the core decides. Replies that must reach Slack within its 3-second window are acked
with the answer when the core is fast enough, otherwise acked at once and answered later.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.faces.platform import Face
from bot.faces.slack import conversation as spoken
from bot.faces.slack.oauth import SlackInstalls, purge_workspace
from bot.faces.slack.settings import channel_buckets
from bot.ratelimit import TokenBuckets
from bot.render import slack as blocks
from handlers.core import Core
from handlers.home import home_view
from handlers.messages import (
    Action,
    Actor,
    ChannelReply,
    Element,
    File,
    FormSubmission,
    Image,
    Incoming,
    Reply,
    Text,
    elements_from_json,
    incoming_from_json,
    oversized_id,
)
from schedules.inbox import Inbox
from schedules.outbox import Envelope, SendError

log = logging.getLogger(__name__)

COMMAND = "/align"
MAX_HOME_BLOCKS = 100
RESPONSE_URL_USES = 5  # Slack: a response_url takes at most 5 messages
HOME_EMPTY = Text("You are not part of an initiative yet. Type /align help in a channel to start one.")
HOME_VIEWER_SECONDS = 24 * 3600
ACK_BUDGET = 2.0  # seconds of Slack's 3 we may spend before acking
INBOX_AFTER = 1.0  # past this, the delivery is written to the inbox (schedules/inbox.py) before the ack
INBOX_WRITE_BUDGET = 1.5  # the inbox write must be done by INBOX_AFTER + this, or there is no ack
OUTBOX_EVENT = "alignbot_outbox"  # message metadata event_type: {"row": outbox id} marks our own sends
LOOKUP_SLACK = 5.0  # seconds before a row was queued that its lookup still reads (clock skew)
NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


class NotDurable(Exception):
    """The delivery could neither be worked nor written to the inbox within the ack budget: it is
    not acked, so Slack shows the person an error instead of their action silently vanishing."""


ADMIN_CACHE_SECONDS = 300  # how long users.info's is_admin/is_owner is trusted


def web_client(
    token: str | None, base_url: str, session: aiohttp.ClientSession | None = None, *, retries: bool = True
) -> AsyncWebClient:
    """`retries=False` for the outbox: a 500 or a dropped connection may come after Slack posted,
    so slack_sdk retrying a post itself would post twice; the outbox retries instead, after
    looking for the row's mark (`OUTBOX_EVENT`)."""
    handlers = (
        [
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ]
        if retries
        else []
    )
    return AsyncWebClient(
        token=token or None,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        session=session,
        retry_handlers=handlers,
    )


def encode_value(conversation_id: str, value: str) -> str:
    """Button values carry the initiative's conversation so a click in a DM finds its scope."""
    return json.dumps({"c": conversation_id, "v": value}, separators=(",", ":"))


def decode_value(raw: str) -> tuple[str | None, str]:
    try:
        data = json.loads(raw)
        if isinstance(data, dict) and isinstance(data.get("v"), str):
            c = data.get("c")
            return (c if isinstance(c, str) else None), data["v"]
    except (ValueError, TypeError):
        pass
    return None, raw or ""


def encode_buttons(messages: list[dict[str, Any]], conversation_id: str) -> list[dict[str, Any]]:
    for msg in messages:
        for block in msg["blocks"]:
            for el in block.get("elements", []) if block.get("type") == "actions" else []:
                el["value"] = encode_value(conversation_id, el.get("value", ""))
    return messages


def message_link(body: dict[str, Any]) -> str:
    """The permalink of a shortcut's message, built from the payload (no extra call in the 3 s)."""
    domain = (body.get("team") or {}).get("domain", "")
    channel = (body.get("channel") or {}).get("id", "")
    ts = (body.get("message") or {}).get("ts", "")
    if not (domain and channel and ts):
        return ""
    return f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"


def _form_metadata(view: dict[str, Any]) -> tuple[str, str, dict[str, str]] | None:
    """The command, channel and hints a modal was opened with (its private_metadata); None when
    they cannot be read, as in a modal opened by an older version."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        command, channel = str(meta["command"]), str(meta["channel"])
        hints = {str(k): str(v) for k, v in (meta.get("hints") or {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return command, channel, hints


class SlackFace(Face):
    name = "slack"

    def __init__(
        self,
        core: Core,
        *,
        token: str,
        signing_secret: str,
        api_url: str,
        installs: SlackInstalls | None = None,
        inbox: Inbox | None = None,
        purge_on_uninstall: bool = False,
        admins_are_facilitators: bool = False,
    ) -> None:
        self.core = core
        self.api_url = api_url
        self.signing_secret = signing_secret
        self.installs = installs
        self.inbox = inbox
        self.purge_on_uninstall = purge_on_uninstall
        self.admins_are_facilitators = admins_are_facilitators
        self._admins: dict[tuple[str, str], tuple[bool, float]] = {}
        # People who opened their Home tab lately: only their tab is rebuilt after their actions.
        self._home_viewers: dict[tuple[str, str], float] = {}
        # With the OAuth install each workspace has its own token: the client of the request (or of
        # the outbox row's workspace) follows the work through the helpers below.
        self._default_client = web_client(None if installs else token, api_url)
        self._outbox_client = web_client(None if installs else token, api_url, retries=False)
        self._current: ContextVar[AsyncWebClient | None] = ContextVar(f"slack_client_{id(self)}", default=None)
        self.app = AsyncApp(
            client=self._default_client,
            signing_secret=signing_secret,
            process_before_response=True,  # see _tracked
            ignoring_self_events_enabled=True,
            oauth_settings=installs.oauth_settings() if installs else None,
        )
        self._tasks: set[asyncio.Task] = set()
        self.channels: TokenBuckets = channel_buckets()
        self._listen(installs is not None)

    def _listen(self, installed_by_oauth: bool) -> None:
        """The request middleware, the error handler and every listener (through `_tracked`); Bolt
        tries the listeners in this order."""
        self.app.middleware(self._bind_request_client)
        if installed_by_oauth:
            self.app.event("app_uninstalled")(self._tracked(self._on_uninstalled))
            self.app.event("tokens_revoked")(self._tracked(self._on_tokens_revoked))
        self.app.command(COMMAND)(self._tracked(self._on_command))
        self.app.view(blocks.FORM_CALLBACK)(self._tracked(self._on_form))
        self.app.error(self._on_malformed)
        # Bolt matches no block action on "type" alone: every action id goes to the core.
        self.app.action({"type": "block_actions", "action_id": re.compile(".")})(self._tracked(self._on_action))
        self.app.shortcut("propose_use_case")(self._tracked(self._on_message_shortcut))
        self.app.event("app_home_opened")(self._tracked(self._on_home_opened))
        self.app.event("member_left_channel")(self._tracked(self._on_membership))
        self.app.event("member_joined_channel")(self._tracked(self._on_membership))
        self.app.event("message")(self._tracked(self._on_direct_message))
        self.app.event("app_mention")(self._tracked(self._on_mention))

    def routes(self) -> list[web.RouteDef]:
        from bot.faces.slack.routes import slack_routes

        return slack_routes(self, self.signing_secret)

    @property
    def client(self) -> AsyncWebClient:
        """The Web API client of the workspace being served (the one token without the OAuth install)."""
        return self._current.get() or self._default_client

    async def _bind_request_client(self, context, next) -> BoltResponse | None:
        """Bolt has authorised the request with its workspace's (rotated) token: use that client.

        Bolt's `next()` returns before the listeners run, so the binding is not reset here: it lives
        in this request's task, and the listener tasks Bolt starts from it copy it.
        """
        if self.installs is not None and context.client is not None:
            self._current.set(context.client)
        return await next()

    @contextlib.asynccontextmanager
    async def _in_workspace(self, team_id: str, *, retries: bool = True) -> AsyncIterator[None]:
        """Work the bot does on its own (outbox, rosters, Home tab) with that workspace's token."""
        if self.installs is None:
            if retries:
                yield
                return
            self._outbox_client.session = self._default_client.session
            bound = self._current.set(self._outbox_client)
            try:
                yield
            finally:
                self._current.reset(bound)
            return
        token = await self.installs.bot_token(team_id)
        if token is None:
            raise SendError(f"slack workspace {team_id} has not installed Alignbot (or uninstalled it)", permanent=True)
        bound = self._current.set(web_client(token, self.api_url, self._default_client.session, retries=retries))
        try:
            yield
        finally:
            self._current.reset(bound)

    async def _on_uninstalled(self, body: dict[str, Any]) -> None:
        team_id = body.get("team_id", "")
        if not team_id or self.installs is None:  # registered only with installs
            return
        await self.installs.forget(team_id)
        purged = self.purge_on_uninstall and await purge_workspace(self.core.db, team_id)
        log.warning("Slack workspace %s uninstalled Alignbot; its data was %s", team_id, "purged" if purged else "kept")

    async def _on_tokens_revoked(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A revoked bot token leaves nothing to send with: forget the installation (data is kept)."""
        team_id = body.get("team_id", "")
        tokens = event.get("tokens") or {}
        if not team_id or self.installs is None:  # registered only with installs
            return
        if tokens.get("bot"):
            await self.installs.forget(team_id)
        elif tokens.get("oauth"):
            await self.installs.forget_users(team_id, [str(u) for u in tokens["oauth"]])

    async def _with_admin_flag(self, actor: Actor) -> Actor:
        """Workspace admins and owners may facilitate (when configured): ask users.info, cached briefly."""
        if not self.admins_are_facilitators or not actor.user_id:
            return actor
        key = (actor.workspace_id, actor.user_id)
        now = time.monotonic()
        known = self._admins.get(key)
        if known is None or known[1] < now:
            try:
                user = (await self.client.users_info(user=actor.user_id)).get("user") or {}
                is_admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
            except SlackApiError as e:
                log.warning("users.info for %s failed: %s", actor.user_id, e.response.get("error"))
                is_admin = False
            if len(self._admins) > 10_000:
                self._admins.clear()
            known = self._admins[key] = (is_admin, now + ADMIN_CACHE_SECONDS)
        return dataclasses.replace(actor, is_workspace_admin=known[0])

    def _tracked(self, listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """Answer Slack the moment the listener acks; the rest of its work goes on in a task that
        shutdown waits for.

        Bolt runs in process-before-response mode, so it waits for this wrapper, which returns at
        the ack (or at once for events, which Bolt acks itself). Bolt's other mode would poll for
        the ack every 10 ms: more than a fast command's whole run.
        """

        @functools.wraps(listener)  # Bolt injects arguments by the wrapped function's signature
        async def run(*args: Any, **kwargs: Any) -> None:
            acked = asyncio.Event()
            waits_for_ack = "ack" in kwargs
            if waits_for_ack:
                ack = kwargs["ack"]

                async def ack_and_release(*a: Any, **kw: Any) -> Any:
                    try:
                        return await ack(*a, **kw)
                    finally:
                        acked.set()

                kwargs["ack"] = ack_and_release
            task = asyncio.ensure_future(listener(*args, **kwargs))
            self._tasks.add(task)

            def done(task: asyncio.Task) -> None:
                self._tasks.discard(task)
                if task.cancelled() or (waits_for_ack and not acked.is_set()):
                    return  # not acked: the exception goes to Bolt below
                if (error := task.exception()) is not None:
                    log.error("Slack listener %s failed after its ack", listener.__name__, exc_info=error)

            task.add_done_callback(done)
            if not waits_for_ack:
                return
            released = asyncio.ensure_future(acked.wait())
            try:
                await asyncio.wait({task, released}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                released.cancel()
            if task.done() and not acked.is_set():
                task.result()  # failed before its ack: Bolt's error handler answers (400, never 500)

        return run

    async def _on_malformed(self, error: Exception, logger, response) -> BoltResponse | None:
        """A signed body whose shape Bolt cannot route (missing keys, wrong types): 400, never 500."""
        if isinstance(error, NotDurable):
            logger.warning("not acked: %s", error)
            return BoltResponse(status=503, body="Alignbot is too busy to take this now; please try again.")
        logger.warning("unusable Slack request: %s: %s", type(error).__name__, error)
        if response is None:  # after the ack there is no response left to change
            return None
        return BoltResponse(status=400, body="The request could not be understood.")

    async def open(self) -> None:
        """One connection pool for every Web API call: without a session of its own, slack_sdk
        opens a new one (and a new connection) for each call. Bolt's per-workspace clients share it."""
        if self._default_client.session is None:
            self._default_client.session = aiohttp.ClientSession()

    async def close(self) -> None:
        session, self._default_client.session = self._default_client.session, None
        if session is not None:
            await session.close()

    async def finish_in_flight(self, timeout: float) -> None:
        """Let listeners already past their ack post their answers (graceful shutdown)."""
        pending = [t for t in self._tasks if not t.done() and t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    # ---- incoming ----

    @staticmethod
    def _actor(body: dict[str, Any]) -> Actor:
        if "user_id" in body:  # slash commands are flat
            return Actor("slack", body.get("team_id", ""), body["user_id"], body.get("user_name", ""))
        user = body.get("user") or {}
        team = body.get("team") or {}
        return Actor(
            "slack",
            team.get("id") or user.get("team_id", ""),
            user.get("id", ""),
            user.get("name") or user.get("username", ""),
        )

    def _start(self, incoming: Incoming) -> asyncio.Future:
        """The core's work on a delivery, in a task; ids longer than Slack issues are refused
        first (400 from Bolt's error handler, before any ack): nothing is stored."""
        if problem := oversized_id(incoming):
            raise ValueError(problem)
        return asyncio.ensure_future(self.core.handle(incoming))

    async def _durably(self, task: asyncio.Future, incoming: Incoming, route: dict[str, Any]) -> int | None:
        """Wait up to ACK_BUDGET for the work. Past INBOX_AFTER the delivery is written to the inbox
        meanwhile, so that an ack sent before the work is done never precedes durability: the id of
        its row comes back when the work is still running at the budget (0: a twin holds it), and
        then the caller acks first. Raises NotDurable, cancelling the work, when even the inbox
        write cannot be made in time: then there is no ack."""
        done, _ = await asyncio.wait({task}, timeout=INBOX_AFTER)
        if done:
            return None
        if self.inbox is None:
            await asyncio.wait({task}, timeout=ACK_BUDGET - INBOX_AFTER)
            return None
        started = time.monotonic()
        try:
            held = await asyncio.wait_for(self.inbox.hold("slack", incoming, route), INBOX_WRITE_BUDGET)
        except Exception as e:
            if task.done():  # the work finished while the inbox was trying: nothing needs holding
                return None
            task.cancel()
            raise NotDurable(f"the inbox could not take {incoming.delivery_key}: {type(e).__name__}: {e}") from e
        left = ACK_BUDGET - INBOX_AFTER - (time.monotonic() - started)
        if left > 0:
            await asyncio.wait({task}, timeout=left)
        if task.done():  # answered within the budget after all: the ack carries the answer
            if held:
                await self.inbox.done(held)
            return None
        return held or 0

    async def _answer_after_ack(
        self, held: int | None, task: asyncio.Future, answer: Callable[[Reply], Awaitable[None]]
    ) -> None:
        """The work outlasted the ack: its reply goes through `answer` when it comes (through the
        inbox row when `_durably` wrote one), unless it is a replay, answered the first time."""
        if held is not None and self.inbox is not None:  # a held row: only with an inbox
            await self._finish_held(self.inbox, held, task, answer)
            return
        reply = await task
        if reply is not None and not reply.replayed:
            await answer(reply)

    @staticmethod
    async def _finish_held(
        inbox: Inbox, held: int, task: asyncio.Future, answer: Callable[[Reply], Awaitable[None]]
    ) -> None:
        """Work acked from the inbox: answer, then forget the row; a failure on our side leaves it
        for the sweep (the person sees "Working on it…" and, later, the real answer)."""
        reply = await task
        if reply is not None and reply.retryable and held:
            await inbox.again(held)
            return
        try:
            if reply is not None and not reply.replayed:
                await answer(reply)
        finally:
            if held:
                await inbox.done(held)

    async def resume(self, incoming: dict[str, Any], route: dict[str, Any]) -> bool:
        """A delivery taken over from the inbox (its first worker died): work it and answer as the
        first would have. A forms's modal and a Home tab are not reopened: their triggers expired."""
        held = incoming_from_json(incoming)
        async with self._in_workspace(held.actor.workspace_id):
            reply = await self.core.handle(held)
            if reply is None:
                return True
            if reply.retryable:
                return False
            if reply.queued or (reply.visibility == "channel" and reply.replayed) or reply.form is not None:
                return True  # the channel reply left with the effect, through the outbox
            channel = route.get("channel", held.conversation_id)
            msgs = encode_buttons(blocks.messages(reply.elements), held.conversation_id)
            url = route.get("response_url") or ""
            if url:
                await self._respond_all(msgs, channel, held.actor.user_id, AsyncRespond(response_url=url))
            elif channel:
                try:
                    await self._ephemeral(channel, held.actor.user_id, msgs)
                except SlackApiError:
                    await self._post_thread(held.actor.user_id, msgs)
            else:
                await self._post_thread(held.actor.user_id, msgs)
        return True

    async def _on_command(self, ack, body: dict[str, Any], respond) -> None:
        actor = await self._with_admin_flag(self._actor(body))
        channel = body.get("channel_id", "")
        incoming = Incoming(
            actor=actor,
            conversation_id=channel,
            conversation_name=body.get("channel_name", ""),
            text=body.get("text", ""),
            delivery_key=f"slack:cmd:{actor.workspace_id}:{actor.user_id}:{body.get('trigger_id', '')}",
            is_private_conversation=body.get("channel_name") == "privategroup",
            channel_reply=ChannelReply(channel, {"response_url": body.get("response_url") or ""}),
        )
        task = self._start(incoming)
        route = {"kind": "command", "channel": channel, "response_url": body.get("response_url") or ""}
        held = await self._durably(task, incoming, route)
        if not task.done():
            await ack(response_type="ephemeral", text="Working on it…")
            answer = functools.partial(self._respond_later, channel=channel, actor=actor, respond=respond)
            await self._answer_after_ack(held, task, answer)
            return
        reply = task.result()
        if reply is None or (reply.replayed and (reply.form is not None or reply.visibility == "channel")):
            await ack()  # a retry of something already answered: its post and modal happened once
            return
        form = reply.form
        if form is not None:
            await ack()
            await self.client.views_open(trigger_id=body["trigger_id"], view=blocks.modal(form, channel_id=channel))
            return
        msgs = encode_buttons(blocks.messages(reply.elements), channel)
        if reply.visibility == "channel":
            await ack()
            if not reply.queued:
                await self._post_reply(reply, channel, actor, respond)
            return
        await ack(response_type="ephemeral", text=msgs[0]["text"], blocks=msgs[0]["blocks"])
        await self._respond_all(msgs[1:], channel, actor.user_id, respond)
        await self._upload_private(reply.elements, actor.user_id)

    async def _respond_later(self, reply: Reply, channel: str, actor: Actor, respond) -> None:
        if reply.queued:
            return
        if reply.visibility == "channel":
            await self._post_reply(reply, channel, actor, respond)
            return
        msgs = encode_buttons(blocks.messages(reply.elements), channel)
        await self._respond_all(msgs, channel, actor.user_id, respond)
        await self._upload_private(reply.elements, actor.user_id)

    async def _respond_all(self, msgs: list[dict[str, Any]], channel: str, user: str, respond) -> None:
        """Private messages through response_url, which Slack accepts only 5 times: a longer answer
        (a whole deliverable) continues with chat.postEphemeral, or in the DM, never cut short."""
        for msg in msgs[:RESPONSE_URL_USES]:
            await respond(response_type="ephemeral", text=msg["text"], blocks=msg["blocks"])
        rest = msgs[RESPONSE_URL_USES:]
        if rest:
            try:
                await self._ephemeral(channel, user, rest)
            except SlackApiError:
                await self._post_thread(user, rest)

    async def _post_reply(self, reply: Reply, channel: str, actor: Actor, respond=None) -> None:
        """A visible reply is the bot's own message in the channel (long ones continue in a thread)."""
        msgs = encode_buttons(blocks.messages(reply.elements), channel)
        try:
            posted = await self._post_thread(channel, msgs)
        except SlackApiError as e:
            log.warning("chat.postMessage to %s failed: %s", channel, e.response.get("error"))
            if respond is not None:  # e.g. the bot is not in the channel: the person still gets the answer
                for msg in msgs:
                    await respond(response_type="in_channel", text=msg["text"], blocks=msg["blocks"])
            else:
                await self._ephemeral(channel, actor.user_id, msgs)
        else:
            await self._upload_files(reply.elements, posted["channel"], posted["ts"])

    async def _post_thread(
        self, channel: str, msgs: list[dict[str, Any]], metadata: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        await self.channels.acquire(channel)  # about 1 message per second per channel
        first = await self.client.chat_postMessage(
            channel=channel,
            text=msgs[0]["text"],
            blocks=msgs[0]["blocks"],
            metadata=metadata or None,  # the client leaves out what is None
        )
        for msg in msgs[1:]:
            await self.channels.acquire(channel)
            await self.client.chat_postMessage(
                channel=channel, thread_ts=first["ts"], text=msg["text"], blocks=msg["blocks"]
            )
        return {"channel": first.get("channel", channel), "ts": first.get("ts")}

    async def _ephemeral(self, channel: str, user: str, msgs: list[dict[str, Any]]) -> None:
        for msg in msgs:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=msg["text"], blocks=msg["blocks"])

    async def _on_form(self, ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        actor = await self._with_admin_flag(self._actor(body))
        opened_with = _form_metadata(view)
        if opened_with is None:
            await ack(
                response_action="errors",
                errors=self._errors_on_first(view, "This form is out of date; close it and run the command again."),
            )
            return
        command, channel, hints = opened_with
        incoming = Incoming(
            actor=actor,
            conversation_id=channel,
            form=FormSubmission(command, blocks.submitted_values(view.get("state") or {}), hints),
            delivery_key=f"slack:view:{actor.workspace_id}:{actor.user_id}:{view.get('id')}:{view.get('hash')}",
            conversation_is_hint=True,
            channel_reply=ChannelReply(channel, {"user": actor.user_id}),
        )
        task = self._start(incoming)
        held = await self._durably(task, incoming, {"kind": "form", "channel": channel})
        if not task.done():  # close the modal within Slack's 3 s; the outcome follows
            await ack()
            await self._answer_after_ack(
                held, task, functools.partial(self._answer_late_form, channel=channel, actor=actor)
            )
            return
        await self._answer_form(ack, task.result(), view, channel, actor)

    async def _answer_form(self, ack, reply: Reply | None, view: dict[str, Any], channel: str, actor: Actor) -> None:
        """The reply came within the ack: the modal shows the errors on its fields, or becomes the
        next form, or closes and the answer follows in the conversation."""
        if reply is None or reply.replayed:
            await ack()
            return
        if not reply.ok:
            await ack(response_action="errors", errors=self._form_errors(view, reply))
            return
        if reply.form is not None:
            await ack(response_action="update", view=blocks.modal(reply.form, channel_id=channel))
            return
        await ack()
        if reply.queued:
            return
        if reply.visibility == "channel":
            await self._post_reply(reply, channel, actor)
        else:
            await self._ephemeral(channel, actor.user_id, encode_buttons(blocks.messages(reply.elements), channel))

    async def _answer_late_form(self, reply: Reply, channel: str, actor: Actor) -> None:
        if reply.queued:
            return
        msgs = encode_buttons(blocks.messages(reply.elements), channel)
        if reply.ok and reply.visibility == "channel":
            await self._post_reply(reply, channel, actor)
            return
        try:
            await self._ephemeral(channel, actor.user_id, msgs)
        except SlackApiError:
            await self._post_thread(actor.user_id, msgs)

    @staticmethod
    def _form_errors(view: dict[str, Any], reply: Reply) -> dict[str, str]:
        """Each refusal on the field it is about; when none is about a field of this form, the
        reply's text on its first input."""
        block_ids = {b.get("block_id") for b in view.get("blocks", [])}
        errors = {k: v[:150] for k, v in reply.field_errors.items() if k in block_ids}
        return errors or SlackFace._errors_on_first(view, reply.plain_text())

    @staticmethod
    def _errors_on_first(view: dict[str, Any], message: str) -> dict[str, str]:
        first = next((b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"), "value")
        return {first: message[:150]}

    async def _on_membership(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Someone left or rejoined a channel: the core flags them (their RACI roles need a new owner)."""
        incoming = Incoming(
            actor=Actor("slack", event.get("team") or body.get("team_id", ""), event.get("user", "")),
            conversation_id=event.get("channel", ""),
            action=Action("member.left" if event.get("type") == "member_left_channel" else "member.joined"),
            delivery_key=f"slack:evt:{body.get('event_id', '')}" if body.get("event_id") else None,
            conversation_is_hint=True,  # only an initiative that exists, for someone who is in it
        )
        await self.core.handle(incoming)

    async def _on_action(self, ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        if action.get("action_id") == spoken.OPEN_FORM:
            await ack()
            await self._open_form(body, action)
            return
        actor = await self._with_admin_flag(self._actor(body))
        here = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        hinted, value = decode_value(action.get("value") or (action.get("selected_option") or {}).get("value", ""))
        conversation = hinted or here
        click = action.get("action_ts") or body.get("trigger_id", "")
        incoming = Incoming(
            actor=actor,
            conversation_id=conversation,
            action=Action(action.get("action_id", ""), value),
            delivery_key=f"slack:act:{actor.workspace_id}:{actor.user_id}:{click}",
            conversation_is_hint=conversation != here or not here,
            channel_reply=ChannelReply(here, {"user": actor.user_id}) if here else None,
        )
        # Acked once stored, as a command is: Slack never resends a click, so a click acked and
        # then lost in a crash would be gone, where an unacked one shows the person an error.
        # Under a burst the clicks are stored in batches (handlers/batches.py), well within
        # the budget; past it the click goes into the inbox before the ack.
        task = self._start(incoming)
        route = {"kind": "action", "channel": here, "response_url": body.get("response_url") or ""}
        held = await self._durably(task, incoming, route)
        await ack()
        answer = functools.partial(self._answer_action, actor=actor, body=body, conversation=conversation, here=here)
        await self._answer_after_ack(held, task, answer)

    async def _answer_action(
        self, reply: Reply, actor: Actor, body: dict[str, Any], conversation: str, here: str
    ) -> None:
        if reply.queued:
            if reply.ok and self._uses_home(actor, body):
                await self._refresh_home(actor)
            return
        if reply.form is not None and body.get("trigger_id"):
            await self.client.views_open(
                trigger_id=body["trigger_id"], view=blocks.modal(reply.form, channel_id=conversation)
            )
            return
        msgs = encode_buttons(blocks.messages(reply.elements), conversation)
        if reply.visibility == "channel" and here:
            await self._post_thread(here, msgs)
        elif here:
            try:
                await self._ephemeral(here, actor.user_id, msgs)
            except SlackApiError:  # in the app's DM there is no ephemeral: answer in the DM
                await self._post_thread(actor.user_id, msgs)
        else:  # from the Home tab: the answer (and its files) goes to the person's DM
            posted = await self._post_thread(actor.user_id, msgs)
            await self._upload_files(reply.elements, posted["channel"], posted["ts"])
        if reply.ok and self._uses_home(actor, body):
            await self._refresh_home(actor)

    async def _open_form(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The "Open the form" button under a DM or mention answer: the command runs again, now
        with the click's trigger_id, and its form opens as a modal."""
        here = (body.get("channel") or {}).get("id") or ""
        hinted, text = decode_value(action.get("value") or "")
        where = hinted or here
        incoming = Incoming(
            actor=await self._with_admin_flag(self._actor(body)),
            conversation_id=where,
            text=text,
            conversation_is_hint=where != here or not here,
        )
        reply = await self.core.handle(incoming)
        if reply is not None and reply.form is not None and body.get("trigger_id"):
            await self.client.views_open(trigger_id=body["trigger_id"], view=blocks.modal(reply.form, channel_id=where))
        elif reply is not None and here:
            await self._post_thread(here, encode_buttons(blocks.messages(reply.elements), where))

    def _uses_home(self, actor: Actor, body: dict[str, Any]) -> bool:
        """Rebuilding a Home tab loads the whole initiative: do it after the actions of people who
        look at theirs (clicked in it, or opened it in the last day), not for every voter of a
        burst; anyone else's tab is rebuilt when they open it."""
        if (body.get("container") or {}).get("type") == "view":
            return True
        seen = self._home_viewers.get((actor.workspace_id, actor.user_id))
        return seen is not None and time.monotonic() - seen < HOME_VIEWER_SECONDS

    async def _refresh_home(self, actor: Actor) -> None:
        """After a person acts, their Home tab shows the new state (a vote no longer waiting...)."""
        try:
            await self.publish_home(actor.workspace_id, actor.user_id)
        except SlackApiError as e:
            log.warning("views.publish for %s failed: %s", actor.user_id, e.response.get("error"))

    async def _on_message_shortcut(self, ack, body: dict[str, Any]) -> None:
        """ "Propose as use case" on a message: the core answers with the propose form, prefilled."""
        await ack()
        actor = await self._with_admin_flag(self._actor(body))
        channel = (body.get("channel") or {}).get("id", "")
        message = body.get("message") or {}
        incoming = Incoming(
            actor=actor,
            conversation_id=channel,
            conversation_name=(body.get("channel") or {}).get("name", ""),
            action=Action(
                "usecase.from_message",
                json.dumps({"text": message.get("text", ""), "link": message_link(body)}),
            ),
            delivery_key=f"slack:shortcut:{actor.workspace_id}:{actor.user_id}:{body.get('trigger_id', '')}",
        )
        reply = await self.core.handle(incoming)
        if reply is None or reply.replayed:  # a retry: the modal was opened the first time
            return
        if reply.form is not None:
            view = blocks.modal(reply.form, channel_id=channel)
            await self.client.views_open(trigger_id=body["trigger_id"], view=view)
            return
        await self._ephemeral(channel, actor.user_id, blocks.messages(reply.elements))

    # ---- conversations: the bot's DM (message.im) and @mentions in channels (app_mention) ----

    async def _on_direct_message(self, body: dict[str, Any], event: dict[str, Any], context) -> None:
        """A DM to the bot runs the whole grammar, as after /align; its answers stay in the DM."""
        if event.get("channel_type") != "im" or not spoken.is_a_person_speaking(event):
            return  # edits, deletions, joins, bots (Bolt already drops the bot's own messages)
        await self._converse(body, event, context, in_dm=True)

    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any], context) -> None:
        """`@Alignbot usecase list` in a channel: answered in the mention's thread; private answers
        go to the person alone (ephemeral). A mention inside the DM is already a DM message."""
        if event.get("channel_type") == "im" or not spoken.is_a_person_speaking(event):
            return
        await self._converse(body, event, context, in_dm=False)

    async def _converse(self, body: dict[str, Any], event: dict[str, Any], context, *, in_dm: bool) -> None:
        channel = event.get("channel", "")
        text = spoken.command_text(event.get("text") or "", getattr(context, "bot_user_id", None))
        thread = None if in_dm else event.get("thread_ts") or event.get("ts")
        actor = await self._with_admin_flag(
            Actor("slack", spoken.senders_workspace(body, event), event.get("user", ""))
        )
        if not text:
            if event.get("subtype") == "file_share":  # a file with no words: nothing to run
                await self._answer_in(channel, actor, thread, blocks.messages([Text(spoken.FILE_ONLY)]), public=in_dm)
                return
            text = "help"  # a bare mention (or an empty DM): the list of commands
        incoming = Incoming(
            actor=actor,
            conversation_id=channel,
            text=text,
            delivery_key=f"slack:evt:{body['event_id']}" if body.get("event_id") else None,
            is_private_conversation=in_dm,
        )
        reply = await self.core.handle(incoming)
        if reply is None or reply.replayed:  # an Events API retry of a message already answered
            return
        if reply.form is not None:  # a message has no trigger_id: a button opens the modal
            elements = spoken.form_opener(reply.form, text)
        else:
            elements = reply.elements
        msgs = encode_buttons(blocks.messages(elements), channel)
        if in_dm or reply.visibility == "channel":
            posted = await self._answer_in(channel, actor, thread, msgs, public=True)
            await self._upload_files(reply.elements, posted["channel"], posted["ts"])
            return
        await self._answer_in(channel, actor, thread, msgs)
        await self._upload_private(reply.elements, actor.user_id)

    async def _answer_in(
        self, channel: str, actor: Actor, thread: str | None, msgs: list[dict[str, Any]], *, public: bool = False
    ) -> dict[str, Any]:
        """Messages in the DM or in the mention's thread (public), or ephemeral to the person there."""
        if public and thread is None:
            return await self._post_thread(channel, msgs)
        for msg in msgs:
            thread_ts = thread or None  # the client leaves out what is None
            if public:
                await self.channels.acquire(channel)
                await self.client.chat_postMessage(
                    channel=channel, text=msg["text"], blocks=msg["blocks"], thread_ts=thread_ts
                )
            else:
                await self.client.chat_postEphemeral(
                    channel=channel, user=actor.user_id, text=msg["text"], blocks=msg["blocks"], thread_ts=thread_ts
                )
        return {"channel": channel, "ts": thread}

    # ---- files and the Home tab ----

    async def _upload_files(self, elements: list[Element], channel: str, thread_ts: str | None = None) -> None:
        """Charts and exports go up with Slack's external upload flow (files.getUploadURLExternal,
        the upload itself, files.completeUploadExternal), shared into the message's thread. A failed
        upload is logged, never a reason to send the message again."""
        if not any(isinstance(e, Image | File) for e in elements):
            return
        from bot.export import attachments  # matplotlib, numpy, openpyxl: loaded on the first file only

        made = await attachments(self.core.db, elements, self.core.clock(), self.core.config.timezone)
        for _, a in made:
            try:
                await self.client.files_upload_v2(
                    channel=channel, thread_ts=thread_ts, content=a.content, filename=a.filename, title=a.title
                )
            except SlackApiError as e:
                log.warning("upload of %s to %s failed: %s", a.filename, channel, e.response.get("error"))

    async def _upload_private(self, elements: list[Element], user_id: str) -> None:
        """A private answer's files go to the person's DM with the bot: an ephemeral message has none."""
        if not any(isinstance(e, Image | File) for e in elements):
            return
        try:
            dm = (await self.client.conversations_open(users=user_id))["channel"]["id"]
        except SlackApiError as e:
            log.warning("could not open a DM with %s for files: %s", user_id, e.response.get("error"))
            return
        await self._upload_files(elements, dm)

    async def _on_home_opened(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str) or not user:
            return  # no person to show a tab to
        given = event.get("view")
        view = given if isinstance(given, dict) else {}
        team = body.get("team_id") or view.get("team_id", "")
        if len(self._home_viewers) > 50_000:
            self._home_viewers.clear()
        self._home_viewers[(team, user)] = time.monotonic()
        await self.publish_home(team, user)

    async def publish_home(self, team_id: str, user_id: str) -> None:
        """The person's Home tab: their open items and roles per initiative (views.publish)."""
        async with self._in_workspace(team_id):
            await self._publish_home(team_id, user_id)

    async def _publish_home(self, team_id: str, user_id: str) -> None:
        async with self.core.db.reading() as s:
            parts = await home_view(s, "slack", team_id, user_id, self.core.clock())
        view_blocks: list[dict[str, Any]] = []
        for conversation, elements in parts:
            msgs = encode_buttons([{"blocks": [b for e in elements for b in blocks.blocks_for(e)]}], conversation)
            if view_blocks:
                view_blocks.append({"type": "divider"})
            view_blocks += msgs[0]["blocks"]
        if not parts:
            view_blocks = [blocks.blocks_for(HOME_EMPTY)[0]]
        if len(view_blocks) > MAX_HOME_BLOCKS:  # never cut silently: say what is left out and where it is
            hidden = len(view_blocks) - (MAX_HOME_BLOCKS - 1)
            more = (
                f"More: {hidden} further lines of your items do not fit in this tab. In each initiative's "
                "channel, `/align raci show`, `/align poll list --open` and `/align milestone list` list them all."
            )
            view_blocks = [*view_blocks[: MAX_HOME_BLOCKS - 1], *blocks.blocks_for(Text(more))]
        view = {"type": "home", "blocks": view_blocks}
        await self.client.views_publish(user_id=user_id, view=view)

    # ---- outgoing (outbox) ----

    async def deliver(self, envelope: Envelope) -> dict[str, Any]:
        try:
            async with self._in_workspace(envelope.workspace_external_id, retries=False):
                if envelope.uncertain_since is not None and "update" not in envelope.payload:
                    found = await self._already_posted(envelope, envelope.uncertain_since)
                    if found is not None:
                        return found
                return await self._deliver(envelope)
        except SlackTokenRotationError as e:
            raise SendError(f"slack token rotation failed: {e}") from e

    async def _deliver(self, envelope: Envelope) -> dict[str, Any]:
        msgs = encode_buttons(
            blocks.messages(elements_from_json(envelope.payload["elements"])), envelope.conversation_id
        )
        try:
            if "update" in envelope.payload:  # an edit of a message we posted (a poll's running tally)
                return await self._update(envelope.payload["update"], msgs[0])
            try:
                mark = {"event_type": OUTBOX_EVENT, "event_payload": {"row": envelope.row_id}}
                posted = await self._post_thread(envelope.target_id, msgs, metadata=mark if envelope.row_id else None)
            except SlackApiError as e:
                route = envelope.payload.get("route") or {}
                if e.response.get("error") not in NOT_IN_CHANNEL or not route:
                    raise
                # a command's reply where the bot is not a member: the person still gets it
                return await self._reply_elsewhere(envelope.target_id, route, msgs)
            sent = elements_from_json(envelope.payload["elements"])
            await self._upload_files(sent, posted["channel"], posted["ts"])
            return posted
        except SlackApiError as e:
            status = e.response.status_code
            error = e.response.get("error", "")
            if status == 429:
                raise SendError("rate limited", retry_after=float(e.response.headers.get("Retry-After", 1))) from e
            permanent = status < 500 and error not in ("ratelimited", "service_unavailable", "request_timeout")
            uncertain = status >= 500 or error in ("service_unavailable", "request_timeout")
            raise SendError(f"slack {error or status}", permanent=permanent, uncertain=uncertain) from e
        except (TimeoutError, OSError, aiohttp.ClientError) as e:
            raise SendError(f"connection: {e}", uncertain=True) from e

    async def _already_posted(self, envelope: Envelope, uncertain_since: datetime) -> dict[str, Any] | None:
        """An earlier attempt may have posted (Slack answered 500 after posting, or its sender
        died before recording it): look for the row's mark in the conversation since the row was
        queued (conversations.history with include_all_metadata). A failed lookup sends again."""
        since = uncertain_since.timestamp() - LOOKUP_SLACK
        try:
            channel = envelope.target_id
            if envelope.target_kind == "user":  # a DM is read through its conversation id
                channel = (await self.client.conversations_open(users=channel))["channel"]["id"]
            cursor = None
            while True:
                resp = await self.client.conversations_history(
                    channel=channel, oldest=f"{since:.6f}", include_all_metadata=True, limit=200, cursor=cursor
                )
                for message in resp.get("messages") or []:
                    meta = message.get("metadata") or {}
                    if (
                        meta.get("event_type") == OUTBOX_EVENT
                        and (meta.get("event_payload") or {}).get("row") == envelope.row_id
                    ):
                        return {"channel": channel, "ts": message.get("ts"), "found": True}
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except (SlackApiError, TimeoutError, OSError, aiohttp.ClientError, KeyError) as e:
            log.warning("outbox row %s: could not look for an earlier send (%s); sending again", envelope.row_id, e)
            return None

    async def _reply_elsewhere(self, channel: str, route: dict[str, str], msgs: list[dict[str, Any]]) -> dict[str, Any]:
        if route.get("response_url"):
            respond = AsyncRespond(response_url=route["response_url"])
            for msg in msgs:
                await respond(response_type="in_channel", text=msg["text"], blocks=msg["blocks"])
            return {"channel": channel, "via": "response_url"}
        await self._ephemeral(channel, route["user"], msgs)
        return {"channel": channel, "via": "ephemeral"}

    async def _update(self, ref: dict[str, str], msg: dict[str, Any]) -> dict[str, Any]:
        resp = await self.client.chat_update(
            channel=ref["channel"], ts=ref["ts"], text=msg["text"], blocks=msg["blocks"]
        )
        return {"channel": resp.get("channel", ref["channel"]), "ts": resp.get("ts", ref["ts"]), "updated": True}

    async def roster(self, workspace_id: str, conversation_id: str) -> list[str]:
        """The channel's members (conversations.members, every page) but the bot: a poll's electorate."""
        async with self._in_workspace(workspace_id):
            return await self._roster(conversation_id)

    async def _roster(self, conversation_id: str) -> list[str]:
        me = (await self.client.auth_test()).get("user_id")
        members: list[str] = []
        cursor = None
        while True:
            resp = await self.client.conversations_members(channel=conversation_id, cursor=cursor, limit=1000)
            members += [m for m in resp.get("members") or [] if m != me]
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members
