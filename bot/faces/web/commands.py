"""`web token` and `web token revoke`: a facilitator, in any face, opens or closes the web face
for their initiative. Joins the registry only when the web face is on."""

from __future__ import annotations

from bot.faces.web import tokens
from handlers.context import Context
from handlers.grammar import Parsed
from handlers.messages import Reply, Text
from handlers.registry import FACILITATOR, command

PATH = "/api/web/commands"


@command(
    "web token",
    summary="Make this initiative's token for the web face (scripts); the previous one stops working.",
    usage="web token",
    roles=FACILITATOR,
)
async def issue(ctx: Context, _args: Parsed) -> Reply:
    token = await tokens.issue(ctx.session, ctx.initiative.id, ctx.member.id, ctx.now)
    ctx.audit("web.token")
    return Reply(
        [
            Text(f"The web token of {ctx.initiative.name} (shown once; it acts as you, {ctx.member.display_name}):"),
            Text(token),
            Text(
                f'POST {PATH} with `Authorization: Bearer <token>` and a JSON body such as {{"text": "usecase list"}}. '
                "`web token revoke` closes it; `web token` again replaces it."
            ),
        ]
    )


@command(
    "web token revoke",
    summary="Stop this initiative's web token from working.",
    usage="web token revoke",
    roles=FACILITATOR,
)
async def revoke(ctx: Context, _args: Parsed) -> Reply:
    if not await tokens.revoke(ctx.session, ctx.initiative.id):
        return Reply([Text(f"{ctx.initiative.name} has no web token.")])
    ctx.audit("web.token.revoke")
    return Reply([Text(f"The web token of {ctx.initiative.name} no longer works.")])
