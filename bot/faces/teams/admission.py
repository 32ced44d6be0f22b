"""What /api/messages lets in: a Bot Framework token, checked strictly (every way it is wrong
answered 401, keys we cannot fetch 503), and a body usable as an activity (else 400)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from botbuilder.schema import Activity
from botframework.connector.auth import BotFrameworkAuthentication

from handlers.messages import MAX_CONVERSATION_ID, MAX_ID


@dataclass(frozen=True)
class TeamsAuthConfig:
    """The attribute names ConfigurationBotFrameworkAuthentication looks for."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TENANTID: str
    APP_TYPE: str
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str | None = None


class SigningKeysUnavailable(Exception):
    """Bot Framework's signing keys could not be fetched: our side (503), not the caller's (401)."""


class StrictAuthentication(BotFrameworkAuthentication):
    """botbuilder's token check, with every way a token can be wrong answered as PermissionError
    (the adapter's 401). botbuilder raises IndexError for an unknown key id, a bare Exception for
    a channel the key does not endorse and KeyError for a missing claim, which would otherwise
    look like failed deliveries (502)."""

    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self.inner = inner

    async def authenticate_request(self, activity: Activity, auth_header: str):
        try:
            return await self.inner.authenticate_request(activity, auth_header)
        except PermissionError:
            raise
        except requests.RequestException as e:
            raise SigningKeysUnavailable(f"{type(e).__name__}: {str(e)[:200]}") from e
        except Exception as e:
            raise PermissionError(f"token refused: {type(e).__name__}: {str(e)[:200]}") from e

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str):
        return await self.inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity):
        return self.inner.create_connector_factory(claims_identity)

    async def create_user_token_client(self, claims_identity):
        return await self.inner.create_user_token_client(claims_identity)

    def create_bot_framework_client(self):
        return self.inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self.inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str):
        return await self.inner.authenticate_channel_request(auth_header)


SIGNING_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})


def token_problem(auth_header: str) -> str | None:
    """What makes an Authorization header unusable before any key is fetched, or None.

    Bot Framework signs with RSA keys named by `kid` and names its issuer; a token without
    them (alg none, HS256, no kid, no iss) is refused here, without parsing the body."""
    scheme, _, token = auth_header.partition(" ")
    if scheme != "Bearer" or not token or " " in token or len(token) > 16384:
        return "no Bearer token"
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as e:
        return f"not a JWT: {type(e).__name__}"
    if header.get("alg") not in SIGNING_ALGORITHMS:
        return "not signed with RSA"
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        return "no key id"
    if not isinstance(claims.get("iss"), str) or not claims["iss"]:
        return "no issuer"
    return None


_PATH_SAFE = re.compile(r"[^/?#%\\\s\x00-\x1f\x7f]{1,512}")


def activity_problem(body: dict[str, Any]) -> str | None:
    """What makes a body unusable as an activity (we could not even answer it), or None."""
    if problem := _missing_part(body) or _oversized_id(body) or _unsafe_id(body):
        return problem
    try:  # the adapter deserializes too, but a wrong type there escapes as an error
        Activity().deserialize(body)
    except Exception as e:
        return type(e).__name__
    return None


def _missing_part(body: dict[str, Any]) -> str | None:
    for key in ("conversation", "from"):
        part = body.get(key)
        if not isinstance(part, dict) or not isinstance(part.get("id"), str) or not part["id"]:
            return f"{key}.id is missing"
    for key in ("serviceUrl", "channelId"):
        if not isinstance(body.get(key), str) or not body[key]:
            return f"{key} is missing"
    return None


def _oversized_id(body: dict[str, Any]) -> str | None:
    sender, conversation = body["from"], body["conversation"]
    for name, value, most in (
        ("from.id", sender["id"], MAX_ID),
        ("from.aadObjectId", sender.get("aadObjectId") or "", MAX_ID),
        ("conversation.id", conversation["id"], MAX_CONVERSATION_ID),
        ("conversation.tenantId", conversation.get("tenantId") or "", MAX_ID),
    ):
        if not isinstance(value, str) or len(value) > most:
            return f"{name} is longer than any Teams issues ({most} characters)"
    return None


def _unsafe_id(body: dict[str, Any]) -> str | None:
    """Both ids become parts of the reply's URL at the Bot Connector; real ones never hold these."""
    for name, value in (("conversation.id", body["conversation"]["id"]), ("id", body.get("id", ""))):
        if not isinstance(value, str) or not _PATH_SAFE.fullmatch(value or "x"):
            return f"{name} is not a valid id"
    return None
