"""HTTP mode: one port, one path (/slack/events) for events, interactivity and the slash
command. A small threaded adapter around `App.dispatch`, like Bolt's development server,
but bindable to any host and port (0 picks a free one) and stoppable from another thread."""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltRequest

if TYPE_CHECKING:
    from slack_bolt import App, BoltResponse

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack's payloads are a few kilobytes


class SlackHTTPServer:
    def __init__(
        self, app: App, *, host: str = "0.0.0.0", port: int = 3000, path: str = EVENTS_PATH
    ) -> None:
        self._httpd = _Server((host, port), _handler_for(app, path))
        self.path = path
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._httpd.server_address[0])
        return f"http://{host}:{self.port}{self.path}"

    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()

    def start(self) -> SlackHTTPServer:
        """Serve in a daemon thread (for tests and embedding)."""
        self._thread = threading.Thread(target=self.serve_forever, name="slack-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SlackHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _handler_for(app: App, path: str) -> type[BaseHTTPRequestHandler]:
    class SlackRequestHandler(BaseHTTPRequestHandler):
        server_version = "news-assistant-slack"
        sys_version = ""

        def do_POST(self) -> None:
            request_path, _, query = self.path.partition("?")
            if request_path != path:
                self._reply(HTTPStatus.NOT_FOUND, {}, {"error": "not found"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self._reply(HTTPStatus.BAD_REQUEST, {}, {"error": "bad Content-Length"})
                return
            if length > MAX_BODY_BYTES:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {}, {"error": "too large"})
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            headers = {key.lower(): value for key, value in self.headers.items()}
            response: BoltResponse = app.dispatch(
                BoltRequest(body=body, query=query, headers=headers)
            )
            self._reply(response.status, response.headers, response.body)

        def do_GET(self) -> None:
            self._reply(HTTPStatus.METHOD_NOT_ALLOWED, {}, {"error": "POST only"})

        def _reply(self, status: int, headers: dict[str, Any], body: str | dict[str, Any]) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
            self.send_response(status)
            for key, values in headers.items():
                if key.lower() == "content-length":
                    continue
                for value in values if isinstance(values, list | tuple) else [values]:
                    self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            app.logger.debug("%s %s", self.address_string(), format % args)

    return SlackRequestHandler
