"""Socket Mode: Slack pushes events over a WebSocket the app opens, so no public Request URL is
needed (a laptop, a firewalled host). Enabled when VIGIE_SLACK__APP_TOKEN (xapp-…) is set.
Signatures are not used on this path: the connection itself is authenticated by the app token."""

from __future__ import annotations

from pydantic import SecretStr
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler


def socket_mode_handler(app: App, app_token: SecretStr) -> SocketModeHandler:
    """The handler for `app`; call `.connect()` to run in the background (`vigie run`), `.start()`
    to block (`vigie serve` without HTTP), `.close()` on shutdown. It calls apps.connections.open
    through the app's client, hence through VIGIE_SLACK__API_URL when set."""
    return SocketModeHandler(app, app_token.get_secret_value(), web_client=app.client)


def start_socket_mode(app: App, app_token: SecretStr) -> SocketModeHandler:
    """Connect in the background and return the handler (close it on shutdown)."""
    handler = socket_mode_handler(app, app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    return handler
