"""The modals Vigie opens: Assign, Reply (draft), Edit (a draft), and the thread-actions modal of
the message shortcut. Context travels in `private_metadata` (≤ 3000 characters) as JSON."""

from __future__ import annotations

import json
from typing import Any

from bot.events import JsonValue
from bot.platforms.slack import texts
from bot.platforms.slack.blocks import clip

ASSIGN = "vigie_assign"
REPLY = "vigie_reply"
EDIT = "vigie_edit"
THREAD = "vigie_thread"
TEXT_MAX = 3000  # plain_text_input's own limit
METADATA_MAX = 3000

THREAD_VERBS = ("take", "assign", "resolve", "escalate", "draft")

View = dict[str, Any]


def metadata(values: dict[str, JsonValue]) -> str:
    raw = json.dumps(values, separators=(",", ":"))
    if len(raw) > METADATA_MAX:
        raise ValueError("modal context too long")
    return raw


def read_metadata(view: dict[str, Any]) -> dict[str, JsonValue]:
    try:
        value = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _plain(value: str, limit: int = 24) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(value, limit), "emoji": True}


def _shell(
    callback_id: str, title: str, blocks: list[dict[str, Any]], meta: dict[str, JsonValue], lang: str
) -> View:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title),
        "submit": _plain(texts.text("modal_submit", lang)),
        "close": _plain(texts.text("modal_cancel", lang)),
        "private_metadata": metadata(meta),
        "blocks": blocks,
    }


def _text_input(
    lang: str, initial: str = "", optional: bool = False, label_key: str = "modal_text_label"
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": TEXT_MAX,
    }
    if initial:
        element["initial_value"] = initial[:TEXT_MAX]
    return {
        "type": "input",
        "block_id": "text",
        "optional": optional,
        "label": _plain(texts.text(label_key, lang), 2000),
        "element": element,
        "hint": _plain(texts.text("modal_text_hint", lang), 2000),
    }


def _user_input(lang: str, optional: bool = False, label_key: str = "modal_assign_label") -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": "assignee",
        "optional": optional,
        "label": _plain(texts.text(label_key, lang), 2000),
        "element": {"type": "users_select", "action_id": "value"},
    }


def assign_view(meta: dict[str, JsonValue], lang: str) -> View:
    return _shell(ASSIGN, texts.text("modal_assign_title", lang), [_user_input(lang)], meta, lang)


def reply_view(meta: dict[str, JsonValue], lang: str) -> View:
    return _shell(REPLY, texts.text("modal_reply_title", lang), [_text_input(lang)], meta, lang)


def edit_view(meta: dict[str, JsonValue], current: str, lang: str) -> View:
    return _shell(EDIT, texts.text("modal_edit_title", lang), [_text_input(lang, current)], meta, lang)


def thread_view(meta: dict[str, JsonValue], lang: str) -> View:
    options = [
        {"text": _plain(texts.text(f"action_{verb}", lang), 75), "value": verb} for verb in THREAD_VERBS
    ]
    action = {
        "type": "input",
        "block_id": "verb",
        "label": _plain(texts.text("modal_thread_action", lang), 2000),
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": options,
            "initial_option": options[0],
        },
    }
    blocks = [
        action,
        _user_input(lang, True, "modal_thread_user"),
        _text_input(lang, optional=True, label_key="modal_thread_text"),
    ]
    return _shell(THREAD, texts.text("modal_thread_title", lang), blocks, meta, lang)


def state_value(view: dict[str, Any], block_id: str) -> str | None:
    """The submitted value of input `block_id` (text, selected user or selected option)."""
    element = ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get("value") or {}
    for key in ("value", "selected_user"):
        if element.get(key):
            return str(element[key])
    option = element.get("selected_option") or {}
    return str(option["value"]) if option.get("value") else None
