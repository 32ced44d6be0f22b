"""The Teams face: botbuilder-core's ActivityHandler behind the CloudAdapter.

Every botbuilder import of the project lives in this folder, so moving to the Microsoft 365
Agents SDK (botbuilder's successor) is a one-folder job. The handler only translates activities
to neutral messages and replies to Adaptive Cards, and stores each conversation's reference for
proactive messages.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import re
from typing import Any

from aiohttp import web
from botbuilder.core import (
    ActivityHandler,
    BotAdapter,
    CardFactory,
    InvokeResponse,
    MessageFactory,
    TurnContext,
    serializer_helper,
)
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityEventNames, AdaptiveCardInvokeResponse, ConversationReference
from msrest.universal_http.requests import ClientRetryPolicy

from bot.faces.platform import Face
from bot.faces.teams import files
from bot.faces.teams.admission import (
    SigningKeysUnavailable,
    StrictAuthentication,
    TeamsAuthConfig,
    activity_problem,
    token_problem,
)
from bot.faces.teams.settings import conversation_buckets
from bot.ratelimit import TokenBuckets, retry_after, with_retries
from bot.render import teams as cards
from handlers.core import Core
from handlers.messages import (
    Action,
    Actor,
    ChannelReply,
    File,
    FormSubmission,
    Incoming,
    Reply,
    Text,
    elements_from_json,
)
from schedules.outbox import Envelope, SendError
from storage.db import Database
from storage.repos import record, scope

log = logging.getLogger(__name__)

# botbuilder builds two msrest clients for every activity, and each one's retry policy tests 999
# status codes against this list of 501 (about 3 ms a client, a quarter of a message's CPU under
# load). A frozenset holds the same codes, so the policy is the same; only the test is quicker.
ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]  # only `in`

_AT_TAG = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)


def neutral_text(activity: Activity) -> str:
    """The message text with the bot's @mention removed and people's mentions as `<@id|name>`."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        if getattr(entity, "type", None) != "mention":
            continue
        props = entity.additional_properties or {}
        mentioned = props.get("mentioned") or {}
        tag = props.get("text") or ""
        if not tag:
            continue
        if mentioned.get("id") == bot_id:
            text = text.replace(tag, " ")
        else:
            name = _AT_TAG.sub(r"\1", tag).strip().replace("|", " ").replace(">", " ")
            text = text.replace(tag, f"<@{mentioned.get('id', '')}|{name}>")
    return _AT_TAG.sub(r"\1", text).strip()


def _status_of(error: BaseException) -> tuple[int | None, object]:
    """HTTP status and headers of a Bot Connector error (msrest wraps aiohttp's response)."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return (status if isinstance(status, int) else None), getattr(response, "headers", None)


class PacedSender:
    """Sends to one conversation at most 7 times a second, retrying 429/412/502/503/504."""

    def __init__(self, buckets: TokenBuckets | None = None) -> None:
        self.buckets = buckets or conversation_buckets()

    async def send(self, turn_context: TurnContext, activity: Activity | str):
        conversation = turn_context.activity.conversation.id if turn_context.activity.conversation else ""

        async def once():
            await self.buckets.acquire(conversation)
            return await turn_context.send_activity(activity)

        return await with_retries(once, status_of=_status_of)


async def _pictures(elements: list) -> list:
    """Charts drawn into the card; matplotlib is loaded only when a reply has a chart."""
    if not any(getattr(e, "chart", "") for e in elements):
        return elements
    from bot.export import with_pictures

    return await with_pictures(elements)


class AlignbotTeamsBot(ActivityHandler):
    def __init__(self, core: Core, db: Database, sender: PacedSender | None = None) -> None:
        self.core = core
        self.db = db
        self.sender = sender or PacedSender()
        self._remembered: dict[tuple[str, str, bool], str] = {}

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """The reply is a message in the conversation, not the HTTP response: it goes into the
        outbox with the command's effect (every reply, as Teams has no private messages), so a
        crash after the commit cannot lose it and a redelivery, answered silently, never repeats it.
        The turn itself sends only what could not be queued: the apology when the database failed."""
        activity = turn_context.activity
        await self._remember(activity)
        incoming = self._incoming(activity)
        here = activity.conversation
        user = incoming.actor.user_id
        personal = "1" if here.conversation_type == "personal" else ""
        route = {"user": user, "personal": personal, "reply_to": activity.id or ""}
        incoming = dataclasses.replace(incoming, channel_reply=ChannelReply(here.id, route, every_reply=True))
        reply = await self.core.handle(incoming)
        if reply is not None and not reply.queued and not reply.replayed:
            await self._send_now(turn_context, reply)

    async def on_members_removed_activity(self, members_removed, turn_context: TurnContext) -> None:
        await self._membership(members_removed, turn_context, "member.left")

    async def on_members_added_activity(self, members_added, turn_context: TurnContext) -> None:
        await self._membership(members_added, turn_context, "member.joined")

    async def _membership(self, members, turn_context: TurnContext, what: str) -> None:
        """People who left or rejoined the conversation: the core flags them (their RACI roles need
        a new owner). Only an initiative that exists, for someone who is in it."""
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        tenant = _tenant_of(activity)
        for account in members or []:
            if account.id == bot_id:
                continue
            user = account.aad_object_id or account.id
            await self.core.handle(
                Incoming(
                    actor=Actor("teams", tenant, user, account.name or ""),
                    conversation_id=activity.conversation.id if activity.conversation else "",
                    action=Action(what),
                    delivery_key=f"teams:{activity.conversation.id}:{activity.id}:{user}" if activity.id else None,
                    conversation_is_hint=True,
                )
            )

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """Action.Execute (a private button or form): the answer is the clicker's new card, in the
        invoke response, so nothing is posted in the conversation and nobody else sees it.
        (ActivityHandler's own route serializes the body twice, which CloudAdapter then rejects.)"""
        activity = turn_context.activity
        if activity.name == "fileConsent/invoke":
            await self._remember(activity)
            return await self._file_consent(turn_context)
        if activity.name != "adaptiveCard/action" or not isinstance(activity.value, dict):
            return await super().on_invoke_activity(turn_context)
        await self._remember(activity)
        given = activity.value.get("action")
        action = given if isinstance(given, dict) else {}
        data = action.get("data") or {}
        as_submit = copy.copy(activity)
        as_submit.value = data if isinstance(data, dict) else {}
        incoming = self._incoming(as_submit)
        reply = await self.core.handle(incoming) if incoming is not None and incoming.text is None else None
        if reply is None:
            reply = Reply([Text("That card is out of date; run the command again.")], ok=False)
        form = reply.form
        found = [cards.form_card(form)] if form is not None else cards.cards(reply.elements)
        card = found[0] if found else {}
        body = AdaptiveCardInvokeResponse(status_code=200, type="application/vnd.microsoft.card.adaptive", value=card)
        return InvokeResponse(status=200, body=body)

    @staticmethod
    def _incoming(activity: Activity) -> Incoming:
        """The neutral message: a card's form or action (on the initiative a card in a 1:1 chat came
        from), else the text."""
        value = activity.value if isinstance(activity.value, dict) else {}
        incoming = _card_input(_delivered(activity), value)
        if incoming.form is None and incoming.action is None:
            return dataclasses.replace(incoming, text=neutral_text(activity))
        return incoming

    async def _remember(self, activity: Activity) -> None:
        """Keep the reference of every conversation (and each person's 1:1) for proactive sends."""
        ref = TurnContext.get_conversation_reference(activity)
        data = ref.serialize()
        tenant = _tenant_of(activity)
        personal = activity.conversation is not None and activity.conversation.conversation_type == "personal"
        # A conversation's reference rarely changes: write it when it does, not in a second
        # transaction for every message. The message id and, in a channel, whoever wrote last do
        # not matter for sending to it later (a 1:1 has one person anyway).
        fingerprint = json.dumps(
            {k: v for k, v in data.items() if k not in ("activityId", "user")}, sort_keys=True, default=str
        )
        seen_key = (tenant, ref.conversation.id, personal)
        if self._remembered.get(seen_key) == fingerprint:
            return
        async with self.db.transaction() as s:
            now = self.core.clock()
            ws = await scope.workspace(s, "teams", tenant, now)
            await record.save_conversation_reference(s, ws.id, f"conv:{ref.conversation.id}", data, now)
            if (
                activity.conversation
                and activity.conversation.conversation_type == "personal"
                and activity.from_property
            ):
                user = activity.from_property.aad_object_id or activity.from_property.id
                await record.save_conversation_reference(s, ws.id, f"user:{user}", data, now)
        if len(self._remembered) > 100_000:
            self._remembered.clear()
        self._remembered[seen_key] = fingerprint

    async def _send_now(self, turn_context: TurnContext, reply: Reply) -> None:
        """Straight back in the turn: only what the outbox could not take (see on_message_activity)
        and the messages of a file-consent invoke."""
        for c in cards.cards(reply.elements):
            await self.sender.send(turn_context, card_activity(c))

    async def _file_consent(self, turn_context: TurnContext) -> InvokeResponse:
        """The person accepted or declined a file: on accept, export again (scope re-checked by the
        core) and upload to the URL Teams gave, then show the file's card."""
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        given_context, given_info = value.get("context"), value.get("uploadInfo")
        context = given_context if isinstance(given_context, dict) else {}
        info = given_info if isinstance(given_info, dict) else {}
        if value.get("action") != "accept":
            await self.sender.send(turn_context, MessageFactory.text("No file then."))
            return InvokeResponse(status=200)
        fmt, conversation = str(context.get("format", "")), context.get("alignbot_conversation")
        if not isinstance(conversation, str) or not conversation or not info.get("uploadUrl"):
            return InvokeResponse(status=400)
        as_command = copy.copy(activity)
        as_command.value = {"alignbot_conversation": conversation}
        incoming = self._incoming(as_command)
        incoming = dataclasses.replace(incoming, text=f"export {fmt}", form=None, action=None)
        reply = await self.core.handle(incoming)
        exports = [e for e in reply.elements if isinstance(e, File)] if reply is not None and reply.ok else []
        if not exports:
            await self._send_now(turn_context, reply or Reply([Text("That file is no longer available.")], ok=False))
            return InvokeResponse(status=200)
        from bot.export import attachments

        ((_, made),) = await attachments(self.db, exports[:1], self.core.clock(), self.core.config.timezone)
        await files.upload(info["uploadUrl"], made.content)
        await self.sender.send(turn_context, MessageFactory.attachment(files.info_card(info)))
        return InvokeResponse(status=200)


OUTBOX_MARK = "alignbotOutboxId"  # channelData key: the outbox row an activity was sent for


def card_activity(card: dict[str, Any]) -> Activity:
    """A card message with its preview (`summary`): what Teams shows in the chat list and in
    notifications instead of "Send a card"."""
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    activity.summary = cards.preview(card)
    return activity


def scope_card(card: dict[str, Any], conversation_id: str) -> dict[str, Any]:
    """Card actions carry the initiative's conversation, so a click in a 1:1 chat finds its scope."""
    for act in card.get("actions", []):
        data = act.get("data")
        if isinstance(data, dict) and ("alignbot_action" in data or "alignbot_form" in data):
            data["alignbot_conversation"] = conversation_id
    return card


def _delivered(activity: Activity) -> Incoming:
    """Who acted where, and the delivery's key, as the activity says."""
    conversation, sender = activity.conversation, activity.from_property
    here = conversation.id if conversation else ""
    return Incoming(
        actor=Actor(
            "teams",
            _tenant_of(activity),
            (sender.aad_object_id or sender.id) if sender else "",
            sender.name if sender else "",
        ),
        conversation_id=here,
        conversation_name=(conversation.name if conversation else "") or _channel_name(activity),
        delivery_key=f"teams:{here}:{activity.id}" if activity.id else None,
    )


def _card_input(base: Incoming, value: dict[str, Any]) -> Incoming:
    """What a card sent (`value`): its form or action, on the initiative it names (a hint the core
    re-checks, so a card in a person's 1:1 chat acts on the initiative it came from)."""
    hinted = value.get("alignbot_conversation")
    if isinstance(hinted, str) and hinted and hinted != base.conversation_id:
        base = dataclasses.replace(base, conversation_id=hinted, conversation_name="", conversation_is_hint=True)
    if "alignbot_form" in value:
        hints = value.get("alignbot_hints") or {}
        values = {k: v for k, v in value.items() if not k.startswith("alignbot_")}
        form = FormSubmission(str(value["alignbot_form"]), values, {str(k): str(v) for k, v in hints.items()})
        return dataclasses.replace(base, form=form)
    if "alignbot_action" in value:
        return dataclasses.replace(base, action=Action(str(value["alignbot_action"]), str(value.get("value", ""))))
    return base


def _tenant_of(activity: Activity) -> str:
    """The tenant the activity came from (the workspace of its actor)."""
    return (activity.conversation.tenant_id if activity.conversation else None) or _tenant(activity) or "teams"


def _channel_name(activity: Activity) -> str:
    """A Teams channel's name ("Team / channel") from channelData; chats have none."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team, channel = (data.get("team") or {}).get("name"), (data.get("channel") or {}).get("name")
    return " / ".join(n for n in (team, channel) if isinstance(n, str) and n)


def _tenant(activity: Activity) -> str | None:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    return (data.get("tenant") or {}).get("id")


class TeamsFace(Face):
    name = "teams"

    def __init__(
        self,
        core: Core,
        db: Database,
        *,
        app_id: str,
        app_password: str,
        tenant_id: str,
        openid_metadata_url: str = "",
    ) -> None:
        self.core = core
        self.db = db
        self.app_id = app_id
        config = TeamsAuthConfig(
            app_id, app_password, tenant_id, "SingleTenant" if tenant_id else "MultiTenant", openid_metadata_url or None
        )
        self.adapter = CloudAdapter(StrictAuthentication(ConfigurationBotFrameworkAuthentication(config)))
        self.adapter.on_turn_error = self._on_error
        self.sender = PacedSender()
        self.bot = AlignbotTeamsBot(core, db, self.sender)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/messages", self.handle)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """POST /api/messages. A token that cannot be Bot Framework's gets 401 before the body is
        read; bad bodies get 400; the adapter checks the token's signature and claims (401)."""
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        auth_header = request.headers.get("Authorization", "")
        if self.app_id and (problem := token_problem(auth_header)):
            log.info("teams request refused: %s", problem)
            return web.json_response({"error": "unauthorized"}, status=401)
        try:  # JSON is UTF-8 (RFC 8259): a declared charset is not looked up
            body = json.loads(await request.read())
        except (ValueError, RecursionError):
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return web.json_response({"error": "body is not a Bot Framework activity"}, status=400)
        if problem := activity_problem(body):
            return web.json_response({"error": f"body is not a Bot Framework activity: {problem}"}, status=400)
        try:
            invoke = await self.adapter.process_activity(auth_header, Activity().deserialize(body), self.bot.on_turn)
        except PermissionError as e:
            log.info("teams request refused: %s", str(e)[:200])
            return web.json_response({"error": "unauthorized"}, status=401)
        except SigningKeysUnavailable as e:
            log.warning("teams: cannot check tokens, Bot Framework's signing keys are unavailable: %s", e)
            return web.json_response({"error": "cannot check the token now"}, status=503)
        except Exception as e:  # the turn's error handler could not even send its apology
            log.warning("teams turn could not answer: %s: %s", type(e).__name__, str(e)[:200])
            return web.json_response({"error": "the reply could not be delivered to the Bot Connector"}, status=502)
        if invoke:
            return web.json_response(serializer_helper(invoke.body), status=invoke.status)
        return web.Response(status=201)

    async def _on_error(self, turn_context: TurnContext, error: Exception) -> None:
        """A turn that failed apologises in place (nothing was stored, so the outbox has nothing to
        send it with). A proactive turn (the outbox, a roster) has nobody to apologise to: its
        caller records the failure, and an apology there would pass a failed send as sent."""
        if turn_context.activity.name == ActivityEventNames.continue_conversation:
            raise error
        log.error("teams turn failed: %s", error, exc_info=error)
        await turn_context.send_activity("Sorry, something went wrong on our side and nothing was saved.")

    async def roster(self, workspace_id: str, conversation_id: str) -> list[str]:
        """The conversation's members (the Bot Connector's roster) as the ids our actors carry."""
        async with self.db.reading() as s:
            ws = await scope.workspace_if_exists(s, "teams", workspace_id)
            data = await record.conversation_reference(s, ws.id, f"conv:{conversation_id}") if ws else None
        if data is None:
            return []
        found: list[str] = []

        async def read(turn_context: TurnContext) -> None:
            client = turn_context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
            for m in await client.conversations.get_conversation_members(conversation_id):
                found.append(m.aad_object_id or m.id)

        try:
            await self.adapter.continue_conversation(ConversationReference().deserialize(data), read, self.app_id)
        except Exception as e:  # the members the bot knows are still reminded
            log.warning("teams: could not read the members of %s: %s: %s", conversation_id, type(e).__name__, e)
            return []
        return found

    async def send_to_user(self, tenant: str, user_id: str, attachments: list[Any]) -> bool:
        """Proactively into the person's 1:1 chat; False when they never opened one with the bot."""
        async with self.db.reading() as s:
            ws = await scope.workspace_if_exists(s, "teams", tenant)
            data = await record.conversation_reference(s, ws.id, f"user:{user_id}") if ws else None
        if data is None:
            return False

        async def send(turn_context: TurnContext) -> None:
            for attachment in attachments:
                await self.sender.send(turn_context, MessageFactory.attachment(attachment))

        await self.adapter.continue_conversation(ConversationReference().deserialize(data), send, self.app_id)
        return True

    async def _offer_files(self, turn_context: TurnContext, exports: list[File], envelope: Envelope) -> None:
        """File-consent cards in the person's 1:1 chat (Teams lets a bot send files nowhere else);
        in a channel, a note there says where they went."""
        from bot.export import attachments

        made = await attachments(self.db, exports, self.core.clock(), self.core.config.timezone)
        offers = [
            files.consent_card(a.filename, len(a.content), a.title, envelope.conversation_id, e.export_format)
            for e, a in made
            if isinstance(e, File)  # what it made of exports: files
        ]
        route = envelope.payload.get("route") or {}
        if envelope.target_kind == "user" or route.get("personal"):
            for offer in offers:
                activity = MessageFactory.attachment(offer)
                activity.summary = f"File: {offer.name}"
                await self.sender.send(turn_context, activity)
            return
        user = route.get("user") or ""
        sent = bool(user) and await self.send_to_user(envelope.workspace_external_id, user, offers)
        note = (
            "I sent you the file in our 1:1 chat: accept it there to download it."
            if sent
            else "Teams lets me send files only in a 1:1 chat: message me there once, then ask here again."
        )
        await self.sender.send(turn_context, MessageFactory.text(note))

    async def deliver(self, envelope: Envelope) -> dict[str, Any]:
        key = f"user:{envelope.target_id}" if envelope.target_kind == "user" else f"conv:{envelope.target_id}"
        async with self.db.reading() as s:
            ws = await scope.workspace_if_exists(s, "teams", envelope.workspace_external_id)
            data = await record.conversation_reference(s, ws.id, key) if ws else None
        if data is None:
            raise SendError(
                f"no stored Teams conversation for {key}; the person must message the bot first", permanent=True
            )
        reference = ConversationReference().deserialize(data)
        elements = elements_from_json(envelope.payload["elements"])
        reply_to = (envelope.payload.get("route") or {}).get("reply_to")
        sent: list[str] = []

        async def send(turn_context: TurnContext) -> None:
            if reply_to:  # the answer to a message: sent as its reply (replyToId), as in the turn
                turn_context.activity.id = reply_to
            if "update" in envelope.payload:  # an edit of a card we posted (a poll's running tally)
                c = cards.cards(elements)[0]
                scope_card(c, envelope.conversation_id)
                activity = card_activity(c)
                activity.id = envelope.payload["update"]["ts"]
                await turn_context.update_activity(activity)
                sent.append(activity.id)
                return
            for c in cards.cards(await _pictures(elements)):
                scope_card(c, envelope.conversation_id)
                activity = card_activity(c)
                if envelope.row_id:  # the mark; the Connector cannot be asked for it (docs/operations.md)
                    activity.channel_data = {OUTBOX_MARK: envelope.row_id}
                resp = await self.sender.send(turn_context, activity)
                if resp and resp.id:
                    sent.append(resp.id)
            exports = [e for e in elements if isinstance(e, File)]
            if exports:
                await self._offer_files(turn_context, exports, envelope)

        try:
            await self.adapter.continue_conversation(reference, send, self.app_id)
        except Exception as e:
            status, headers = _status_of(e)
            raise SendError(
                f"teams send failed: {e}", permanent=status in (400, 403, 404), retry_after=retry_after(headers)
            ) from e
        return {"activity_ids": sent}
