"""`assistant slack` as a real subprocess: start-up errors, HTTP mode and Socket Mode end to
end against the local fake Slack (Web API, and the Socket Mode WebSocket)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import STOP_SIGNALS
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    FakeSlackAPI,
    FakeSocketMode,
    SlackSender,
)

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What limit does the draft set on Ukraine's armed forces?"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


class Running:
    """A long-running `assistant slack`, its stderr collected line by line."""

    def __init__(self, *args: str, env: dict[str, str], launcher: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen(
            [*launcher, sys.executable, "-m", "assistant.cli", "slack", *args],
            cwd=ROOT,
            # faulthandler dumps every thread's stack on SIGABRT: see interrupt()
            env={**os.environ, "PYTHONFAULTHANDLER": "1", **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, timeout: float = 90.0) -> re.Match[str]:
        """The first stderr line matching `pattern` (start-up builds nothing: the index is
        prebuilt, so this is a deadline, not a speed test)."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; saw {self.seen}") from None
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    def interrupt(self, signum: int = signal.SIGINT) -> int:
        """The signal, and the exit status; an app still running 30 s later fails the test
        with the stacks of all its threads (faulthandler on SIGABRT)."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(timeout=10)
            raise AssertionError(
                "not exited 30 s after SIGINT:\n" + self.rest_of_stderr()
            ) from None
        finally:
            self.kill()

    def rest_of_stderr(self) -> str:  # what the app printed since, the stacks included
        rest: list[str] = []
        while True:
            try:
                rest.append(self.lines.get(timeout=2))
            except queue.Empty:
                return "\n".join(rest)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


# -- start-up errors ----------------------------------------------------------------------


def test_missing_credentials_are_a_clear_start_up_error() -> None:
    result = run_cli("slack")

    assert result.returncode == 2
    assert result.stderr.startswith("error: the Slack app needs SLACK_BOT_TOKEN")
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_http_mode_needs_the_signing_secret() -> None:
    result = run_cli("slack", env={"SLACK_BOT_TOKEN": BOT_TOKEN})

    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "SLACK_BOT_TOKEN (" not in result.stderr


def test_a_rejected_bot_token_is_a_clear_error(slack: FakeSlackAPI) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-revoked",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
    }
    result = run_cli("slack", env=env)

    assert result.returncode == 2
    assert result.stderr.strip() == "error: Slack rejected SLACK_BOT_TOKEN (invalid_auth)"


def test_an_unreachable_slack_api_is_a_clear_error(slack: FakeSlackAPI) -> None:
    closed_port_url = slack.api_url
    slack.stop()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": closed_port_url,
    }
    result = run_cli("slack", env=env)

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot reach the Slack Web API at {closed_port_url}")


def test_a_malformed_app_token_or_api_url_is_rejected() -> None:
    base = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    token = run_cli("slack", env={**base, "SLACK_APP_TOKEN": "xoxb-not-an-app-token"})
    url = run_cli("slack", env={**base, "SLACK_API_URL": "slack.internal/api"})

    assert "SLACK_APP_TOKEN must be an app-level token" in token.stderr
    assert "SLACK_API_URL must be an http(s) URL" in url.stderr
    assert token.returncode == url.returncode == 2


def test_the_command_module_stays_light() -> None:
    code = (
        "import sys, argparse; import assistant.slack.cli as c;"
        "c.register(argparse.ArgumentParser().add_subparsers());"
        "heavy = [m for m in ('slack_bolt', 'slack_sdk', 'llama_index', 'gradio', 'chromadb')"
        " if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_help_describes_the_command() -> None:
    result = run_cli("slack", "--help")
    assert result.returncode == 0
    assert "--port" in result.stdout and "SLACK_APP_TOKEN" in result.stdout


# -- running ------------------------------------------------------------------------------


def test_http_mode_answers_a_signed_mention(slack: FakeSlackAPI, data_dir: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url.rstrip("/"),  # the missing slash is added
    }
    app = Running("--host", "127.0.0.1", "--port", "0", env=env)
    try:
        url = app.wait_for_line(r"listening on (http://\S+/slack/events)").group(1)
        sender = SlackSender(url)
        text = f"<@{BOT_USER_ID}> {QUESTION}"
        ts = slack.add_message("C0DESK", text, user="U0REPORTER")
        event = {"type": "app_mention", "channel": "C0DESK", "user": "U0REPORTER"}
        assert sender.event({**event, "text": text, "ts": ts}).status == 200
        assert sender.post("{}", "application/json", signed=False).status == 401

        post = slack.wait_for("chat.postMessage")[0]
        assert post.args["thread_ts"] == ts
        assert "600,000" in post.args["text"]
        assert app.interrupt() == 0
    finally:
        app.kill()


@STOP_SIGNALS
def test_the_app_stops_cleanly_on_a_signal(
    slack: FakeSlackAPI, data_dir: Path, launcher: tuple[str, ...], signum: int
) -> None:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
    }
    app = Running("--host", "127.0.0.1", "--port", "0", env=env, launcher=launcher)
    try:
        app.wait_for_line(r"listening on http://")
        assert app.interrupt(signum) == 0
        assert "stopped" in app.rest_of_stderr()
    finally:
        app.kill()


def test_socket_mode_answers_events_and_commands(slack: FakeSlackAPI, data_dir: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
    }
    with FakeSocketMode() as socket_mode:
        slack.socket_mode_url = socket_mode.url
        app = Running(env=env)
        try:
            app.wait_for_line(r"connected \(Socket Mode")
            text = f"<@{BOT_USER_ID}> {QUESTION}"
            ts = slack.add_message("C0DESK", text, user="U0REPORTER")
            event = {"type": "app_mention", "channel": "C0DESK", "user": "U0REPORTER"}
            body = {
                "type": "event_callback",
                "team_id": "T0NEWS",
                "event_id": "Ev0SOCKET",
                "event": {**event, "text": text, "ts": ts},
            }
            socket_mode.wait_for_ack(socket_mode.send_envelope("events_api", body))
            post = slack.wait_for("chat.postMessage")[0]
            assert post.args["thread_ts"] == ts and "600,000" in post.args["text"]

            command = {
                "command": "/ask",
                "text": QUESTION,
                "team_id": "T0NEWS",
                "channel_id": "C0DESK",
                "user_id": "U0REPORTER",
                "response_url": slack.response_url("socket"),
            }
            ack = socket_mode.wait_for_ack(socket_mode.send_envelope("slash_commands", command))
            assert ack["payload"]["response_type"] == "ephemeral"
            private = slack.wait_for("response_url")[0]
            assert private.args["response_type"] == "ephemeral"
            assert "600,000" in private.args["text"]
            assert app.interrupt() == 0
        finally:
            app.kill()
    assert [c.args.get("channel") for c in slack.calls_to("chat.postMessage")] == ["C0DESK"]
    assert json.dumps(slack.calls_to("apps.connections.open")[0].headers).count(APP_TOKEN) == 1


def test_a_rejected_app_token_is_a_clear_error(slack: FakeSlackAPI, data_dir: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": "xapp-revoked",
        "SLACK_API_URL": slack.api_url,
    }
    result = run_cli("slack", env=env)

    assert result.returncode == 2
    assert result.stderr.strip().endswith("error: Slack rejected SLACK_APP_TOKEN (invalid_auth)")
