"""Mirror: every event becomes a card in the team channel that should see it (by source, kind and
labels, by `mirror` actions, and in its case's team channel), threaded under its case's first card."""

from __future__ import annotations

from bot.events import Effect, Event, Verdict
from bot.ports import Button, Card
from handlers.situation import CaseView, Situation

_KIND_ICON = {"review": "★", "comment": "💬", "dm": "✉", "mention": "@", "message": "#"}


def event_card(event: Event, verdict: Verdict, case: CaseView | None) -> Card:
    author = event.author.name or event.author.id
    reach = f" · {event.author.followers:,} followers" if event.author.followers is not None else ""
    fields: list[tuple[str, str]] = [("author", f"{author}{reach}")]
    if event.rating is not None:
        fields.append(("rating", "★" * event.rating + "☆" * (5 - event.rating)))
    if verdict.rules:
        fields.append(("rules", ", ".join(verdict.rules)))
    if case is not None:
        owner = case.assignee or "unassigned"
        fields.append(("case", f"#{case.id} · {case.team} · {case.priority} · {case.status} · {owner}"))
    buttons: tuple[Button, ...] = ()
    if case is not None and case.status != "resolved":
        value = str(case.id)
        buttons = (
            Button(action="take", value=value, label="Take", style="primary"),
            Button(action="assign", value=value, label="Assign"),
            Button(action="reply", value=value, label="Reply"),
            Button(action="resolve", value=value, label="Resolve"),
            Button(action="escalate", value=value, label="Escalate", style="danger"),
        )
    severity = "info"
    if "crisis" in verdict.labels:
        severity = "danger"
    elif {"toxic", "spam", "negative"} & set(verdict.labels) or (
        event.rating is not None and event.rating <= 2
    ):
        severity = "warning"
    elif "positive" in verdict.labels:
        severity = "good"
    icon = _KIND_ICON.get(event.kind, "")
    return Card(
        title=f"{icon} {event.kind} on {event.source}",
        text=event.text,
        fields=tuple(fields),
        labels=verdict.labels,
        url=event.url,
        buttons=buttons,
        severity=severity,
        footer=event.id,
    )


def channels_for(situation: Situation) -> list[str]:
    event, verdict, workspace = situation.event, situation.verdict, situation.workspace
    channels = [workspace.channel_for(event.source, event.kind, verdict.labels)]
    for action in verdict.live_actions("mirror"):
        channel = str(action.params.get("channel", ""))
        if channel and channel not in channels:
            channels.append(channel)
    if situation.case is not None:
        team = workspace.teams.get(situation.case.team)
        if team is not None and team.channel not in channels:
            channels.append(team.channel)
    return channels


def mirror(situation: Situation) -> list[Effect]:
    card = event_card(situation.event, situation.verdict, situation.case)
    effects = []
    for channel in channels_for(situation):
        for platform, target in situation.workspace.channel_targets(channel, situation.platforms):
            thread = situation.case_threads.get((platform, target))
            effects.append(
                Effect(
                    kind="post_card",
                    subject=situation.event.id,
                    name=f"{platform}:{target}",
                    params={
                        "platform": platform,
                        "channel": target,
                        "card": card.model_dump(mode="json"),
                        "thread": thread.model_dump(mode="json") if thread else None,
                        "case_id": situation.case.id if situation.case else None,
                    },
                )
            )
    return effects
