"""Apply effects exactly once per key: claim, run against the platform port, record the result.

The claim and the result are two transactions around the platform call. A crash between the call
and the record leaves a claim that a later run takes over after its lease; for console posts the
window is a local write, for Slack and Discord it is one HTTP round trip (Discord sends carry an
`enforce_nonce` derived from the key, which closes it there)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.events import Action, Effect, utcnow
from bot.ports import (
    Card,
    CustomerChannel,
    MessageRef,
    PermanentFailure,
    RetryLater,
    StoreBackedChat,
    StoreBackedCustomer,
)
from bot.queue import worker_name
from bot.runtime import Runtime

log = logging.getLogger("vigie.applier")

BUSY_RETRY_SECONDS = 5.0
# In an effect's result: it was applied in the store and deduplicated by its key (the console), so
# its `applied` record may wait for the wave's closing transaction.
REPLAY_SAFE = "replay_safe"


class EffectsDeferred(Exception):
    """Some effects must wait (rate limit, platform busy): the job is rescheduled after `seconds`."""

    def __init__(self, seconds: float, keys: list[str]) -> None:
        super().__init__(f"{len(keys)} effect(s) deferred {seconds:.1f}s")
        self.seconds = seconds
        self.keys = keys


class AppliedLater:
    """Posts that the pipeline records together, at the end of a wave, in one transaction with
    marking the wave processed, instead of one transaction each:
    * to the console (its channels live in the store): posted in that very transaction, so the post
      and its `applied` record commit together or not at all;
    * to a platform that deduplicates by key (Discord's nonce): posted now, recorded then. A crash
      in between leaves the claims held; the run that takes them over posts again and the platform
      hands back the first message instead of posting twice."""

    KINDS = frozenset({"post_card", "post_note", "page", "update_card"})

    def __init__(self) -> None:
        self.items: list[tuple[Effect, dict[str, Any]]] = []
        self.console_posts: list[Effect] = []

    def accepts(self, runtime: Runtime, effect: Effect, result: Mapping[str, Any]) -> bool:
        if effect.kind == "moderate":
            return bool(result.get(REPLAY_SAFE))  # done in the store, keyed: replaying changes nothing
        chat = runtime.team_chats.get(str(effect.params.get("platform")))
        return effect.kind in self.KINDS and bool(getattr(chat, "deduplicates", False))

    def posts_in_store(self, runtime: Runtime, effect: Effect) -> bool:
        chat = runtime.team_chats.get(str(effect.params.get("platform")))
        return effect.kind in ("post_card", "post_note", "page") and isinstance(chat, StoreBackedChat)

    def record(self, runtime: Runtime) -> None:
        if self.items or self.console_posts:
            with runtime.store.unit() as unit:
                self.record_in(runtime, unit)

    def record_in(self, runtime: Runtime, unit: Any) -> None:
        for effect in self.console_posts:
            chat = runtime.team_chats[str(effect.params["platform"])]
            assert isinstance(chat, StoreBackedChat)
            params = effect.params
            ref = chat.post_in(
                unit,
                str(params["channel"]),
                Card.model_validate(params["card"]),
                thread=MessageRef.model_validate(params["thread"]) if params.get("thread") else None,
                idempotency_key=effect.key,
            )
            self.items.append((effect, ref.model_dump(mode="json")))
        self.console_posts = []
        unit.effects.applied_many([(effect.key, result) for effect, result in self.items])
        for effect, result in self.items:
            _after_success(runtime, unit, effect, result)
        self.items = []


def apply_effects(
    runtime: Runtime,
    effects: Sequence[Effect],
    worker: str,
    claims: Mapping[str, str] | None = None,
    later: AppliedLater | None = None,
) -> dict[str, str]:
    """Apply what is not applied yet; return key → outcome (applied, done, failed, busy, deferred).
    Raises EffectsDeferred when a platform asked to wait, after trying every other effect.
    `claims`: the outcome of `EffectRepo.claim` when the caller already claimed them in its own
    transaction (the pipeline does, in the one that records them). `later`: where posts that are
    safe to replay wait to be recorded together (the caller records them)."""
    if not effects:
        return {}
    if claims is None:
        with runtime.store.unit() as unit:
            claims = unit.effects.claim(effects, worker, alive=runtime.queue.worker_alive)
    outcomes: dict[str, str] = {}
    deferred: list[str] = []
    wait = 0.0
    for effect in effects:
        claim = claims.get(effect.key, "busy")
        if claim == "busy":
            # Another worker holds it right now (or held it and died): come back once it is done or
            # its claim can be taken over; never call the job done while an effect is in doubt.
            deferred.append(effect.key)
            wait = max(wait, BUSY_RETRY_SECONDS)
            outcomes[effect.key] = "busy"
            continue
        if claim != "run":
            outcomes[effect.key] = claim
            continue
        if later is not None and later.posts_in_store(runtime, effect):
            later.console_posts.append(effect)
            outcomes[effect.key] = "applied"
            continue
        try:
            result = execute(runtime, effect)
        except RetryLater as later:
            with runtime.store.unit() as unit:
                unit.effects.release(effect.key, str(later))
            deferred.append(effect.key)
            wait = max(wait, later.seconds)
            outcomes[effect.key] = "deferred"
            continue
        except PermanentFailure as failure:
            with runtime.store.unit() as unit:
                unit.effects.release(effect.key, str(failure), final=True)
                _after_failure(runtime, unit, effect, str(failure))
            outcomes[effect.key] = "failed"
            log.warning("effect %s failed for good: %s", effect.key, failure)
            continue
        except Exception as error:
            # Unknown failure: release the claim so RQ's retry (with backoff) runs it again.
            with runtime.store.unit() as unit:
                unit.effects.release(effect.key, f"{error.__class__.__name__}: {error}")
            raise
        outcomes[effect.key] = "applied"
        if later is not None and later.accepts(runtime, effect, result):
            later.items.append((effect, result))
            continue
        with runtime.store.unit() as unit:
            unit.effects.applied(effect.key, result)
            _after_success(runtime, unit, effect, result)
    if deferred:
        raise EffectsDeferred(wait, deferred)
    return outcomes


def execute(runtime: Runtime, effect: Effect) -> dict[str, Any]:
    params = effect.params
    if effect.kind in ("post_card", "post_note", "page"):
        chat = runtime.team_chats.get(str(params["platform"]))
        if chat is None:
            raise PermanentFailure(f"platform {params['platform']} is not configured")
        thread = MessageRef.model_validate(params["thread"]) if params.get("thread") else None
        ref = chat.post(
            str(params["channel"]),
            Card.model_validate(params["card"]),
            thread=thread,
            idempotency_key=effect.key,
        )
        return ref.model_dump(mode="json")
    if effect.kind == "update_card":
        chat = runtime.team_chats.get(str(params["platform"]))
        if chat is None:
            raise PermanentFailure(f"platform {params['platform']} is not configured")
        ref = MessageRef.model_validate(params["ref"])
        chat.update(ref, Card.model_validate(params["card"]))
        return {"updated": ref.message_id}
    if effect.kind == "moderate":
        return moderate(runtime, effect)
    if effect.kind in ("deliver_reply", "survey"):
        # A survey question reaches the customer exactly as an approved reply does.
        with runtime.store.unit() as unit:
            event = unit.events.get_event(str(params["event_id"]))
        if event is None:
            raise PermanentFailure(f"event {params['event_id']} is gone")
        platform_id = customer_channel(runtime, event.source).deliver_reply(
            event, str(params["text"]), idempotency_key=effect.key
        )
        return {"platform_id": platform_id}
    if effect.kind == "signal":
        from bot.crisis_link import record_signal

        return record_signal(runtime, effect)
    if effect.kind == "open_case":
        return {}
    raise PermanentFailure(f"unknown effect kind {effect.kind}")


def moderate(runtime: Runtime, effect: Effect) -> dict[str, Any]:
    """A sanction: the numbered moderation case is opened (once per effect key) before the platform
    acts, so the mod-log and the member's warning show its number and points; escalations its points
    trigger are applied right after, each once."""
    from bot.moderation.casebook import enrich_moderation, moderation_target

    params = effect.params
    with runtime.store.unit() as unit:
        event = moderation_target(params) or unit.events.get_event(effect.subject)
        if event is None:
            raise PermanentFailure(f"event {effect.subject} is gone")
        enriched = enrich_moderation(
            unit,
            event,
            Action.model_validate(params["action"]),
            utcnow(),
            key=effect.key,
            reason=str(params.get("reason", "")),
            config=runtime.workspace.moderation,
            lang=runtime.workspace.language,
        )
        unit.effects.record(list(enriched.escalations))
        channel = customer_channel(runtime, event.source)
        in_store = isinstance(channel, StoreBackedCustomer)
        if isinstance(channel, StoreBackedCustomer):
            # The console outbox: the sanction is written with its moderation case, in one transaction.
            channel.moderate_in(
                unit, event, enriched.action, reason=str(params.get("reason", "")), idempotency_key=effect.key
            )
    if not in_store:
        channel.moderate(
            event, enriched.action, reason=str(params.get("reason", "")), idempotency_key=effect.key
        )
    if enriched.escalations:
        apply_effects(runtime, list(enriched.escalations), worker_name())
    result: dict[str, Any] = {"action": enriched.action.type, "case": enriched.case}
    if in_store:
        result[REPLAY_SAFE] = True
    return result


def customer_channel(runtime: Runtime, source: str) -> CustomerChannel:
    """The way back to a customer: the platform itself for Slack and Discord, the source's reply URL
    for webhook sources that have one, else the console outbox."""
    if source in runtime.customers:
        return runtime.customers[source]
    config = runtime.workspace.sources.get(source)
    if config is not None and config.reply_url and "webhook" in runtime.customers:
        return runtime.customers["webhook"]
    return runtime.customers["console"]


def _after_success(runtime: Runtime, unit: Any, effect: Effect, result: dict[str, Any]) -> None:
    params = effect.params
    if effect.kind in ("post_card", "post_note", "page"):
        case_id = params.get("case_id")
        unit.effects.remember_post(
            platform=str(params["platform"]),
            channel=str(params["channel"]),
            message_id=str(result["message_id"]),
            thread_id=result.get("thread_id"),
            subject=effect.subject,
            role="card" if effect.kind == "post_card" else str(params.get("role", "note")),
            case_id=int(case_id) if isinstance(case_id, int | str) and str(case_id).isdigit() else None,
        )
    elif effect.kind == "deliver_reply":
        from bot.casework.wiring import on_reply_delivered

        on_reply_delivered(runtime, unit, effect, str(result.get("platform_id", "")))
    elif effect.kind == "survey":
        from bot.casework.survey_flow import survey_sent

        survey_sent(unit, effect, utcnow())


def _after_failure(runtime: Runtime, unit: Any, effect: Effect, error: str) -> None:
    if effect.kind == "deliver_reply":
        from bot.casework.wiring import on_reply_failed

        on_reply_failed(runtime, unit, effect, error)
