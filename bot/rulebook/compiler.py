"""From a rules directory to a `Rulebook`, or to every error in it at once.

Nothing partial ever comes out: a rulebook is returned only when every file, list, regex and zone
checked out, which is what lets a running bot keep its last good rulebook on a bad edit.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from bot.events import ActionType, JsonValue
from bot.rulebook.conditions import ConditionCompiler
from bot.rulebook.evaluate import ActionTemplate, CompiledRule, Direction, Rulebook
from bot.rulebook.loader import Loc, ParsedFile, RulebookError, RuleError, parse_file
from bot.rulebook.matchers import MatchEngine
from bot.rulebook.schema import (
    INCOMING_ONLY,
    OUTGOING_ONLY,
    ActionSpec,
    BlockAction,
    HoldAction,
    LabelAction,
    MirrorAction,
    RequireApprovalAction,
    RouteAction,
    RouteSpec,
    Rule,
    SignalAction,
    SignalSpec,
    TimeoutAction,
    WarnAction,
)

LIST_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
DEFAULT_BLOCK_REASON = "This reply breaks the team's publishing rules."


def format_duration(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


class WordLists:
    """Named word lists under `lists/`, read once per load and shared by every rule naming them."""

    def __init__(self, folder: Path, errors: list[RuleError]) -> None:
        self.folder = folder
        self.errors = errors
        self.loaded: dict[str, list[str] | None] = {}
        self.used: dict[str, bytes] = {}

    def __call__(self, name: str) -> list[str] | None:
        if name in self.loaded:
            return self.loaded[name]
        path = self.folder / f"{name}.txt"
        terms: list[str] | None = None
        if LIST_NAME.match(name) and path.is_file():
            raw = path.read_bytes()
            self.used[name] = raw
            terms = []
            for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
                term = line.strip()
                if not term or term.startswith("#"):
                    continue
                if len(term) > 200:
                    self.errors.append(
                        RuleError(str(path), number, 1, None, "term longer than 200 characters")
                    )
                    continue
                terms.append(term)
        self.loaded[name] = terms
        return terms


_PACK_KEY = re.compile(rb"^(rules|applies_to)\s*:", re.MULTILINE)


def rule_files(path: Path) -> list[Path]:
    """The rule packs of a directory: YAML files with a top-level `rules:` or `applies_to:` key.

    Other YAML files there (escalation.yaml, reply templates) belong to other parts of Vigie."""
    if not path.is_dir():
        return [path]
    found = []
    for candidate in sorted(path.iterdir()):
        if candidate.suffix not in (".yaml", ".yml") or not candidate.is_file():
            continue
        try:
            if _PACK_KEY.search(candidate.read_bytes()):
                found.append(candidate)
        except OSError:
            found.append(candidate)  # let the loader report it with its path
    return found


def lists_folder(path: Path) -> Path:
    return (path if path.is_dir() else path.parent) / "lists"


def load_rulebook(path: Path | str) -> Rulebook:
    """Load and compile every rule file of a directory (or one file). Raises `RulebookError`."""
    root = Path(path)
    errors: list[RuleError] = []
    if not root.exists():
        raise RulebookError([RuleError(str(root), 1, 1, None, "no such file or directory")])
    files = rule_files(root)
    if not files:
        raise RulebookError([RuleError(str(root), 1, 1, None, "no rule files (*.yaml) here")])
    lists = WordLists(lists_folder(root), errors)
    engines: dict[Direction, MatchEngine] = {"incoming": MatchEngine(), "outgoing": MatchEngine()}
    compiled: dict[Direction, list[tuple[int, int, CompiledRule]]] = {"incoming": [], "outgoing": []}
    seen: dict[str, str] = {}
    digest = hashlib.sha256()
    for file_index, file in enumerate(files):
        parsed = parse_file(file, errors)
        digest.update(file.name.encode() + b"\0" + (parsed.text.encode() if parsed else b"") + b"\0")
        if parsed is None or parsed.model is None:
            continue
        direction: Direction = parsed.model.applies_to
        for position, rule in zip(parsed.positions, parsed.model.rules, strict=True):
            loc: Loc = ("rules", position)
            if rule.id in seen:
                errors.append(
                    parsed.error((*loc, "id"), f"rule id {rule.id!r} already used in {seen[rule.id]}")
                )
                continue
            seen[rule.id] = str(file)
            built = _compile_rule(parsed, rule, loc, direction, engines[direction], lists, errors)
            if built is not None:
                compiled[direction].append((-rule.priority, file_index * 100_000 + position, built))
    for name in sorted(lists.used):
        digest.update(name.encode() + b"\0" + lists.used[name] + b"\0")
    if errors:
        raise RulebookError(sorted(errors, key=lambda e: (e.file, e.line, e.column)))
    for engine in engines.values():
        engine.build()
    return Rulebook(
        version=digest.hexdigest()[:16],
        incoming=[r for *_, r in sorted(compiled["incoming"], key=lambda t: (t[0], t[1]))],
        outgoing=[r for *_, r in sorted(compiled["outgoing"], key=lambda t: (t[0], t[1]))],
        incoming_engine=engines["incoming"],
        outgoing_engine=engines["outgoing"],
        files=tuple(str(f) for f in files),
    )


def _compile_rule(
    parsed: ParsedFile,
    rule: Rule,
    loc: Loc,
    direction: Direction,
    engine: MatchEngine,
    lists: WordLists,
    errors: list[RuleError],
) -> CompiledRule | None:
    before = len(errors)

    def report(where: Loc, message: str) -> None:
        errors.append(parsed.error(where, message))

    assert parsed.model is not None
    conditions = ConditionCompiler(engine, lists, parsed.model.business_hours, report, rule.id)
    when, _ = conditions.compile(rule.when, (*loc, "when"))
    unless = conditions.compile(rule.unless, (*loc, "unless"))[0] if rule.unless is not None else None
    actions = tuple(
        _action(action, (*loc, "then", index), direction, report) for index, action in enumerate(rule.then)
    )
    if len(errors) > before:
        return None
    required: frozenset[int] | None = None
    top = [v for k, v in conditions.text_matchers.items() if k[: len(loc) + 2] == (*loc, "when", "text")]
    if top and not any(has_detect for _, has_detect in top):
        required = frozenset(mid for mids, _ in top for mid in mids)
    kinds = rule.when.kind
    default_kind = kinds[0] if kinds else ("message" if direction == "outgoing" else "comment")
    line, _ = parsed.where(loc)
    return CompiledRule(
        rule=rule,
        file=str(parsed.path),
        line=line,
        direction=direction,
        when=when,
        unless=unless,
        actions=tuple(a for a in actions if a is not None),
        required=required,
        default_kind=default_kind,
    )


def _action(action: ActionSpec, loc: Loc, direction: Direction, report: object) -> ActionTemplate | None:
    kind: ActionType
    params: dict[str, JsonValue] = {}
    templated: tuple[str, ...] = ()
    if isinstance(action, str):
        kind = action
        if kind == "hold":
            params = {"reason": ""}
        elif kind == "block":
            params = {"reason": DEFAULT_BLOCK_REASON}
        elif kind == "require_approval":
            params = {"role": "lead"}
    elif isinstance(action, LabelAction):
        kind, params = "label", {"label": action.label}
    elif isinstance(action, WarnAction):
        kind, params, templated = "warn", {"message": action.warn}, ("message",)
    elif isinstance(action, HoldAction):
        kind, params, templated = "hold", {"reason": action.hold}, ("reason",)
    elif isinstance(action, TimeoutAction):
        kind, params = "timeout", {"seconds": action.timeout}
    elif isinstance(action, MirrorAction):
        kind, params = "mirror", {"channel": action.mirror}
    elif isinstance(action, RouteAction):
        spec = action.route if isinstance(action.route, RouteSpec) else RouteSpec(team=action.route)
        kind = "route"
        params = {
            "team": spec.team,
            "priority": spec.priority,
            "sla": format_duration(spec.sla) if spec.sla else None,
        }
    elif isinstance(action, SignalAction):
        signal = action.signal if isinstance(action.signal, SignalSpec) else SignalSpec(name=action.signal)
        kind, params = "signal", {"signal": signal.name, "weight": signal.weight}
    elif isinstance(action, BlockAction):
        kind, params, templated = "block", {"reason": action.block}, ("reason",)
    elif isinstance(action, RequireApprovalAction):
        kind, params = "require_approval", {"role": action.require_approval}
    else:  # pragma: no cover - the schema admits nothing else
        raise TypeError(type(action))
    forbidden = INCOMING_ONLY if direction == "outgoing" else OUTGOING_ONLY
    if kind in forbidden:
        assert callable(report)
        report(loc, f"action {kind!r} does not apply to {direction} messages (file applies_to: {direction})")
        return None
    return ActionTemplate(kind, params, templated)
