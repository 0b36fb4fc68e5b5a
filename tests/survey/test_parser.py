"""The rating parser: short FR/EN answers on a 1–5 scale are ratings; anything that says more is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.casework.survey import SurveyConfig, parse_rating, survey_lang
from bot.workspace import Workspace, WorkspaceError, load_workspace


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("4", 4),
        (" 5 ", 5),
        ("4/5", 4),
        ("3 / 5", 3),
        ("4 sur 5", 4),
        ("4 out of 5", 4),
        ("5 étoiles", 5),
        ("1 étoile", 1),
        ("5 ETOILES", 5),
        ("4 stars", 4),
        ("4 stars out of 5", 4),
        ("four stars, thanks", 4),
        ("cinq", 5),
        ("★★★★☆", 4),
        ("★★☆☆☆", 2),
        ("⭐⭐⭐", 3),
        ("4⭐", 4),
        ("4️⃣", 4),
        ("５", 5),
        ("4/5 merci !", 4),
        ("Note : 4", 4),
        ("Je mets 5 !", 5),
        ("I'd give it 2", 2),
        ("3.", 3),
    ],
)
def test_ratings_are_recognised(text: str, rating: int) -> None:
    assert parse_rating(text) == rating


@pytest.mark.parametrize(
    "text",
    [
        "",
        "merci",
        "0",
        "6",
        "10/10",
        "4.5",
        "4 4",
        "I ordered 4 items and 2 are missing",
        "Toujours pas reçu la commande 4",
        "☆☆☆",
        "★★★★★★",
        "4" + " merci" * 20,
    ],
)
def test_other_messages_are_not_ratings(text: str) -> None:
    assert parse_rating(text) is None


def test_question_language_follows_the_customer_then_the_workspace() -> None:
    config = SurveyConfig()
    assert survey_lang("fr", "en", default="en") == "fr"
    assert survey_lang(None, "fr", default="en") == "fr"
    assert survey_lang("de", None, default="fr") == "fr"
    assert "1" in config.question_for("fr") and "5" in config.question_for("fr")
    assert config.question_for("fr") != config.question_for("en")


def test_workspace_section_is_validated() -> None:
    workspace = Workspace.model_validate(
        {"survey": {"enabled": True, "answer_within": "3d", "question": {"fr": "Note ?", "en": "Rate?"}}}
    )
    assert workspace.survey.enabled and workspace.survey.answer_within.days == 3
    assert workspace.survey.question_for("en") == "Rate?"
    assert Workspace().survey.enabled is False


def test_a_bad_survey_section_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "vigie.yaml"
    path.write_text("survey:\n  enabled: true\n  answer_within: soon\n", encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"vigie.yaml:3: survey.answer_within"):
        load_workspace(path)
