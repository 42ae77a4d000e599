"""Text utilities: typography-tolerant normalisation, terms for search, sentence spans.

Normalisation keeps the length of the text, so an offset found in normalised text
is the same offset in the original, which is what quotes and spans are shown from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

# Bump when terms() changes: saved lexical indexes built with older terms are rebuilt.
TERMS_VERSION = "4"

_FOLD = {
    **dict.fromkeys("‘’‚‛′`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    **dict.fromkeys("\u00a0\u2007\u2009\u200a\u202f\u205f\u3000", " "),
    "…": ".",
}
_FOLD_TABLE = str.maketrans(_FOLD)


def normalise(text: str) -> str:
    """Fold typography and case without changing the length of the text."""
    folded = text.translate(_FOLD_TABLE)
    lowered = folded.lower()
    if len(lowered) == len(folded):
        return lowered
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in folded)


def squash(text: str) -> str:
    """Normalise and collapse whitespace: for comparing quotes, not for offsets."""
    return " ".join(normalise(text).split())


STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "either",
        "else",
        "ever",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "just",
        "let's",
        "me",
        "more",
        "most",
        "much",
        "must",
        "mustn't",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "per",
        "same",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "very",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "whose",
        "why",
        "why's",
        "will",
        "with",
        "won't",
        "would",
        "wouldn't",
        "yet",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "tell",
        "say",
        "says",
        "said",
        "according",
        "article",
        "articles",
        "source",
        "sources",
        "text",
        "mention",
        "mentioned",
        "please",
        "explain",
        "describe",
        "give",
        "know",
        "known",
        "kind",
        "sort",
        "thing",
        "things",
        "way",
        "ways",
        "really",
        "one",
        "ones",
        "many",
        "like",
        "get",
        "got",
    ]
)

_IRREGULAR = {
    form: base
    for base, forms in {
        "lead": "led",
        "hold": "held",
        "throw": "threw thrown",
        "tell": "told",
        "say": "said",
        "spend": "spent",
        "see": "saw seen",
        "make": "made",
        "take": "took taken",
        "give": "gave given",
        "get": "got gotten",
        "go": "went gone",
        "leave": "left",
        "meet": "met",
        "keep": "kept",
        "bring": "brought",
        "think": "thought",
        "seek": "sought",
        "win": "won",
        "lose": "lost",
        "pay": "paid",
        "sell": "sold",
        "build": "built",
        "send": "sent",
        "strike": "struck",
        "fight": "fought",
        "fall": "fell fallen",
        "run": "ran",
        "begin": "began begun",
        "choose": "chose chosen",
        "draw": "drew drawn",
        "drive": "drove driven",
        "write": "wrote written",
        "speak": "spoke spoken",
        "break": "broke broken",
        "freeze": "froze frozen",
        "rise": "rose risen",
        "withdraw": "withdrew withdrawn",
        "shoot": "shot",
        "seize": "seized",
        "know": "knew known",
        "grow": "grew grown",
        "buy": "bought",
        "catch": "caught",
        "teach": "taught",
        "find": "found",
        "hear": "heard",
        "stand": "stood",
        "understand": "understood",
        "feel": "felt",
        "sit": "sat",
        "lie": "lay lain",
        "forbid": "forbade forbidden",
    }.items()
    for form in forms.split()
}

_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:'[^\W\d_]+)?|[$€£]", re.UNICODE)
_CURRENCY = {"$": "dollars", "€": "euros", "£": "pounds"}


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")


def _canonical_number(token: str) -> str:
    if "," not in token:
        return token
    return token.replace(",", "") if _THOUSANDS.fullmatch(token) else token


def words(text: str) -> list[str]:
    """Lower-case word tokens of normalised text, possessives dropped, numbers canonical."""
    out: list[str] = []
    for token in _WORD.findall(normalise(text)):  # the whole matches: no groups
        token = _CURRENCY.get(token, token)
        if token.endswith("'s"):
            token = token[:-2]
        out.append(_canonical_number(token))
    return out


_MAY_HAVE_ALIAS = re.compile(r"U[SKN]|EU|U\.[SK]\.")
_ALIASES = (
    (re.compile(r"\bEU\b"), "European Union"),
    (re.compile(r"\bUS\b|\bU\.S\.(?!\w)"), "United States"),
    (re.compile(r"\bUK\b|\bU\.K\.(?!\w)"), "United Kingdom"),
    (re.compile(r"\bUN\b"), "United Nations"),
)


def expand_aliases(text: str) -> str:
    """EU -> European Union and the like, so either spelling finds the other."""
    if not _MAY_HAVE_ALIAS.search(text):  # most text has none: one scan instead of four
        return text
    for pattern, expansion in _ALIASES:
        text = pattern.sub(expansion, text)
    return text


def terms(text: str) -> list[str]:
    """Stemmed content terms: what search and support tests compare."""
    kept = [
        _IRREGULAR.get(w, w)
        for w in words(expand_aliases(text))
        if w not in STOPWORDS and (len(w) > 1 or w.isdigit())
    ]
    return list(_stemmer().stemWords(kept)) if kept else []


_HYPHENATED = re.compile(r"(?<![\w-])([^\W\d_]+(?:-[^\W\d_]+)+)(?![\w-])")


def closed_compounds(text: str) -> list[str]:
    """The stemmed closed forms of a text's hyphenated words: "home-grown" is also
    "homegrown", "non-nuclear" "nonnuclear", as a reader may write them."""
    return [
        stem(match.group(1).replace("-", "")) for match in _HYPHENATED.finditer(normalise(text))
    ]


def stem(word: str) -> str:
    return str(_stemmer().stemWord(normalise(word)))


_NAME = re.compile(r"(?<![\w'’])([A-Z][\w’'‑-]*[a-z][\w’'‑-]*)")
_ACRONYM = re.compile(r"(?<![\w'’])([A-Z][A-Z0-9]+)(?![\w])")


def proper_names(text: str) -> list[str]:
    """Capitalised words that are not simply the first word of a sentence, and acronyms."""
    names: list[str] = []
    for match in _NAME.finditer(text):
        before = text[: match.start()].rstrip()
        if not before or before[-1] in '.!?:"“(':
            continue
        names.append(re.sub(r"['’]s?$", "", match.group(1)))
    names += [m.group(1) for m in _ACRONYM.finditer(text) if m.group(1) not in ("I", "A")]
    return names


_ABBREVIATIONS = frozenset(
    [
        "st",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "col",
        "lt",
        "sgt",
        "rep",
        "sen",
        "gov",
        "jr",
        "sr",
        "vs",
        "etc",
        "no",
        "nos",
        "fig",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "e.g",
        "i.e",
        "inc",
        "ltd",
        "co",
        "corp",
    ]
)
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9$€£])")
_BREAK = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*+#>]|\d{1,3}[.)]\s))")
_HEADING = re.compile(r"[ \t]*#{1,6}(?:[ \t]|$)")
# Markdown that opens a line of body text: block quotes, list bullets and numbers.
_QUOTED_LINE = re.compile(r"[ \t]*>")
_LINE_MARKER = re.compile(r"(?:>[ \t]?)+|[-*+][ \t]+|\d{1,3}[.)][ \t]+")


def _ends_with_abbreviation(text: str, end: int) -> bool:
    start = end
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:end].lower().rstrip(".")
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def sentence_spans(text: str, offset: int = 0) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of each sentence in text, shifted by offset, whitespace trimmed."""
    for block_start, block_end in _blocks(text):
        start = block_start
        while start < block_end and text[start].isspace():
            start += 1
        marker = _LINE_MARKER.match(text, start, block_end)
        start = marker.end() if marker else start
        for match in _SENTENCE_END.finditer(text, block_start, block_end):
            if _ends_with_abbreviation(text, match.start()):
                continue
            yield from _trimmed(text, start, match.end(), offset)
            start = match.end()
        yield from _trimmed(text, start, block_end, offset)


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """Paragraphs and list items; a Markdown heading is left out (it is a title, not a
    sentence), and the line after it starts a block of its own."""
    start = 0
    for match in [*_breaks(text), None]:
        end = match.start() if match else len(text)
        while _HEADING.match(text, start) and start < end:
            line_end = text.find("\n", start, end)
            start = end if line_end < 0 else line_end + 1
        yield start, end
        start = match.end() if match else len(text)


def _breaks(text: str) -> Iterator[re.Match[str]]:
    """Where blocks end; the lines of one block quote (each opening with ">") stay together."""
    for match in _BREAK.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        within_quote = (
            match.group(0).count("\n") == 1  # not a blank line
            and _QUOTED_LINE.match(text, line_start)
            and _QUOTED_LINE.match(text, match.end())
        )
        if not within_quote:
            yield match


def _trimmed(text: str, start: int, end: int, offset: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start and any(ch.isalnum() for ch in text[start:end]):
        yield start + offset, end + offset


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def has_control_characters(text: str) -> bool:
    return bool(_CONTROL.search(text))
