"""The class view: many takes of one piece, each analysed once (in parallel processes), as one table of
headline numbers (llaqo.lite.practice.headline) with each take's top problem, exportable as CSV."""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from pathlib import Path

from llaqo.lite.practice.headline import FIELDS, Headline

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".webm", ".m4a")
COLUMNS = ("take", *FIELDS, "top_problem")
PARALLEL_MIN_S = 120.0  # takes totalling less audio than this are analysed in one process
PRELOAD = (
    "llaqo.lite.analysis",
    "llaqo.lite.practice.headline",
    "transkun.ModelTransformer",
    "partitura",
    "librosa.feature",
    "librosa.beat",
    "librosa.onset",
)


@dataclass(frozen=True)
class Row:
    """One take: its headline numbers, or why it could not be analysed."""

    path: Path
    headline: Headline | None
    error: str | None = None

    def cells(self) -> list:
        """The table row in COLUMNS order; numbers rounded, an unanalysable take's problem in the last cell."""
        if self.headline is None:
            return [self.path.name, *[None] * len(FIELDS), f"not analysed: {self.error}"]
        h = self.headline
        numbers = [None if getattr(h, f) is None else round(getattr(h, f), 1) for f in FIELDS]
        return [self.path.name, *numbers, h.top_problem]


def audio_files(folder: str | Path) -> list[Path]:
    """The recordings directly inside a folder, sorted by name."""
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no recordings ({', '.join(AUDIO_SUFFIXES)}) in {folder}")
    return files


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_workers(paths: Sequence[Path]) -> int:
    """One process per available core, at most one per take; one in all when the takes are short, since each
    process first pays seconds to load the model (bench/RESULTS.md, "Class view")."""
    if _total_duration_s(paths) < PARALLEL_MIN_S:
        return 1
    return max(1, min(len(paths), available_cores()))


def _total_duration_s(paths: Sequence[Path]) -> float:
    """Sum of the takes' durations from their headers; a file soundfile cannot read counts as long."""
    import soundfile

    total = 0.0
    for path in paths:
        try:
            total += soundfile.info(str(path)).duration
        except (RuntimeError, soundfile.LibsndfileError):
            return float("inf")
    return total


def analyse_takes(
    paths: Sequence[str | Path],
    score_path: str | Path | None = None,
    workers: int | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> list[Row]:
    """Analyse every take once -> rows in the order of `paths`; on_done(done, total) reports progress.

    With workers > 1 this process analyses takes itself, at once, while workers - 1 helper processes start
    and then take their share from the same queue: a helper first spends seconds importing and loading the
    model, and on a busy machine (or with short takes) it may add little, but it never makes the batch wait.
    """
    import torch

    paths = [Path(p) for p in paths]
    workers = workers or default_workers(paths)
    batch = _Batch(len(paths), on_done)
    # The transcriber scales almost perfectly over threads (2 threads: 1.9x one), so processes gain only on the
    # single-threaded rest of the analysis, and only if the cores are shared out rather than oversubscribed:
    # two processes of two threads each on two cores ran 0.63x one process (bench/RESULTS.md, "Class view").
    threads = max(1, available_cores() // workers)
    own_threads = torch.get_num_threads()
    pool = _helper_pool(workers - 1, threads) if workers > 1 else None
    try:
        torch.set_num_threads(threads)
        if pool is not None:
            for _ in range(workers - 1):
                batch.submit(pool, paths, score_path)
        while (i := batch.next_index()) is not None:
            batch.record(i, analyse_one(paths[i], score_path))
        batch.wait()
    finally:
        torch.set_num_threads(own_threads)
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return [batch.rows[i] for i in range(len(paths))]


def _helper_pool(n: int, threads: int) -> ProcessPoolExecutor:
    # forkserver: a clean server process imports the analysis stack once (partitura, librosa, torch) and
    # forks each helper from it; forking this process instead is unsafe once it has run torch or ONNX (their
    # thread pools do not survive a fork).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return ProcessPoolExecutor(n, mp_context=context, initializer=_set_threads, initargs=(threads,))


def _set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


class _Batch:
    """The takes still to analyse (shared by this process and the helpers' completion callbacks), the rows
    done, and the progress report, which is always called from the thread that runs analyse_takes."""

    def __init__(self, total: int, on_done: Callable[[int, int], None] | None):
        self.total, self.on_done = total, on_done
        self.rows: dict[int, Row] = {}
        self._pending = iter(range(total))
        self._futures: dict[Future, int] = {}
        self._lock = threading.Lock()
        self._reported = 0

    def next_index(self) -> int | None:
        with self._lock:
            return next(self._pending, None)

    def record(self, i: int, row: Row) -> None:
        with self._lock:
            self.rows[i] = row
        self.report()

    def report(self) -> None:
        with self._lock:
            done = len(self.rows)
        if self.on_done and done > self._reported:
            self._reported = done
            self.on_done(done, self.total)

    def submit(self, pool: ProcessPoolExecutor, paths: list[Path], score_path) -> None:
        """Give a helper the next take; when it finishes, keep its row and give it the next one."""
        i = self.next_index()
        if i is None:
            return
        future = pool.submit(analyse_one, paths[i], score_path)
        with self._lock:
            self._futures[future] = i

        def done(f: Future) -> None:
            if not f.cancelled() and f.exception() is None:
                with self._lock:
                    self.rows[i] = f.result()
                self.submit(pool, paths, score_path)

        future.add_done_callback(done)

    def wait(self) -> None:
        """Until the helpers' takes are done (no take is left to hand out by now); re-raises a helper's crash."""
        while True:
            with self._lock:
                running = [f for f in self._futures if not f.done()]
            if not running:
                break
            wait_futures(running, return_when=FIRST_COMPLETED)
            self.report()
        with self._lock:
            futures = dict(self._futures)
        for future, i in futures.items():
            self.rows[i] = future.result()  # raises a helper's crash; also closes the race with its callback
        self.report()


def analyse_one(path: Path, score_path: str | Path | None) -> Row:
    """One take -> its Row; bad input becomes the row's error, so one broken file does not stop the class."""
    from llaqo.audio import AudioError
    from llaqo.lite.alignment.score import ScoreError
    from llaqo.lite.analysis import analyze
    from llaqo.lite.practice.headline import headline

    try:
        return Row(path, headline(analyze(path, score_path)))
    except (AudioError, ScoreError) as err:
        return Row(path, None, str(err))


def to_csv(rows: Sequence[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(row.cells() for row in rows)
    return out.getvalue()


def to_text(rows: Sequence[Row]) -> str:
    """A plain-text table for the terminal."""
    cells = [list(COLUMNS)] + [["-" if c is None else str(c) for c in row.cells()] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(COLUMNS) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in cells)
