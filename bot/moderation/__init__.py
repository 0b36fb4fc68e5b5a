"""Moderation cases, warning points and appeals, platform-neutral: see `casebook`."""
