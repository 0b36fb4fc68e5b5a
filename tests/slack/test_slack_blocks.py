"""Card → Block Kit stays inside Slack's limits whatever the card holds."""

from __future__ import annotations

from bot.platforms.slack.blocks import (
    MAX_BLOCKS,
    card_text_from_blocks,
    escape,
    render_card,
    split_text,
)
from bot.platforms.slack.digest import render_digest
from bot.ports import Button, Card
from tests.fakes.slack_api import block_kit_errors


def test_a_mirrored_card_has_every_part() -> None:
    card = Card(
        title="Google review · 1★ · M. L. (230 followers)",
        text="Colis arrivé cassé <!channel> & personne ne répond.",
        fields=(("case", "C-42"), ("assignee", "Léa"), ("rules", "after-sales, angry")),
        labels=("after-sales", "toxic"),
        url="https://example.com/review?id=1|2",
        buttons=(
            Button(action="take", value="C-42", label="Take", style="primary"),
            Button(action="resolve", value="C-42", label="Resolve"),
        ),
        severity="warning",
        footer="rulebook v3",
    )
    message = render_card(card)
    assert block_kit_errors(message.blocks) == []
    kinds = [block["type"] for block in message.blocks]
    assert kinds[0] == "header" and "actions" in kinds
    body = message.blocks[1]["text"]["text"]
    assert "&lt;!channel&gt;" in body and "<!channel>" not in body  # customers cannot ping the team
    actions = next(block for block in message.blocks if block["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["vigie:take", "vigie:resolve"]
    assert actions["elements"][0]["style"] == "primary" and "style" not in actions["elements"][1]
    context = " ".join(e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"])
    assert "%7C2|Read the original>" in context
    assert message.text.startswith("Google review")


def test_long_text_is_split_then_truncated_with_a_link() -> None:
    text = ("Un avis très long & détaillé. " * 2000)[:40_000]
    message = render_card(Card(title="t" * 400, text=text, url="https://example.com/r/1"), lang="fr")
    assert block_kit_errors(message.blocks) == []
    assert len(message.blocks) <= MAX_BLOCKS
    assert len(message.blocks[0]["text"]["text"]) <= 150
    truncated = [b for b in message.blocks if b.get("block_id") == "vigie_truncated"]
    assert truncated and "tronqué" in truncated[0]["elements"][0]["text"]
    assert "https://example.com/r/1" in truncated[0]["elements"][0]["text"]
    shown = card_text_from_blocks(message.blocks)
    assert text.startswith(shown) and 25_000 < len(shown) < 40_000
    assert len(message.text) <= 3000


def test_split_keeps_the_text_and_respects_the_escaped_size() -> None:
    text = "&<>" * 2500 + " word" * 900
    chunks = split_text(text, 3000)
    assert "".join(chunks) == text
    assert all(len(escape(chunk)) <= 3000 for chunk in chunks)


def test_too_many_buttons_fields_and_oversized_values_are_trimmed() -> None:
    buttons = tuple(Button(action="take", value=f"C-{i}", label="x" * 100) for i in range(40))
    buttons += (Button(action="approve", value="v" * 2001, label="Approve"),)
    card = Card(
        title="many",
        text="x",
        fields=tuple((f"f{i}", "v" * 3000) for i in range(45)),
        buttons=buttons,
        labels=tuple(f"label-{i}" for i in range(300)),
    )
    message = render_card(card)
    assert block_kit_errors(message.blocks) == []
    actions = next(block for block in message.blocks if block["type"] == "actions")
    assert len(actions["elements"]) == 25
    assert all(element["value"] != "v" * 2001 for element in actions["elements"])


def test_a_card_without_text_or_buttons_still_renders() -> None:
    message = render_card(Card(title="Crisis acknowledged by Camille", severity="good"))
    assert block_kit_errors(message.blocks) == []
    assert [b["type"] for b in message.blocks] == ["header"]


def test_digest_packs_many_cards_within_limits() -> None:
    cards = [
        Card(title=f"evt-{i:04d} tweet", text="spam " * 200, labels=("spam",), url=f"https://x.example/{i}")
        for i in range(400)
    ]
    message, used = render_digest(cards)
    assert block_kit_errors(message.blocks) == []
    assert 0 < used <= 400
    text = " ".join(b["text"]["text"] for b in message.blocks if b["type"] == "section")
    assert all(f"evt-{i:04d}" in text for i in range(used))
