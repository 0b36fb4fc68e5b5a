"""Apply effects exactly once per key: claim, run against the platform port, record the result.

The claim and the result are two transactions around the platform call. A crash between the call
and the record leaves a claim that a later run takes over after its lease; for console posts the
window is a local write, for Slack and Discord it is one HTTP round trip (Discord sends carry an
`enforce_nonce` derived from the key, which closes it there)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.events import Action, Effect, Event, utcnow
from bot.moderation.casebook import Enriched, enrich_moderation, moderation_target
from bot.ports import (
    Card,
    CustomerChannel,
    MessageRef,
    PermanentFailure,
    RetryLater,
    StoreBackedChat,
    StoreBackedCustomer,
    StoredPost,
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
    """Effects that the pipeline records together, at the end of a wave, in one transaction with
    marking the wave processed, instead of one transaction each:
    * posts to the console and updates of its cards (its channels live in the store), and
      sanctions of members whose way back is the console outbox (the moderation case, its
      escalations and the notice): done in that very transaction, so each and its `applied`
      record commit together or not at all;
    * posts to a platform that deduplicates by key (Discord's nonce): posted now, recorded then. A
      crash in between leaves the claims held; the run that takes them over posts again and the
      platform hands back the first message instead of posting twice.
    `events` are the wave's own events (a rulebook sanction names its event only by id)."""

    KINDS = frozenset({"post_card", "post_note", "page", "update_card"})

    def __init__(self, worker: str = "", events: Mapping[str, Event] | None = None) -> None:
        self.worker = worker
        self.events = dict(events or {})
        self.items: list[tuple[Effect, dict[str, Any]]] = []
        self.console_posts: list[Effect] = []
        self.console_updates: list[Effect] = []
        self.store_moderations: list[Effect] = []

    def accepts(self, runtime: Runtime, effect: Effect, result: Mapping[str, Any]) -> bool:
        if effect.kind == "moderate":
            return bool(result.get(REPLAY_SAFE))  # done in the store, keyed: replaying changes nothing
        chat = runtime.team_chats.get(str(effect.params.get("platform")))
        return effect.kind in self.KINDS and bool(getattr(chat, "deduplicates", False))

    def done_in_store(self, runtime: Runtime, effect: Effect) -> bool:
        """Whether the effect is the store's own to do, in the recording transaction (and then it
        is queued for it)."""
        if effect.kind == "moderate":
            target = moderation_target(effect.params) or self.events.get(effect.subject)
            if target is None or not isinstance(
                customer_channel(runtime, target.source), StoreBackedCustomer
            ):
                return False
            self.store_moderations.append(effect)
            return True
        chat = runtime.team_chats.get(str(effect.params.get("platform")))
        if effect.kind in ("post_card", "post_note", "page") and isinstance(chat, StoreBackedChat):
            self.console_posts.append(effect)
            return True
        if effect.kind == "update_card" and isinstance(chat, StoreBackedChat):
            self.console_updates.append(effect)
            return True
        return False

    def record(self, runtime: Runtime) -> None:
        if self.items or self.console_posts or self.console_updates or self.store_moderations:
            with runtime.store.unit() as unit:
                self.record_in(runtime, unit)

    def record_in(self, runtime: Runtime, unit: Any) -> None:
        self._moderate_in(runtime, unit)
        by_chat: dict[str, list[Effect]] = {}
        for effect in self.console_posts:
            by_chat.setdefault(str(effect.params["platform"]), []).append(effect)
        for platform, effects in by_chat.items():
            chat = runtime.team_chats[platform]
            assert isinstance(chat, StoreBackedChat)
            refs = chat.post_many_in(unit, [_stored_post(effect) for effect in effects])
            self.items.extend(
                (effect, ref.model_dump(mode="json")) for effect, ref in zip(effects, refs, strict=True)
            )
        self.console_posts = []
        for effect in self.console_updates:
            chat = runtime.team_chats[str(effect.params["platform"])]
            assert isinstance(chat, StoreBackedChat)
            ref = MessageRef.model_validate(effect.params["ref"])
            chat.update_in(unit, ref, Card.model_validate(effect.params["card"]))
            self.items.append((effect, {"updated": ref.message_id}))
        self.console_updates = []
        unit.effects.applied_many([(effect.key, result) for effect, result in self.items])
        unit.effects.remember_posts(
            [row for effect, result in self.items if (row := _posted(effect, result))]
        )
        for effect, result in self.items:
            _after_success(runtime, unit, effect, result, posts_remembered=True)
        self.items = []

    def _moderate_in(self, runtime: Runtime, unit: Any) -> None:
        """The queued sanctions, each with its moderation case and outbox notice; the escalations
        their points trigger are claimed and done the same way, in this same transaction."""
        pending = list(self.store_moderations)
        self.store_moderations = []
        while pending:
            effect = pending.pop(0)
            event = moderation_target(effect.params) or self.events.get(effect.subject)
            if event is None:
                event = unit.events.get_event(effect.subject)
            if event is None:
                unit.effects.release(effect.key, f"event {effect.subject} is gone", final=True)
                continue
            channel = customer_channel(runtime, event.source)
            assert isinstance(channel, StoreBackedCustomer)
            enriched = _open_moderation(runtime, unit, effect, event, channel)
            self.items.append((effect, _moderation_result(enriched, in_store=True)))
            escalations = list(enriched.escalations)
            if not escalations:
                continue
            claims = unit.effects.claim(escalations, self.worker, alive=runtime.queue.worker_alive)
            busy = [e.key for e in escalations if claims.get(e.key) == "busy"]
            if busy:
                # A run that died holds them until its lease ends: this whole recording rolls back
                # and the wave's events are tried again later, as a platform's "wait" would have it.
                raise EffectsDeferred(BUSY_RETRY_SECONDS, busy)
            pending.extend(e for e in escalations if claims.get(e.key) == "run")


def _stored_post(effect: Effect) -> StoredPost:
    params = effect.params
    thread = MessageRef.model_validate(params["thread"]) if params.get("thread") else None
    return StoredPost(str(params["channel"]), Card.model_validate(params["card"]), thread, effect.key)


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
        if later is not None and later.done_in_store(runtime, effect):
            outcomes[effect.key] = "applied"
            continue
        try:
            result = execute(runtime, effect)
        except RetryLater as asked:  # not `later`: that name is the parameter, needed after this
            with runtime.store.unit() as unit:
                unit.effects.release(effect.key, str(asked))
            deferred.append(effect.key)
            wait = max(wait, asked.seconds)
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
    with runtime.store.unit() as unit:
        event = moderation_target(effect.params) or unit.events.get_event(effect.subject)
        if event is None:
            raise PermanentFailure(f"event {effect.subject} is gone")
        channel = customer_channel(runtime, event.source)
        enriched = _open_moderation(runtime, unit, effect, event, channel)
    in_store = isinstance(channel, StoreBackedCustomer)
    if not in_store:
        reason = str(effect.params.get("reason", ""))
        channel.moderate(event, enriched.action, reason=reason, idempotency_key=effect.key)
    if enriched.escalations:
        apply_effects(runtime, list(enriched.escalations), worker_name())
    return _moderation_result(enriched, in_store=in_store)


def _open_moderation(
    runtime: Runtime, unit: Any, effect: Effect, event: Event, channel: CustomerChannel
) -> Enriched:
    """The sanction's moderation case (and the escalations it triggers, recorded); a member whose
    way back is the console outbox gets the notice in this same transaction."""
    reason = str(effect.params.get("reason", ""))
    enriched = enrich_moderation(
        unit,
        event,
        Action.model_validate(effect.params["action"]),
        utcnow(),
        key=effect.key,
        reason=reason,
        config=runtime.workspace.moderation,
        lang=runtime.workspace.language,
    )
    unit.effects.record(list(enriched.escalations))
    if isinstance(channel, StoreBackedCustomer):
        channel.moderate_in(unit, event, enriched.action, reason=reason, idempotency_key=effect.key)
    return enriched


def _moderation_result(enriched: Enriched, *, in_store: bool) -> dict[str, Any]:
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


def _posted(effect: Effect, result: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `posted_messages` row of a post (cards find their threads and cases by it), else None."""
    if effect.kind not in ("post_card", "post_note", "page"):
        return None
    params = effect.params
    case_id = params.get("case_id")
    return {
        "platform": str(params["platform"]),
        "channel": str(params["channel"]),
        "message_id": str(result["message_id"]),
        "thread_id": result.get("thread_id"),
        "subject": effect.subject,
        "role": "card" if effect.kind == "post_card" else str(params.get("role", "note")),
        "case_id": int(case_id) if isinstance(case_id, int | str) and str(case_id).isdigit() else None,
    }


def _after_success(
    runtime: Runtime, unit: Any, effect: Effect, result: dict[str, Any], *, posts_remembered: bool = False
) -> None:
    """What an applied effect changes in the store besides its record (`posts_remembered`: the
    caller stored the posts' rows already, all at once)."""
    row = None if posts_remembered else _posted(effect, result)
    if row is not None:
        unit.effects.remember_posts([row])
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
