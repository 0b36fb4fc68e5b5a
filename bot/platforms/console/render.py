"""Draw console channels in the terminal with rich: each card, its thread indented under it."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from bot.platforms.console.chat import read_channel
from bot.ports import Card
from bot.store.unit import Store

_COLOURS = {"info": "cyan", "good": "green", "warning": "yellow", "danger": "red"}


def card_renderable(card: Card) -> Panel:
    body = Text()
    if card.text:
        body.append(card.text + "\n")
    for name, value in card.fields:
        body.append(f"{name}: ", style="bold")
        body.append(f"{value}\n")
    if card.labels:
        body.append("labels: " + ", ".join(card.labels) + "\n", style="magenta")
    if card.buttons:
        body.append("  ".join(f"[{b.label}]" for b in card.buttons), style="bold blue")
    return Panel(body, title=card.title, subtitle=card.footer or None, border_style=_COLOURS[card.severity])


def print_channel(console: Console, store: Store, channel: str, limit: int | None = None) -> None:
    messages = read_channel(store, channel)
    roots = [m for m in messages if m[1] is None]
    replies: dict[str, list[Card]] = {}
    for _id, thread, card in messages:
        if thread is not None:
            replies.setdefault(thread, []).append(card)
    console.rule(f"#{channel} ({len(messages)} messages)")
    for message_id, _thread, card in roots[:limit] if limit else roots:
        parts: list[Panel] = [card_renderable(card)]
        parts.extend(card_renderable(reply) for reply in replies.get(str(message_id), []))
        if len(parts) == 1:
            console.print(parts[0])
        else:
            console.print(
                Group(parts[0], *[Panel(p, border_style="dim", padding=(0, 0, 0, 4)) for p in parts[1:]])
            )
