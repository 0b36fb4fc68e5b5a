"""The one entry point for staff commands from every door (Slack, Discord, console, CLI): each verb
goes to the service that owns it. Services check the actor's role from vigie.yaml themselves."""

from __future__ import annotations

import logging
from typing import Any

from bot.applier import EffectsDeferred
from bot.crisis_service import dispatch_crisis
from bot.crisis_service import handles as crisis_handles
from bot.events import Author, Effect, Event, JsonValue, utcnow
from bot.ports import CommandResult, StaffCommand
from bot.runtime import Runtime

log = logging.getLogger("vigie.dispatch")

RULES_VERBS = {"rules_test", "rules_reload"}


class Dispatcher:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def __call__(self, command: StaffCommand) -> CommandResult:
        try:
            return self.route(command)
        except Exception:  # a bug in one service must not take a door down: say so, log it
            log.exception("command %s from %s failed", command.verb, command.door)
            return CommandResult(
                ok=False,
                message="Vigie could not do that (internal error, logged).",
                data={"error": "internal"},
            )

    def route(self, command: StaffCommand) -> CommandResult:
        verb = command.verb
        if crisis_handles(command):
            return dispatch_crisis(self.runtime, command)
        if verb in moderation_verbs():
            return self.moderation(command)
        if verb in RULES_VERBS:
            return self.rules(command)
        if verb == "report":
            return self.report(command)
        from bot.casework.wiring import desk_for

        return desk_for(self.runtime).dispatch(with_platform(command))

    def staff(self, command: StaffCommand) -> tuple[str, Any] | None:
        return self.runtime.workspace.staff_by_identity(command.door, command.actor)

    def moderation(self, command: StaffCommand) -> CommandResult:
        """Before the desk: members who are not staff may `/appeal` their own sanction."""
        from bot.applier import apply_effects
        from bot.moderation.casebook import dispatch_moderation
        from bot.queue import worker_name

        runtime = self.runtime
        result = dispatch_moderation(
            runtime.store, runtime.workspace, command, utcnow(), config=runtime.workspace.moderation
        )
        effects = [Effect.model_validate(raw) for raw in _list(result.data.get("effects"))]
        if result.data.get("post_to") and isinstance(result.data.get("card"), dict):
            channel = str(result.data["post_to"])
            subject = str(result.data.get("subject") or f"appeal:{command.actor}")
            effects.extend(
                Effect(
                    kind="post_card",
                    subject=subject,
                    name=f"{platform}:{target}",
                    params={
                        "platform": platform,
                        "channel": target,
                        "card": result.data["card"],
                        "thread": None,
                        "case_id": None,
                    },
                )
                for platform, target in runtime.workspace.channel_targets(channel, runtime.team_chats)
            )
        if effects:
            with runtime.store.unit() as unit:
                unit.effects.record(effects)
            try:
                apply_effects(runtime, effects, worker_name())
            except EffectsDeferred as deferred:
                runtime.queue.enqueue_effects(deferred.keys, delay=deferred.seconds)
        return result

    def rules(self, command: StaffCommand) -> CommandResult:
        found = self.staff(command)
        if found is None:
            return CommandResult(
                ok=False, message="You are not staff in vigie.yaml.", data={"error": "unknown_actor"}
            )
        if command.verb == "rules_reload":
            if "admin" not in found[1].roles:
                return CommandResult(
                    ok=False, message="Only an admin may reload the rules.", data={"error": "missing_role"}
                )
            errors = self.runtime.rules.reload()
            if errors:
                return CommandResult(
                    ok=False,
                    message="Rules not reloaded:\n" + "\n".join(map(str, errors[:10])),
                    data={"error": "invalid_rules"},
                )
            from bot.store.counters import bump_generation

            bump_generation(self.runtime.redis.client)
            with self.runtime.store.unit() as unit:
                unit.audit(
                    actor=found[0],
                    door=command.door,
                    action="rules.reload",
                    subject="rules",
                    detail={"version": self.runtime.rules.current.version},
                )
            return CommandResult(
                ok=True, message=f"Rules reloaded (version {self.runtime.rules.current.version})."
            )
        text = str(command.args.get("text", "")).strip()
        if not text:
            return CommandResult(ok=False, message="Give a text to test.", data={"error": "missing_text"})
        event = Event(
            source="vigie-test",
            kind="comment",
            external_id="rules-test",
            text=text,
            author=Author(id="rules-test"),
        )
        verdict = self.runtime.rules.current.evaluate(event, signals=True, explain=True)
        data: dict[str, JsonValue] = {
            "labels": list(verdict.labels),
            "rules": list(verdict.rules),
            "actions": [f"{a.type}{' (dry run)' if a.dry_run else ''}" for a in verdict.actions],
            "route": verdict.route.team if verdict.route else None,
            "crisis": verdict.crisis,
        }
        summary = (
            f"rules: {', '.join(verdict.rules) or 'none'} · labels: {', '.join(verdict.labels) or 'none'}"
            f" · actions: {', '.join(str(a) for a in data['actions']) or 'none'}"  # type: ignore[union-attr]
        )
        return CommandResult(ok=True, message=summary, data=data)

    def report(self, command: StaffCommand) -> CommandResult:
        if self.staff(command) is None:
            return CommandResult(
                ok=False, message="You are not staff in vigie.yaml.", data={"error": "unknown_actor"}
            )
        from bot.reports.report import build_report

        period = str(command.args.get("period", "7d"))
        try:
            output = build_report(self.runtime.store, self.runtime.workspace, since=period, chart=False)
        except ValueError as error:
            return CommandResult(ok=False, message=str(error), data={"error": "bad_period"})
        lang = str(command.args.get("lang") or self.runtime.workspace.language)
        summary = output.summary.get(lang, output.summary[self.runtime.workspace.language])  # type: ignore[call-overload]
        return CommandResult(ok=True, message=summary, data={"period": period})


def with_platform(command: StaffCommand) -> StaffCommand:
    """A thread location from Slack or Discord is on that door's platform: the desk finds the case
    by (platform, channel, thread), and the adapters send only the channel and thread."""
    args = command.args
    if (
        command.door in ("slack", "discord")
        and "platform" not in args
        and ("thread_ts" in args or "thread_id" in args)
    ):
        return command.model_copy(update={"args": {**args, "platform": command.door}})
    return command


def moderation_verbs() -> frozenset[str]:
    from bot.moderation.casebook import MODERATION_VERBS

    return MODERATION_VERBS


def _list(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
