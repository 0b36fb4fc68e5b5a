"""The running rulebook of a bot process, swapped whole on reload and kept on a bad edit.

`maybe_reload()` is cheap enough to call before each job: at most every `check_every` seconds it
stats the rule files (names, sizes, mtimes) and reads the shared reload generation (bumped by
`vigie rules reload`), and reloads only when either changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot.rulebook.compiler import lists_folder, load_rulebook, rule_files
from bot.rulebook.evaluate import Rulebook
from bot.rulebook.loader import RulebookError, RuleError
from bot.rulebook.selftest import run_inline_tests

log = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]


def directory_signature(path: Path) -> Signature:
    entries: list[tuple[str, int, int]] = []
    candidates = [*rule_files(path)] if path.exists() else []
    folder = lists_folder(path)
    if folder.is_dir():
        candidates.extend(sorted(folder.glob("*.txt")))
    for file in candidates:
        try:
            stat = file.stat()
        except OSError:
            continue
        entries.append((str(file), stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


class RulebookHolder:
    def __init__(
        self,
        path: Path | str,
        *,
        check_every: float = 2.0,
        run_tests: bool = True,
        generation: Callable[[], int] | None = None,
    ) -> None:
        self.path = Path(path)
        self.check_every = check_every
        self.run_tests = run_tests
        self.generation = generation
        self.last_errors: list[RuleError] = []
        self._lock = threading.Lock()
        self._checked = 0.0
        self._signature = directory_signature(self.path)
        self._generation = generation() if generation else 0
        self._current: Rulebook | None = None
        errors = self.reload()
        if self._current is None:
            raise RulebookError(errors)

    @property
    def current(self) -> Rulebook:
        assert self._current is not None
        return self._current

    def reload(self) -> list[RuleError]:
        """Load the directory again; keep the current rulebook if the new one has any error."""
        with self._lock:
            self._signature = directory_signature(self.path)
            try:
                candidate = load_rulebook(self.path)
                errors = run_inline_tests(candidate)[1] if self.run_tests else []
            except RulebookError as exc:
                candidate, errors = None, exc.errors
            except Exception as exc:  # a loader bug must not stop the bot: keep the last good rulebook
                candidate, errors = None, [RuleError(str(self.path), 1, 1, None, f"cannot load: {exc!r}")]
            if errors or candidate is None:
                self.last_errors = errors
                log.error(
                    "rulebook %s not reloaded, keeping version %s:\n%s",
                    self.path,
                    self._current.version if self._current else "none",
                    "\n".join(map(str, errors)),
                )
                return errors
            if self._current is None or candidate.version != self._current.version:
                log.info("rulebook %s loaded, version %s", self.path, candidate.version)
            self._current = candidate
            self.last_errors = []
            return []

    def maybe_reload(self, *, force: bool = False) -> list[RuleError] | None:
        """Reload when the files or the shared generation changed; None when nothing was due."""
        now = time.monotonic()
        if not force and now - self._checked < self.check_every:
            return None
        self._checked = now
        generation = self.generation() if self.generation else 0
        changed = generation != self._generation or directory_signature(self.path) != self._signature
        self._generation = generation
        if not (changed or force):
            return None
        return self.reload()
