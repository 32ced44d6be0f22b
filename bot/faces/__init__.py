"""The platforms, one folder each, registered here once (see bot/faces/platform.py).

The app factory builds the face of every platform its settings turn on, `serve` mounts their
routes, the outbox sends through them, and metrics, logs and `serve`'s checks ask them for their
labels, secrets and refusals. Adding a platform is a folder with a `PLATFORM` and one line below.
"""

from bot.faces import console, slack, teams
from bot.faces.platform import Platform

FACES: tuple[Platform, ...] = (console.PLATFORM, slack.PLATFORM, teams.PLATFORM)
