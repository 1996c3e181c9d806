"""The class view: many takes of one piece, each analysed once (in parallel processes), as one table of
headline numbers (llaqo.lite.headline) with each take's top problem, exportable as CSV."""

from __future__ import annotations

import csv
import io
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from llaqo.lite.headline import FIELDS, Headline

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".webm", ".m4a")
COLUMNS = ("take", *FIELDS, "top_problem")
PARALLEL_MIN_S = 120.0  # takes totalling less audio than this are analysed in one process


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


def default_workers(paths: Sequence[Path]) -> int:
    """One process per available core, at most one per take; one in all when the takes are short, since each
    process first pays ~10 s to load the model and compile (bench/RESULTS.md, "Class view")."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if _total_duration_s(paths) < PARALLEL_MIN_S:
        return 1
    return max(1, min(len(paths), cores))


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
    """Analyse every take once -> rows in the order of `paths`. workers > 1 runs that many processes, each
    computing on one thread (so they do not fight over the cores); on_done(done, total) reports progress."""
    paths = [Path(p) for p in paths]
    workers = workers or default_workers(paths)
    rows: dict[int, Row] = {}
    if workers == 1:
        for i, path in enumerate(paths):
            rows[i] = analyse_one(path, score_path)
            if on_done:
                on_done(i + 1, len(paths))
    else:
        # spawn: a fresh interpreter per worker; forking a process that holds torch's and ONNX's threads is unsafe
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread) as pool:
            futures = {pool.submit(analyse_one, path, score_path): i for i, path in enumerate(paths)}
            for done, future in enumerate(as_completed(futures), start=1):
                rows[futures[future]] = future.result()
                if on_done:
                    on_done(done, len(paths))
    return [rows[i] for i in range(len(paths))]


def _one_thread() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


def analyse_one(path: Path, score_path: str | Path | None) -> Row:
    """One take -> its Row; bad input becomes the row's error, so one broken file does not stop the class."""
    from llaqo.audio import AudioError
    from llaqo.lite.analysis import analyze
    from llaqo.lite.headline import headline
    from llaqo.lite.score import ScoreError

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
