"""Watched folders: `assistant ingest --watch PATH…` keeps the index in step with folders that
something else writes into (a CMS export, rsync, an editor).

- **Changes** come from watchfiles (the Rust `notify` crate: inotify on Linux, FSEvents on
  macOS). A burst of them becomes one round: the burst ends after QUIET_MS without a new
  change, or after MAX_BURST_MS at most; what changes while a round runs waits for the next.
- **Partial writes are not ingested.** Temporary names (dotfiles, `~`, `.tmp`, `.part`,
  `.swp`, `.crdownload`, editors' files; see `is_temporary`) are ignored, and a file is
  ingested only once its size and modification time stayed the same for `settle` seconds.
  One still changing waits for a later round.
- **A round is the ordinary incremental ingest** (`assistant.engine.ingest`). New and changed
  files directly inside a watched folder are given to it as files, so only they are read.
  A deletion, a change in a subfolder or a folder moved in makes it ingest the whole folder:
  that is how an ingest removes articles whose file is gone, and how a file in a subfolder
  keeps its identity (`<folder>/<path inside it>`). Such a round first lets every file of the
  folder written within the settle interval settle, or waits for a later round.
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
    from assistant.indexing import IngestReport, Progress
    from assistant.settings import Settings

QUIET_MS = 300  # a burst ends after this long without a new change (watchfiles' `step`)
MAX_BURST_MS = 3_000  # ... or after this long, however busy the folder (watchfiles' `debounce`)
TICK_MS = 500  # with no change, watchfiles returns this often: retries, and the first start
DEFAULT_SETTLE = 1.0  # seconds a file's size and mtime must stay the same before it is read
STOP_GRACE = 5.0  # seconds an ingest under way may take to finish after a stop signal
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

Ingest = Callable[["Settings", list[Path], bool, "Progress | None"], "IngestReport"]


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


def _ingest(
    settings: Settings, paths: list[Path], rebuild: bool, progress: Progress | None
) -> IngestReport:
    """One ordinary ingest, then chromadb's in-process copy of the embedded store is dropped:
    another process may write to it before the next round, and a stale copy must not write."""
    from assistant.engine import ingest
    from assistant.store import forget_embedded

    try:
        if progress is None:
            return ingest(settings, paths, rebuild=rebuild)
        return ingest(settings, paths, rebuild=rebuild, progress=progress)
    finally:
        if not settings.chroma_url:
            forget_embedded(settings.chroma_dir)


class _Abandoned(Exception):
    """The ingest under way was given up because the watch is stopping."""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


@dataclass(frozen=True)
class _Plan:
    """One round: what to give the ingest, and what it is about."""

    paths: list[Path]  # files and folders for the ingest
    files: list[Path]  # settled article files the round reads (new or changed)
    whole: list[Path]  # watched folders ingested whole
    waiting: list[Path]  # files still being written
    deferred: list[Path]  # changes in a folder to read whole once those files settle


class FolderWatch:
    def __init__(
        self,
        settings: Settings,
        folders: Sequence[Path],
        *,
        settle: float = DEFAULT_SETTLE,
        stream: TextIO = sys.stderr,
        ingest: Ingest = _ingest,
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
        self._ingest = ingest
        self._stop = threading.Event()
        self._busy = False  # an ingest is under way
        self._known: set[Path] = set()  # article files present after the last round
        self._pending: set[Path] = set()  # changed paths not yet dealt with
        self._waiting: set[Path] = set()  # files already said to be still being written
        self._retry_at = 0.0
        self._failures = 0
        self._main_thread = 0

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
        self._known = self._scan(self._roots)
        self._pending.clear()  # all of it is read now
        report = self._run_ingest(list(self._given), rebuild=rebuild, progress=progress)
        if report is None:
            return
        for problem in report.problems:
            self._say(f"warning: {problem}")
        self._say(f"ingest: {report.summary()}")

    def _round(self) -> None:
        touched, self._pending = self._pending, set()
        plan = self._plan(touched)
        if plan is None:
            return
        self._pending.update(plan.waiting, plan.deferred)
        for path in plan.waiting:
            if path not in self._waiting:
                self._waiting.add(path)
                self._say(f"waiting for {display_path(path)}: still being written")
        if not plan.paths:
            return
        try:
            report = self._run_ingest(plan.paths)
        except AssistantError as exc:
            if isinstance(exc, CorpusError) and not all(r.is_dir() for r in self._roots):
                raise  # a watched folder is gone: nothing sensible to keep watching
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
        self._report(plan, report)

    def _run_ingest(
        self, paths: list[Path], *, rebuild: bool = False, progress: Progress | None = None
    ) -> IngestReport | None:
        if self._stop.is_set():
            return None
        self._busy = True
        try:
            return self._ingest(self._settings, paths, rebuild, progress)
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
        """Sort the changed paths into files to read, folders to ingest whole, and what must
        wait for a later round; None when the watch was stopped meanwhile."""
        candidates: set[Path] = set()
        whole: set[Path] = set()
        for path in touched:
            located = self._locate(path)
            if located is None:
                continue
            root, inside = located
            if path.is_file():
                if self._is_article(inside):
                    candidates.add(path)
            elif path.is_dir():
                new = self._scan([path]) - self._known  # a folder moved or copied in
                candidates |= new
                if new:
                    whole.add(root)
            elif any(k == path or path in k.parents for k in self._known):
                whole.add(root)  # a file, or a folder of them, was deleted or moved away
        # A folder read whole must not catch a file half-written: its recent files settle too.
        extra = set().union(*(self._recently_written(root) for root in whole)) - candidates
        settled, waiting = self._settled(candidates | extra)
        if self._stop.is_set():
            return None
        whole |= {self._root_of(p) for p in settled if not self._top_level(p)}
        busy = {self._root_of(p) for p in waiting}
        whole -= busy  # read whole in a later round, once all its files have settled
        singles = sorted(
            p for p in settled - extra if self._top_level(p) and self._root_of(p) not in whole
        )
        return _Plan(
            paths=[g for g, r in zip(self._given, self._roots, strict=True) if r in whole]
            + singles,
            files=sorted(p for p in settled - extra if p in singles or self._root_of(p) in whole),
            whole=sorted(whole),
            waiting=sorted(waiting),
            deferred=sorted(p for p in touched if self._root_of(p) in busy and p not in singles),
        )

    def _recently_written(self, root: Path) -> set[Path]:
        """Article files under the folder modified less than `settle` seconds ago."""
        since = time.time() - self._settle - QUIET_MS / 1000
        recent = set()
        for path in self._scan([root]):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime >= since:
                    recent.add(path)
        return recent

    def _root_of(self, path: Path) -> Path | None:
        located = self._locate(path)
        return located[0] if located else None

    def _top_level(self, path: Path) -> bool:
        """Directly inside its watched folder, not in a subfolder."""
        located = self._locate(path)
        return located is not None and len(located[1].parts) == 1

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

    def _report(self, plan: _Plan, report: IngestReport) -> None:
        """One line per file added, changed or removed, the problems, then the summary."""
        skipped = {problem.path: problem for problem in report.problems}
        before = set(self._known)
        for root in plan.whole:
            inside = {k for k in self._known if root in k.parents}
            self._known = (self._known - inside) | self._scan([root])
        self._known |= {path for path in plan.files if path.is_file()}
        lines = []
        for path in sorted((self._known - before) | set(plan.files)):
            name = display_path(path)
            if name in skipped:
                lines.append(f"warning: {skipped[name]}")
            else:
                lines.append(f"{'changed' if path in before else 'added'} {name}")
        lines += [f"removed {display_path(path)}" for path in sorted(before - self._known)]
        for line in lines:
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
            # A real signal to the main thread, not _thread.interrupt_main(): it also ends a
            # blocking system call (multiprocessing's hand-over to a worker process that
            # the signal killed blocks for ever). Our handler then abandons the ingest.
            signal.pthread_kill(self._main_thread, signal.SIGINT)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)
