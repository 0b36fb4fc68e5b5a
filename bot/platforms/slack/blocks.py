"""`Card` → Block Kit, within Slack's limits, so a card is never refused with `invalid_blocks`.

Limits (Block Kit reference): 50 blocks per message, section text ≤ 3000 characters, header ≤ 150,
field ≤ 2000, 10 fields per section, 10 context elements, 25 elements per actions block, button
text ≤ 75 and value ≤ 2000. Long text is split over several sections; beyond the budget it is
truncated with a note and a link to the original.

Customer text is escaped (`&`, `<`, `>`), so a message containing `<!channel>` cannot ping the team.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.platforms.slack import texts
from bot.ports import Button, Card

log = logging.getLogger(__name__)

MAX_BLOCKS = 50
SECTION_TEXT = 3000
HEADER_TEXT = 150
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
MAX_FIELD_SECTIONS = 3
CONTEXT_TEXT = 2000
ACTIONS_PER_BLOCK = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
FALLBACK_TEXT = 3000  # the notification text; Slack takes 40,000 but nobody reads that in a toast
MAX_TEXT_SECTIONS = 10  # 30,000 characters of text before truncation: past that, the link is better

ACTION_PREFIX = "vigie:"
TEXT_BLOCK_PREFIX = "vigie_text_"
ACTIONS_BLOCK_ID = "vigie_actions"

_SEVERITY = {"info": "ℹ️", "good": "✅", "warning": "⚠️", "danger": "🚨"}

Block = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """What chat.postMessage / chat.update take: fallback text and blocks."""

    text: str
    blocks: list[Block]


def escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(value: str) -> str:
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def clip_escaped(value: str, limit: int) -> str:
    """Escape then clip without cutting an entity such as `&amp;` in half."""
    out: list[str] = []
    size = 0
    for char in value:
        piece = escape(char)
        if size + len(piece) > limit - 1:
            out.append("…")
            return "".join(out)
        out.append(piece)
        size += len(piece)
    return "".join(out)


def split_text(value: str, limit: int = SECTION_TEXT) -> list[str]:
    """Split raw text into chunks whose escaped form fits `limit`, preferring line and word breaks.
    Joining the chunks gives the text back unchanged."""
    chunks: list[str] = []
    start = 0
    while start < len(value):
        size = 0
        end = start
        while end < len(value) and size + len(escape(value[end])) <= limit:
            size += len(escape(value[end]))
            end += 1
        if end < len(value):
            window = value[start:end]
            cut = max(window.rfind("\n"), window.rfind(" "))
            if cut > len(window) // 2:
                end = start + cut + 1
        chunks.append(value[start:end])
        start = end
    return chunks


def link(url: str, label: str) -> str:
    """A mrkdwn link; `|` and `>` would end Slack's link syntax early, so they are percent-encoded."""
    safe = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe}|{escape(label)}>"


def button_element(button: Button, action_id: str) -> Block | None:
    if len(button.value) > BUTTON_VALUE:
        # A clipped id would act on the wrong thing; a missing button is the lesser harm.
        log.warning("slack: button %s dropped, value longer than %d", button.action, BUTTON_VALUE)
        return None
    element: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {
            "type": "plain_text",
            "text": clip(button.label, BUTTON_TEXT) or button.action,
            "emoji": True,
        },
        "value": button.value,
    }
    if button.style != "default":
        element["style"] = button.style
    return element


def actions_block(buttons: tuple[Button, ...]) -> Block | None:
    elements: list[Block] = []
    seen: dict[str, int] = {}
    for button in buttons[:ACTIONS_PER_BLOCK]:
        count = seen.get(button.action, 0)
        seen[button.action] = count + 1
        # action_ids must be unique within a block; the action name stays the prefix listeners match.
        action_id = f"{ACTION_PREFIX}{button.action}" + (f":{count}" if count else "")
        element = button_element(button, action_id)
        if element is not None:
            elements.append(element)
    if not elements:
        return None
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements}


def field_blocks(fields: tuple[tuple[str, str], ...]) -> list[Block]:
    kept = fields[: FIELDS_PER_SECTION * MAX_FIELD_SECTIONS]
    blocks: list[Block] = []
    for start in range(0, len(kept), FIELDS_PER_SECTION):
        items = [
            {
                "type": "mrkdwn",
                "text": f"*{clip_escaped(name, 200)}*\n{clip_escaped(value or '-', FIELD_TEXT - 210)}",
            }
            for name, value in kept[start : start + FIELDS_PER_SECTION]
        ]
        blocks.append({"type": "section", "fields": items})
    return blocks


def render_card(card: Card, *, lang: str = "en") -> Message:
    """Render a card; the result always satisfies Block Kit's limits."""
    title = f"{_SEVERITY[card.severity]} {card.title}".strip()
    head: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, HEADER_TEXT), "emoji": True}}
    ]
    tail: list[Block] = field_blocks(card.fields)
    context: list[str] = []
    if card.labels:
        context.append(
            f"*{texts.text('labels', lang)}:* " + " ".join(f"`{escape(lbl)}`" for lbl in card.labels)
        )
    if card.url:
        context.append(link(card.url, texts.text("read_original", lang)))
    if context:
        tail.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": clip(item, CONTEXT_TEXT)} for item in context],
            }
        )
    actions = actions_block(card.buttons)
    if actions is not None:
        tail.append(actions)
    if card.footer:
        tail.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": clip_escaped(card.footer, CONTEXT_TEXT)}],
            }
        )
    budget = min(MAX_TEXT_SECTIONS, MAX_BLOCKS - len(head) - len(tail) - 1)
    body = text_blocks(card.text, card.url, budget, lang)
    blocks = head + body + tail
    fallback = clip(escape(card.title) + (f"\n{escape(card.text)}" if card.text else ""), FALLBACK_TEXT)
    return Message(text=fallback, blocks=blocks)


def text_blocks(value: str, url: str | None, budget: int, lang: str) -> list[Block]:
    if not value.strip():
        return []
    chunks = split_text(value)
    kept = chunks[: max(budget, 1)]
    blocks: list[Block] = [
        {
            "type": "section",
            "block_id": f"{TEXT_BLOCK_PREFIX}{index}",
            "text": {"type": "mrkdwn", "text": escape(chunk)},
        }
        for index, chunk in enumerate(kept)
        if chunk.strip()
    ]
    hidden = len(value) - sum(len(chunk) for chunk in kept)
    if hidden > 0:
        note = texts.text("truncated", lang, hidden=hidden)
        if url:
            note += " " + link(url, texts.text("read_original", lang))
        blocks.append(
            {
                "type": "context",
                "block_id": "vigie_truncated",
                "elements": [{"type": "mrkdwn", "text": clip(note, CONTEXT_TEXT)}],
            }
        )
    return blocks


def card_text_from_blocks(blocks: list[Block]) -> str:
    """The card's text read back from a posted message (to pre-fill the Edit modal)."""
    parts = [
        unescape(str(block.get("text", {}).get("text", "")))
        for block in blocks
        if str(block.get("block_id", "")).startswith(TEXT_BLOCK_PREFIX)
    ]
    return "".join(parts)


def notice(message: str) -> Message:
    """A plain message (ephemeral answers, digest roots). Escaped: it may echo text from outside."""
    chunks = split_text(message)[:MAX_BLOCKS]
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(chunk)}}
        for chunk in chunks
        if chunk.strip()
    ]
    return Message(text=clip(escape(message), FALLBACK_TEXT), blocks=blocks)
