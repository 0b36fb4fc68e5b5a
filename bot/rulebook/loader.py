"""Reading rule files: YAML with the line and column of every node, schema errors located there.

Errors are collected, never raised one at a time: an admin fixing a pack sees every problem in one
run, each as `file:line:col: [rule-id] message`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.rulebook.schema import UNION_TAGS, Rule, RuleFile

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class RuleError:
    file: str
    line: int
    column: int
    rule_id: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: [{self.rule_id or '-'}] {self.message}"


class RulebookError(Exception):
    """The rulebook is not usable; `errors` lists every problem found."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass
class ParsedFile:
    path: Path
    text: str
    data: Any
    marks: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[Loc, str]] = field(default_factory=list)
    model: RuleFile | None = None
    # Position in the file of each rule in `model.rules`: rules that failed the schema are left out
    # so the others still get their deeper checks (lists, regexes) in the same run.
    positions: list[int] = field(default_factory=list)

    def where(self, loc: Loc) -> tuple[int, int]:
        """Line and column (1-based) of the deepest node on `loc` that exists in the file."""
        for end in range(len(loc), -1, -1):
            mark = self.marks.get(tuple(loc[:end]))
            if mark is not None:
                return mark
        return (1, 1)

    def rule_id(self, loc: Loc) -> str | None:
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            try:
                rule = self.data["rules"][loc[1]]
                return str(rule["id"]) if isinstance(rule, dict) and "id" in rule else f"rules[{loc[1]}]"
            except (KeyError, IndexError, TypeError):
                return None
        return None

    def error(self, loc: Loc, message: str, *, at_key: bool = False) -> RuleError:
        line, column = (self.key_marks.get(loc) if at_key else None) or self.where(loc)
        return RuleError(str(self.path), line, column, self.rule_id(loc), message)


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. YAML 1.1 also reads `on`, `off`, `yes`, `no`, `y`, `n`
    as booleans, so a rule `id: off` or a word list `words: [no]` would silently change meaning.
    Aliases (`*name`) are refused: rule files do not need them, and nested aliases expand
    exponentially (a 300-byte file could keep the loader busy for minutes)."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in rule files", event.start_mark
            )
        node: yaml.Node | None = super().compose_node(parent, index)
        return node


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _Builder:
    """Turns a composed YAML node tree into Python data, recording where each value sits."""

    def __init__(self, loader: _Loader, parsed: ParsedFile, errors: list[RuleError]) -> None:
        self.loader = loader
        self.parsed = parsed
        self.errors = errors

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.parsed.marks[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | bool) or key is None:
                    self.errors.append(self.parsed.error(loc, f"unsupported key {key!r}"))
                    continue
                key = str(key) if isinstance(key, bool) else key
                key_mark = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in out:
                    self.parsed.duplicates.append(((*loc, key), f"duplicate key {key!r}"))
                self.parsed.marks[(*loc, key)] = self.parsed.key_marks[(*loc, key)] = key_mark
                out[key] = self.build(value_node, (*loc, key))
                # Point at the value, not the key, for scalars: that is what is wrong.
                if isinstance(value_node, yaml.ScalarNode):
                    self.parsed.marks[(*loc, key)] = (
                        value_node.start_mark.line + 1,
                        value_node.start_mark.column + 1,
                    )
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, index)) for index, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)


def parse_file(path: Path, errors: list[RuleError]) -> ParsedFile | None:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(RuleError(str(path), 1, 1, None, f"cannot read: {exc}"))
        return None
    parsed = ParsedFile(path=path, text=text, data=None)
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # inside the try: the reader refuses NUL, BEL, U+FFFE… with a mark
        node = loader.get_single_node()
        data = _Builder(loader, parsed, errors).build(node, ()) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        errors.append(RuleError(str(path), line, column, None, f"invalid YAML: {exc.problem or exc}"))
        return None
    except yaml.YAMLError as exc:
        errors.append(RuleError(str(path), 1, 1, None, f"invalid YAML: {exc}"))
        return None
    except RecursionError:
        errors.append(RuleError(str(path), 1, 1, None, "invalid YAML: nested too deeply"))
        return None
    finally:
        if loader is not None:
            loader.dispose()
    parsed.data = data
    for loc, message in parsed.duplicates:
        errors.append(parsed.error(loc, message, at_key=True))
    if not isinstance(data, dict):
        errors.append(RuleError(str(path), 1, 1, None, "a rule file is a mapping with a `rules:` list"))
        return None
    header = {key: value for key, value in data.items() if key != "rules"}
    try:
        model = RuleFile.model_validate({**header, "rules": []})
    except ValidationError as exc:
        _report(parsed, exc, (), errors)
        return None
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        errors.append(parsed.error(("rules",), "`rules` must be a list of rules"))
        return None
    rules: list[Rule] = []
    for position, raw in enumerate(raw_rules):
        try:
            rules.append(Rule.model_validate(raw))
            parsed.positions.append(position)
        except ValidationError as exc:
            _report(parsed, exc, ("rules", position), errors)
    parsed.model = model.model_copy(update={"rules": rules})
    return parsed


def _report(parsed: ParsedFile, exc: ValidationError, prefix: Loc, errors: list[RuleError]) -> None:
    for err in exc.errors():
        loc = (*prefix, *err["loc"])
        at_key = err["type"] == "extra_forbidden"
        errors.append(parsed.error(_data_loc(loc), f"{_display(loc)}: {_message(err)}", at_key=at_key))


_ACTION_TAG_PARENT = "then"


def _data_loc(loc: Loc) -> Loc:
    """The path into the YAML data: pydantic's path without union tags."""
    out: list[str | int] = []
    for index, part in enumerate(loc):
        if part in UNION_TAGS:
            continue
        if index >= 2 and loc[index - 2] == _ACTION_TAG_PARENT and isinstance(loc[index - 1], int):
            continue  # the tag naming the action's member; the key itself follows
        out.append(part)
    return tuple(out)


def _display(loc: Loc) -> str:
    path = _data_loc(loc)
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        path = path[2:]
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "file"


def _message(err: Any) -> str:
    message = str(err["msg"])
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message
