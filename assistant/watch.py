"""Watched folders: `assistant ingest --watch PATH…` keeps the index in step with folders that
something else writes into (a CMS export, rsync, an editor).

- **Changes** come from watchfiles (the Rust `notify` crate: inotify on Linux, FSEvents on
  macOS). A burst of them becomes one round: the burst ends after QUIET_MS without a new
  change, or after MAX_BURST_MS at most; what changes while a round runs waits for the next.
- **Partial writes are not ingested.** Temporary names (dotfiles, `~`, `.tmp`, `.part`,
  `.swp`, `.crdownload`, editors' files; see `is_temporary`) are ignored, and a file is
  ingested only once its size and modification time stayed the same for `settle` seconds.
  One still changing waits for a later round.
- **A round reads only what changed** (`assistant.engine.ingest_changes`): the new and changed
  files, wherever they are under a watched folder, and the paths deleted or moved away,
  whose articles the keyword index's ledger finds by their file. The articles get the
  identities an ingest of the whole folder would give them (`<folder>/<path inside it>`), so
  a later `assistant ingest` of the folder finds nothing to do; the rest of the folder is
  not read, however big it is.
- **Stopping.** SIGINT (Ctrl-C) or SIGTERM stops the watch at once when it is idle or
  waiting for files to settle. During an ingest it stops when the ingest ends, or after
  STOP_GRACE seconds (or a second signal) by abandoning it; an abandoned ingest is crash-safe
  and the next ingest completes it. Either way the exit status is 0.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from assistant.corpus import ARTICLE_SUFFIXES, display_path, find_article_files
from assistant.errors import AssistantError, ConfigError, CorpusError

if TYPE_CHECKING:
    from assistant.indexing import FolderChanges, Indexer, IngestReport, Progress
    from assistant.settings import Settings

QUIET_MS = 300  # a burst ends after this long without a new change (watchfiles' `step`)
MAX_BURST_MS = 3_000  # ... or after this long, however busy the folder (watchfiles' `debounce`)
TICK_MS = 500  # with no change, watchfiles returns this often: retries, and the first start
DEFAULT_SETTLE = 1.0  # seconds a file's size and mtime must stay the same before it is read
STOP_GRACE = 5.0  # seconds an ingest under way may take to finish after a stop signal
REASK_DELAY = 0.05  # seconds before a stop that fell inside a finalizer is asked again
WARM_UP_WAIT = 2.0  # seconds the exit waits for the background warm-up import to end
RETRY_DELAYS = (2.0, 5.0, 15.0, 60.0)  # after a failed round (store down, lock timeout)

# Names that writers use while a file is incomplete, and editors' scratch files. Most do not
# end in an article suffix anyway; dotfiles (`.#x.md`, `.x.md.swp`) the loader skips too.
TEMP_SUFFIXES = (
    ".tmp",
    ".temp",
    ".part",
    ".partial",
    ".crdownload",
    ".download",
    ".swp",
    ".swo",
    ".swx",
    ".kate-swp",
    "___jb_tmp___",
    "___jb_old___",
)


def is_temporary(name: str) -> bool:
    """A file name that marks a file still being written, or an editor's scratch file."""
    lowered = name.lower()
    return (
        name.startswith(".")  # dotfiles: rsync's .x.md.XXXX, vim's .x.md.swp, emacs' .#x.md
        or name.endswith("~")  # backups and gedit/nano temp files
        or lowered.endswith(TEMP_SUFFIXES)
        or (name.startswith("#") and name.endswith("#"))  # emacs auto-save
        or name == "4913"  # vim's probe of whether it may write in the folder
    )


def watch_folders(
    settings: Settings,
    paths: Sequence[Path] | None = None,
    *,
    rebuild: bool = False,
    settle: float | None = None,
    progress: Progress | None = None,
    stream: TextIO | None = None,
) -> int:
    """Ingest the folders (default: the configured sources), then keep them in step until
    SIGINT or SIGTERM. Returns the exit status (0); errors at start raise AssistantError."""
    watch = FolderWatch(
        settings,
        list(paths or settings.sources),
        settle=DEFAULT_SETTLE if settle is None else settle,
        stream=stream or sys.stderr,
    )
    return watch.run(rebuild=rebuild, progress=progress)


class _Abandoned(Exception):
    """The ingest under way was given up because the watch is stopping."""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


@dataclass(frozen=True)
class _Plan:
    """One round: what to give the ingest, and what must wait for a later round."""

    changes: list[FolderChanges]  # per watched folder: settled files to read, paths gone
    waiting: list[Path]  # files still being written


class FolderWatch:
    def __init__(
        self,
        settings: Settings,
        folders: Sequence[Path],
        *,
        settle: float = DEFAULT_SETTLE,
        stream: TextIO = sys.stderr,
    ) -> None:
        if not folders:
            raise CorpusError("no folders to watch")
        if not settle >= 0:
            raise ConfigError(f"--settle must be zero or more seconds, got {settle}")
        for folder in folders:
            if not folder.exists():
                raise CorpusError(f"corpus path not found: {folder}")
            if not folder.is_dir():
                raise CorpusError(f"--watch takes folders, and {folder} is a file")
        self._settings = settings
        self._given = list(folders)
        self._roots = [Path(os.path.abspath(f)) for f in folders]
        # watchfiles may report paths through symbolic links resolved; both forms are known.
        self._real = [Path(os.path.realpath(f)) for f in folders]
        self._data = Path(os.path.realpath(settings.data_dir))
        self._settle = settle
        self._stream = stream
        self._indexer: Indexer | None = None  # one for all rounds: it keeps the store open
        self._stop = threading.Event()
        self._busy = False  # an ingest is under way
        self._known: set[Path] = set()  # article files present after the last round
        self._pending: set[Path] = set()  # changed paths not yet dealt with
        self._waiting: set[Path] = set()  # files already said to be still being written
        self._retry_at = 0.0
        self._failures = 0
        self._main_thread = 0
        self._warming: threading.Thread | None = None

    # -- the loop --------------------------------------------------------------------

    def run(self, *, rebuild: bool = False, progress: Progress | None = None) -> int:
        handlers = self._install_signal_handlers()
        try:
            return self._run(rebuild, progress)
        except (_Abandoned, KeyboardInterrupt) as exc:
            # KeyboardInterrupt is raised only on purpose (the grace period is over, or a
            # second signal). Leaving an ingest unfinished is crash-safe.
            self._say(
                f"stopped; the ingest under way did not finish{exc}, the next ingest completes it"
            )
            return 0
        finally:
            self._let_warm_up_end()
            for signum, handler in handlers.items():
                signal.signal(signum, handler)

    def _run(self, rebuild: bool, progress: Progress | None) -> int:
        import watchfiles

        changes = watchfiles.watch(
            *self._roots,
            watch_filter=self._worth_watching,
            debounce=MAX_BURST_MS,
            step=QUIET_MS,
            stop_event=self._stop,
            rust_timeout=TICK_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
            ignore_permission_denied=True,
        )
        names = ", ".join(display_path(root) for root in self._roots)
        self._say(f"watching {names} (settle {self._settle:g}s; Ctrl-C or SIGTERM stops)")
        first = True
        for batch in changes:  # the first comes after TICK_MS at most: the watcher is running
            self._pending.update(self._locate_all(path for _, path in batch))
            if first:
                first = False
                self._initial_sync(rebuild, progress)
            elif self._pending and time.monotonic() >= self._retry_at:
                self._round()
            if self._stop.is_set():
                break
        self._say("stopped")
        return 0

    def _initial_sync(self, rebuild: bool, progress: Progress | None) -> None:
        """Ingest the folders once, as `assistant ingest` would; failures here stop the watch."""
        from assistant.indexing import no_progress

        self._known = self._scan(self._roots)
        self._pending.clear()  # all of it is read now
        given = list(self._given)
        report = self._busy_with(
            lambda indexer: indexer.ingest(given, rebuild=rebuild, progress=progress or no_progress)
        )
        if not self._stop.is_set():
            self._warming = threading.Thread(target=self._warm_up, name="warm-up", daemon=True)
            self._warming.start()
        if report is None:
            return
        for problem in report.problems:
            self._say(f"warning: {problem}")
        self._say(f"ingest: {report.summary()}")

    def _warm_up(self) -> None:
        """Import what a round that writes needs (llama-index's splitter, ~1.5 s) while the
        watch is idle, rather than in the first round that brings a new file."""
        from assistant.chunking import sentence_splitter

        with contextlib.suppress(Exception):
            sentence_splitter(self._settings.chunk_tokens)

    def _let_warm_up_end(self) -> None:
        """A daemon thread still importing when the interpreter exits can abort the process
        (Python < 3.14 ends it with pthread_exit, which cannot unwind through native frames
        of the extension it is loading): the exit waits for the import, WARM_UP_WAIT at most."""
        if self._warming is not None:
            self._warming.join(WARM_UP_WAIT)

    def _round(self) -> None:
        self._check_folders()
        touched, self._pending = self._pending, set()
        plan = self._plan(touched)
        if plan is None:
            return
        self._pending.update(plan.waiting)
        for path in plan.waiting:
            if path not in self._waiting:
                self._waiting.add(path)
                self._say(f"waiting for {display_path(path)}: still being written")
        if not plan.changes:
            return
        try:
            report = self._busy_with(lambda indexer: indexer.ingest_changes(plan.changes))
        except AssistantError as exc:
            delay = RETRY_DELAYS[min(self._failures, len(RETRY_DELAYS) - 1)]
            self._failures += 1
            self._retry_at = time.monotonic() + delay
            self._pending |= touched
            self._say(f"error: {exc} (trying again in {delay:g}s)")
            return
        if report is None:  # stopped before it began
            return
        self._failures = 0
        self._waiting &= self._pending
        self._remember(plan)
        self._report(report)

    def _check_folders(self) -> None:
        """A watched folder that is gone stops the watch (its articles stay in the index)."""
        for given, root in zip(self._given, self._roots, strict=True):
            if not root.is_dir():
                raise CorpusError(f"corpus path not found: {given}")

    def _busy_with(self, ingest: Callable[[Indexer], IngestReport]) -> IngestReport | None:
        """The ingest, unless the watch is stopping; the stop signal may abandon it."""
        if self._stop.is_set():
            return None
        self._busy = True
        try:
            if self._indexer is None:
                from assistant.engine import indexer

                self._indexer = indexer(self._settings)
            return ingest(self._indexer)
        except KeyboardInterrupt:
            raise _Abandoned() from None  # from _on_signal: the grace period is over
        except AssistantError as exc:
            if self._stop.is_set():  # the stop signal reached the ingest's worker process too
                raise _Abandoned(f" ({exc})") from None
            raise
        finally:
            self._busy = False

    # -- what a round does -----------------------------------------------------------

    def _plan(self, touched: set[Path]) -> _Plan | None:
        """Sort the changed paths into files to read, paths gone, and files still being
        written (for a later round); None when the watch was stopped meanwhile."""
        from assistant.indexing import FolderChanges

        candidates: set[Path] = set()
        gone: set[Path] = set()
        for path in touched:
            located = self._locate(path)
            if located is None:
                continue
            if path.is_file():
                if self._is_article(located[1]):
                    candidates.add(path)
            elif path.is_dir():
                candidates |= self._scan([path]) - self._known  # a folder moved or copied in
            elif self._was_known(path):
                gone.add(path)  # a file, or a folder of them, deleted or moved away
        settled, waiting = self._settled(candidates)
        if self._stop.is_set():
            return None
        changes = []
        for given, root in zip(self._given, self._roots, strict=True):
            files = sorted(p for p in settled if self._root_of(p) == root)
            deleted = sorted(p for p in gone if self._root_of(p) == root)
            if files or deleted:
                changes.append(FolderChanges(given, files=tuple(files), gone=tuple(deleted)))
        return _Plan(changes=changes, waiting=sorted(waiting))

    def _was_known(self, path: Path) -> bool:
        """An article file, or a folder holding one, as of the last round."""
        if path in self._known:
            return True
        prefix = f"{path}{os.sep}"
        return any(str(known).startswith(prefix) for known in self._known)

    def _root_of(self, path: Path) -> Path | None:
        located = self._locate(path)
        return located[0] if located else None

    def _settled(self, files: set[Path]) -> tuple[set[Path], set[Path]]:
        """Files whose size and modification time stayed the same over the settle interval,
        and those still changing (or gone meanwhile)."""
        if not files:
            return set(), set()
        before = {path: _signature(path) for path in files}
        if self._settle:
            self._stop.wait(self._settle)
        after = {path: _signature(path) for path in files}
        stable = {p for p in files if before[p] is not None and before[p] == after[p]}
        return stable, files - stable

    def _remember(self, plan: _Plan) -> None:
        """The article files present now, from what the round read and removed."""
        for change in plan.changes:
            for path in change.gone:
                prefix = f"{path}{os.sep}"
                self._known = {
                    k for k in self._known if k != path and not str(k).startswith(prefix)
                }
            self._known |= {path for path in change.files if path.is_file()}

    def _report(self, report: IngestReport) -> None:
        """One line per article added, changed, moved or removed and per file skipped, then
        the summary."""
        lines = [(problem.path, f"warning: {problem}") for problem in report.problems]
        removed = []
        for change in report.articles:
            name = display_path(Path(change.file))
            if change.what == "removed":
                removed.append((name, f"removed {name}"))
            elif change.what == "moved":
                lines.append((name, f"moved {display_path(Path(change.was))} to {name}"))
            else:
                lines.append((name, f"{'changed' if change.what == 'updated' else 'added'} {name}"))
        for _, line in sorted(lines) + sorted(removed):
            self._say(line)
        self._say(f"ingest: {report.summary()}")

    # -- paths -----------------------------------------------------------------------

    def _locate(self, path: Path) -> tuple[Path, Path] | None:
        """(watched folder, path inside it) for a path reported by the watcher."""
        for root, real in zip(self._roots, self._real, strict=True):
            for base in (root, real):
                try:
                    return root, path.relative_to(base)
                except ValueError:
                    continue
        return None

    def _locate_all(self, paths: Iterable[str]) -> set[Path]:
        """Reported paths, as paths under the folders as given (symbolic links kept)."""
        found = set()
        for raw in paths:
            path = Path(raw)
            located = self._locate(path)
            if located is not None:
                found.add(located[0] / located[1])
        return found

    def _worth_watching(self, change: Any, raw: str) -> bool:
        """watchfiles' filter: nothing under the data directory, no temporary or hidden names
        (the loader skips hidden files and folders as well)."""
        path = Path(raw)
        if path == self._data or self._data in path.parents:
            return False
        located = self._locate(path)
        if located is None or not located[1].parts:
            return False
        return not any(part.startswith(".") for part in located[1].parts) and not is_temporary(
            located[1].name
        )

    @staticmethod
    def _is_article(inside: Path) -> bool:
        return (
            inside.name.lower().endswith(ARTICLE_SUFFIXES)
            and not is_temporary(inside.name)
            and not any(part.startswith(".") for part in inside.parts)
        )

    def _scan(self, folders: Sequence[Path]) -> set[Path]:
        """The article files the loader would read under the folders, as absolute paths."""
        try:
            files = find_article_files(folders)
        except CorpusError:
            return set()
        return {
            Path(os.path.abspath(f))
            for f in files
            if (located := self._locate(Path(os.path.abspath(f)))) is not None
            and not is_temporary(located[1].name)
        }

    # -- output and signals ------------------------------------------------------------

    def _say(self, line: str) -> None:
        stamp = dt.datetime.now().isoformat(timespec="seconds")
        print(f"{stamp} {line}", file=self._stream, flush=True)

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}  # signals reach the main thread only; the caller stops us by other means
        self._main_thread = threading.main_thread().ident or 0
        previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, frame: Any) -> None:
        """Stop: at once when idle (the watcher sees the event), else after the ingest.

        Nothing is printed here: a handler that writes while the main thread is writing to
        the same stream would fail ("reentrant call"). A thread says it instead.
        """
        if self._stop.is_set():
            if self._busy and _in_finalizer(frame):
                # An exception raised in a __del__ is printed and ignored, and the ingest
                # would go on: ask again once the finalizer has returned.
                timer = threading.Timer(REASK_DELAY, self._interrupt_main)
                timer.daemon = True
                timer.start()
                return
            if self._busy:
                raise KeyboardInterrupt  # asked again: abandon the ingest under way
            return
        self._stop.set()
        if self._busy:
            name = signal.Signals(signum).name
            threading.Thread(target=self._wind_down, args=(name,), daemon=True).start()

    def _wind_down(self, name: str) -> None:
        self._say(
            f"{name}: stopping once the ingest under way ends "
            f"(at most {STOP_GRACE:g}s; again to stop now)"
        )
        deadline = time.monotonic() + STOP_GRACE
        while self._busy and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._busy:
            self._interrupt_main()

    def _interrupt_main(self) -> None:
        """A real signal to the main thread, not _thread.interrupt_main(): it also ends a
        blocking system call (multiprocessing's hand-over to a worker process that the
        signal killed blocks for ever). Our handler then abandons the ingest."""
        if self._busy:
            signal.pthread_kill(self._main_thread, signal.SIGINT)


def _in_finalizer(frame: Any) -> bool:
    """Whether the interrupted code is an object's __del__ (or code it called)."""
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)
