"""The initiative's own name and cover: what the report's title, the export files and the chat
replies call it, instead of the channel's slug or a Teams conversation id it started with."""

from __future__ import annotations

from handlers.context import Context
from handlers.fields import Check, changed_names, changes, fmt_dt
from handlers.grammar import Arg, Mention, Opt, Parsed, UsageError
from handlers.messages import Fields, Heading, Reply, Text
from handlers.registry import FACILITATOR, command
from storage.repos import scope

NAME_MAX = 200
SPONSOR_MAX = 200
ORGANISATION_MAX = 200
COVER_MAX = 300


@command(
    "initiative show",
    summary="The initiative's name, sponsor, organisation and cover line, as the report shows them.",
    usage="initiative show",
)
async def show(ctx: Context, args: Parsed) -> Reply:
    ini = ctx.initiative
    return Reply(
        [
            Heading(ini.name),
            Fields(
                [
                    ("Organisation", ini.organisation or "-"),
                    ("Sponsor", ini.sponsor or "-"),
                    ("Cover line", ini.cover_line or "-"),
                    ("Time zone", ctx.tz.key),
                    ("Started", fmt_dt(ini.created_at, ctx.tz)),
                ]
            ),
            Text('Change them with `initiative rename "NAME"` and `initiative set --sponsor ... --organisation ...`.'),
        ]
    )


@command(
    "initiative rename",
    summary="Give the initiative the name its report, files and messages use.",
    usage='initiative rename "NAME"',
    args=(Arg("name", required=True),),
    roles=FACILITATOR,
    examples=('initiative rename "Acme Databricks adoption"',),
)
async def rename(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    name = check.text("name", " ".join((args.text("name") or "").split()), max_len=NAME_MAX, required=True)
    check.done()
    ini = ctx.initiative
    if name == ini.name:
        return Reply([Text(f"It is already called {name}.")])
    if await scope.initiative_named(ctx.session, ini.workspace_id, name, but=ini.id) is not None:
        raise UsageError(
            f'Another initiative of this workspace is already called "{name}"; exports are picked by name, '
            "so choose a different one.",
            field="name",
        )
    old = ini.name
    ini.name = name
    ctx.audit("initiative.rename", "initiative", old=old, new=name)
    return Reply([Text(f"{ctx.member.display_name} renamed the initiative {name} (was {old}).")], "channel")


@command(
    "initiative set",
    summary='Set the report cover\'s sponsor, organisation and line under the title ("" clears one).',
    usage='initiative set [--sponsor "NAME"|@p] [--organisation "NAME"] [--cover "LINE"]',
    opts=(Opt("sponsor"), Opt("organisation"), Opt("cover")),
    roles=FACILITATOR,
    examples=('initiative set --sponsor "Sam Sponsor, CFO" --organisation "Acme Retail"',),
)
async def set_cover(ctx: Context, args: Parsed) -> Reply:
    if not args.opts:
        raise UsageError('Say what to set, e.g. `initiative set --organisation "Acme Retail"`.')
    check = Check()
    values: dict[str, str] = {}
    sponsor = args.token("sponsor")
    if isinstance(sponsor, Mention):
        values["sponsor"] = (await ctx.person(sponsor)).display_name or sponsor.user_id
    elif args.has("sponsor"):
        values["sponsor"] = check.text("sponsor", args.text("sponsor"), max_len=SPONSOR_MAX)
    if args.has("organisation"):
        values["organisation"] = check.text("organisation", args.text("organisation"), max_len=ORGANISATION_MAX)
    if args.has("cover"):
        values["cover_line"] = check.text("cover", args.text("cover"), max_len=COVER_MAX)
    check.done()
    changed = changes(ctx.initiative, values)
    if not changed:
        return Reply([Text("Nothing changed: the initiative already has those values.")])
    ctx.audit("initiative.set", "initiative", changed=changed)
    return Reply([Text(f"{ctx.member.display_name} set the initiative's {changed_names(changed)}.")], "channel")
