"""Where the applier hands a `signal` effect over to crisis detection (bot/crisis_service.py)."""

from __future__ import annotations

from bot.crisis_service import record_signal

__all__ = ["record_signal"]
