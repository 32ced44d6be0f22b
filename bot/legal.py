"""The privacy and terms pages the Teams app manifest points at (`privacyUrl`, `termsOfUseUrl`).

Teams requires both links; an operator with their own pages passes `--privacy-url` and
`--terms-url` to `alignbot manifest teams`, and these short pages are the default.
"""

from __future__ import annotations

from aiohttp import web

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Alignbot: {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto; line-height: 1.5">
<h1>Alignbot: {title}</h1>
{body}
</body></html>
"""

PRIVACY = """<p>Alignbot is run by the organisation that installed it, on its own server and database.</p>
<p>It stores what people give it in the conversations where it is used: their platform user id and
display name, the use cases, KPIs, risks, sources, RACI roles, milestones and sign-offs they enter,
who took part in each poll (ballots are stored under a keyed hash, so nobody can tell whose ballot
is whose), and an audit log of changes. It sends nothing to anyone but the chat platform.</p>
<p>Ask the organisation's administrator to export or delete an initiative's data.</p>"""

TERMS = """<p>Alignbot is provided by the organisation that installed it, for its stakeholder-alignment
work, as is and without warranty. Use it for that work only, and do not enter secrets or personal
data beyond what the work needs. The organisation's own terms for its chat platform apply.</p>"""


def page(title: str, body: str) -> web.Response:
    return web.Response(text=_PAGE.format(title=title, body=body), content_type="text/html")


async def privacy(_request: web.Request) -> web.Response:
    return page("privacy", PRIVACY)


async def terms(_request: web.Request) -> web.Response:
    return page("terms of use", TERMS)
