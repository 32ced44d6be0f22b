"""Commands, actions and forms: metadata attached at import, collected at start-up.

The decorators only record what a function is (slack-machine's way); `Registry.discover` reads
the records from every module of the `handlers` package, so adding a feature is adding a module,
and `help`, permission checks and both apps' manifests all come from the same records.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol, cast

from handlers.grammar import Arg, Opt, UsageError, Word

ANYONE = frozenset({"facilitator", "stakeholder"})
MENU_SIZE = 10  # Teams: at most 10 commands in a bot's command list
FACILITATOR = frozenset({"facilitator"})

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    usage: str
    args: tuple[Arg, ...] = ()
    opts: tuple[Opt, ...] = ()
    roles: frozenset[str] = ANYONE
    examples: tuple[str, ...] = ()
    menu: bool = False
    func: Handler = field(kw_only=True, compare=False)


@dataclass(frozen=True)
class ActionSpec:
    """A button or card action; `prefix` matches action ids like "poll.vote:...".

    A batched action's func takes the list of contexts of clicks that arrived together, all in
    one transaction, and returns one reply (or the UsageError/InvalidInput refusing it) for each."""

    prefix: str
    func: Handler
    roles: frozenset[str] = ANYONE
    batched: bool = False


@dataclass(frozen=True)
class FormSpec:
    command: str
    func: Handler
    roles: frozenset[str] = ANYONE


class _Marked(Protocol):
    """A handler as the decorators leave it: its records, read back by `Registry.add_module`."""

    __alignbot_command__: CommandSpec
    __alignbot_action__: ActionSpec
    __alignbot_form__: FormSpec


def command(
    name: str,
    *,
    summary: str,
    usage: str = "",
    args: tuple[Arg, ...] = (),
    opts: tuple[Opt, ...] = (),
    roles: frozenset[str] = ANYONE,
    examples: tuple[str, ...] = (),
    menu: bool = False,
) -> Callable[[Handler], Handler]:
    """`menu` puts the command in the apps' own menus (Teams' command list, Slack's usage hint):
    the few a newcomer starts with, at most MENU_SIZE, since Teams shows no more."""

    def mark(func: Handler) -> Handler:
        cast(_Marked, func).__alignbot_command__ = CommandSpec(
            name, summary, usage or name, args, opts, roles, examples, menu, func=func
        )
        return func

    return mark


def action(prefix: str, *, roles: frozenset[str] = ANYONE, batched: bool = False) -> Callable[[Handler], Handler]:
    def mark(func: Handler) -> Handler:
        cast(_Marked, func).__alignbot_action__ = ActionSpec(prefix, func, roles, batched)
        return func

    return mark


def form(command_name: str, *, roles: frozenset[str] = ANYONE) -> Callable[[Handler], Handler]:
    def mark(func: Handler) -> Handler:
        cast(_Marked, func).__alignbot_form__ = FormSpec(command_name, func, roles)
        return func

    return mark


class Registry:
    def __init__(self) -> None:
        self.commands: dict[str, CommandSpec] = {}
        self.actions: dict[str, ActionSpec] = {}
        self.forms: dict[str, FormSpec] = {}

    @classmethod
    def discover(cls, package: ModuleType | None = None) -> Registry:
        import handlers

        package = package or handlers
        reg = cls()
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            reg.add_module(importlib.import_module(f"{package.__name__}.{info.name}"))
        return reg

    def add_module(self, module: ModuleType) -> None:
        for obj in vars(module).values():
            if spec := getattr(obj, "__alignbot_command__", None):
                if spec.name in self.commands and self.commands[spec.name].func is not obj:
                    raise RuntimeError(f"command {spec.name!r} is registered twice")
                self.commands[spec.name] = spec
            if spec := getattr(obj, "__alignbot_action__", None):
                self.actions[spec.prefix] = spec
            if spec := getattr(obj, "__alignbot_form__", None):
                self.forms[spec.command] = spec

    def menu(self) -> list[CommandSpec]:
        """The menu commands, `help` first, the rest by name (the order both apps show them in)."""
        marked = sorted((s for s in self.commands.values() if s.menu), key=lambda s: (s.name != "help", s.name))
        if len(marked) > MENU_SIZE:
            raise RuntimeError(f"{len(marked)} commands are marked menu=True; Teams shows at most {MENU_SIZE}")
        return marked

    def match(self, words: list[Word]) -> tuple[CommandSpec, list[Word]]:
        """The longest registered command name that starts the line, and the words after it."""
        plain = [w.value.lower() if isinstance(w.value, str) and not w.quoted else None for w in words]
        for size in (3, 2, 1):
            head = [p for p in plain[:size] if p]  # a quoted or empty word is never part of a name
            if len(head) == size and (name := " ".join(head)) in self.commands:
                return self.commands[name], words[size:]
        raise UsageError(self.unknown_message(" ".join(p or "" for p in plain[:2]).strip()))

    def unknown_message(self, typed: str) -> str:
        if not typed:
            return "Type a command, or `help` to see them all."
        group = sorted(n.split(" ", 1)[1] for n in self.commands if n.startswith(typed.split()[0] + " "))
        if group and typed.split()[0] not in self.commands:
            head, _, sub = typed.partition(" ")
            close = difflib.get_close_matches(sub, group, n=1, cutoff=0.5) if sub else []
            if close:
                return (
                    f"I don't know the command `{typed}`. The closest is `{head} {close[0]}`. "
                    f"Type `help {head}` for details."
                )
            return f"`{head}` needs one of: {', '.join(group)}. Type `help {head}` for details."
        groups = sorted({n.split()[0] for n in self.commands} | set(self.commands))
        close = difflib.get_close_matches(typed, groups, n=1, cutoff=0.5)
        if not close:
            close = difflib.get_close_matches(typed.split()[0], groups, n=1, cutoff=0.5)
        hint = f" The closest is `{close[0]}`." if close else ""
        return f"I don't know the command `{typed}`.{hint} Type `help` to see all commands."

    def find_action(self, action_id: str) -> ActionSpec | None:
        prefix = action_id.split(":", 1)[0]
        return self.actions.get(prefix)
