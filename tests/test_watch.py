"""`assistant ingest --watch`, through the real CLI: a watcher process and, beside it, `assistant
ask --json` processes on the same data directory, as a newsroom would run them.

Waits poll with a deadline (PATIENCE) instead of sleeping a fixed time; the deadline only
keeps a regression from hanging the suite. Latency is measured by bench/watch.py, not here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant.watch import STOP_GRACE, is_temporary
from tests.conftest import ROOT, run_cli

ASSISTANT = [sys.executable, "-m", "assistant.cli"]
PATIENCE = 60.0
SUMMARY = re.compile(r" ingest: (\d+) added, (\d+) updated, (\d+) unchanged, (\d+) removed;")


def article(title: str, *sentences: str) -> str:
    return f"# {title}\n\n" + " ".join(sentences) + "\n"


SEED = article(
    "Tram depot reopens",
    "The Velmora tram depot reopened on Monday after repairs to its roof.",
    "Drivers said the new heating works well.",
)


class Watch:
    """`assistant ingest --watch` on `folder`, its stderr in a file the test reads."""

    def __init__(self, tmp_path: Path, folder: Path, *args: str, new_session: bool = False) -> None:
        self.data = tmp_path / "data"
        self.log_path = tmp_path / "watch.log"
        self.folder = folder
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [*ASSISTANT, "ingest", "--watch", str(folder), *args],
                cwd=ROOT,  # the checkout under test, not another installed copy
                env={**os.environ, "ASSISTANT_DATA_DIR": str(self.data)},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=new_session,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def summaries(self) -> list[tuple[int, int, int, int]]:
        return [tuple(map(int, m.groups())) for m in SUMMARY.finditer(self.log)]  # type: ignore[misc]

    def wait_for(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + PATIENCE
        while not ready():
            assert self.process.poll() is None, f"the watcher stopped:\n{self.log}"
            assert time.monotonic() < deadline, f"never: {what}\n{self.log}"
            time.sleep(0.1)

    def wait_for_rounds(self, n: int) -> None:
        """Until n ingests (the initial one included) have ended."""
        self.wait_for(f"{n} ingest(s)", lambda: len(self.summaries()) >= n)

    def ask(self, question: str) -> dict:
        result = subprocess.run(
            [*ASSISTANT, "ask", "--json", question],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "ASSISTANT_DATA_DIR": str(self.data)},
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def wait_for_answer(self, question: str, ok: Callable[[dict], bool]) -> dict:
        answer: dict = {}

        def answered() -> bool:
            nonlocal answer
            answer = self.ask(question)
            return ok(answer)

        self.wait_for(f"an answer to {question!r} as expected (last: {answer})", answered)
        return answer

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, float]:
        """Send the signal; (exit status, seconds until the process ended)."""
        started = time.monotonic()
        self.process.send_signal(signum)
        code = self.process.wait(timeout=PATIENCE)
        return code, time.monotonic() - started

    def kill(self) -> None:
        """End the watcher if a test left it running (a failure on the way)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def watching(tmp_path: Path, *args: str, seed: bool = True) -> Iterator[Watch]:
    folder = tmp_path / "newsroom"
    folder.mkdir()
    if seed:
        (folder / "depot.md").write_text(SEED, encoding="utf-8")
    watch = Watch(tmp_path, folder, *args)
    try:
        watch.wait_for_rounds(1)  # the initial sync
        yield watch
    finally:
        watch.kill()


def cites(answer: dict, name: str) -> bool:
    return not answer["refused"] and any(c["source"].endswith(name) for c in answer["citations"])


def names_in(log: str, verb: str) -> list[str]:
    """File names on the watcher's `<verb> <path>` lines, in order."""
    return [Path(m).name for m in re.findall(rf" {verb} (\S+)$", log, re.MULTILINE)]


BERTHS = "How many berths does the Zorblax harbour plan set aside?"


def test_new_changed_and_deleted_files_reach_the_answers(tmp_path: Path) -> None:
    with watching(tmp_path) as watch:
        assert watch.summaries() == [(1, 0, 0, 0)]
        story = watch.folder / "harbour.md"
        story.write_text(
            article(
                "Harbour plan",
                "The Zorblax harbour plan sets aside 140 berths for fishing boats.",
                "Work starts in spring.",
            ),
            encoding="utf-8",
        )
        answer = watch.wait_for_answer(BERTHS, lambda a: cites(a, "harbour.md"))
        assert "140 berths" in answer["answer"]

        story.write_text(
            article(
                "Harbour plan",
                "The Zorblax harbour plan now sets aside 175 berths for fishing boats.",
                "Work starts in spring.",
            ),
            encoding="utf-8",
        )
        answer = watch.wait_for_answer(BERTHS, lambda a: "175 berths" in a["answer"])
        assert "140" not in answer["answer"]

        story.unlink()
        watch.wait_for_answer(BERTHS, lambda a: not cites(a, "harbour.md"))

        log = watch.log
        assert names_in(log, "added") == ["harbour.md"]
        assert names_in(log, "changed") == ["harbour.md"]
        assert names_in(log, "removed") == ["harbour.md"]
        # Each round reads only what changed: depot.md is never read again.
        assert watch.summaries()[1:] == [(1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 0, 1)]
        code, _ = watch.stop()
        assert code == 0, watch.log
        assert "Traceback" not in watch.log


@pytest.mark.parametrize("deleting", [False, True], ids=["alone", "while-a-file-is-deleted"])
def test_a_file_written_in_pieces_is_ingested_once_complete(tmp_path: Path, deleting: bool) -> None:
    """A slow writer; and the same while another file of the folder is deleted, in the
    same burst."""
    pieces = [
        "# Ferry timetable\n\n",
        "The Ostrel ferry timetable changes next week.",
        " Morning sailings move half an hour earlier.",
        " Evening sailings are unchanged.",
        " Tickets bought before the change stay valid.",
        " The new night ferry from Ostrel carries 312 passengers.\n",
    ]
    with watching(tmp_path) as watch:
        path = watch.folder / "ferry.md"
        for n, piece in enumerate(pieces):  # every piece a new write, far apart
            with path.open("a", encoding="utf-8") as out:
                out.write(piece)
            if deleting and n == 1:
                (watch.folder / "depot.md").unlink()
            time.sleep(0.25)
        answer = watch.wait_for_answer(
            "How many passengers does the night ferry from Ostrel carry?",
            lambda a: cites(a, "ferry.md"),
        )
        assert "312 passengers" in answer["answer"]
        # Had an incomplete version been ingested, completing it would have been a change.
        log = watch.log
        assert names_in(log, "added") == ["ferry.md"], log
        assert names_in(log, "changed") == [], log
        assert "skipped" not in log
        assert sum(s[0] + s[1] for s in watch.summaries()[1:]) == 1, log
        assert names_in(log, "removed") == (["depot.md"] if deleting else [])


def test_temporary_names_are_ignored_until_the_file_gets_its_real_name(tmp_path: Path) -> None:
    draft = article("Bridge tolls", "The Quarnby bridge toll rises to 9 crowns in May.")
    temporary = [
        "bridge.md.part",
        "bridge.md.tmp",
        "bridge.md.crdownload",
        "bridge.md~",
        ".bridge.md",
        ".bridge.md.swp",
        "#bridge.md#",
    ]
    with watching(tmp_path) as watch:
        for name in temporary:
            assert is_temporary(name)
            (watch.folder / name).write_text(draft, encoding="utf-8")
        # A real file after them: once it is in, the temporary ones have been seen too.
        (watch.folder / "sentinel.md").write_text(
            article("Library hours", "The Dunmere library opens at 8 on weekdays."),
            encoding="utf-8",
        )
        watch.wait_for_rounds(2)
        assert watch.summaries()[1] == (1, 0, 0, 0)
        assert "bridge" not in watch.log
        answer = watch.ask("How much is the Quarnby bridge toll?")
        assert not any("bridge" in c["source"] for c in answer["citations"])

        # The usual safe write: a temporary name, then a rename to the real one.
        (watch.folder / "bridge.md.part").rename(watch.folder / "bridge.md")
        answer = watch.wait_for_answer(
            "How much is the Quarnby bridge toll?", lambda a: cites(a, "bridge.md")
        )
        assert "9 crowns" in answer["answer"]
        assert names_in(watch.log, "added") == ["sentinel.md", "bridge.md"]


def test_a_burst_of_files_is_one_ingest(tmp_path: Path) -> None:
    with watching(tmp_path) as watch:
        for i in range(20):  # an export writing 20 articles over about three seconds
            (watch.folder / f"export-{i:02d}.md").write_text(
                article(f"Council note {i}", f"The Brennick council approved item {i + 300}."),
                encoding="utf-8",
            )
            time.sleep(0.15)
        watch.wait_for(
            "all 20 files ingested", lambda: sum(s[0] for s in watch.summaries()[1:]) >= 20
        )
        rounds = watch.summaries()[1:]
        assert len(rounds) <= 2, watch.log
        assert sum(s[0] for s in rounds) == 20
        assert len(names_in(watch.log, "added")) == 20


def test_subfolders_malformed_files_and_removed_folders(tmp_path: Path) -> None:
    with watching(tmp_path) as watch:
        section = watch.folder / "sport"
        section.mkdir()
        (section / "match.md").write_text(
            article("Cup final", "Harlow Rovers won the Glenby cup final 3-1."), encoding="utf-8"
        )
        (watch.folder / "broken.md").write_text("---\ntitle: [oops\n---\nText.\n")
        watch.wait_for("the subfolder's file", lambda: "match.md" in watch.log)
        watch.wait_for("the malformed file", lambda: "broken.md" in watch.log)
        log = watch.log
        assert re.search(r"warning: skipped \S+broken\.md: broken front matter", log), log
        assert "broken.md" not in names_in(log, "added")
        answer = watch.wait_for_answer(
            "What was the score in the Glenby cup final?", lambda a: cites(a, "match.md")
        )
        assert answer["citations"][0]["source"].endswith("newsroom/sport/match.md")

        for path in section.iterdir():
            path.unlink()
        section.rmdir()
        watch.wait_for("the folder's removal", lambda: bool(names_in(watch.log, "removed")))
        assert names_in(watch.log, "removed") == ["match.md"]
        assert watch.summaries()[-1][3] == 1
        code, _ = watch.stop(signal.SIGINT)
        assert code == 0, watch.log
        assert "Traceback" not in watch.log


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_watch_cleanly(tmp_path: Path, signum: int) -> None:
    with watching(tmp_path) as watch:
        code, seconds = watch.stop(signum)
        assert code == 0, watch.log
        assert seconds < 3.0, watch.log
        assert "Traceback" not in watch.log
        assert watch.log.rstrip().endswith(" stopped")


def write_many(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sentences = [
            f"Item {j} of the Kestrel {i} plan costs {i * 100 + j} crowns." for j in range(30)
        ]
        (folder / f"plan-{i:03d}.md").write_text(article(f"Plan {i}", *sentences))


@pytest.mark.parametrize("group", [False, True], ids=["to-the-watcher", "to-its-process-group"])
def test_stopping_during_an_ingest_leaves_an_index_the_next_ingest_completes(
    tmp_path: Path, group: bool
) -> None:
    """SIGTERM while the initial ingest (14 s here, with its worker process) is under way:
    sent to the watcher alone (as `docker stop` does), or to its whole process group (as
    systemd and a terminal's Ctrl-C do; the worker gets it too)."""
    folder = tmp_path / "newsroom"
    write_many(folder, 320)
    watch = Watch(tmp_path, folder, new_session=group)
    try:
        watch.wait_for("the ingest under way", lambda: "building index: articles" in watch.log)
        started = time.monotonic()
        if group:
            os.killpg(watch.process.pid, signal.SIGTERM)
        else:
            watch.process.send_signal(signal.SIGTERM)
        code = watch.process.wait(timeout=PATIENCE)
        seconds = time.monotonic() - started
    finally:
        watch.kill()
    log = watch.log
    assert code == 0, log
    assert seconds < STOP_GRACE + 3.0, log
    assert "Traceback" not in log
    assert "did not finish" in log or " ingest: 320 added" in log, log
    if group:
        deadline = time.monotonic() + PATIENCE
        while group_alive(watch.process.pid):
            assert time.monotonic() < deadline, "a process of the watcher's group lives on"
            time.sleep(0.1)

    def ingest() -> str:
        result = subprocess.run(
            [*ASSISTANT, "ingest", str(folder)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "ASSISTANT_DATA_DIR": str(watch.data)},
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert re.match(r"\d+ added, 0 updated, \d+ unchanged, 0 removed;", ingest())
    assert ingest().startswith("0 added, 0 updated, 320 unchanged, 0 removed; 0 chunks written")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_watch_takes_existing_folders(tmp_path: Path) -> None:
    for target, fragment in [
        (tmp_path / "missing", "corpus path not found"),
        (tmp_path / "one.md", "--watch takes folders"),
    ]:
        if target.suffix:
            target.write_text(SEED)
        result = subprocess.run(
            [*ASSISTANT, "ingest", "--watch", str(target)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert result.returncode == 3
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().startswith("error: ") and fragment in result.stderr


# -- each round reads what changed, and ends where a full ingest would ---------------------


def ingest_cli(folder: Path, data: Path) -> str:
    """`assistant ingest FOLDER` (from the checkout, as the watcher runs); its summary."""
    return run_cli("ingest", str(folder), data=data).stdout.strip().splitlines()[-1]


def index_state(data: Path) -> dict[str, object]:
    """What a data directory holds that answers depend on: the keyword index's ledger and
    chunks, and the chunk ids in the Chroma store."""
    from assistant.lexical import LexicalIndex
    from assistant.settings import load_settings
    from assistant.store import ChunkStore, forget_embedded
    from tests.conftest import keyword_file

    keywords = LexicalIndex.open(keyword_file(data))
    settings = load_settings(data_dir=data)
    stored = sorted(cid for cid, _ in ChunkStore(settings=settings).scan_documents())
    forget_embedded(settings.chroma_dir)
    return {
        "heads": keywords.heads(),
        "documents": keywords.documents(),
        "stored": stored,
        "in_step": keywords.store_version != "",
    }


def wire_story(name: str, *sentences: str, ident: str) -> str:
    return f"---\nid: {ident}\ntitle: {name}\n---\n" + " ".join(sentences) + "\n"


def test_a_round_reads_only_what_changed_and_ends_where_a_full_ingest_would(
    tmp_path: Path,
) -> None:
    """Subfolder files, a file renamed with its front matter id, a folder moved in and one
    deleted, an identity claimed by a second file: each round reads the files it names
    (no `unchanged` articles but the renamed one), and afterwards an ingest of the folder
    finds nothing to do and the index equals a clean build's."""
    folder = tmp_path / "newsroom"
    (folder / "sport").mkdir(parents=True)
    (folder / "wire").mkdir()
    (folder / "depot.md").write_text(SEED, encoding="utf-8")
    (folder / "sport" / "old.md").write_text(
        article("League table", "Harlow Rovers lead the Glenby league by two points.")
    )
    (folder / "wire" / "agency.md").write_text(
        wire_story("Grain prices", "Grain prices in Tessaly rose by 14 percent.", ident="w-77")
    )
    watch = Watch(tmp_path, folder)
    try:
        watch.wait_for_rounds(1)
        assert watch.summaries() == [(3, 0, 0, 0)]

        def step(what: str, change: Callable[[], None], expected: tuple[int, ...]) -> None:
            rounds = len(watch.summaries())
            change()
            watch.wait_for(what, lambda: sum(map(sum, watch.summaries()[rounds:])) >= sum(expected))
            done = watch.summaries()[rounds:]
            assert [sum(column) for column in zip(*done, strict=True)] == list(expected), watch.log

        step(
            "a file in a subfolder",
            lambda: (folder / "sport" / "match.md").write_text(
                article("Cup final", "Harlow Rovers won the Glenby cup final 3-1.")
            ),
            (1, 0, 0, 0),  # was (1, 0, 3, 0): the round read the whole folder
        )
        answer = watch.wait_for_answer(
            "What was the score in the Glenby cup final?", lambda a: cites(a, "match.md")
        )
        assert answer["citations"][0]["corpus_path"] == "sport/match.md"

        step("a deletion", lambda: (folder / "sport" / "old.md").unlink(), (0, 0, 0, 1))
        assert names_in(watch.log, "removed") == ["old.md"]

        outside = tmp_path / "culture"
        outside.mkdir()
        for i, town in enumerate(("Orvik", "Tamsel")):
            (outside / f"fair-{i}.md").write_text(
                article(f"{town} book fair", f"The {town} book fair drew {900 + i} visitors.")
            )
        step("a folder moved in", lambda: outside.rename(folder / "culture"), (2, 0, 0, 0))

        # The same identity (front matter id) from a second file: an ingest keeps the file
        # that comes first and skips the other with a warning, and so does the round.
        step(
            "a second file with the same id",
            lambda: (folder / "wire" / "copy.md").write_text(
                wire_story("Grain", "Grain prices in Tessaly rose by 99 percent.", ident="w-77")
            ),
            (0, 0, 5, 0),  # the folder read whole: the five articles it holds
        )
        assert re.search(r"warning: skipped \S+copy\.md: the same article as", watch.log)
        (folder / "wire" / "copy.md").unlink()
        watch.wait_for_rounds(len(watch.summaries()) + 1)

        # Renamed, with its id: the same article, now at the new path; nothing removed.
        rounds = len(watch.summaries())
        (folder / "wire" / "agency.md").rename(folder / "wire" / "agency-final.md")
        answer = watch.wait_for_answer(
            "By how much did grain prices in Tessaly rise?",
            lambda a: cites(a, "agency-final.md"),
        )
        assert "14 percent" in answer["answer"]
        watch.wait_for_rounds(rounds + 1)

        step("a folder deleted", lambda: shutil.rmtree(folder / "culture"), (0, 0, 0, 2))
        code, _ = watch.stop()
        assert code == 0 and "Traceback" not in watch.log, watch.log
    finally:
        watch.kill()

    assert ingest_cli(folder, watch.data).startswith(
        "0 added, 0 updated, 3 unchanged, 0 removed; 0 chunks written"
    )
    clean = tmp_path / "clean"
    ingest_cli(folder, clean)
    assert index_state(watch.data) == index_state(clean)


# The CLI's watcher, killed (SIGKILL, as by `kill -9`) at one point of its first round after
# the initial sync: argv is (where, folder).
KILLED_IN_A_ROUND = textwrap.dedent(
    """
    import os, signal, sys
    from assistant import indexing, lexical
    from assistant.cli import main
    from assistant.lexical import LexicalIndex
    from assistant.store import ChunkStore

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    where, armed = sys.argv[1], []
    ingest_changes, changes = indexing.Indexer.ingest_changes, LexicalIndex.changes

    def arm(self, *args, **kwargs):
        armed.append(True)
        if where == "between-keyword-transactions":  # one article per transaction
            indexing.WRITE_BATCH_CHUNKS = 1
            LexicalIndex.changes = lambda index, flush_chunks=None: changes(index, 1)
        return ingest_changes(self, *args, **kwargs)

    indexing.Indexer.ingest_changes = arm
    add_blocks, flush, mark = lexical._add_blocks, lexical.Changes.flush, ChunkStore.mark_changed
    if where == "inside-the-keyword-transaction":  # chunk rows written, postings not yet
        lexical._add_blocks = lambda *args: die() if armed else add_blocks(*args)
    elif where == "between-keyword-transactions":  # the second transaction dies
        calls = []
        def second_dies(*args):
            calls.append(armed[:1])
            return die() if calls.count([True]) > 1 else add_blocks(*args)
        lexical._add_blocks = second_dies
    elif where == "after-the-store-writes":  # the store has the articles, the index not
        lexical.Changes.flush = (
            lambda self, **kw: die() if armed and self._heads else flush(self, **kw)
        )
    else:  # "before-the-bookkeeping": all stored, the store not yet settled
        ChunkStore.mark_changed = lambda self, **kw: die() if armed else mark(self, **kw)
    sys.exit(main(["ingest", "--watch", sys.argv[2]]))
    """
)


def town_story(town: str, sentences: int = 4) -> str:
    return article(
        f"{town} council",
        *(f"The {town} council reports item {i} on the {town} harbour." for i in range(sentences)),
    )


@pytest.mark.parametrize(
    "where",
    [
        "after-the-store-writes",
        "inside-the-keyword-transaction",
        "between-keyword-transactions",
        "before-the-bookkeeping",
    ],
)
def test_a_watcher_killed_mid_round_then_run_again_ends_as_a_clean_build(
    tmp_path: Path, where: str
) -> None:
    folder = tmp_path / "newsroom"
    (folder / "desk").mkdir(parents=True)
    for town in ("alpha", "bravo", "charlie", "delta"):
        (folder / "desk" / f"{town}.md").write_text(town_story(town))
    data, log = tmp_path / "data", tmp_path / "killed.log"
    with log.open("w") as out:
        killed = subprocess.Popen(
            [sys.executable, "-c", KILLED_IN_A_ROUND, where, str(folder)],
            cwd=ROOT,
            env={**os.environ, "ASSISTANT_DATA_DIR": str(data)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + PATIENCE
        while SUMMARY.search(log.read_text()) is None:
            assert killed.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        (folder / "desk" / "alpha.md").write_text(town_story("quokkaland", 9))
        (folder / "desk" / "charlie.md").write_text(town_story("wombatville", 2))
        (folder / "desk" / "bravo.md").unlink()
        (folder / "desk" / "echo.md").write_text(town_story("zanzibarite"))
        (folder / "foxtrot.md").write_text(town_story("foxtrot"))
        assert killed.wait(timeout=PATIENCE) == -signal.SIGKILL, log.read_text()
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
    assert len(SUMMARY.findall(log.read_text())) == 1  # the round never finished

    again = Watch(tmp_path, folder)
    try:
        again.wait_for_rounds(1)
        code, _ = again.stop()
        assert code == 0 and "Traceback" not in again.log, again.log
    finally:
        again.kill()
    assert ingest_cli(folder, data).startswith("0 added, 0 updated, 5 unchanged, 0 removed")
    clean = tmp_path / "clean"
    ingest_cli(folder, clean)
    state = index_state(data)
    assert state == index_state(clean)
    assert state["in_step"] and any("quokkaland" in terms for terms in state["documents"].values())
