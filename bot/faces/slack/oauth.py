"""Multi-workspace Slack: the OAuth install, each workspace's bot token, and uninstalls.

slack_sdk's SQLAlchemy stores keep installations and OAuth states in Alignbot's own database
(their tables are in our migration), so every replica sees every install and a state issued by
one replica can be redeemed on another. Tokens are looked up per workspace for everything the bot
sends on its own (the outbox, poll rosters); Bolt does the same for requests. A token close to
expiry is refreshed first (token rotation) and the new one saved, so replicas share it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import Database
from storage.repos import scope

log = logging.getLogger(__name__)

STATE_SECONDS = 600  # an install started and not finished within 10 minutes must start again
ROTATE_MINUTES = 120  # refresh a rotating token this long before it expires (Bolt's default)


class SlackInstalls:
    """Installations and OAuth states in our database, and the bot token of each workspace."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        client_id: str,
        client_secret: str,
        scopes: Sequence[str],
        api_client: AsyncWebClient,
        rotate_minutes: int = ROTATE_MINUTES,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = list(scopes)
        self.rotate_minutes = rotate_minutes
        self.installations = AsyncSQLAlchemyInstallationStore(
            client_id=client_id,
            engine=engine,
            bots_table_name="slack_bots",
            installations_table_name="slack_installations",
            logger=log,
        )
        self.states = AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_SECONDS, engine=engine, table_name="slack_oauth_states", logger=log
        )
        # oauth.v2.access goes to the same Web API (SLACK_API_URL) as everything else.
        self.rotator = AsyncTokenRotator(client_id=client_id, client_secret=client_secret, client=api_client)

    def oauth_settings(self) -> AsyncOAuthSettings:
        """Bolt's install flow on /slack/install and /slack/oauth_redirect, with token rotation."""
        settings = AsyncOAuthSettings(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scopes=self.scopes,
            installation_store=self.installations,
            state_store=self.states,
            state_expiration_seconds=STATE_SECONDS,
            install_page_rendering_enabled=False,  # /slack/install redirects straight to Slack
            token_rotation_expiration_minutes=self.rotate_minutes,
            logger=log,
        )
        # Bolt's authorize would refresh tokens through slack.com; ours goes to SLACK_API_URL too.
        # The attribute is on Bolt's InstallationStore authorize, not on the base class it is typed as.
        settings.authorize.token_rotator = self.rotator  # type: ignore[attr-defined]
        return settings

    async def bot_token(self, team_id: str) -> str | None:
        """The workspace's current bot token (refreshed when it is about to expire), or None."""
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None:
            return None
        refreshed = await self.rotator.perform_bot_token_rotation(
            bot=bot, minutes_before_expiration=self.rotate_minutes
        )
        if refreshed is not None:
            await self.installations.async_save_bot(refreshed)
            bot = refreshed
        return bot.bot_token

    async def forget(self, team_id: str) -> None:
        """The app was uninstalled (or its bot token revoked): no token of that workspace is kept."""
        await self.installations.async_delete_all(enterprise_id=None, team_id=team_id)

    async def forget_users(self, team_id: str, user_ids: Sequence[str]) -> None:
        for user_id in user_ids:
            await self.installations.async_delete_installation(enterprise_id=None, team_id=team_id, user_id=user_id)


async def purge_workspace(db: Database, team_id: str) -> bool:
    """Delete everything Alignbot holds for a Slack workspace (its initiatives and all under them)."""
    async with db.transaction() as s:
        return await scope.forget_workspace(s, "slack", team_id)
