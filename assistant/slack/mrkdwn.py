"""Text safety for Slack: what goes out never pings anyone, what comes in becomes plain text.

Slack parses `<...>` sequences in mrkdwn as mentions (`<@U1>`, `<!here>`), channel links
(`<#C1>`) and disguised links (`<https://x|label>`). Escaping `&`, `<` and `>` (Slack's
control characters) turns all of them into literal text. Bare `@here` / `@channel` are not
special in API-posted text, but a word joiner after the `@` keeps them inert even if a
client or a later edit parses names.
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"
_BROADCAST = re.compile(r"(?<![\w@])@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
_SLACK_MARKUP = re.compile(r"<([^<>]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_SPECIAL_BROADCASTS = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def escape(text: str) -> str:
    """Escape Slack's three control characters so mrkdwn shows them literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def defuse_broadcasts(text: str) -> str:
    """`@here`, `@channel`, `@everyone` as inert text."""
    return _BROADCAST.sub("@" + WORD_JOINER, text)


def safe_mrkdwn(text: str) -> str:
    """Untrusted text (sources, questions, model output) made safe for a mrkdwn field."""
    return escape(defuse_broadcasts(text))


def safe_plain(text: str) -> str:
    """Untrusted text for plain_text fields and titles (where escapes would show): one
    line, any `<...>` markup spelled out as text, broadcasts defused."""
    return defuse_broadcasts(" ".join(slack_to_plain(text).split()))


def slack_to_plain(text: str) -> str:
    """Incoming Slack-formatted text as the plain text a person typed.

    `<@U1|ana>` -> `@ana`, `<#C1|news>` -> `#news`, `<!here>` -> `@here`,
    `<https://x|label>` -> `label`, `<https://x>` -> `https://x`, entities decoded.
    The result holds no `<...>` markup at all, whatever was typed or pasted.
    """
    plain = text
    for entity, char in _ENTITIES:
        plain = plain.replace(entity, char)
    for _ in range(10):  # "<<!here>>" becomes "<@here>" after one pass
        plain, replaced = _SLACK_MARKUP.subn(lambda m: _markup_as_text(m.group(1)), plain)
        if not replaced:
            break
    return plain


def _markup_as_text(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f"@{label or target[1:]}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        keyword = target[1:].split("^", 1)[0]
        if keyword in _SPECIAL_BROADCASTS:
            return _SPECIAL_BROADCASTS[keyword]
        return label or f"@{keyword}"
    return label or target


def without_mention(text: str, user_id: str | None) -> str:
    """Slack text with every mention of `user_id` (the bot) removed."""
    if not user_id:
        return text
    return re.sub(rf"<@{re.escape(user_id)}(?:\|[^>]*)?>", " ", text)


def question_from_message(text: str, bot_user_id: str | None) -> str:
    """The question in a message: the bot's mention dropped, markup made plain, tidied."""
    return " ".join(slack_to_plain(without_mention(text, bot_user_id)).split())


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """At most `limit` characters, cut at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ellipsis), 0)]
    space = cut.rfind(" ")
    if space > len(cut) * 0.6:
        cut = cut[:space]
    return cut.rstrip() + ellipsis


def truncate_escaped(text: str, limit: int, ellipsis: str = "…") -> str:
    """Like truncate, for escaped mrkdwn: never cuts inside an `&amp;`-style entity."""
    if len(text) <= limit:
        return text
    cut = truncate(text, limit, ellipsis="")
    amp = cut.rfind("&", max(len(cut) - 5, 0))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ellipsis


def split_escaped(text: str, limit: int) -> list[str]:
    """Escaped mrkdwn in pieces of at most `limit` characters, split at paragraph,
    line or word boundaries, never inside an entity."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
            amp = window.rfind("&", max(limit - 5, 0))
            if amp != -1 and ";" not in window[amp:]:
                cut = amp
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces
