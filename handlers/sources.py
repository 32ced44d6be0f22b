"""The data-source inventory (Phase 1, step 2): what data exists, who owns it, how ready it is.

Each source is rated 1-5 for quality, accessibility and security/compliance readiness; a rating
of 2 or less is a gap, and `source gaps` ranks them for the gap-analysis report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.context import Context
from handlers.fields import LONG_MAX, SHORT_MAX, TITLE_MAX, Check, changed_names, changes, checked_reason
from handlers.grammar import Arg, Mention, Opt, Parsed, UsageError
from handlers.items import edited, history, may_change, name_of, numbered_columns, numbered_or_refuse
from handlers.messages import Element, Fields, Heading, ListItems, Reply, Table, Text
from handlers.registry import command
from handlers.title_rules import similar_title
from storage.models import DataSource
from storage.repos import sources as repo
from storage.repos import store
from storage.repos import usecases as uc_repo

SIZE_MAX = 100
TYPES = {
    "relational db": "relational DB",
    "relational": "relational DB",
    "database": "relational DB",
    "db": "relational DB",
    "data warehouse": "data warehouse",
    "warehouse": "data warehouse",
    "dwh": "data warehouse",
    "cloud storage": "cloud storage",
    "object storage": "cloud storage",
    "saas app": "SaaS app",
    "saas": "SaaS app",
    "streaming": "streaming",
    "file share": "file share",
    "files": "file share",
    "other": "other",
}
RATINGS = ("quality", "accessibility", "security")
RATING_LABELS = {"quality": "quality", "accessibility": "accessibility", "security": "security/compliance readiness"}
GAP_AT_MOST = 2


# ---- pure rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    source_number: int
    source_name: str
    dimension: str
    rating: int

    @property
    def severity(self) -> str:
        return "critical" if self.rating <= 1 else "major"


def gaps_of(number: int, name: str, ratings: dict[str, int | None]) -> list[Gap]:
    return [Gap(number, name, dim, r) for dim in RATINGS if (r := ratings.get(dim)) is not None and r <= GAP_AT_MOST]


def rank_gaps(gaps: list[Gap]) -> list[Gap]:
    """Worst rating first; among equals the source with more gaps first, then by id."""
    per_source: dict[int, int] = {}
    for g in gaps:
        per_source[g.source_number] = per_source.get(g.source_number, 0) + 1
    return sorted(
        gaps, key=lambda g: (g.rating, -per_source[g.source_number], g.source_number, RATINGS.index(g.dimension))
    )


def sid(src: DataSource) -> str:
    return f"SRC-{src.number}"


def _ratings(src: DataSource) -> dict[str, int | None]:
    return {"quality": src.quality, "accessibility": src.accessibility, "security": src.security}


# ---- commands -------------------------------------------------------------------------------

EDITABLE = (
    "name",
    "type",
    "owner",
    "size",
    "refresh",
    "quality",
    "accessibility",
    "security",
    "issues",
    "remediation",
    "remediation-owner",
)


def _check_values(check: Check, args: Parsed, *, creating: bool) -> dict[str, Any]:
    """The given fields, checked; `owner` is a person (@p) or a team written as text."""
    values: dict[str, Any] = {}
    if creating or args.has("name"):
        values["name"] = check.text("name", args.text("name"), max_len=TITLE_MAX, required=True)
    if creating or args.has("type"):
        values["type"] = check.choice("type", args.text("type"), TYPES, required=True)
    for name, limit in (("size", SIZE_MAX), ("refresh", SIZE_MAX), ("issues", LONG_MAX), ("remediation", LONG_MAX)):
        if args.has(name):
            values[name] = check.text(name, args.text(name), max_len=limit)
    for name in RATINGS:
        if args.has(name):
            values[name] = check.whole(name, args.text(name), 1, 5, required=True)
    if args.has("owner"):
        raw = args.opts.get("owner")
        if isinstance(raw, Mention):
            values["owner_mention"] = raw
        else:
            values["owner"] = check.text("owner", args.text("owner"), max_len=SHORT_MAX)
    if args.has("remediation-owner"):
        # Who sees to the remediation of its gaps: a person, since "Needs attention" asks them.
        values["remediation_mention"] = check.person("remediation-owner", args.token("remediation-owner"))
    return values


async def _apply_owner(ctx: Context, values: dict[str, Any]) -> None:
    remediation = values.pop("remediation_mention", None)
    if remediation is not None:
        values["remediation_owner_member_id"] = (await ctx.person(remediation)).id
    mention = values.pop("owner_mention", None)
    if mention is not None:
        member = await ctx.person(mention)
        values["owner_member_id"], values["owner"] = member.id, ""
    elif "owner" in values:
        values["owner_member_id"] = None


@command(
    "source add",
    menu=True,
    summary="Add a data source to the inventory.",
    usage='source add "NAME" --type T [--owner @p|TEAM] [--size TEXT] [--refresh TEXT] [--quality 1-5] '
    "[--accessibility 1-5] [--security 1-5] [--issues TEXT] [--force]",
    args=(Arg("name"),),
    opts=(*(Opt(n) for n in EDITABLE if n != "name"), Opt("force", flag=True)),
    examples=(
        'source add "Oracle ERP" --type "relational db" --owner @ops --quality 4 --accessibility 2 --security 3',
    ),
)
async def add(ctx: Context, args: Parsed) -> Reply:
    check = Check()
    values = _check_values(check, args, creating=True)
    check.done()
    if not args.flag("force"):
        # The same near-duplicate rule as use-case titles: a second "Oracle ERP" made every gap twice.
        existing = [(s.name, s) for s in await repo.list_for(ctx.session, ctx.initiative.id)]
        twin = similar_title(values["name"], existing)
        if twin is not None:
            raise UsageError(
                f'{sid(twin)} "{twin.name}" already has the same or a very close name. Look at it with '
                f"`source show {sid(twin)}`; if yours is a different source, add it again with --force.",
                field="name",
            )
    await _apply_owner(ctx, values)
    src = DataSource(**await numbered_columns(ctx, "SRC"), created_by_member_id=ctx.member.id, **values)
    await store.add(ctx.session, src)
    found = gaps_of(src.number, src.name, _ratings(src))
    ctx.audit("source.add", sid(src), name=src.name, gaps=[g.dimension for g in found])
    elements: list[Element] = [
        Text(f"{ctx.member.display_name} added {sid(src)}: {src.name} ({src.type})"),
        Fields(_rating_fields(src)),
    ]
    if found:
        elements.append(Text("Gaps: " + ", ".join(f"{RATING_LABELS[g.dimension]} {g.rating}/5" for g in found)))
    return Reply(elements, visibility="channel")


def _rating_fields(src: DataSource) -> list[tuple[str, str]]:
    return [(RATING_LABELS[d].capitalize(), f"{r}/5" if r else "-") for d, r in _ratings(src).items()]


@command("source list", summary="The data-source inventory.", usage="source list")
async def list_sources(ctx: Context, args: Parsed) -> Reply:
    sources = await repo.list_for(ctx.session, ctx.initiative.id)
    if not sources:
        return Reply([Text('No data sources yet. Add one with `source add "NAME" --type T`.')])
    members = await uc_repo.members_by_id(ctx.session, ctx.initiative.id)
    rows = [
        [
            sid(s),
            s.name,
            s.type,
            _owner(s, members),
            *(str(r or "-") for r in _ratings(s).values()),
            str(len(gaps_of(s.number, s.name, _ratings(s)))),
        ]
        for s in sources
    ]
    return Reply(
        [
            Text(f"{len(sources)} data source(s)"),
            Table(["ID", "Name", "Type", "Owner", "Quality", "Access", "Security", "Gaps"], rows),
        ]
    )


def _owner(src: DataSource, members: dict) -> str:
    return name_of(members, src.owner_member_id) if src.owner_member_id else (src.owner or "-")


async def source_or_refuse(ctx: Context, ref: str | None) -> DataSource:
    return await numbered_or_refuse(ctx, ref, "SRC", "source", repo.by_number)


@command(
    "source show",
    summary="Everything about one data source.",
    usage="source show SRC-n",
    args=(Arg("source", required=True),),
)
async def show(ctx: Context, args: Parsed) -> Reply:
    src = await source_or_refuse(ctx, args.text("source"))
    members = await uc_repo.members_by_id(ctx.session, ctx.initiative.id)
    found = gaps_of(src.number, src.name, _ratings(src))
    fields = [
        ("Status", "merged into another source (see History)" if src.status == "merged" else src.status),
        ("Type", src.type),
        ("Owner", _owner(src, members)),
        ("Size", src.size or "-"),
        ("Refresh", src.refresh or "-"),
        *_rating_fields(src),
        ("Known issues", src.issues or "-"),
        ("Gaps", ", ".join(f"{RATING_LABELS[g.dimension]} ({g.severity})" for g in found) or "none"),
        ("Remediation", src.remediation or "-"),
        ("Remediation owner", name_of(members, src.remediation_owner_member_id)),
        ("Added by", name_of(members, src.created_by_member_id)),
    ]
    return Reply(
        [Heading(f"{sid(src)}: {src.name}"), Fields(fields), Text("History"), ListItems(await history(ctx, sid(src)))]
    )


@command(
    "source edit",
    summary="Change a data source (whoever added it, its owner or a facilitator).",
    usage="source edit SRC-n [--name T] [--type T] [--owner @p|TEAM] [--size T] [--refresh T] [--quality 1-5] "
    "[--accessibility 1-5] [--security 1-5] [--issues T] [--remediation T] [--remediation-owner @p]",
    args=(Arg("source", required=True),),
    opts=tuple(Opt(n) for n in EDITABLE),
    examples=(
        "source edit SRC-2 --accessibility 4",
        'source edit SRC-3 --remediation "Nightly bulk export from the vendor" --remediation-owner @olga',
    ),
)
async def edit(ctx: Context, args: Parsed) -> Reply:
    src = await changeable_source(ctx, args.text("source"), "edit")
    if not args.opts:
        raise UsageError(f"Say what to change, e.g. `source edit {sid(src)} --quality 3`.")
    check = Check()
    values = _check_values(check, args, creating=False)
    check.done()
    await _apply_owner(ctx, values)
    return edited(ctx, src, sid(src), values, "source.edit")


@command("source gaps", summary="Ratings of 2 or less, worst first (they feed the gap analysis).", usage="source gaps")
async def list_gaps(ctx: Context, args: Parsed) -> Reply:
    found = [
        g for s in await repo.list_for(ctx.session, ctx.initiative.id) for g in gaps_of(s.number, s.name, _ratings(s))
    ]
    if not found:
        return Reply([Text("No gaps: no data source is rated 2 or less.")])
    rows = [
        [f"SRC-{g.source_number}", g.source_name, RATING_LABELS[g.dimension], f"{g.rating}/5", g.severity]
        for g in rank_gaps(found)
    ]
    return Reply([Text(f"{len(found)} gap(s)"), Table(["ID", "Source", "Area", "Rating", "Severity"], rows)])


# ---- setting a source aside -----------------------------------------------------------------


def merged_values(keep: DataSource, dup: DataSource) -> dict[str, Any]:
    """What the kept source takes from its duplicate: a rating either recorded keeps the lower one
    (a gap found on either copy stays, once), and a field the kept one lacks is filled in."""
    values: dict[str, Any] = {}
    for dim in RATINGS:
        mine, theirs = getattr(keep, dim), getattr(dup, dim)
        if theirs is not None and (mine is None or theirs < mine):
            values[dim] = theirs
    for name in ("size", "refresh", "issues", "remediation", "remediation_owner_member_id"):
        if not getattr(keep, name) and getattr(dup, name):
            values[name] = getattr(dup, name)
    if not (keep.owner or keep.owner_member_id) and (dup.owner or dup.owner_member_id):  # one person or one team
        values["owner"], values["owner_member_id"] = dup.owner, dup.owner_member_id
    return values


async def changeable_source(ctx: Context, ref: str | None, verb: str, field: str = "source") -> DataSource:
    """A live source the actor may change: whoever added it, its owner or a facilitator."""
    src = await numbered_or_refuse(ctx, ref, "SRC", "source", repo.by_number, field=field)
    if src.status != "active":
        raise UsageError(f"{sid(src)} was already {src.status}; `source show {sid(src)}` says by whom and why.")
    if not may_change(ctx, src.created_by_member_id, src.owner_member_id):
        raise UsageError(f"Only whoever added {sid(src)}, its owner or a facilitator can {verb} it.")
    return src


@command(
    "source remove",
    summary="Set a data source aside (whoever added it, its owner or a facilitator).",
    usage="source remove SRC-n [--reason TEXT]",
    args=(Arg("source", required=True),),
    opts=(Opt("reason"),),
    examples=('source remove SRC-4 --reason "Decommissioned in 2025"',),
)
async def remove(ctx: Context, args: Parsed) -> Reply:
    src = await changeable_source(ctx, args.text("source"), "remove")
    reason = checked_reason(args.text("reason"))
    src.status, src.updated_at = "removed", ctx.now
    ctx.audit("source.remove", sid(src), reason=reason)
    return Reply(
        [Text(f"{ctx.member.display_name} removed {sid(src)} {src.name}" + (f": {reason}" if reason else "."))],
        visibility="channel",
    )


@command(
    "source merge",
    summary="Merge a duplicate data source into the one to keep (whoever may edit both).",
    usage="source merge SRC-keep SRC-duplicate",
    args=(Arg("keep", required=True), Arg("duplicate", required=True)),
    examples=("source merge SRC-1 SRC-5",),
)
async def merge(ctx: Context, args: Parsed) -> Reply:
    keep = await changeable_source(ctx, args.text("keep"), "merge", field="keep")
    dup = await changeable_source(ctx, args.text("duplicate"), "merge", field="duplicate")
    if keep.id == dup.id:
        raise UsageError(f"{sid(keep)} cannot be merged into itself: name the duplicate second.", field="duplicate")
    changed = changes(keep, merged_values(keep, dup))
    keep.updated_at = dup.updated_at = ctx.now
    dup.status, dup.merged_into_id = "merged", keep.id
    why = f"merged into {sid(keep)}"
    ctx.audit("source.merge", sid(dup), into=sid(keep), reason=why)
    if changed:
        ctx.audit("source.edit", sid(keep), changed=changed, merged=sid(dup))
    took = f"; it took {changed_names(changed)} from {sid(dup)}" if changed else ""
    return Reply(
        [Text(f"{ctx.member.display_name} merged {sid(dup)} {dup.name} into {sid(keep)} {keep.name}{took}.")],
        visibility="channel",
    )
