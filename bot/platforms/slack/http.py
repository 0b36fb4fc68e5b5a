"""The Slack endpoints of Vigie's web server, built on slack_bolt's Starlette adapter.

Bolt's `SlackRequestHandler.handle` calls the synchronous `App.dispatch` on the event loop, and
with `process_before_response=True` that dispatch stores the event first: it would block every
other request meanwhile. The adapter's request/response converters are kept and the dispatch runs
in Starlette's thread pool instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

PATHS = ("/slack/events", "/slack/interactions", "/slack/commands")


def slack_router(app: App, *, paths: Sequence[str] = PATHS) -> APIRouter:
    """POST routes for events, interactivity and slash commands. All three may share one Request URL
    (`/slack/events`); the aliases let a manifest name them separately."""
    router = APIRouter(tags=["slack"])

    async def slack_endpoint(request: Request) -> Response:
        body = await request.body()
        bolt_response = await run_in_threadpool(app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    for path in paths:
        router.add_api_route(path, slack_endpoint, methods=["POST"], include_in_schema=False)
    return router
