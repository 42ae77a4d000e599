"""The Gradio app: a thin adapter from page events and the `/ask` API to WebChat."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
from starlette.middleware import Middleware

from assistant.errors import AssistantError
from assistant.web.chat import FAILED, Step, WebChat
from assistant.web.limits import RequestSizeLimit
from assistant.web.render import (
    ChatTurn,
    render_chat,
    render_header,
    render_header_problem,
    render_notice,
)
from assistant.web.sessions import SessionJanitor
from assistant.web.settings import WebSettings, load_web_settings

if TYPE_CHECKING:
    from assistant.engine import Assistant
    from assistant.feedback import FeedbackStore

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
CSS = (STATIC / "chat.css").read_text(encoding="utf-8")
CHAT_JS = (STATIC / "chat.js").read_text(encoding="utf-8")
# Fonts the reader's device has: the page makes no requests to font services.
THEME = gr.themes.Soft(
    font=("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"),
    font_mono=("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"),
)
# conversation html, turns, notice html, question box, header html
PageUpdate = tuple[Any, Any, Any, Any, Any]
# Gradio's queue keeps a record per event for its monitoring page (off here) and, after
# every event, summarises them all with pandas: 10,000 by default, a cost on each answer.
ANALYTICS_EVENTS = 100


def build_app(
    *,
    assistant: Assistant,
    feedback: FeedbackStore,
    settings: WebSettings | None = None,
    examples: list[str] | None = None,
) -> gr.Blocks:
    """The chat page and the `/ask` API over one Assistant. Start it with serve()."""
    settings = settings or load_web_settings()
    chat = WebChat(assistant=assistant, feedback=feedback, settings=settings, examples=examples)

    def header() -> str:
        try:
            info = assistant.info()
        except AssistantError as exc:
            return render_header_problem(settings.title, str(exc))
        return render_header(
            settings.title, articles=info.articles, updated_at=info.updated_at, backend=info.backend
        )

    def examples_for(turns: list[ChatTurn]) -> list[str]:
        """Only the empty page shows examples: while an answer streams (a redraw every
        50 ms) they are not looked up, which after an ingest means finding them again."""
        return [] if turns else chat.examples

    def page(step: Step) -> PageUpdate:
        question_box = "" if step.accepted else gr.skip()
        return (
            render_chat(step.turns, examples_for(step.turns), busy=step.busy),
            step.turns,
            render_notice(step.notice),
            question_box,
            gr.skip() if step.busy else header(),  # the index may have changed: see info()
        )

    def respond(question: str, turns: list[ChatTurn]) -> Iterator[PageUpdate]:
        try:
            for step in chat.respond(question, turns):
                yield page(step)
        except Exception:  # never a stack trace on the page
            log.exception("the chat failed")
            yield page(Step(turns, notice=FAILED))

    def respond_to_click(turns: list[ChatTurn], event: gr.EventData) -> Iterator[PageUpdate]:
        yield from respond(str(event._data.get("question") or ""), turns)

    def on_feedback(
        turns: list[ChatTurn], event: gr.EventData, request: gr.Request
    ) -> tuple[str, list[ChatTurn], str]:
        notice = chat.on_feedback(turns, dict(event._data or {}), user=request.username)
        return render_chat(turns, examples_for(turns)), turns, render_notice(notice)

    def welcome(turns: list[ChatTurn]) -> Any:
        return gr.skip() if turns else render_chat([], chat.examples)

    def new_chat() -> PageUpdate:
        return render_chat([], chat.examples), [], "", "", header()

    def ask(question: str, history: list[Any] | str | None = None) -> dict[str, Any]:
        """Answer a question from the articles; returns what `assistant ask --json` prints.

        history: earlier questions (strings), {"role", "content"} messages, or
        [question, answer] pairs; one string is one earlier question.
        """
        try:
            return chat.ask_api(question, history)
        except AssistantError as exc:
            raise gr.Error(str(exc)) from None
        except Exception:
            log.exception("/ask failed")
            raise gr.Error("the assistant failed to answer; please try again") from None

    def corpus_info() -> dict[str, Any]:
        """What the answers come from now: article and chunk counts, the last ingest (UTC,
        ISO 8601), the answering backend and the index version (it changes with every
        ingest, and is picked up within ASSISTANT_REFRESH_INTERVAL seconds)."""
        try:
            info = assistant.info()
        except AssistantError as exc:
            raise gr.Error(str(exc)) from None
        return {
            "articles": info.articles,
            "chunks": info.chunks,
            "updated_at": info.updated_at,
            "backend": info.backend,
            "version": info.version,
        }

    with gr.Blocks(title=settings.title, analytics_enabled=False) as app:
        turns = gr.State([])
        with gr.Row(elem_id="na-top"):
            heading = gr.HTML(
                header(), elem_id="na-header", apply_default_css=False, js_on_load=None
            )
            new = gr.Button("New chat", elem_id="na-new-chat", variant="secondary", scale=0)
        conversation = gr.HTML(
            render_chat([], chat.examples),
            elem_id="na-conversation",
            js_on_load=CHAT_JS,
            apply_default_css=False,
        )
        # The notice and the question box stay at the foot of the window (chat.css).
        with gr.Column(elem_id="na-composer"):
            notice = gr.HTML("", elem_id="na-notice", apply_default_css=False, js_on_load=None)
            with gr.Row(elem_id="na-ask-row"):
                question = gr.Textbox(
                    show_label=False,
                    placeholder="Ask about the articles…",
                    lines=1,
                    max_lines=6,
                    elem_id="na-question",
                    autofocus=True,
                    container=False,
                    scale=1,
                )
                send = gr.Button("Ask", variant="primary", elem_id="na-send", scale=0)

        page_outputs = [conversation, turns, notice, question, heading]
        quiet: dict[str, Any] = {"show_progress": "hidden", "api_visibility": "private"}
        app.load(header, outputs=heading, **quiet)
        app.load(welcome, [turns], conversation, **quiet)  # the corpus's examples as it is now
        answering = [
            question.submit(respond, [question, turns], page_outputs, **quiet),
            send.click(respond, [question, turns], page_outputs, **quiet),
            conversation.ask(respond_to_click, [turns], page_outputs, **quiet),  # type: ignore[attr-defined]
        ]
        conversation.feedback(on_feedback, [turns], [conversation, turns, notice], **quiet)  # type: ignore[attr-defined]
        new.click(new_chat, outputs=page_outputs, cancels=answering, **quiet)
        gr.api(ask, api_name="ask")
        gr.api(corpus_info, api_name="corpus")

    app.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_size)
    app._queue.ANALYTICS_MAX_EVENTS = ANALYTICS_EVENTS
    app.session_janitor = SessionJanitor(ttl=settings.session_ttl)  # type: ignore[attr-defined]
    return app


def serve(
    app: gr.Blocks,
    *,
    settings: WebSettings,
    host: str | None = None,
    port: int | None = None,
    block: bool = True,
    quiet: bool = False,
) -> str:
    """Start the server; returns its local URL (when block is False, at once).

    Request bodies over `max_request_bytes` are refused before they are read, and idle
    sessions are dropped (see assistant.web.sessions).
    """
    janitor = getattr(app, "session_janitor", None) or SessionJanitor(ttl=settings.session_ttl)
    server_options: dict[str, Any] = {
        "middleware": [Middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)],
        "lifespan": janitor.lifespan,
    }
    _, url, _ = app.launch(
        server_name=host or settings.host,
        server_port=port or settings.port,
        auth=settings.auth,
        auth_message="Sign in to ask about the articles." if settings.auth else None,
        prevent_thread_lock=not block,
        quiet=quiet,
        show_error=False,
        css=CSS,
        theme=THEME,
        footer_links=["api"],
        run_history=False,
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        max_threads=max(40, 2 * settings.concurrency),
        app_kwargs=server_options,
        max_file_size=settings.max_request_bytes,
        state_session_capacity=settings.max_sessions,
    )
    return url
