"""HTML for the chat page. Every piece of text from readers or articles is escaped here.

The markup carries `data-action` attributes that static/chat.js turns into events:
ask (a suggested question), cite (show a source), rate / send-feedback, copy.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Literal

from assistant.answer import Answer, Citation
from assistant.citations import in_quotation_marks
from assistant.provenance import byline, origin, safe_url, shown_path, shown_url
from assistant.support import MARKER

Status = Literal["streaming", "done", "failed"]
REASON_LABELS = {
    "wrong": "Wrong",
    "unsupported": "Not supported by the cited passage",
    "incomplete": "Incomplete",
    "other": "Other",
}
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass
class ChatTurn:
    """One question and its answer, as the page shows it."""

    number: int
    question: str
    text: str = ""
    status: Status = "streaming"
    answer: Answer | None = None
    error: str = ""
    suggestions: list[str] = field(default_factory=list)
    rating: Literal["up", "down"] | None = None
    asking_reason: bool = False
    settled: bool = False  # answered, and follow-up suggestions looked for


def esc(text: object) -> str:
    return escape(str(text), quote=True)


# -- header ---------------------------------------------------------------------------------


def backend_label(backend: str) -> str:
    if backend.startswith("llm:"):
        return f"LLM {backend.removeprefix('llm:')}"
    if backend.startswith("extractive"):
        fallback = " (fallback: the model was unavailable)" if "fallback" in backend else ""
        return f"offline extractive{fallback}"
    return backend


def when(stamp: str) -> str:
    """ "2025-11-21T20:15:11+00:00" -> "21 Nov 2025, 20:15 UTC"; a plain date stays a date."""
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if len(stamp) <= 10:
        return f"{moment.day} {moment:%b %Y}"
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
        return f"{moment.day} {moment:%b %Y, %H:%M} UTC"
    return f"{moment.day} {moment:%b %Y, %H:%M}"


def render_header(title: str, *, articles: int, updated_at: str, backend: str) -> str:
    corpus = f"{articles} article{'' if articles == 1 else 's'}"
    updated = f" · last ingest {esc(when(updated_at))}" if updated_at else ""
    return (
        f'<header class="na-header"><h1>{esc(title)}</h1>'
        f'<p class="na-status"><span class="na-corpus">Answers from {corpus}{updated}</span>'
        f' · <span class="na-backend">answered by {esc(backend_label(backend))}</span></p>'
        "</header>"
    )


def render_header_problem(title: str, problem: str) -> str:
    return (
        f'<header class="na-header"><h1>{esc(title)}</h1>'
        f'<p class="na-status" role="alert">The articles are unavailable: {esc(problem)}</p>'
        "</header>"
    )


def render_notice(message: str) -> str:
    if not message:
        return ""
    return f'<div class="na-notice" role="alert">{esc(message)}</div>'


# -- the conversation -------------------------------------------------------------------------


def render_chat(turns: Sequence[ChatTurn], examples: Sequence[str], *, busy: bool = False) -> str:
    body = "".join(render_turn(turn, last=i == len(turns) - 1) for i, turn in enumerate(turns))
    return (
        f'<div class="na-chat" data-busy="{int(busy)}" aria-live="polite">'
        f"{body or render_welcome(examples)}</div>"
    )


def render_welcome(examples: Sequence[str]) -> str:
    chips = "".join(_question_chip(q) for q in examples)
    listed = (
        f'<p class="na-label">Try one of these:</p><div class="na-chips na-examples">{chips}</div>'
        if chips
        else ""
    )
    return (
        '<section class="na-welcome">'
        "<h2>Ask about the news articles</h2>"
        "<p>Answers come only from the articles. Every claim carries a numbered citation: "
        "click it to read the passage it comes from. When the articles don't say, "
        "the assistant tells you so.</p>"
        f"{listed}</section>"
    )


def render_turn(turn: ChatTurn, *, last: bool) -> str:
    question = (
        f'<div class="na-q"><span class="na-who">You</span>'
        f'<p class="na-q-text">{_paragraphs_plain(turn.question)}</p></div>'
    )
    return (
        f'<article class="na-turn" id="na-turn-{turn.number}" data-turn="{turn.number}" '
        f'aria-busy="{"false" if turn.settled else "true"}">'
        f"{question}{_render_reply(turn, last=last)}</article>"
    )


def _render_reply(turn: ChatTurn, *, last: bool) -> str:
    if turn.status == "failed":
        return (
            '<div class="na-a na-failed" role="alert"><p class="na-text">'
            f"{esc(turn.error)}</p></div>"
        )
    if turn.status == "streaming" or turn.answer is None:
        return (
            f'<div class="na-a na-streaming"><div class="na-text">'
            f"{_answer_text(turn.text, {}, turn.number)}"
            '<span class="na-cursor" aria-hidden="true"></span></div>'
            '<p class="na-working">Answering…</p></div>'
        )
    answer = turn.answer
    kind = "na-declined" if answer.refused else "na-answered"
    parts = [
        f'<div class="na-a {kind}" data-backend="{esc(answer.backend)}">',
        _render_body(turn, answer),
        _render_notices(answer.notices),
        render_related(turn.number, answer.related)
        if answer.refused
        else render_sources(turn.number, answer.citations),
        _render_actions(turn, answer),
        _render_suggestions(turn, answer) if last else "",
        "</div>",
    ]
    return "".join(parts)


def _render_body(turn: ChatTurn, answer: Answer) -> str:
    if answer.refused:
        return (
            '<div class="na-text"><p><span class="na-decline-icon" aria-hidden="true">i</span>'
            f"{esc(answer.text)}</p></div>"
        )
    citations = {c.id: c for c in answer.citations}
    return f'<div class="na-text">{_answer_text(answer.text, citations, turn.number)}</div>'


def _answer_text(text: str, citations: dict[int, Citation], turn: int) -> str:
    paragraphs = [p for p in _PARAGRAPH_BREAK.split(text.strip()) if p.strip()]
    return "".join(f"<p>{_with_marks(p, citations, turn)}</p>" for p in paragraphs)


def _with_marks(text: str, citations: dict[int, Citation], turn: int) -> str:
    """Escaped text with each [n] as a mark; marks of unknown numbers stay as text."""
    out: list[str] = []
    position = 0
    for match in MARKER.finditer(text):
        out.append(_lines(text[position : match.start()]))
        numbers = [int(n) for n in match.group(1).split(",")]
        if citations and not all(n in citations for n in numbers):
            out.append(esc(match.group(0)))
        else:
            out.append("".join(_mark(n, citations.get(n), turn) for n in numbers))
        position = match.end()
    out.append(_lines(text[position:]))
    return "".join(out)


def _mark(number: int, citation: Citation | None, turn: int) -> str:
    if citation is None:  # still streaming: the final answer decides what it cites
        return f'<span class="na-cite na-pending">{number}</span>'
    label = f"Source {number}: {citation.title}"
    return (
        f'<button type="button" class="na-cite" data-action="cite" '
        f'data-source="na-src-{turn}-{number}" aria-label="{esc(label)}" '
        f'aria-expanded="false">{number}</button>'
    )


def _lines(text: str) -> str:
    return "<br>".join(esc(line) for line in text.split("\n"))


def _paragraphs_plain(text: str) -> str:
    return _lines(text.strip())


def _render_notices(notices: Sequence[str]) -> str:
    if not notices:
        return ""
    items = "".join(f"<li>{esc(n)}</li>" for n in notices)
    return f'<ul class="na-notices">{items}</ul>'


def render_sources(turn: int, citations: Sequence[Citation]) -> str:
    items = "".join(render_source(turn, c) for c in citations)
    return (
        f'<section class="na-sources" aria-label="Sources">'
        f'<h3>Sources</h3><ol class="na-source-list">{items}</ol></section>'
    )


def render_related(turn: int, related: Sequence[Citation]) -> str:
    """A decline's closest passages: offered as reading, in the sources' layout."""
    if not related:
        return ""
    items = "".join(render_source(turn, c, prefix="na-rel") for c in related)
    return (
        f'<section class="na-sources na-related" aria-label="Closest passages">'
        f'<h3>Closest passages</h3><ol class="na-source-list">{items}</ol></section>'
    )


def render_source(turn: int, citation: Citation, *, prefix: str = "na-src") -> str:
    """A source card: title (a link to the article when it has a url), author and date,
    the passage with the quote marked, and the link again, or, without one, the
    file's path inside its corpus folder (never a path on the server)."""
    url = safe_url(citation.url)
    title = esc(" ".join(citation.title.split()) or "Untitled")
    if url:
        title = f'<a class="na-title" href="{esc(url)}" {_NEW_TAB}>{title}</a>'
    else:
        title = f'<span class="na-title">{title}</span>'
    author = " ".join(citation.author.split())
    writer = f'<span class="na-author">{esc(author)}</span>' if author else ""
    date = f'<span class="na-date">{esc(when(citation.date))}</span>' if citation.date else ""
    if url:
        where = f'<a class="na-link" href="{esc(url)}" {_NEW_TAB}>{esc(shown_url(url))}</a>'
    else:
        where = f'<span class="na-path">{esc(shown_path(citation))}</span>'
    return (
        f'<li class="na-source" id="{prefix}-{turn}-{citation.id}" value="{citation.id}">'
        f'<div class="na-source-head"><span class="na-num">{citation.id}</span>'
        f"{title}{writer}{date}</div>"
        f'<blockquote class="na-passage">{highlight(citation.text, citation.quote)}</blockquote>'
        f'<div class="na-origin">{where}</div></li>'
    )


_NEW_TAB = 'target="_blank" rel="noopener noreferrer"'


def highlight(passage: str, quote: str) -> str:
    """The passage, escaped, with the quote marked; the quote alone if it is not in it."""
    start = passage.find(quote) if quote else -1
    if start < 0:
        return f"<mark>{_lines(quote)}</mark>" if quote else _lines(passage)
    end = start + len(quote)
    return f"{_lines(passage[:start])}<mark>{_lines(quote)}</mark>{_lines(passage[end:])}"


# -- under the answer --------------------------------------------------------------------


def copy_text(answer: Answer) -> str:
    """The answer with its sources, as plain text for the clipboard."""
    lines = [answer.text]
    lines += [f"Note: {n}" for n in answer.notices]
    if answer.citations and not answer.refused:
        lines += ["", "Sources:"]
        for c in answer.citations:
            by = byline(c)
            lines += [
                f"[{c.id}] {c.title}{f' — {by}' if by else ''}",
                f"    {origin(c)}",
                f"    {in_quotation_marks(c.quote)}",
            ]
    return "\n".join(lines)


_THUMB_UP = (
    '<svg viewBox="0 0 24 24" aria-hidden="true" width="18" height="18"><path d="M7 10v11H3V10h4z'
    "m2 11h8.3a2 2 0 0 0 2-1.6l1.5-7A2 2 0 0 0 18.8 10H14l.8-4.2a1.8 1.8 0 0 0-3.3-1.3L9 9.5V21z"
    '" fill="currentColor"/></svg>'
)
_THUMB_DOWN = _THUMB_UP.replace("<svg ", '<svg style="transform:rotate(180deg)" ')
_COPY = (
    '<svg viewBox="0 0 24 24" aria-hidden="true" width="16" height="16"><path d="M8 3h11a2 2 0 0 '
    "1 2 2v11h-2V5H8V3zm-3 4h10a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V9a2 2 0 0 1 2-2zm0 "
    '2v11h10V9H5z" fill="currentColor"/></svg>'
)


def _render_actions(turn: ChatTurn, answer: Answer) -> str:
    copy = (
        f'<button type="button" class="na-action na-copy" data-action="copy" '
        f'data-copy="{esc(copy_text(answer))}">{_COPY}<span>Copy</span></button>'
    )
    return (
        f'<div class="na-actions">{copy}{_render_rating(turn)}'
        f'<span class="na-by">{esc(backend_label(answer.backend))}</span></div>'
        f"{_render_reason_form(turn) if turn.asking_reason else ''}"
    )


def _render_rating(turn: ChatTurn) -> str:
    if turn.rating is not None and not turn.asking_reason:
        return '<span class="na-thanks" role="status">Thanks for your feedback.</span>'
    pressed_down = "true" if turn.asking_reason else "false"
    return (
        '<span class="na-rate" role="group" aria-label="Was this answer helpful?">'
        f'<button type="button" class="na-action na-up" data-action="rate" data-rating="up" '
        f'data-turn="{turn.number}" aria-label="Helpful" title="Helpful">{_THUMB_UP}</button>'
        f'<button type="button" class="na-action na-down" data-action="rate" data-rating="down" '
        f'data-turn="{turn.number}" aria-label="Not helpful" title="Not helpful" '
        f'aria-pressed="{pressed_down}">{_THUMB_DOWN}</button></span>'
    )


def _render_reason_form(turn: ChatTurn) -> str:
    name = f"na-reason-{turn.number}"
    options = "".join(
        f'<label class="na-reason"><input type="radio" name="{name}" value="{key}">'
        f"<span>{esc(label)}</span></label>"
        for key, label in REASON_LABELS.items()
    )
    return (
        f'<div class="na-reason-form" data-turn="{turn.number}">'
        "<fieldset><legend>What was wrong? (optional)</legend>"
        f'<div class="na-reasons">{options}</div>'
        '<input type="text" class="na-comment" maxlength="500" '
        'placeholder="Add a comment (optional)" aria-label="Comment">'
        '<div class="na-form-buttons">'
        f'<button type="button" class="na-action na-send-feedback" data-action="send-feedback" '
        f'data-turn="{turn.number}">Send feedback</button>'
        f'<button type="button" class="na-action na-cancel" data-action="cancel-feedback" '
        f'data-turn="{turn.number}">Cancel</button></div></fieldset></div>'
    )


def _render_suggestions(turn: ChatTurn, answer: Answer) -> str:
    if not turn.suggestions:
        return ""
    heading = "You could ask instead" if answer.refused else "Ask a follow-up"
    chips = "".join(_question_chip(q) for q in turn.suggestions)
    return (
        f'<section class="na-suggestions" aria-label="{heading}">'
        f'<p class="na-label">{heading}</p><div class="na-chips">{chips}</div></section>'
    )


def _question_chip(question: str) -> str:
    return (
        f'<button type="button" class="na-chip" data-action="ask" '
        f'data-question="{esc(question)}">{esc(question)}</button>'
    )
