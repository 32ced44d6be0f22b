"""`help` and `help <command>`, generated from the registry so it can never drift."""

from __future__ import annotations

from handlers.context import Context
from handlers.grammar import Arg, Parsed
from handlers.messages import Element, Heading, ListItems, Reply, Text
from handlers.registry import FACILITATOR, command


@command(
    "help",
    menu=True,
    summary="List commands, or explain one: help usecase propose",
    usage="help [COMMAND]",
    args=(Arg("topic", rest=True),),
)
async def help_command(ctx: Context, args: Parsed) -> Reply:
    commands = ctx.registry.commands
    topic = " ".join(str(t) for t in args.tokens("topic")).strip().lower()
    if topic:
        matches = [spec for name, spec in sorted(commands.items()) if name == topic or name.startswith(topic + " ")]
        if not matches:
            return Reply([Text(ctx.registry.unknown_message(topic))], ok=False)
        elements: list[Element] = []
        for spec in matches:
            elements.append(Heading(spec.name))
            lines = [spec.summary, f"Usage: {spec.usage}"]
            lines += [f"Example: {ex}" for ex in spec.examples]
            if spec.roles == FACILITATOR:
                lines.append("Facilitators only.")
            elements.append(Text("\n".join(lines)))
        return Reply(elements)
    items = [f"{spec.usage} — {spec.summary}" for _, spec in sorted(commands.items())]
    return Reply(
        [Heading("Alignbot commands"), ListItems(items), Text("Type `help COMMAND` for details and examples.")]
    )
