"""The platforms, one folder each, registered here once (see bot/faces/platform.py).

The app factory builds the face of every platform its settings turn on, `serve` mounts their
routes, the outbox sends through them, and metrics, logs and `serve`'s checks ask them for their
labels, secrets and refusals. Adding a platform is a folder with a `PLATFORM` in its `__init__`
and its name in the one line below.
"""

from importlib import import_module

from bot.faces.platform import Platform

REGISTERED = ("console", "slack", "teams", "web")
FACES: tuple[Platform, ...] = tuple(import_module(f"bot.faces.{name}").PLATFORM for name in REGISTERED)
