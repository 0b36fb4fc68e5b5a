"""Secrets never show: not in `vigie config check` (text or --json), not in start-up errors, not in
/metrics or /healthz (even when the store and Redis are unreachable), not in 401s, not in logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from bot.httpserver import ServerThread
from bot.platforms.webhook.signing import signed_headers
from bot.queue import JobQueue
from bot.settings import load_settings
from bot.store.unit import Store
from bot.web import create_app
from bot.workspace import default_workspace

REPO = Path(__file__).resolve().parents[2]
WEBHOOK = "whsec-K7q2-never-show"
SLACK_TOKEN = "xoxb-1111-2222-SlackB0tT0ken"
SLACK_SIGNING = "slack-signing-9f8e7d6c5b4a"
SLACK_APP = "xapp-1-A0-SlackAppT0ken"
DISCORD = "MTIz.Discord.T0kenValue"
DB_PASSWORD = "S3cr3tPw"
REDIS_PASSWORD = "R3d1sPw0rd"
DATABASE_URL = f"postgresql://vigie:{DB_PASSWORD}@127.0.0.1:1/vigie"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0"
SECRETS = (WEBHOOK, SLACK_TOKEN, SLACK_SIGNING, SLACK_APP, DISCORD, DB_PASSWORD, REDIS_PASSWORD)


def assert_clean(where: str, text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{where} shows {leaked}"


def secret_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(
        VIGIE_DATA_DIR=str(tmp_path),
        VIGIE_DATABASE_URL=DATABASE_URL,
        VIGIE_REDIS_URL=REDIS_URL,
        VIGIE_WEBHOOK__SECRET=WEBHOOK,
        VIGIE_SLACK__BOT_TOKEN=SLACK_TOKEN,
        VIGIE_SLACK__SIGNING_SECRET=SLACK_SIGNING,
        VIGIE_SLACK__APP_TOKEN=SLACK_APP,
        VIGIE_DISCORD__TOKEN=DISCORD,
        VIGIE_LOG_LEVEL="DEBUG",
    )
    env.update(extra)
    return env


def vigie(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_config_check_masks_every_secret(tmp_path: Path, json_flag: list[str]) -> None:
    done = vigie(secret_env(tmp_path), "config", "check", *json_flag)
    assert done.returncode == 0, done.stderr
    assert_clean("config check stdout", done.stdout)
    assert_clean("config check stderr", done.stderr)
    # Masked, not dropped: where each secret is set still shows.
    assert "127.0.0.1:1" in done.stdout and "**********" in done.stdout
    assert "vigie:**********@127.0.0.1:1/vigie" in done.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VIGIE_HTTP__PORT", "notaport"),
        ("VIGIE_HTTP__MAX_BODY_BYTES", "-1"),
        ("VIGIE_WEBHOOK__TOLERANCE_SECONDS", WEBHOOK),  # a secret pasted in the wrong variable
        ("VIGIE_LOG_LEVEL", SLACK_TOKEN),
    ],
)
def test_a_bad_setting_names_the_variable_and_shows_no_secret(
    tmp_path: Path, variable: str, value: str
) -> None:
    done = vigie(secret_env(tmp_path, **{variable: value}), "config", "check")
    assert done.returncode == 2
    assert variable in done.stderr
    assert_clean("start-up error", done.stdout + done.stderr)


def test_a_bad_workspace_secret_is_not_echoed(tmp_path: Path) -> None:
    workspace = tmp_path / "vigie.yaml"
    workspace.write_text(f"sources:\n  shop:\n    secret: {WEBHOOK}\n    reply_url: [{WEBHOOK}]\n", "utf-8")
    done = vigie(secret_env(tmp_path, VIGIE_WORKSPACE=str(workspace)), "config", "check")
    assert done.returncode == 2
    assert "reply_url" in done.stderr
    assert_clean("workspace error", done.stdout + done.stderr)


def test_settings_masked_hides_passwords_of_both_urls() -> None:
    settings = load_settings(
        database_url=DATABASE_URL,
        redis_url=REDIS_URL,
        webhook={"secret": WEBHOOK},
        slack={"bot_token": SLACK_TOKEN, "signing_secret": SLACK_SIGNING},
        discord={"token": DISCORD},
    )
    assert_clean("Settings.masked()", str(settings.masked()))
    assert_clean("repr(Settings)", repr(settings))


def test_a_password_in_the_url_query_is_masked_too() -> None:
    settings = load_settings(
        database_url=f"postgresql://vigie@db/vigie?password={DB_PASSWORD}",
        redis_url=f"redis://redis:6379/0?password={REDIS_PASSWORD}",
    )
    assert_clean("Settings.masked()", str(settings.masked()))


@pytest.fixture
def unreachable_app(tmp_path: Path) -> Iterator[str]:
    """The HTTP app on a store and a Redis that both refuse connections, with every secret set."""
    settings = load_settings(
        data_dir=tmp_path,
        database_url=DATABASE_URL,
        redis_url=REDIS_URL,
        webhook={"secret": WEBHOOK},
        slack={"bot_token": SLACK_TOKEN, "signing_secret": SLACK_SIGNING},
        discord={"token": DISCORD},
    )
    store = Store(settings.sqlalchemy_url)
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    app = create_app(settings=settings, store=store, queue=JobQueue(client), workspace=default_workspace())
    thread = ServerThread(app, "127.0.0.1", 0)
    thread.start()
    thread.wait_started()
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.stop()
        store.dispose()
        client.close()


def test_health_metrics_and_errors_show_no_secret_when_everything_is_down(
    unreachable_app: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    base = unreachable_app
    health = httpx.get(base + "/healthz", timeout=30)
    assert health.status_code == 503 and health.json()["problems"]
    assert_clean("/healthz", health.text)
    metrics = httpx.get(base + "/metrics", timeout=30)
    assert metrics.status_code == 200 and "vigie_http_requests" in metrics.text
    assert_clean("/metrics", metrics.text)
    body = b'{"source": "shop", "kind": "review", "external_id": "1", "text": "x", "author": {"id": "u"}}'
    for secret in ("wrong", WEBHOOK[:-1]):
        bad = httpx.post(
            base + "/v1/events",
            content=body,
            headers={"Content-Type": "application/json", **signed_headers(secret, body)},
            timeout=30,
        )
        assert bad.status_code == 401
        assert_clean("401 answer", bad.text + str(bad.headers))
    # A well-signed event with the store down fails, and says nothing about credentials.
    down = httpx.post(
        base + "/v1/events",
        content=body,
        headers={"Content-Type": "application/json", **signed_headers(WEBHOOK, body)},
        timeout=30,
    )
    assert down.status_code >= 500
    assert_clean("store-down answer", down.text)
    assert caplog.records, "the failures above were logged"
    assert_clean("logs", "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records))
    for record in caplog.records:
        if record.exc_info:
            import traceback

            assert_clean("logged traceback", "".join(traceback.format_exception(*record.exc_info)))


def test_the_slack_endpoint_refuses_a_bad_signature_without_showing_the_secret(
    tmp_path: Path, redis_client: redis.Redis, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.platforms.slack.http import slack_router
    from bot.platforms.slack.platform import slack_app
    from bot.server import make_app  # noqa: F401  (the same mounting `vigie serve` does)
    from tests.fakes.slack_api import FakeSlack

    caplog.set_level(logging.DEBUG)
    fake = FakeSlack().start()
    try:
        settings = load_settings(
            data_dir=tmp_path,
            webhook={"secret": WEBHOOK},
            slack={"bot_token": SLACK_TOKEN, "signing_secret": SLACK_SIGNING, "api_url": fake.url},
        )
        store = Store(sqlite_url)
        queue = JobQueue(redis_client)
        workspace = default_workspace()

        def refuse(_command: object) -> object:
            raise AssertionError("nothing may be dispatched")

        bolt = slack_app(settings.slack, workspace, redis_client, ingest=lambda *_a: None, dispatch=refuse)  # type: ignore[arg-type]
        app = create_app(
            settings=settings,
            store=store,
            queue=queue,
            workspace=workspace,
            extra_routers=[slack_router(bolt)],
        )
        thread = ServerThread(app, "127.0.0.1", 0)
        thread.start()
        thread.wait_started()
        try:
            import time

            body = "token=x&command=/vigie&text=rules+reload&user_id=U0CAMILLE"
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(int(time.time())),
                "X-Slack-Signature": "v0=" + "0" * 64,
            }
            answer = httpx.post(f"http://127.0.0.1:{thread.port}/slack/events", content=body, headers=headers)
            assert answer.status_code == 401
            assert_clean("slack 401", answer.text)
            metrics = httpx.get(f"http://127.0.0.1:{thread.port}/metrics")
            assert_clean("/metrics with slack", metrics.text)
        finally:
            thread.stop()
            store.dispose()
    finally:
        fake.stop()
    assert_clean("logs", "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records))
    assert all(SLACK_TOKEN not in str(call.params) for call in fake.calls)  # sent as a header, not a param
