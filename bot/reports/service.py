"""One-call entry points for the lead's wiring: the scheduled digest and retention jobs, and the
report that ends `vigie demo`. Each takes the store and the workspace and returns plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.events import utcnow
from bot.ports import Card
from bot.reports.digest import DigestKind, digest_card, digest_period, digests_of, next_run, schedule_timezone
from bot.reports.kpis import Filters
from bot.reports.render_md import render_markdown, render_summary
from bot.reports.render_png import render_png
from bot.reports.report import Report, load_report
from bot.reports.retention import retention_of
from bot.workspace import Workspace

if TYPE_CHECKING:
    from bot.store.unit import Store


@dataclass(frozen=True)
class Digest:
    """What a digest job posts: `card` (and `png` as an attachment) to each of `channels`; then the
    scheduler enqueues the next run at `next_at`."""

    kind: DigestKind
    card: Card
    png: bytes
    channels: tuple[str, ...]
    next_at: datetime
    report: Report


def prepare_digest(store: Store, workspace: Workspace, kind: DigestKind, run_at: datetime) -> Digest | None:
    """None when this digest is not configured."""
    schedule = digests_of(workspace).of(kind)
    if schedule is None:
        return None
    zone = schedule_timezone(schedule, workspace)
    report = load_report(
        store,
        workspace,
        period=digest_period(kind, run_at, zone),
        filters=Filters(team=schedule.team),
        now=run_at,
        timezone=zone,
    )
    lang = workspace.language
    return Digest(
        kind=kind,
        card=digest_card(report, kind, lang),
        png=render_png(report, lang),
        channels=tuple(schedule.channels or [workspace.default_channel]),
        next_at=next_run(kind, schedule, run_at, zone),
        report=report,
    )


def first_digest_runs(workspace: Workspace, now: datetime | None = None) -> dict[DigestKind, datetime]:
    """When each configured digest runs first: what the scheduler enqueues at start-up."""
    digests = digests_of(workspace)
    moment = now or utcnow()
    out: dict[DigestKind, datetime] = {}
    kinds: tuple[DigestKind, ...] = ("daily", "weekly")
    for kind in kinds:
        schedule = digests.of(kind)
        if schedule is not None:
            out[kind] = next_run(kind, schedule, moment, schedule_timezone(schedule, workspace))
    return out


def run_retention(store: Store, workspace: Workspace, now: datetime | None = None) -> dict[str, int]:
    """The scheduled retention job: delete what each kind's retention period no longer covers."""
    from bot.store.privacy import enforce_retention

    moment = now or utcnow()
    return enforce_retention(store, retention_of(workspace).cutoffs(moment), now=moment)


@dataclass(frozen=True)
class DemoReport:
    summary: str
    markdown: str
    markdown_path: Path
    png_path: Path


def demo_report(
    store: Store, workspace: Workspace, directory: Path, *, since: str = "1d", now: datetime | None = None
) -> DemoReport:
    """The report of the demo's scenario, written as `report.md` and `report.png` in `directory`."""
    report = load_report(store, workspace, since=since, now=now)
    lang = workspace.language
    directory.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(report, lang)
    markdown_path = directory / "report.md"
    png_path = directory / "report.png"
    markdown_path.write_text(markdown, encoding="utf-8")
    png_path.write_bytes(render_png(report, lang))
    summary = render_summary(report, lang)
    return DemoReport(summary=summary, markdown=markdown, markdown_path=markdown_path, png_path=png_path)
