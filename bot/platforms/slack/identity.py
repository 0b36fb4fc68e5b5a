"""Who clicked: a Slack user id mapped to a staff member from vigie.yaml, by Slack id or e-mail.

The core maps `StaffCommand.actor` with `Workspace.staff_by_identity("slack", actor)`, which accepts
a Slack id or an e-mail. So the actor is the Slack id when vigie.yaml lists it, else the user's
e-mail when that one is listed (read once with `users.info`, cached in Redis), else the Slack id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.workspace import Workspace

log = logging.getLogger(__name__)

EMAIL_TTL = 24 * 3600
NO_EMAIL_TTL = 600  # retry soon: the scope may just have been granted


@dataclass(frozen=True)
class StaffMatch:
    staff_id: str
    lang: str | None = None


StaffLookup = Callable[[str], StaffMatch | None]
"""A Slack identity (user id U… or e-mail) → the staff member it belongs to, or None."""


def workspace_staff_lookup(workspace: Workspace) -> StaffLookup:
    def lookup(identity: str) -> StaffMatch | None:
        found = workspace.staff_by_identity("slack", identity)
        if found is None:
            return None
        staff_id, person = found
        return StaffMatch(staff_id=staff_id, lang=person.lang)

    return lookup


@dataclass(frozen=True)
class Actor:
    identity: str  # what goes into StaffCommand.actor
    slack_user: str
    staff_id: str | None
    lang: str


class Identities:
    def __init__(
        self,
        client: WebClient,
        redis: Redis,
        lookup: StaffLookup,
        *,
        lang: str = "en",
        prefix: str = "vigie:slack",
    ) -> None:
        self.client = client
        self.redis = redis
        self.lookup = lookup
        self.lang = lang
        self.prefix = prefix

    def resolve(self, slack_user: str) -> Actor:
        match = self.lookup(slack_user)
        if match is not None:
            return Actor(slack_user, slack_user, match.staff_id, match.lang or self.lang)
        email = self.email(slack_user)
        if email:
            match = self.lookup(email)
            if match is not None:
                return Actor(email, slack_user, match.staff_id, match.lang or self.lang)
        return Actor(slack_user, slack_user, None, self.lang)

    def email(self, slack_user: str) -> str | None:
        key = f"{self.prefix}:email:{slack_user}"
        cached = self.redis.get(key)
        if cached is not None:
            value = cached.decode() if isinstance(cached, bytes) else str(cached)
            return value or None
        try:
            data = self.client.users_info(user=slack_user).data
            user = data.get("user") if isinstance(data, dict) else None
            profile = user.get("profile") if isinstance(user, dict) else None
            email = str(profile.get("email") or "") if isinstance(profile, dict) else ""
        except (SlackApiError, SlackClientError, OSError) as error:
            # Without users:read.email, staff are matched by Slack id only; not worth failing a click.
            log.warning("slack: users.info for %s failed: %s", slack_user, type(error).__name__)
            email = ""
        self.redis.set(key, email, ex=EMAIL_TTL if email else NO_EMAIL_TTL)
        return email or None
