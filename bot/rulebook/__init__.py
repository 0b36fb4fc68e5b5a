"""The YAML rule language: moderation, ethics, routing and crisis rules, with inline tests.

    rulebook = load_rulebook("rules/")          # raises RulebookError listing every problem
    verdict = rulebook.evaluate(event)          # incoming: moderation, routing, crisis packs
    verdict = rulebook.check_reply(text, event=event)  # outgoing: the ethics pack

See docs/rules.md for the language and bot/rulebook/cli.py for `vigie rules ...`.
"""

from bot.rulebook.compiler import load_rulebook
from bot.rulebook.evaluate import CompiledRule, Rulebook
from bot.rulebook.holder import RulebookHolder
from bot.rulebook.loader import RulebookError, RuleError
from bot.rulebook.selftest import run_inline_tests
from bot.rulebook.stats import RuleCounters, StatsSink, record_override
from bot.rulebook.windows import MemoryWindowCounter, WindowCounter

__all__ = [
    "CompiledRule",
    "MemoryWindowCounter",
    "RuleCounters",
    "RuleError",
    "Rulebook",
    "RulebookError",
    "RulebookHolder",
    "StatsSink",
    "WindowCounter",
    "load_rulebook",
    "record_override",
    "run_inline_tests",
]
