"""Block Kit layout of an answer: the text with its citation marks, the sources to check it
against, and the feedback (and share) controls. Every untrusted string goes through
`mrkdwn.safe_mrkdwn` or `mrkdwn.safe_plain`; every layout respects Slack's limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.provenance import CitationFields, byline, safe_url, shown_path, shown_url
from assistant.slack.answer_log import LoggedAnswer
from assistant.slack.mrkdwn import (
    escape,
    safe_mrkdwn,
    safe_plain,
    split_escaped,
    truncate,
    truncate_escaped,
)

Block = dict[str, Any]

# Slack's limits (https://docs.slack.dev/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 2000
MAX_FALLBACK_TEXT = 3000
MAX_ANSWER_SECTIONS = 12

ACTION_SHARE = "share_answer"
ACTION_HELPFUL = "feedback_helpful"
ACTION_NOT_HELPFUL = "feedback_not_helpful"
REASON_LABELS = {
    "wrong": "It's wrong",
    "unsupported": "The sources don't say that",
    "incomplete": "It's incomplete",
    "other": "Something else",
}


@dataclass(frozen=True)
class Message:
    """What chat.postMessage (or a response_url) needs: fallback text and blocks."""

    text: str
    blocks: list[Block]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def answer_message(
    answer: LoggedAnswer,
    *,
    show_question: bool = False,
    shareable: bool = False,
    footer: str | None = None,
) -> Message:
    """The answer as a message: question header (optional), text, sources, controls.

    `footer` is plain text (escaped here) that replaces the default context line.
    """
    head = [_question_header(answer.question)] if show_question else []
    tail: list[Block] = []
    if answer.notices:
        tail.append(_context(safe_mrkdwn(" ".join(f"Note: {n}" for n in answer.notices))))
    tail.append(_context(safe_mrkdwn(footer) if footer else _default_footer(answer)))
    tail.append(_controls(answer.id, shareable=shareable))

    body = _answer_sections(answer)
    room_for_sources = MAX_BLOCKS - len(head) - len(body) - len(tail)
    if answer.refused:
        sources = _sources_blocks(answer.related, room_for_sources, "Closest passages")
    else:
        sources = _sources_blocks(answer.citations, room_for_sources)
    return Message(text=fallback_text(answer, show_question), blocks=head + body + sources + tail)


def fallback_text(answer: LoggedAnswer, show_question: bool = False) -> str:
    """Notification and screen-reader text: the answer itself, safe and bounded."""
    text = answer.text
    if show_question:
        text = f"Q: {' '.join(answer.question.split())}\n{text}"
    return truncate_escaped(safe_mrkdwn(text), MAX_FALLBACK_TEXT)


def warning_message(text: str) -> Message:
    """A short failure reply: text only, so that it posts even when blocks would not."""
    return Message(text=f":warning: {truncate_escaped(safe_mrkdwn(text), 500)}", blocks=[])


def note_message(text: str) -> Message:
    """A plain reply from the bot itself (greetings, usage hints)."""
    return Message(text=truncate_escaped(safe_mrkdwn(text), MAX_FALLBACK_TEXT), blocks=[])


# -- parts ----------------------------------------------------------------------------


def _question_header(question: str) -> Block:
    text = truncate(safe_plain(question), MAX_HEADER_TEXT)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": False}}


def _answer_sections(answer: LoggedAnswer) -> list[Block]:
    pieces = split_escaped(safe_mrkdwn(answer.text), MAX_SECTION_TEXT) or ["(empty answer)"]
    if len(pieces) > MAX_ANSWER_SECTIONS:
        pieces = pieces[:MAX_ANSWER_SECTIONS]
        pieces[-1] = truncate_escaped(pieces[-1] + " …", MAX_SECTION_TEXT)
    return [_section(piece) for piece in pieces]


def _sources_blocks(
    citations: list[dict[str, Any]], room: int, heading: str = "Sources"
) -> list[Block]:
    """Divider, heading, then one section per cited passage, within `room` blocks."""
    if not citations or room < 3:
        return []
    shown = citations[: room - 2]
    if len(shown) < len(citations):
        shown = citations[: room - 3]
    blocks = [{"type": "divider"}, _section(f"*{heading}*")]
    blocks += [_section(_citation_text(c)) for c in shown]
    hidden = len(citations) - len(shown)
    if hidden:
        more = f"{hidden} more source{'' if hidden == 1 else 's'}"
        blocks.append(_context(f"…and {more}, not shown: the message is full."))
    return blocks


def _citation_text(citation: dict[str, Any]) -> str:
    """ "*[1]* *<url|Title>* · Author · 2025-11-21", then where the article is (its link,
    or its path inside the corpus folder when it has none), then the quoted sentence."""
    cited = CitationFields(citation)
    title = safe_mrkdwn(" ".join(cited.title.split()) or "Untitled")
    title = truncate_escaped(title, 300)
    url = safe_url(cited.url)
    heading = f"*[{citation.get('id')}]* *{_link(url, title) if url else title}*"
    by = byline(cited)
    if by:
        heading += f" · {truncate_escaped(safe_mrkdwn(by), 300)}"
    where = _link(url, safe_mrkdwn(shown_url(url))) if url else safe_mrkdwn(shown_path(cited))
    heading += f"\n{truncate_escaped(where, 600)}"
    quote = safe_mrkdwn(" ".join(cited.quote.split()))
    room = MAX_SECTION_TEXT - len(heading) - 4
    return f"{heading}\n>{truncate_escaped(quote, room)}" if quote else heading


def _link(url: str, label: str) -> str:
    """A Slack link to an article's own address; `label` is escaped mrkdwn already."""
    target = escape(url).replace("|", "%7C")
    return f"<{target}|{label.replace('|', '¦')}>"


def _default_footer(answer: LoggedAnswer) -> str:
    if answer.refused:
        return "Answers come only from the newsroom's articles."
    return f"Answered only from the newsroom's articles · {safe_mrkdwn(answer.backend)}"


def _controls(answer_id: str, *, shareable: bool) -> Block:
    elements: list[Block] = []
    if shareable:
        elements.append(_button("Share in channel", ACTION_SHARE, answer_id, style="primary"))
    elements.append(_button(":thumbsup: Helpful", ACTION_HELPFUL, answer_id))
    elements.append(
        {
            "type": "static_select",
            "action_id": ACTION_NOT_HELPFUL,
            "placeholder": _plain(":thumbsdown: Not helpful…"),
            "options": [
                {"text": _plain(label), "value": f"{answer_id}:{reason}"}
                for reason, label in REASON_LABELS.items()
            ],
        }
    )
    return {"type": "actions", "block_id": f"answer:{answer_id}", "elements": elements}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": _plain(label),
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(mrkdwn: str) -> Block:
    text = truncate_escaped(mrkdwn, MAX_SECTION_TEXT)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _context(mrkdwn: str) -> Block:
    text = truncate_escaped(mrkdwn, MAX_CONTEXT_TEXT)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}
