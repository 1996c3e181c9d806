"""The Lite analysis: one recording (and optionally its score) -> every measurement the coach cites.

analyze() runs each measurement module once and collects the results in a typed Analysis;
Analysis.to_json() is the `python -m llaqo analyze --json` contract, documented in the README.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torchaudio

from llaqo.audio import AudioError, load_audio
from llaqo.lite import (
    align,
    articulation,
    balance,
    chords,
    dynamics,
    metre,
    pedal,
    runs,
    score,
    spectral,
    tempo,
    transcribe,
    voices,
)

log = logging.getLogger(__name__)

MAX_DURATION_S = 20 * 60.0  # Lite analyses up to 20 minutes; longer takes are split by the user
MIN_NOTES = 4  # fewer detected notes than this is not a piano performance we can judge
ANALYSIS_RATE = 22050  # Hz: the envelopes, loudness and beat tracking; the transcriber hears 44.1 kHz
AUDIBLE_RANGE_DB = 50.0  # notes this far below the loud notes (95th percentile of attack levels) are noise
FEW_NOTES = 30  # below this many notes the statistics are weak and answers hedge
SHORT_S = 8.0  # recordings shorter than this give few beats; answers hedge
QUIET_DBFS = -40.0  # a take whose loud moments (95th percentile RMS) stay below this is very quiet; answers hedge
METRE_RANGE_DB = 25.0  # the metre is inferred from notes within this of the loud notes (a pianissimo is ~20 below)
BAR_RANGE_DB = 15.0  # a bar holds a played note this close to the median note level, else it is a ringing tail
BEATS_PER_SEGMENT = 4  # without a score or a confident bar grid, loudness is compared over groups of beats
SEGMENT_S = 2.0  # ... or over 2 s windows when too few beats were tracked


class NotMusicError(AudioError):
    """Audio that decodes but holds no playable notes (speech, noise, a test tone)."""


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

    def to_json(self) -> dict:
        out: dict = {"time_s": round(self.time_s, 3)}
        if self.kind == "wrong":
            out |= {"notated_pitch": self.notated_pitch, "played_pitch": self.pitch}
        else:
            out["pitch"] = self.pitch
        if self.bar is not None:
            out["bar"] = self.bar
        if self.hand is not None:
            out["hand"] = self.hand
        return out


@dataclass(frozen=True)
class BarView:
    """One notated bar: when it was played, its tempo, loudness and errors."""

    bar: int
    start_s: float
    end_s: float
    bpm: float | None
    level_db: float | None
    n_errors: int | None
    """None for a bar heard without a score: nothing to count errors against."""

    def to_json(self) -> dict:
        out = {
            "bar": self.bar,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "bpm": None if self.bpm is None else round(self.bpm, 1),
            "level_db": None if self.level_db is None else round(self.level_db, 1),
        }
        if self.n_errors is not None:
            out["n_errors"] = self.n_errors
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

    @property
    def accuracy_pct(self) -> float:
        """Share of the performed section's notated notes neither wrong nor missed."""
        n = self.n_performed
        return 100.0 * (n - len(self.wrong) - len(self.missed)) / n if n else 0.0

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "n_notated": self.n_notated,
            "n_performed": self.n_performed,
            "performed_bars": list(self.performed_bars),
            "n_matched": self.n_matched,
            "accuracy_pct": round(self.accuracy_pct, 1),
            "wrong": [e.to_json() for e in self.wrong],
            "missed": [e.to_json() for e in self.missed],
            "extra": [e.to_json() for e in self.extra],
            "bars": [b.to_json() for b in self.bars],
        }


@dataclass(frozen=True)
class Analysis:
    """Everything measured on one recording. notes: (N, 4) [onset_s, offset_s, pitch, velocity]."""

    name: str
    duration_s: float
    sample_rate: int
    channels: int
    notes: np.ndarray
    tempo: tempo.Tempo
    timing_jitter_ms: float
    dynamics: dynamics.Dynamics
    articulation: articulation.Articulation
    pedal: pedal.Pedal
    balance: balance.Balance
    chords: chords.Chords
    runs: runs.Runs
    score: ScoreReport | None = None
    cautions: list[str] = field(default_factory=list)
    """Why the evidence is weak, if it is (few notes, short clip, quiet take)."""
    metre: metre.Metre | None = None
    """Without a score: the beat, metre and downbeats inferred from the notes (None with a score, or too few)."""
    bars: list[BarView] = field(default_factory=list)
    """Without a score: bars counted from the first inferred downbeat, when the bar grid is confident."""

    def to_json(self) -> dict:
        out = {
            "name": self.name,
            "duration_s": round(self.duration_s, 3),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "notes": [[round(a, 3), round(b, 3), int(p), int(v)] for a, b, p, v in self.notes],
            "tempo": self.tempo.to_json(),
            "timing": {"jitter_ms": round(self.timing_jitter_ms, 1)},
            "dynamics": self.dynamics.to_json(),
            "articulation": self.articulation.to_json(),
            "pedal": self.pedal.to_json(),
            "balance": self.balance.to_json(),
            "chords": self.chords.to_json(),
            "runs": self.runs.to_json(),
            "cautions": list(self.cautions),
        }
        if self.score is not None:
            out["score"] = self.score.to_json()
        else:
            out["metre"] = None if self.metre is None else self.metre.to_json()
            if self.metre is not None:  # the other level's tempo, as the answers say it
                out["metre"]["alternative"]["bpm"] = round(self.tempo.bpm * self.metre.alt_factor, 1)
            out["bars"] = [b.to_json() for b in self.bars]
        return out


def decode(path: str | Path) -> tuple[np.ndarray, np.ndarray, object]:
    """Decode with llaqo.audio.load_audio -> ((samples,) float32 mono at ANALYSIS_RATE, the same at the
    transcriber's transcribe.SAMPLE_RATE, the Recording)."""
    recording = load_audio(path, max_duration_s=MAX_DURATION_S)
    mono = recording.wave.mean(dim=0).to(torch.float32)
    rates = (ANALYSIS_RATE, transcribe.SAMPLE_RATE)
    waves = [
        mono if r == recording.sample_rate else torchaudio.functional.resample(mono, recording.sample_rate, r)
        for r in rates
    ]
    return waves[0].numpy(), waves[1].numpy(), recording


def analyze(
    audio_path: str | Path,
    score_path: str | Path | None = None,
    progress: transcribe.Progress | None = None,
    transcriber: Callable[..., transcribe.Transcription] = transcribe.transcribe,
) -> Analysis:
    """Measure a recording. Raises AudioError (NotMusicError) or score.ScoreError naming the problem.

    progress(done, total) is called after each transcription segment (the long step); transcriber is
    transcribe.transcribe or a caching wrapper of it (bench/lite_accuracy.py).
    """
    notated = score.load_score(score_path) if score_path is not None else None
    wave, wave_hi, recording = decode(audio_path)
    sr = ANALYSIS_RATE
    name = Path(audio_path).name
    result = transcriber(wave_hi, progress=progress)
    notes = result.notes
    if len(notes) < MIN_NOTES:
        raise NotMusicError(f"{name}: no piano notes detected ({len(notes)} found); is this a music recording?")
    curve = dynamics.loudness_curve(wave, sr)
    envelopes = spectral.pitch_envelopes(wave, sr)
    levels = dynamics.note_levels(envelopes, notes)
    # The transcriber is level-blind: in a near-silent tail or pause it finds "notes" in the noise floor.
    # A piano's softest notes sound within ~40 dB of its loudest; anything far below is not playing.
    audible = levels >= np.percentile(levels, 95) - AUDIBLE_RANGE_DB
    notes, levels = notes[audible], levels[audible]
    if len(notes) < MIN_NOTES:
        raise NotMusicError(f"{name}: no piano notes detected ({len(notes)} found); is this a music recording?")

    grid: metre.Metre | None = None  # the beat, metre and bars heard, without a score
    if notated is not None:
        aligned = align.align(notes, notated)
        if len(aligned.anchor_q) < tempo.MIN_BEATS:
            raise NotMusicError(f"{name}: the playing does not match the score {notated.name}")
        beats = tempo.score_beats(aligned.anchor_q, aligned.anchor_t, notated.beat_q)
        tempo_result = tempo.tempo_from_beats(beats, notated.nominal_bpm, "score")
        jitter = tempo.score_jitter_ms(
            notes[aligned.pairs[:, 1], 0],
            notated.onset_q[aligned.pairs[:, 0]],
            beats,
            tempo.score_beat_grid(aligned.anchor_q, notated.beat_q),
        )
        bars_q = _bar_starts_q(notated)
        bounds = np.stack(
            [
                np.append(bars_q[:, 0], bars_q[-1, 0] + 1),
                aligned.time_of(np.append(bars_q[:, 1], (notated.onset_q + notated.duration_q).max())),
            ],
            axis=1,
        )
        # Only notes that belong to the score: a release thump or a ringing overtone cut into a
        # faint "note" must not make a bar sound quiet.
        played = np.concatenate([aligned.pairs[:, 1], [w.perf_index for w in aligned.wrong]])
        played = np.sort(played.astype(int))
        dyn = dynamics.analyse_dynamics(curve, levels[played], notes[played, 0], bounds[:, 1], "bar")
        written = _written_durations(len(notes), notated, aligned)
        harmony = _score_harmony(notated, bars_q[:, 1], bounds[:, 1])
        pedal_share = pedal.PEDAL_SHARE_SCORE
        report = _score_report(notes, notated, aligned, bounds, tempo_result, dyn)
        substituted = [(w.score_index, w.perf_index) for w in aligned.wrong if w.perf_index is not None]
        placed = np.concatenate([aligned.pairs, np.array(substituted, dtype=int).reshape(-1, 2)]).astype(int)
        heard = voices.from_score(notes, notated.hand, notated.onset_q, placed)
        segment_bounds = bounds[:, 1]
    else:
        # Faint "notes" in a ringing tail or the room are no beats; they would extend the bars past the music.
        grid = metre.infer_metre(notes[levels >= np.percentile(levels, 95) - METRE_RANGE_DB])
        if grid is not None:
            tempo_result = tempo.tempo_from_beats(tempo.smooth_beats(grid.beats), None, "audio")
        else:
            beats = tempo.track_beats(wave, sr, notes[:, 0])
            tempo_result = tempo.tempo_from_beats(tempo.smooth_beats(beats), None, "audio")
        played = notes[levels >= np.median(levels) - BAR_RANGE_DB, 0]
        if grid is not None and grid.confident:
            bounds = _heard_bar_bounds(grid, played, recording.duration_s)
        else:  # no bar grid to trust: groups of a bar's worth of beats from the first one
            group = grid.beats_per_bar if grid is not None else BEATS_PER_SEGMENT
            bounds = _beat_group_bounds(tempo_result.beats, group, played, recording.duration_s)
        jitter = tempo.grid_jitter_ms(notes[:, 0], tempo_result.beats)
        kind = "bar" if grid is not None and grid.confident else "beats"
        dyn = dynamics.analyse_dynamics(curve, levels, notes[:, 0], bounds, kind)
        written = articulation.spans_to_next_onset(notes)
        # Harmony changes at the downbeats themselves (harmony_from_notes allows for the chord's spread).
        shift = np.r_[0.0, np.full(len(bounds) - 2, metre.CHORD_GAP_S), 0.0] if kind == "bar" else 0.0
        harmony_bounds = _half_bars(grid, bounds + shift) if kind == "bar" else bounds
        harmony = pedal.harmony_from_notes(notes, harmony_bounds)
        pedal_share = pedal.PEDAL_SHARE_AUDIO
        report = None
        heard = voices.from_pitch(notes)
        segment_bounds = bounds
    bars = _heard_bars(grid, bounds, tempo_result, dyn) if grid is not None and grid.confident else []
    return Analysis(
        name=name,
        duration_s=recording.duration_s,
        sample_rate=recording.sample_rate,
        channels=recording.channels,
        notes=notes,
        tempo=tempo_result,
        timing_jitter_ms=jitter,
        dynamics=dyn,
        articulation=articulation.analyse_articulation(
            articulation.release_ratios(envelopes, notes, written, result.pedal)
        ),
        pedal=pedal.analyse_pedal(
            notes, pedal.damped_times(envelopes, notes), notes[:, 0] + written, harmony, pedal_share, result.pedal
        ),
        balance=balance.analyse_balance(levels, notes[:, 0], heard, segment_bounds),
        chords=chords.analyse_chords(notes, heard),
        runs=runs.analyse_runs(notes[:, 0], heard.group),
        score=report,
        cautions=_cautions(notes, recording.duration_s, dyn),
        metre=grid,
        bars=bars,
    )


def _heard_bar_bounds(heard: metre.Metre, onsets: np.ndarray, duration_s: float) -> np.ndarray:
    """(S + 1,) segment boundaries in s: the start, the inferred downbeats, the end. onsets: (N,) of the notes
    played at a bar's level (not the faint ones of a ringing tail).

    A downbeat's chord is spread over some tens of ms and its time is the middle: each bar starts
    metre.CHORD_GAP_S before it. A pickup shorter than half a bar joins the first bar, and a closing chord alone
    after the last downbeat (or nothing played at all) joins the bar before: one chord is no bar's level, and on
    its own it would read as a step in the dynamics.
    """
    inner = heard.downbeats - metre.CHORD_GAP_S
    bar_s = float(np.median(np.diff(heard.downbeats))) if len(heard.downbeats) > 1 else 0.0
    if len(inner) > 1 and 0 < inner[0] - onsets.min() < bar_s / 2:
        inner = inner[1:]
    return _close(inner, onsets, duration_s)


def _half_bars(heard: metre.Metre, bounds: np.ndarray) -> np.ndarray:
    """(S + 1,) bar boundaries in s -> the pedal's harmony windows: the bars, each halved at its third beat when it
    has four (in common time the harmony, and so the pedal, often changes there)."""
    if heard.beats_per_bar != 4:
        return bounds
    first = int(np.argmin(np.abs(heard.beats - heard.downbeats[0])))
    middles = heard.beats[(first + 2) % 4 :: 4]
    middles = middles[(middles > bounds[0] + metre.CHORD_GAP_S) & (middles < bounds[-1] - metre.CHORD_GAP_S)]
    return np.sort(np.concatenate([bounds, middles]))


def _close(inner: np.ndarray, onsets: np.ndarray, duration_s: float) -> np.ndarray:
    """(S - 1,) inner segment boundaries -> (S + 1,) with the start and end, the last segments joined to the one
    before while they hold at most one chord of the played onsets (N,)."""
    while len(inner) > 1:
        closing = onsets[onsets >= inner[-1]]
        if len(closing) and np.ptp(closing) > metre.CHORD_GAP_S:
            break
        inner = inner[:-1]
    inner = inner[(inner > 0.05) & (inner < duration_s - 0.05)]
    return np.concatenate([[0.0], inner, [duration_s]])


def _beat_group_bounds(beats: np.ndarray, group: int, onsets: np.ndarray, duration_s: float) -> np.ndarray:
    """(S + 1,) boundaries in s of groups of `group` beats (or SEGMENT_S windows when there are few beats); the
    first and last groups run to the ends, and a last group without played onsets (N,) joins the one before."""
    inner = beats[group::group] if len(beats) > 2 * group else np.arange(SEGMENT_S, duration_s, SEGMENT_S)
    return _close(inner[inner < duration_s], onsets, duration_s)


def _heard_bars(
    heard: metre.Metre, bounds: np.ndarray, tempo_result: tempo.Tempo, dyn: dynamics.Dynamics
) -> list[BarView]:
    """Bars counted from 1 at the first inferred downbeat (0: a pickup before it) -> list[BarView]. A segment is
    numbered by the downbeat it starts at; the first, by the bar it ends in (a pickup joined to bar 1 is in it)."""
    views = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        inside = end - metre.CHORD_GAP_S - 1e-3 if start == 0 else start + metre.CHORD_GAP_S + 1e-3
        number = int(heard.bar_at(np.array([inside]))[0])
        in_bar = (tempo_result.curve[:, 0] >= start - 1e-3) & (tempo_result.curve[:, 0] < end - 1e-3)
        level = dyn.segments[np.isclose(dyn.segments[:, 0], start), 2]
        if number == 0 and not len(level):
            continue  # no pickup: the silence before the first downbeat is not a bar
        views.append(
            BarView(
                bar=number,
                start_s=float(start),
                end_s=float(end),
                bpm=float(np.median(tempo_result.curve[in_bar, 1])) if in_bar.any() else None,
                level_db=float(level[0]) if len(level) else None,
                n_errors=None,
            )
        )
    return views


def _bar_starts_q(notated: score.Score) -> np.ndarray:
    """-> (n_bars, 2) rows [bar number, first notated onset in the bar in quarters]."""
    bars = np.unique(notated.bar)
    return np.stack([bars, [notated.onset_q[notated.bar == b].min() for b in bars]], axis=1).astype(float)


def _score_harmony(notated: score.Score, starts_q: np.ndarray, bounds_s: np.ndarray) -> pedal.Harmony:
    """One window per bar holding the pitch classes notated to sound in it; bounds_s: (n_bars + 1,) in s."""
    ends_q = np.append(starts_q[1:], np.inf)
    note_end = notated.onset_q + notated.duration_q
    classes = [
        set((notated.pitch[(notated.onset_q < b - 1e-6) & (note_end > a + 1e-6)] % 12).astype(int).tolist())
        for a, b in zip(starts_q, ends_q, strict=True)
    ]
    return pedal.Harmony(bounds=bounds_s, classes=classes)


def _written_durations(n_notes: int, notated: score.Score, aligned: align.Alignment) -> np.ndarray:
    """(n_notes,) notated duration in performed seconds of each note played as written (nan for the rest)."""
    s, p = aligned.pairs[:, 0], aligned.pairs[:, 1]
    written = np.full(n_notes, np.nan)
    written[p] = aligned.time_of(notated.onset_q[s] + notated.duration_q[s]) - aligned.time_of(notated.onset_q[s])
    return written


def _score_report(
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

    wrong = [
        NoteEvent(
            "wrong", w.time_s, w.played_pitch, int(notated.pitch[w.score_index]), int(notated.bar[w.score_index]),
            hand(w.score_index),
        )
        for w in aligned.wrong
    ]  # fmt: skip
    missed = [
        NoteEvent(
            "missed", float(aligned.time_of(notated.onset_q[[s]])[0]), int(notated.pitch[s]), None,
            int(notated.bar[s]), hand(s),
        )
        for s in aligned.missed
    ]  # fmt: skip
    extra = [NoteEvent("extra", float(notes[i, 0]), int(notes[i, 2]), None, bar(notes[i, 0])) for i in aligned.extra]
    errors = wrong + missed + extra
    views = []
    for (number, start), (_, end) in zip(bounds[:-1], bounds[1:], strict=True):
        in_bar = (tempo_result.curve[:, 0] >= start - 1e-3) & (tempo_result.curve[:, 0] < end - 1e-3)
        level = dyn.segments[np.isclose(dyn.segments[:, 0], start), 2]
        views.append(
            BarView(
                bar=int(number),
                start_s=float(start),
                end_s=float(end),
                bpm=float(np.median(tempo_result.curve[in_bar, 1])) if in_bar.any() else None,
                level_db=float(level[0]) if len(level) else None,
                n_errors=int(sum(e.bar == number for e in errors)),
            )
        )
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
    )


def _cautions(notes: np.ndarray, duration_s: float, dyn: dynamics.Dynamics) -> list[str]:
    out = []
    if len(notes) < FEW_NOTES:
        out.append(f"only {len(notes)} notes were detected, so the statistics are rough")
    if duration_s < SHORT_S:
        out.append(f"the recording is short ({duration_s:.1f} s), so tempo and dynamics trends are uncertain")
    if len(dyn.curve) and float(np.percentile(dyn.curve[:, 1], 95)) < QUIET_DBFS:
        out.append("the recording is very quiet, so soft notes may have been missed")
    return out
