"""Every text the reports write to people, in English and French, and the number formats of each."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")

TEXTS: dict[str, tuple[str, str]] = {
    # key: (English, French)
    "report_title": ("Community report", "Rapport communauté"),
    "daily_digest": ("Daily digest", "Résumé du jour"),
    "weekly_digest": ("Weekly digest", "Résumé de la semaine"),
    "period": ("Period", "Période"),
    "previous": ("previous period", "période précédente"),
    "filters": ("Filters", "Filtres"),
    "none": ("none", "aucun"),
    "volume": ("Volume", "Volume"),
    "events": ("events", "messages"),
    "by_source": ("By source", "Par source"),
    "by_kind": ("By kind", "Par type"),
    "first_response": ("First response", "Première réponse"),
    "resolution": ("Resolution", "Résolution"),
    "median": ("median", "médiane"),
    "p90": ("p90", "p90"),
    "business_hours": ("business hours", "heures ouvrées"),
    "wall_clock": ("wall clock", "temps réel"),
    "sla": ("SLA hit rate", "Taux de respect des SLA"),
    "sla_detail": ("{hit} hit, {missed} missed", "{hit} respectés, {missed} dépassés"),
    "response_rate": ("Response rate", "Taux de réponse"),
    "response_detail": (
        "{responded} of {opened} new cases answered",
        "{responded} cas nouveaux sur {opened} ont une réponse",
    ),
    "satisfaction": ("Satisfaction index", "Indice de satisfaction"),
    "satisfaction_detail": (
        "{ratings} ratings (avg {avg}, CSAT {csat}), {scored} scored messages ({positive} positive); "
        "{surveys} survey answers",
        "{ratings} notes (moyenne {avg}, CSAT {csat}), {scored} messages évalués ({positive} positifs) ; "
        "{surveys} réponses d'enquête",
    ),
    "moderation": ("Moderation actions", "Actions de modération"),
    "top_labels": ("Top labels", "Étiquettes les plus fréquentes"),
    "top_rules": ("Top rules", "Règles les plus déclenchées"),
    "crisis": ("Crisis incidents", "Incidents de crise"),
    "crisis_detail": (
        "{acknowledged} acknowledged, {unacknowledged} not yet; time to acknowledge {ttA}",
        "{acknowledged} pris en charge, {unacknowledged} en attente ; délai de prise en charge {ttA}",
    ),
    "backlog": ("Backlog", "En attente"),
    "backlog_detail": (
        "{unresolved} unresolved, {unassigned} unassigned, {overdue} overdue",
        "{unresolved} non résolus, {unassigned} non attribués, {overdue} en retard",
    ),
    "share_of_voice": ("Share of voice", "Part de voix"),
    "trend": ("Trend", "Tendance"),
    "metric": ("Metric", "Indicateur"),
    "current": ("This period", "Cette période"),
    "before": ("Previous", "Précédente"),
    "change": ("Change", "Évolution"),
    "no_data": ("no data", "pas de données"),
    "panel_volume": ("Volume per day by source", "Volume par jour et par source"),
    "panel_times": ("Response times (median, business hours)", "Délais (médiane, heures ouvrées)"),
    "panel_sla": ("SLA targets per day", "Objectifs SLA par jour"),
    "panel_sentiment": ("Sentiment per day", "Tonalité par jour"),
    "hours": ("hours", "heures"),
    "hit": ("hit", "respectés"),
    "missed": ("missed", "dépassés"),
    "positive": ("positive", "positif"),
    "neutral": ("neutral", "neutre"),
    "negative": ("negative", "négatif"),
    "first_response_short": ("first response", "première réponse"),
    "resolution_short": ("resolution", "résolution"),
    "see_chart": ("Chart attached.", "Graphique joint."),
}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS_FR = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def text(key: str, lang: Lang, **values: object) -> str:
    en, fr = TEXTS[key]
    template = fr if lang == "fr" else en
    return template.format(**values) if values else template


def percent(value: float | None, lang: Lang) -> str:
    if value is None:
        return "–"
    shown = f"{value * 100:.1f}"
    return f"{shown.replace('.', ',')} %" if lang == "fr" else f"{shown}%"


def number(value: float | None, lang: Lang, digits: int = 1) -> str:
    if value is None:
        return "–"
    shown = f"{value:.{digits}f}"
    return shown.replace(".", ",") if lang == "fr" else shown


def duration(seconds: float | None, lang: Lang) -> str:
    """`2 h 05` in French, `2h05m` in English; days above 48 hours."""
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days and minutes >= 2880:
        return f"{days} j {hours} h" if lang == "fr" else f"{days}d{hours}h"
    hours += days * 24
    if hours:
        return f"{hours} h {mins:02d}" if lang == "fr" else f"{hours}h{mins:02d}m"
    return f"{mins} min" if lang == "fr" else f"{mins}m"


def day(value: date | datetime, lang: Lang) -> str:
    if lang == "fr":
        return f"{value.day} {_MONTHS_FR[value.month - 1]} {value.year}"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
