"""The deterministic support test: does a passage back a sentence?

A sentence is supported when the evidence covers enough of its content terms and
contains every number and name it states. The same test checks LLM answers at run
time and scores citations in the evals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text import normalise, proper_names, squash, stem, terms

SUPPORT_THRESHOLD = 0.6
MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def strip_markers(text: str) -> str:
    return MARKER.sub("", text).strip()


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
