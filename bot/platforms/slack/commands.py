"""`/vigie <subcommand>` text → a StaffCommand verb and its args. Pure, so every form is unit-tested."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.durations import parse_duration
from bot.events import JsonValue

# With `should_escape: true` in the manifest, Slack sends mentions as <@U123|name>.
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")

USAGE = {
    "case": "/vigie case [id]",
    "take": "/vigie take [case]",
    "resolve": "/vigie resolve [case]",
    "assign": "/vigie assign @user [case]",
    "report": "/vigie report [7d]",
    "rules": "/vigie rules test <text> | /vigie rules reload",
    "crisis": "/vigie crisis ack|resolve [id]",
    "oncall": "/vigie oncall",
}


@dataclass(frozen=True)
class Parsed:
    """`verb` None means: show help. `usage` set means: show that usage line. `unknown`: bad word."""

    verb: str | None = None
    args: dict[str, JsonValue] = field(default_factory=dict)
    usage: str | None = None
    unknown: str | None = None
    slack_user: str | None = None  # a mentioned user to resolve (assign)


def parse(text: str) -> Parsed:
    words = text.split()
    if not words or words[0].lower() in ("help", "aide", "?"):
        return Parsed()
    head, rest = words[0].lower(), words[1:]
    if head in ("case", "take", "resolve"):
        if len(rest) > 1:
            return Parsed(usage=USAGE[head])
        return Parsed(verb=head, args={"case_id": rest[0]} if rest else {})
    if head == "assign":
        match = _USER.match(rest[0]) if rest else None
        if match is None or len(rest) > 2:
            return Parsed(usage=USAGE["assign"])
        args: dict[str, JsonValue] = {"case_id": rest[1]} if len(rest) == 2 else {}
        return Parsed(verb="assign", args=args, slack_user=match.group(1))
    if head == "report":
        period = rest[0] if rest else "7d"
        try:
            parse_duration(period)
        except ValueError:
            return Parsed(usage=USAGE["report"])
        return Parsed(verb="report", args={"period": period})
    if head == "rules":
        sub = rest[0].lower() if rest else ""
        if sub == "reload" and len(rest) == 1:
            return Parsed(verb="rules_reload")
        if sub == "test":
            # Keep the text as typed, spacing included: the rules may care about it.
            sample = text.strip()[len(words[0]) :].strip()[len(rest[0]) :].strip()
            if sample:
                return Parsed(verb="rules_test", args={"text": sample})
        return Parsed(usage=USAGE["rules"])
    if head == "crisis":
        sub = rest[0].lower() if rest else ""
        if sub not in ("ack", "resolve") or len(rest) > 2:
            return Parsed(usage=USAGE["crisis"])
        verb = "ack" if sub == "ack" else "crisis_resolve"
        return Parsed(verb=verb, args={"incident_id": rest[1]} if len(rest) == 2 else {})
    if head == "oncall":
        return Parsed(verb="oncall")
    return Parsed(unknown=head)
