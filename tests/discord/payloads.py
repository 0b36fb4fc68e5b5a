"""Gateway frames built from the shared fixtures, for the interactions the fixtures don't cover."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from tests.discord.conftest import GUILD, STAFF_CHANNEL, STAFF_MEMBER, STAFF_ROLE
from tests.fakes.discord_api import BOT_ID, load_fixture

_ids = itertools.count(1)


def interaction(
    kind: int,
    data: dict[str, Any],
    *,
    roles: list[str] | None = None,
    locale: str = "en-US",
    message: dict[str, Any] | None = None,
    channel_id: int = STAFF_CHANNEL,
) -> dict[str, Any]:
    """An INTERACTION_CREATE `d` from the slash-command fixture, with another type and data."""
    base: dict[str, Any] = copy.deepcopy(load_fixture("interaction_create_slash.json")["d"])
    base.update(
        type=kind,
        data=data,
        id=str(786008729715212338 + next(_ids)),
        token=f"token-{next(_ids)}",
        locale=locale,
        channel_id=str(channel_id),
    )
    base["member"]["roles"] = [STAFF_ROLE] if roles is None else roles
    if message is not None:
        base["message"] = message
    return base


def slash(name: str, options: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"type": 1, "name": name, "id": "771825006014889984", "options": options}
    resolved = kwargs.pop("resolved", None)
    if resolved:
        data["resolved"] = resolved
    return interaction(2, data, **kwargs)


def subcommand(group: str, name: str, options: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    return slash(group, [{"type": 1, "name": name, "options": options}], **kwargs)


def member_option(name: str, user_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    user = {"id": str(user_id), "username": "Mason", "discriminator": "9999", "avatar": None}
    resolved = {
        "users": {str(user_id): user},
        "members": {
            str(user_id): {
                "roles": [],
                "joined_at": "2017-03-13T19:19:14.040000+00:00",
                "permissions": "0",
                "flags": 0,
                "nick": None,
                "pending": False,
                "premium_since": None,
                "deaf": False,
                "mute": False,
            }
        },
    }
    return {"type": 6, "name": name, "value": str(user_id)}, resolved


def click(custom_id: str, message: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return interaction(3, {"custom_id": custom_id, "component_type": 2}, message=message, **kwargs)


def thread_message(thread_id: str, content: str, *, author_id: int = STAFF_MEMBER) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(load_fixture("message_create_guild.json")["d"])
    data.update(
        id=str(900000000000000000 + next(_ids)),
        channel_id=thread_id,
        content=content,
        reactions=[],
        channel_type=11,
    )
    data["author"] = {"id": str(author_id), "username": "Mason", "discriminator": "1337", "avatar": None}
    data["member"]["roles"] = [STAFF_ROLE]
    data["guild_id"] = str(GUILD)
    return data


def guild_message(content: str, *, message_id: int | None = None, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(load_fixture("message_create_guild.json")["d"])
    data.update(id=str(message_id or 334385199974967042 + 1000 + next(_ids)), content=content, reactions=[])
    data.update(changes)
    return data


BOT = BOT_ID
