from __future__ import annotations

import pytest

from bot.rulebook.detectors import detect
from bot.rulebook.normalize import clean


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("email", "écrivez à Jean.Dupont+sav@exemple.co.uk"),
        ("phone", "06 12 34 56 78"),
        ("phone", "06.12.34.56.78"),
        ("phone", "+33 6 12 34 56 78"),
        ("phone", "+33 (0)6 12 34 56 78"),
        ("phone", "(415) 555-2671"),
        ("phone", "+1 415 555 2671"),
        ("phone", "+44 20 7946 0958"),
        ("iban", "FR76 3000 6000 0112 3456 7890 189"),
        ("iban", "DE89370400440532013000"),
        ("card", "4111 1111 1111 1111"),
        ("card", "5500-0000-0000-0004"),
        ("address", "12 rue de la Paix"),
        ("address", "3 bis avenue Victor Hugo"),
        ("address", "1600 Pennsylvania Avenue"),
        ("address", "75002 Paris, France"),
        ("link", "https://exemple.fr/x?y=1"),
        ("link", "www.cheap-watches.xyz"),
        ("link", "go to bit.ly/abc"),
        ("invite", "discord.gg/abc123"),
        ("invite", "https://t.me/pumpgroup"),
        ("invite", "chat.whatsapp.com/AbCdEf"),
    ],
)
def test_detects(kind: str, text: str) -> None:
    assert detect(kind, clean(text)), (kind, text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("email", "rendez-vous @jean demain"),
        ("phone", "commande 123456789"),
        ("phone", "le 12/05 à 18h30"),
        ("iban", "FR76 3000 6000 0112 3456 7890 188"),  # bad mod-97 check
        ("card", "4111 1111 1111 1112"),  # bad Luhn
        ("card", "suivi 1Z999AA10123456784"),
        ("address", "le 12 mai à 18h"),
        ("address", "2 avenues"),
        ("link", "fin de phrase.Début"),
        ("invite", "notre discord est top"),
    ],
)
def test_does_not_detect(kind: str, text: str) -> None:
    assert not detect(kind, clean(text)), (kind, text)  # type: ignore[arg-type]
