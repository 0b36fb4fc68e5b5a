"""Saved replies: French and English templates with placeholders, kept as YAML files in the rules
folder (`rules/replies/*.yaml`), offered when drafting by name or suggested from the case's labels.
A draft made from one is an ordinary draft: same ethics check, same approval.

    replies:
      broken-parcel:
        labels: [after-sales, broken]
        en: "Hello {author}, we are sorry your order {order} arrived damaged…"
        fr: "Bonjour {author}, nous sommes désolés que votre commande {order} soit arrivée abîmée…"

Placeholders: `{author}` (the customer's display name), `{case}` (case number), `{order}` (the
event's `order` metadata), `{agent}` (the drafting staff member), `{brand}`; any other name must be
given as a field when drafting."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ReplyError(Exception):
    """A saved-replies file is invalid; the message names the file and the key."""


class MissingFields(Exception):
    def __init__(self, name: str, fields: list[str]) -> None:
        super().__init__(f"saved reply {name!r} needs {', '.join(fields)}")
        self.name = name
        self.fields = fields


def placeholders(text: str) -> list[str]:
    names = []
    for _literal, field_name, _spec, _conv in string.Formatter().parse(text):
        if field_name is not None:
            if not field_name.isidentifier():
                raise ValueError(f"placeholder {{{field_name}}} must be a plain name like {{order}}")
            if field_name not in names:
                names.append(field_name)
    return names


class SavedReply(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    labels: tuple[str, ...] = ()
    en: str | None = Field(default=None, min_length=1)
    fr: str | None = Field(default=None, min_length=1)

    @field_validator("en", "fr")
    @classmethod
    def _placeholders_ok(cls, value: str | None) -> str | None:
        if value is not None:
            placeholders(value)
        return value

    @model_validator(mode="after")
    def _one_language(self) -> SavedReply:
        if not self.en and not self.fr:
            raise ValueError("give the text in en, fr or both")
        return self

    def text(self, lang: str | None) -> str:
        preferred = self.fr if lang == "fr" else self.en
        return preferred or self.en or self.fr or ""

    def render(self, lang: str | None, values: Mapping[str, str]) -> str:
        template = self.text(lang)
        missing = [name for name in placeholders(template) if not values.get(name)]
        if missing:
            raise MissingFields(self.name, missing)
        return template.format_map(dict(values)).strip()


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    replies: dict[str, SavedReply] = Field(default_factory=dict)


@dataclass(frozen=True)
class SavedReplies:
    by_name: Mapping[str, SavedReply]

    def get(self, name: str) -> SavedReply | None:
        return self.by_name.get(name)

    def suggest(self, labels: tuple[str, ...] | list[str]) -> list[SavedReply]:
        """Replies sharing labels with the case, most shared first; ties by name."""
        wanted = set(labels)
        scored = [(len(wanted & set(r.labels)), r.name, r) for r in self.by_name.values()]
        return [r for score, _name, r in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0]


def load_replies(folder: Path | None) -> SavedReplies:
    """Every `*.yaml` under `folder` (usually `rules/replies`); a missing folder gives none."""
    found: dict[str, SavedReply] = {}
    if folder is None or not folder.is_dir():
        return SavedReplies({})
    for path in sorted(folder.glob("*.y*ml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            parsed = _File.model_validate(data)
        except yaml.YAMLError as error:
            raise ReplyError(f"{path}: invalid YAML: {error}") from error
        except ValidationError as error:
            first = error.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            raise ReplyError(f"{path}: {key}: {first['msg']}") from error
        for name, reply in parsed.replies.items():
            if name in found:
                raise ReplyError(f"{path}: replies.{name}: defined twice")
            found[name] = reply.model_copy(update={"name": name})
    return SavedReplies(found)
