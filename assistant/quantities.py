"""Quantities in text, written in digits or in words, as comparable values.

"600,000", "600k", "six hundred thousand" and "600 000" are one value; "half" is 0.5
and also 50 (per cent); "a quarter of a million" is 250,000; "$100bn" is 1e11 and "100".
The words live in assistant/data/numbers.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.lexicon import load_table
from assistant.text import normalise


@dataclass(frozen=True)
class Quantity:
    text: str
    values: frozenset[float]
    unit: str | None = None  # "day" for "three days", "percent", "money"
    start: int = 0  # where it stands in the normalised text


@dataclass(frozen=True)
class _Words:
    units: dict[str, float]
    scales: dict[str, float]
    fractions: dict[str, float]
    suffixes: dict[str, float]
    only_before_scale: frozenset[str]
    idioms: tuple[str, ...]
    time_units: dict[str, str]  # word -> unit
    unit_days: dict[str, float]


@lru_cache(maxsize=1)
def _words() -> _Words:
    table = load_table("numbers")
    return _Words(
        units={k: float(v) for k, v in table["units"].items()},
        scales={k: float(v) for k, v in table["scales"].items()},
        fractions={k: float(v) for k, v in table["fractions"].items()},
        suffixes={k: float(v) for k, v in table["suffixes"].items()},
        only_before_scale=frozenset(table.get("only_before_scale", [])),
        idioms=tuple(table.get("idioms", [])),
        time_units={w: unit for unit, ws in table.get("time_units", {}).items() for w in ws},
        unit_days={k: float(v) for k, v in table.get("unit_days", {}).items()},
    )


_DIGITS = re.compile(r"(?<![\w.])(\d{1,3}(?:[, ]\d{3})+|\d+(?:\.\d+)?)(?:\s?(%|per ?cent))?")


def quantities(text: str) -> list[Quantity]:
    """Every quantity stated in text, digits and words alike, with its unit when it has one."""
    flat = normalise(text).replace("-", " ")
    for idiom in _words().idioms:
        flat = re.sub(rf"\b{re.escape(idiom)}\b", " " * len(idiom), flat)
    found = _digit_quantities(flat) + _word_quantities(flat) + _single_periods(flat)
    return [_with_unit(q, flat) for q in found]


def figure_terms(text: str) -> dict[str, float]:
    """The search terms of each figure the text states, its scale word included ("600k",
    "0.6 million", "six hundred thousand"), with the figure's value (its fullest reading:
    600,000): for matching the figure however another text writes it (states_figure)."""
    from assistant.text import terms

    flat = normalise(text).replace("-", " ")
    words = _words()
    found: dict[str, float] = {}
    for quantity in quantities(text):
        end = quantity.start + len(quantity.text)
        scale = re.match(r"\s?([a-z]+)", flat[end : end + 12])
        written = quantity.text
        if scale and (scale.group(1) in words.scales or scale.group(1) in words.suffixes):
            written = f"{written} {scale.group(1)}"
        for term in terms(written):
            found.setdefault(term, max(quantity.values))
    return found


def states_figure(text: str, value: float) -> bool:
    """Whether the text states a figure of that value, in any form ("600,000", "600k")."""
    return any(_same(max(q.values), value) for q in quantities(text))


def _single_periods(flat: str) -> list[Quantity]:
    """ "a year", "a decade": one of a time unit."""
    units = _words().time_units
    return [
        Quantity(m.group(0), frozenset({1.0}), units[m.group(1)], m.start())
        for m in re.finditer(r"(?<![\w])an? ([a-z]+)", flat)
        if m.group(1) in units
    ]


def _with_unit(quantity: Quantity, flat: str) -> Quantity:
    """The unit that goes with a quantity: a time unit after it, %, or a currency."""
    if quantity.unit:
        return quantity
    end = quantity.start + len(quantity.text)
    after = re.match(r"[^a-z]*?([a-z]+)", flat[end : end + 20])
    word = after.group(1) if after else ""
    unit = _words().time_units.get(word)
    before = flat[max(quantity.start - 2, 0) : quantity.start]
    if unit is None and (any(c in before for c in "$€£") or word in _MONEY):
        unit = "money"
    return Quantity(quantity.text, quantity.values, unit, quantity.start)


_MONEY = frozenset({"dollars", "euros", "pounds", "dollar", "euro", "pound", "usd", "eur"})


def _digit_quantities(flat: str) -> list[Quantity]:
    found: list[Quantity] = []
    suffixes = _words().suffixes
    scales = _words().scales
    for match in _DIGITS.finditer(flat):
        raw = match.group(1)
        value = float(raw.replace(",", "").replace(" ", ""))
        values = {value}
        if match.group(2):
            values.add(value / 100)
        after = flat[match.end() : match.end() + 12]
        suffix = re.match(r"\s?([a-z]+)", after)
        if suffix and not match.group(2):
            word = suffix.group(1)
            factor = suffixes.get(word) if after[:1] != " " else None
            factor = factor or scales.get(word)
            if factor:
                values.add(value * factor)
        unit = "percent" if match.group(2) else None
        found.append(Quantity(match.group(0), frozenset(values), unit, match.start()))
    return found


def _word_quantities(flat: str) -> list[Quantity]:
    """Runs of number words: "a quarter of a million", "six hundred thousand", "half"."""
    words = _words()
    tokens = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z]+", flat)]
    found: list[Quantity] = []
    i = 0
    while i < len(tokens):
        word = tokens[i][0]
        following = tokens[i + 1][0] if i + 1 < len(tokens) else ""
        # a scale word opens a run only before another ("hundred billion": 100bn)
        opens = _is_number_word(word) or (word in words.scales and following in words.scales)
        if not opens or (word in words.only_before_scale and following not in words.scales):
            i += 1
            continue
        value, j = _read_number(tokens, i)
        start, end = tokens[i][1], tokens[j - 1][2]
        values = {value}
        if tokens[i][0] in words.fractions and j == i + 1:
            values.add(value * 100)  # "half" of something is also 50 per cent
        found.append(Quantity(flat[start:end], frozenset(values), start=start))
        i = j
    return found


def _is_number_word(word: str) -> bool:
    words = _words()
    return word in words.units or word in words.fractions


def is_number_word(word: str) -> bool:
    """A word that states a quantity ("two", "hundred", "half"): quantities check it."""
    words = _words()
    return _is_number_word(word) or word in words.scales


def _read_number(tokens: list[tuple[str, int, int]], i: int) -> tuple[float, int]:
    """Read number words from i; returns the value and the index after the last one used."""
    words = _words()
    total = 0.0
    current = 0.0
    j = i
    fraction = 0.0
    while j < len(tokens):
        word = tokens[j][0]
        if word in words.units:
            current += words.units[word]
        elif word in words.fractions and current == 0 and total == 0:
            fraction = words.fractions[word]
        elif word in words.scales and (current or total or fraction or j == i):
            scale = words.scales[word]
            if fraction:
                current = fraction * scale
                fraction = 0.0
            else:
                current = (current or 1) * scale
            if scale >= 1000:
                total += current
                current = 0.0
        elif (
            word in ("and", "a", "an", "of")
            and j + 1 < len(tokens)
            and _continues(tokens[j + 1][0])
        ):
            pass
        else:
            break
        j += 1
    value = total + current + fraction
    return value, max(j, i + 1)


def _continues(word: str) -> bool:
    words = _words()
    return word in words.units or word in words.scales or word in ("a", "an")


def missing_quantities(claim: str, evidence: str) -> list[str]:
    """The claim's quantities that the evidence does not state in any form (or unit)."""
    stated = quantities(evidence)
    return [q.text for q in quantities(claim) if not any(_matches(q, other) for other in stated)]


def _matches(claimed: Quantity, stated: Quantity) -> bool:
    days = _words().unit_days
    if claimed.unit in days and stated.unit in days:
        return any(
            _same(a * days[claimed.unit], b * days[stated.unit], tolerance=1e-3)
            for a in claimed.values
            for b in stated.values
        )
    if claimed.unit and stated.unit and claimed.unit != stated.unit:
        return False
    return any(_same(a, b) for a in claimed.values for b in stated.values)


def _same(a: float, b: float, tolerance: float = 1e-9) -> bool:
    return abs(a - b) <= tolerance * max(abs(a), abs(b), 1.0)


def missing_periods(claim: str, evidence: str) -> list[str]:
    """Time units the claim uses ("weeks") that the evidence never uses: "over the past few
    weeks" is not "in recent months"."""
    units = _words().time_units
    stated = {units[w] for w in re.findall(r"[a-z]+", normalise(evidence)) if w in units}
    counted = {q.unit for q in quantities(claim)}  # "three weeks" is checked as a quantity
    return [
        w
        for w in dict.fromkeys(re.findall(r"[a-z]+", normalise(claim)))
        if w in units and units[w] not in stated and units[w] not in counted
    ]
