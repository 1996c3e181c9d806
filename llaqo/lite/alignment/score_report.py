"""The performance against its score: the wrong, missed and extra notes (NoteEvent) with their bars and hands,
each notated bar as played (BarView), the bars' harmony for the pedal, and the notated durations in
performed seconds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from llaqo.lite.alignment import align, score
from llaqo.lite.hearing import tempo
from llaqo.lite.measures import dynamics, pedal
from llaqo.lite.measures.bars import BarView, bar_view


@dataclass(frozen=True)
class NoteEvent:
    """A score deviation: a wrong, missed or extra note."""

    kind: str
    time_s: float
    pitch: int
    """The played pitch (wrong, extra) or the notated pitch (missed)."""
    notated_pitch: int | None = None
    bar: int | None = None
    hand: str | None = None
    """"right" or "left" from the score's staves or tracks (wrong, missed); None when the score does not say."""
    beat: float | None = None
    """The beat of the bar it falls on, from 1 ("in bar 8, beat 2")."""
    pass_number: int | None = None
    """In a take of several passes (alignment.passes), the pass it was played in, from 1; None in a single pass."""

    def to_json(self) -> dict:
        out: dict = {"time_s": round(self.time_s, 3)}
        if self.kind == "wrong":
            out |= {"notated_pitch": self.notated_pitch, "played_pitch": self.pitch}
        else:
            out["pitch"] = self.pitch
        if self.bar is not None:
            out["bar"] = self.bar
        if self.beat is not None:
            out["beat"] = self.beat
        if self.hand is not None:
            out["hand"] = self.hand
        if self.pass_number is not None:
            out["pass"] = self.pass_number
        return out


@dataclass(frozen=True)
class ScoreReport:
    name: str
    n_notated: int
    n_matched: int
    wrong: list[NoteEvent]
    missed: list[NoteEvent]
    extra: list[NoteEvent]
    bars: list[BarView]
    n_performed: int
    """Notated notes in the section the recording plays; the others were not reached and are not judged."""
    performed_bars: tuple[int, int]
    """First and last bar of that section."""
    title: str | None = None
    """The piece's title from the score file, when it has one."""
    passes: list = field(default_factory=list)
    """The take's passes through the score (pass_report.PassReport), each judged on its own; one for a single run."""

    @property
    def accuracy_pct(self) -> float:
        """Share of the performed section's notated notes neither wrong nor missed."""
        n = self.n_performed
        return 100.0 * (n - len(self.wrong) - len(self.missed)) / n if n else 0.0

    def to_json(self) -> dict:
        return {
            "name": self.name,
            **({"title": self.title} if self.title else {}),
            "n_notated": self.n_notated,
            "n_performed": self.n_performed,
            "performed_bars": list(self.performed_bars),
            "n_matched": self.n_matched,
            "accuracy_pct": round(self.accuracy_pct, 1),
            "wrong": [e.to_json() for e in self.wrong],
            "missed": [e.to_json() for e in self.missed],
            "extra": [e.to_json() for e in self.extra],
            "bars": [b.to_json() for b in self.bars],
            "passes": [p.to_json() for p in self.passes],
        }


def bar_starts_q(notated: score.Score) -> np.ndarray:
    """-> (n_bars, 2) rows [bar number, first notated onset in the bar in quarters]."""
    bars = np.unique(notated.bar)
    return np.stack([bars, [notated.onset_q[notated.bar == b].min() for b in bars]], axis=1).astype(float)


def score_harmony(notated: score.Score, starts_q: np.ndarray, bounds_s: np.ndarray) -> pedal.Harmony:
    """One window per bar holding the pitch classes notated to sound in it; bounds_s: (n_bars + 1,) in s."""
    ends_q = np.append(starts_q[1:], np.inf)
    note_end = notated.onset_q + notated.duration_q
    classes = [
        set((notated.pitch[(notated.onset_q < b - 1e-6) & (note_end > a + 1e-6)] % 12).astype(int).tolist())
        for a, b in zip(starts_q, ends_q, strict=True)
    ]
    return pedal.Harmony(bounds=bounds_s, classes=classes)


def written_durations(n_notes: int, notated: score.Score, aligned: align.Alignment) -> np.ndarray:
    """(n_notes,) notated duration in performed seconds of each note played as written (nan for the rest)."""
    s, p = aligned.pairs[:, 0], aligned.pairs[:, 1]
    written = np.full(n_notes, np.nan)
    written[p] = aligned.time_of(notated.onset_q[s] + notated.duration_q[s]) - aligned.time_of(notated.onset_q[s])
    return written


def score_report(
    notes: np.ndarray,
    notated: score.Score,
    aligned: align.Alignment,
    bounds: np.ndarray,
    tempo_result: tempo.Tempo,
    dyn: dynamics.Dynamics,
) -> ScoreReport:
    def bar(t: float) -> int:
        return int(align.bar_at(notated, aligned, np.array([t]))[0])

    def hand(s: int) -> str | None:
        return {0: "right", 1: "left"}.get(int(notated.hand[s]))

    starts = dict(bar_starts_q(notated).tolist())

    def beat(bar_number: int, quarter: float) -> float:
        return round(1.0 + max(quarter - starts.get(bar_number, quarter), 0.0) / notated.beat_q, 2)

    wrong = [
        NoteEvent(
            "wrong", w.time_s, w.played_pitch, int(notated.pitch[w.score_index]), int(notated.bar[w.score_index]),
            hand(w.score_index), beat(int(notated.bar[w.score_index]), notated.onset_q[w.score_index]),
        )
        for w in aligned.wrong
    ]  # fmt: skip
    missed = [
        NoteEvent(
            "missed", float(aligned.time_of(notated.onset_q[[s]])[0]), int(notated.pitch[s]), None,
            int(notated.bar[s]), hand(s), beat(int(notated.bar[s]), notated.onset_q[s]),
        )
        for s in aligned.missed
    ]  # fmt: skip
    extra = [
        NoteEvent(
            "extra", float(notes[i, 0]), int(notes[i, 2]), None, bar(notes[i, 0]), None,
            beat(bar(notes[i, 0]), float(aligned.quarter_of(notes[[i], 0])[0])),
        )
        for i in aligned.extra
    ]  # fmt: skip
    errors = wrong + missed + extra
    views = [
        bar_view(int(number), start, end, tempo_result, dyn, n_errors=int(sum(e.bar == number for e in errors)))
        for (number, start), (_, end) in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    section = notated.bar[aligned.performed] if aligned.performed.any() else notated.bar
    return ScoreReport(
        notated.name,
        len(notated.pitch),
        len(aligned.pairs),
        wrong,
        missed,
        extra,
        views,
        n_performed=int(aligned.performed.sum()),
        performed_bars=(int(section.min()), int(section.max())),
        title=notated.title,
    )
