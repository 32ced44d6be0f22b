"""One aiohttp server: the routes of every face that is on (bot/faces/), and the operator's endpoints.

/healthz says the process is alive; /readyz that it can do work (database reachable, schema at
the latest migration), so a load balancer sends traffic only to replicas that can answer;
/metrics is Prometheus' text format. Every request gets a request id (kept from X-Request-Id when
a proxy set one) that the logs carry, and bodies above the configured size are refused with 413
before they are read.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from bot import legal
from bot.faces import FACES
from bot.observability import Metrics, QuietBadRequests, new_request_id, request_id

if TYPE_CHECKING:
    from bot.app import Alignbot

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


def _platform(path: str) -> str:
    """The metrics label of a request: the registered platform whose endpoints it reached."""
    for platform in FACES:
        if path.startswith(platform.path_prefixes):
            return platform.name
    return "http"


def build_web_app(bot: Alignbot) -> web.Application:
    max_body = getattr(bot.settings, "max_body_bytes", MAX_BODY)
    metrics = Metrics(timed=frozenset(p.name for p in FACES if p.timed))
    app = web.Application(client_max_size=max_body, middlewares=[_observing(metrics, max_body)])
    QuietBadRequests.install()
    app.router.add_get("/privacy", legal.privacy)
    app.router.add_get("/terms", legal.terms)
    app.add_routes(_probes(bot, metrics))
    for face in bot.faces.values():
        app.add_routes(face.routes())

    async def lifecycle(_app: web.Application):
        await bot.start()
        yield
        await bot.stop()

    app.cleanup_ctx.append(lifecycle)
    return app


def _observing(metrics: Metrics, max_body: int):
    """The middleware every request passes: an id in the logs and the answer, the body limit,
    the request metrics, and never a traceback to the caller."""

    @web.middleware
    async def observe(request: web.Request, handler) -> web.StreamResponse:
        rid = new_request_id(request.headers.get("X-Request-Id"))
        request_id.set(rid)  # not reset: aiohttp's access log line, written after us, carries it too
        started = time.perf_counter()
        metrics.in_flight.inc()
        status = 500
        try:
            if request.content_length is not None and request.content_length > max_body:
                raise web.HTTPRequestEntityTooLarge(max_size=max_body, actual_size=request.content_length)
            response = await handler(request)
            status = response.status
        except web.HTTPException as e:
            status = e.status
            e.headers["X-Request-Id"] = rid
            raise
        except Exception:
            # Never a traceback to the caller: the log has it, under this request id.
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = web.json_response({"error": "internal error", "request_id": rid}, status=500)
        finally:
            metrics.in_flight.dec()
            if request.path not in ("/metrics", "/healthz", "/readyz"):
                metrics.observe(_platform(request.path), status, time.perf_counter() - started)
        response.headers["X-Request-Id"] = rid
        return response

    return observe


def _probes(bot: Alignbot, metrics: Metrics) -> list[web.RouteDef]:
    """What a load balancer and a scraper ask: alive, ready for traffic, and the metrics."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        problems = await readiness_problems(bot)
        metrics.ready.set(0 if problems else 1)
        if problems:
            return web.json_response({"status": "unavailable", "problems": problems}, status=503)
        return web.json_response({"status": "ready"})

    async def metrics_endpoint(_request: web.Request) -> web.Response:
        try:
            await metrics.refresh_from(bot.db)
        except Exception as e:  # a scrape must still answer when the database is down
            log.warning("metrics: database figures unavailable: %s", e)
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics_endpoint)]


async def readiness_problems(bot: Alignbot) -> list[str]:
    """Why this replica should not get traffic yet; empty when it can work."""
    try:
        async with bot.db.reading() as s:
            await s.execute(text("SELECT 1"))
            try:
                current = set((await s.execute(text("SELECT version_num FROM alembic_version"))).scalars())
            except Exception:
                current = set()
    except Exception as e:
        return [f"database unreachable: {type(e).__name__}"]
    heads = await bot.migration_heads()
    if current != heads:
        at = sorted(current) or "nothing"
        return [f"database schema is at {at}, the code needs {sorted(heads)}: run `alignbot db upgrade`"]
    return []
