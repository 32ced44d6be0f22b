"""`alignbot`: console, serve, db upgrade, manifest."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bot.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if getattr(args, "db", None):
        settings = settings.with_(database_url=args.db)
    from bot.observability import configure_logging

    configure_logging(settings.log_level, sys.stderr, settings.secrets)  # JSON when not on a TTY, no secrets

    from storage.migrate import HalfMadeSchema

    try:
        return _run(args, parser, settings)
    except HalfMadeSchema as e:
        print(f"alignbot: {e}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    """Every subcommand and its options; `_run` does what they ask."""
    parser = argparse.ArgumentParser(
        prog="alignbot", description="Stakeholder alignment for a data-platform assessment."
    )
    sub = parser.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("console", help="chat with the bot in this terminal (or through a pipe)")
    c.add_argument("--db", help="database URL (default: sqlite:///alignbot.db)")
    c.add_argument("--as", dest="user", default=os.environ.get("USER") or "you", help="who you are")
    c.add_argument("--channel", default="general", help="the conversation (one initiative per conversation)")

    s = sub.add_parser("serve", help="run the HTTP server for Slack and Teams")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=3000)
    s.add_argument("--db", help="database URL")
    s.add_argument("--dev", action="store_true", help="allow Teams without an app id (never in production)")
    s.add_argument("--socket-mode", action="store_true", help="connect to Slack over Socket Mode (SLACK_APP_TOKEN)")

    o = sub.add_parser("outbox", help="list the messages the bot failed to send, or retry them")
    o.add_argument("action", nargs="?", default="list", choices=["list", "retry"])
    o.add_argument("ids", nargs="*", type=int, help="retry: only these outbox ids (default: every failed one)")
    o.add_argument("--db", help="database URL")

    d = sub.add_parser("db", help="database maintenance")
    d.add_argument("action", choices=["upgrade"])
    d.add_argument("--db", help="database URL")

    m = sub.add_parser("manifest", help="print or write the app manifest for Slack or Teams")
    m.add_argument("platform", choices=["slack", "teams"])
    m.add_argument("--url", default="https://example.com", help="public base URL of `alignbot serve`")
    m.add_argument("--app-id", help="Teams: the bot's Microsoft app id")
    m.add_argument("--out", help="Teams: where to write the app package (.zip)")
    m.add_argument("--privacy-url", default="", help="Teams: your privacy page (default: serve's /privacy)")
    m.add_argument("--terms-url", default="", help="Teams: your terms of use (default: serve's /terms)")

    e = sub.add_parser("export", help="write an initiative's deliverables as files")
    e.add_argument("--initiative", help="the initiative's name or conversation id (needed only when there are several)")
    e.add_argument("--format", required=True, choices=["md", "html", "pdf", "csv", "xlsx"])
    e.add_argument("--out", required=True, help="directory to write into (made if missing)")
    e.add_argument("--db", help="database URL")
    return parser


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser, settings: Settings) -> int:
    if args.cmd == "console":
        return asyncio.run(_console(settings, args.user, args.channel))
    if args.cmd == "outbox":
        from bot.operations import outbox_command

        return asyncio.run(outbox_command(settings, args.action, args.ids, sys.stdout))
    if args.cmd == "serve":
        return _serve(settings.with_(dev=args.dev), args.host, args.port, args.socket_mode)
    if args.cmd == "db":
        from storage.migrate import upgrade_sync

        upgrade_sync(settings.database_url)
        print("database is at the latest schema")
        return 0
    if args.cmd == "export":
        return asyncio.run(_export(settings, args.initiative, args.format, Path(args.out)))
    if args.cmd == "manifest":
        from bot import manifest
        from handlers.registry import Registry

        registry = Registry.discover()
        try:
            if args.platform == "slack":
                print(manifest.slack_manifest(args.url, registry))
                return 0
            if not args.app_id or not args.out:
                parser.error("manifest teams needs --app-id and --out")
            manifest.write_teams_package(
                Path(args.out),
                registry,
                app_id=args.app_id,
                url=args.url,
                privacy_url=args.privacy_url,
                terms_url=args.terms_url,
            )
        except manifest.ManifestError as e:
            parser.error(str(e))
        except OSError as e:
            parser.error(f"cannot write {args.out}: {e.strerror}")
        print(f"wrote {args.out}")
        return 0
    return 2


async def _export(settings: Settings, name: str | None, fmt: str, out: Path) -> int:
    from sqlalchemy import or_, select

    from bot.app import app_clock
    from bot.export import build_export, load_export
    from bot.pdf import PdfUnavailable
    from storage.db import Database
    from storage.models import Initiative

    db = Database(settings.database_url)
    try:
        async with db.reading() as s:
            query = select(Initiative).order_by(Initiative.name, Initiative.id)
            if name is not None:
                query = query.where(or_(Initiative.name == name, Initiative.conversation_id == name))
            found = list((await s.execute(query)).scalars())
            if len(found) != 1:
                print(_which_initiative(name, found), file=sys.stderr)
                return 2
            loaded = await load_export(s, found[0], app_clock(settings)(), settings.timezone)
        try:
            files = await build_export(loaded, fmt)
        except PdfUnavailable as e:
            print(f"alignbot: {e}", file=sys.stderr)
            return 2
    finally:
        await db.dispose()
    for f in files:
        path = out / f.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.content)
        print(path)
    return 0


def _which_initiative(name: str | None, found: list) -> str:
    """Why no single initiative was picked, and the names to choose from (terminal-safe)."""
    from bot.render.escape import terminal

    if name is None and not found:
        return "alignbot: there is no initiative in this database yet; talk to the bot in a channel to start one"
    if name is None:
        listed = "\n".join(
            f"  {terminal(i.name)}" + (f" ({terminal(i.conversation_id)})" if i.name != i.conversation_id else "")
            for i in found
        )
        return f"alignbot: there are {len(found)} initiatives; say which with --initiative NAME:\n{listed}"
    what = "no initiative" if not found else f"{len(found)} initiatives"
    return f"alignbot: {what} named {terminal(repr(name))}; give the exact name or conversation id"


async def _console(settings: Settings, user: str, channel: str) -> int:
    from bot.app import create_app
    from bot.faces.console.face import ConsoleFace

    # The console face prints what it receives; Slack and Teams stay off even if configured.
    app = create_app(settings.with_(slack_bot_token="", teams_app_id="", dev=False))
    await app.start()
    try:
        await ConsoleFace(app, user=user, channel=channel).run()
    finally:
        await app.stop()
    return 0


def _serve(settings: Settings, host: str, port: int, socket_mode: bool) -> int:
    from bot.app import create_app

    problems = settings.unsafe_reasons()
    if problems:
        for p in problems:
            print(f"alignbot: {p}", file=sys.stderr)
        return 2
    from bot.operations import hold_sqlite_lock, run_http, settle_heap

    _lock, busy = hold_sqlite_lock(settings.database_url)  # held (open) until serve returns
    if busy:
        print(f"alignbot: {busy}", file=sys.stderr)
        return 2
    app = create_app(settings)
    on = [name for name, face in app.faces.items() if face.listens]
    if socket_mode:
        print(f"alignbot serving on http://{host}:{port} — platforms on: {', '.join(on) or 'none'}", file=sys.stderr)
        settle_heap()  # run_http does this once listening; the socket-mode handler never returns
        return asyncio.run(_socket_mode(app, settings, host, port))

    def announce(bound: int) -> None:  # after binding, so `--port 0` shows the port the OS chose
        print(
            f"alignbot serving on http://{host}:{bound} — platforms on: {', '.join(on) or 'none'}",
            file=sys.stderr,
            flush=True,
        )

    from sqlalchemy.exc import InterfaceError, OperationalError

    try:
        return asyncio.run(run_http(app, host, port, announce))
    except (OperationalError, InterfaceError, ConnectionError) as e:  # the database cannot be reached
        print(database_down(settings.database_url, e), file=sys.stderr)
        return 2


def database_down(url: str, error: BaseException) -> str:
    """One line instead of a traceback: where we tried (password masked), why, and what to do."""
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:
        shown = "(ALIGNBOT_DATABASE_URL is not a database URL)"
    reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__])[0][:200]
    return (
        f"alignbot: cannot reach the database at {shown}: {reason}. Start the database or fix "
        "ALIGNBOT_DATABASE_URL (or --db), then run serve again."
    )


async def _socket_mode(app, settings: Settings, host: str, port: int) -> int:
    from aiohttp import web
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    if app.slack is None or not settings.slack_app_token:
        print(
            "alignbot: --socket-mode needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_APP_TOKEN", file=sys.stderr
        )
        return 2
    runner = web.AppRunner(app.web_app())
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    handler = AsyncSocketModeHandler(app.slack.app, settings.slack_app_token)
    try:
        await handler.start_async()
    finally:
        await handler.close_async()  # close the WebSocket before the app stops
        await runner.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
