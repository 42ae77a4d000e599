"""Citation markers, and the lexical support test the evals' default judge uses.

The engine checks model answers with assistant.grounding (names, quantities, polarity,
coverage); this older test (coverage of content terms, plus numbers and names) is kept as
the evals' lexical judge, so that the evals do not grade the engine with its own check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text import normalise, proper_names, squash, stem, terms

SUPPORT_THRESHOLD = 0.6
MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
# A marker that grounds its sentence in a verbatim quote: [3: "limited to 600,000 personnel"]
QUOTED_MARKER = re.compile(r"\s*\[(\d+)\s*:\s*[\"“”']([^\]]*?)[\"“”']\s*\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def strip_markers(text: str) -> str:
    return MARKER.sub("", QUOTED_MARKER.sub("", text)).strip()


@dataclass(frozen=True)
class Support:
    coverage: float
    missing: tuple[str, ...]

    def ok(self, threshold: float = SUPPORT_THRESHOLD) -> bool:
        return self.coverage >= threshold and not self.missing


def numbers_in(text: str) -> set[str]:
    return {m.group(0).replace(",", "") for m in _NUMBER.finditer(normalise(text))}


def support(claim: str, evidence: str) -> Support:
    claim = strip_markers(claim)
    claim_terms = set(terms(claim))
    evidence_terms = set(terms(evidence))
    coverage = len(claim_terms & evidence_terms) / len(claim_terms) if claim_terms else 1.0
    flat = squash(evidence)
    missing = sorted(numbers_in(claim) - numbers_in(evidence))
    missing += [
        name
        for name in dict.fromkeys(proper_names(claim))
        if not _name_in(name, flat, evidence_terms)
    ]
    return Support(coverage, tuple(missing))


def _name_in(name: str, flat_evidence: str, evidence_terms: set[str]) -> bool:
    return squash(name) in flat_evidence or stem(name) in evidence_terms
