"""Each pass of a practice session judged on its own (passes.find_passes): its tempo, bars, dynamics and
wrong, missed and extra notes, and the session's score report as the union of its passes' notes.

The notes a player never reached because they stopped are outside the pass's span and are not missed; the
silence before a restart lies between two passes' beats and is no ritardando.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from llaqo.lite.alignment import score_report
from llaqo.lite.alignment.passes import Pass
from llaqo.lite.alignment.score import Score
from llaqo.lite.alignment.score_report import ScoreReport
from llaqo.lite.hearing import tempo
from llaqo.lite.measures import dynamics


@dataclass(frozen=True)
class SharedBars:
    """A pass against the earlier pass it repeats, over only the bars both played with notes in them, so "the
    second time through bars 3-7 was louder" compares the same bars (not a drill against a whole run-through).
    Levels are the bars' median note level and ranges dynamics.level_range of the bars', in dB on the take's scale.
    """

    first_bar: int
    last_bar: int
    level_db: float
    range_db: float
    repeated_level_db: float
    repeated_range_db: float

    def to_json(self) -> dict:
        return {
            "first_bar": self.first_bar,
            "last_bar": self.last_bar,
            "level_db": round(self.level_db, 1),
            "range_db": round(self.range_db, 1),
            "repeated_level_db": round(self.repeated_level_db, 1),
            "repeated_range_db": round(self.repeated_range_db, 1),
        }


def shared_bars(now: np.ndarray, then: np.ndarray) -> SharedBars | None:
    """Two passes' (n, 2) [bar, level dB] rows -> their dynamics over the bars both have (None when none)."""
    common = np.intersect1d(now[:, 0], then[:, 0])
    if len(common) == 0:
        return None
    a, b = (rows[np.isin(rows[:, 0], common), 1] for rows in (now, then))
    return SharedBars(
        int(common.min()), int(common.max()), float(np.median(a)), dynamics.level_range(a), float(np.median(b)),
        dynamics.level_range(b),
    )  # fmt: skip


@dataclass(frozen=True)
class PassReport:
    """One pass as judged: where it ran in the recording and the score, and its own measurements."""

    number: int
    """1 for the first pass of the recording."""
    start_s: float
    end_s: float
    first_bar: int
    last_bar: int
    complete: bool
    tempo: tempo.Tempo
    report: ScoreReport
    """The pass's notes against the score's bars it played; its bars' times, tempi and levels."""
    repeats: int | None
    """The number of the latest earlier pass that played some of these bars, None for new music."""
    dynamics: dynamics.Dynamics
    """The pass's own dynamics: its bars' note levels (dB, on the take's scale) and their range."""
    bar_levels: np.ndarray
    """(n, 2) [bar number, level dB] of the pass's bars that hold notes (the rows of dynamics.segments)."""
    shared: SharedBars | None
    """Its dynamics against the pass it repeats over the bars both played; None for new music."""

    @property
    def label(self) -> str:
        """The pass as the evidence names it: "pass 2: bars 4–8"."""
        bars = f"bar {self.first_bar}" if self.first_bar == self.last_bar else f"bars {self.first_bar}–{self.last_bar}"
        return f"pass {self.number}: {bars}"

    @property
    def level_db(self) -> float:
        """The pass's typical bar level (median, dB on the take's scale): passes of one take compare by it."""
        levels = self.dynamics.segments[:, 2]
        return float(np.median(levels)) if len(levels) else float("nan")

    def to_json(self) -> dict:
        r = self.report
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "first_bar": self.first_bar,
            "last_bar": self.last_bar,
            "complete": self.complete,
            "repeats_pass": self.repeats,
            "bpm": round(self.tempo.bpm, 1),
            "cv_pct": round(self.tempo.cv_pct, 2),
            "tempo_label": self.tempo.label,
            "accuracy_pct": round(r.accuracy_pct, 1),
            "n_wrong": len(r.wrong),
            "n_missed": len(r.missed),
            "n_extra": len(r.extra),
            "range_db": round(self.dynamics.range_db, 1),
            "level_db": None if np.isnan(self.level_db) else round(self.level_db, 1),
            "bars": [{"bar": b.bar, "start_s": round(b.start_s, 3), "end_s": round(b.end_s, 3)} for b in r.bars],
            "shared_bars": None if self.shared is None else self.shared.to_json(),
        }


def placed_notes(found: list[Pass]) -> np.ndarray:
    """-> (K, 2) int [score note, performed note] of every pass's notes played as written or substituted."""
    rows = [p.alignment.pairs for p in found]
    rows += [
        np.array([(w.score_index, w.perf_index) for w in p.alignment.wrong], dtype=int).reshape(-1, 2) for p in found
    ]
    return np.concatenate(rows).astype(int)


def written_durations(found: list[Pass], notated: Score, n_notes: int) -> np.ndarray:
    """(n_notes,) each note's notated duration in performed seconds, by its own pass's time map (nan: unpaired)."""
    written = np.full(n_notes, np.nan)
    for p in found:
        own = score_report.written_durations(n_notes, notated, p.alignment)
        written = np.where(np.isnan(written), own, written)
    return written


def pass_bounds(notated: Score, p: Pass) -> np.ndarray:
    """-> (n + 1, 2) rows [bar number, performed start s] of the pass's bars and the end of its last bar."""
    starts = score_report.bar_starts_q(notated)
    inside = starts[(starts[:, 0] >= p.first_bar) & (starts[:, 0] <= p.last_bar)]
    later = starts[starts[:, 0] > p.last_bar, 1]
    end_q = later[0] if len(later) else float((notated.onset_q + notated.duration_q).max())
    return np.stack(
        [np.append(inside[:, 0], p.last_bar + 1), p.alignment.time_of(np.append(inside[:, 1], end_q))], axis=1
    )


def bar_levels(bounds: np.ndarray, dyn: dynamics.Dynamics) -> np.ndarray:
    """(n + 1, 2) [bar, start s] bounds (pass_bounds) and the dynamics over them -> (S, 2) [bar, level dB] of the
    bars that hold notes (each segment starts at its bar's bound)."""
    at = np.abs(dyn.segments[:, :1] - bounds[None, :-1, 1]).argmin(axis=1)
    return np.stack([bounds[at, 0], dyn.segments[:, 2]], axis=1).reshape(-1, 2)


def judge_pass(
    number: int, p: Pass, notes: np.ndarray, notated: Score, curve: np.ndarray, levels: np.ndarray
) -> tuple[tempo.Tempo, ScoreReport, dynamics.Dynamics, np.ndarray]:
    """One pass's tempo (its own notated beats), score report (its bars, its notes), dynamics and bar levels
    (bar_levels).

    notes: (N, 4) the whole take; curve: the take's loudness curve; levels: (N,) note levels in dB
    """
    a = p.alignment
    beats = tempo.score_beats(a.anchor_q, a.anchor_t, notated.beat_q)
    pass_tempo = tempo.tempo_from_beats(beats, notated.nominal_bpm, "score")
    bounds = pass_bounds(notated, p)
    played = np.sort(np.r_[a.pairs[:, 1], [w.perf_index for w in a.wrong]].astype(int))
    window = (curve[:, 0] >= p.start_s) & (curve[:, 0] <= p.end_s)
    dyn = dynamics.analyse_dynamics(curve[window], levels[played], notes[played, 0], bounds[:, 1], "bar")
    report = score_report.score_report(notes, notated, a, bounds, pass_tempo, dyn)
    events = [replace(e, pass_number=number) for e in (*report.wrong, *report.missed, *report.extra)]
    kinds = {k: [e for e in events if e.kind == k] for k in ("wrong", "missed", "extra")}
    return pass_tempo, replace(report, **kinds), dyn, bar_levels(bounds, dyn)


def judge_passes(
    found: list[Pass], notes: np.ndarray, notated: Score, curve: np.ndarray, levels: np.ndarray
) -> list[PassReport]:
    """Every pass judged on its own, numbered from 1, each with the earlier pass it plays again."""
    out: list[PassReport] = []
    for k, p in enumerate(found, start=1):
        pass_tempo, report, dyn, own = judge_pass(k, p, notes, notated, curve, levels)
        earlier = [q for q in out if q.first_bar <= p.last_bar and p.first_bar <= q.last_bar]
        shared = shared_bars(own, earlier[-1].bar_levels) if earlier else None
        out.append(
            PassReport(
                k, p.start_s, p.end_s, p.first_bar, p.last_bar, p.complete, pass_tempo, report,
                earlier[-1].number if earlier else None, dyn, own, shared,
            )
        )  # fmt: skip
    return out


def nth_time(judged: list[PassReport], bar: int, nth: int) -> PassReport | None:
    """The nth pass (from 1) of those that played `bar`, or None when fewer played it."""
    holding = [j for j in judged if j.first_bar <= bar <= j.last_bar]
    return holding[nth - 1] if 0 < nth <= len(holding) else None


def session_report(overall: ScoreReport, judged: list[PassReport]) -> ScoreReport:
    """The take's score report over all its passes: their notes, counts and span, with the passes themselves.
    With one pass, `overall` as it is, with that pass."""
    if len(judged) == 1:
        return replace(overall, passes=judged)
    reports = [j.report for j in judged]

    def union(kind: str) -> list:
        return sorted((e for r in reports for e in getattr(r, kind)), key=lambda e: e.time_s)

    return replace(
        overall,
        n_matched=sum(r.n_matched for r in reports),
        wrong=union("wrong"),
        missed=union("missed"),
        extra=union("extra"),
        n_performed=sum(r.n_performed for r in reports),
        performed_bars=(min(j.first_bar for j in judged), max(j.last_bar for j in judged)),
        passes=judged,
    )
