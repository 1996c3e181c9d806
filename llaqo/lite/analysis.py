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
from llaqo.lite.alignment import align, score, score_report
from llaqo.lite.alignment.score_report import ScoreReport
from llaqo.lite.hearing import metre, spectral, tempo, transcribe, voices
from llaqo.lite.measures import articulation, balance, bars, chords, dynamics, pedal, runs
from llaqo.lite.measures.bars import BarView

log = logging.getLogger(__name__)

MAX_DURATION_S = 20 * 60.0  # Lite analyses up to 20 minutes; longer takes are split by the user
MIN_NOTES = 4  # fewer detected notes than this is not a piano performance we can judge
ANALYSIS_RATE = 22050  # Hz: the envelopes, loudness and beat tracking; the transcriber hears 44.1 kHz
AUDIBLE_RANGE_DB = 50.0  # notes this far below the loud notes (95th percentile of attack levels) are noise
FEW_NOTES = 30  # below this many notes the statistics are weak and answers hedge
MIN_MATCHED_SHARE = 0.5  # a take of the scored piece, however rough, plays half its notes as written
SHORT_S = 8.0  # recordings shorter than this give few beats; answers hedge
QUIET_DBFS = -40.0  # a take whose loud moments (95th percentile RMS) stay below this is very quiet; answers hedge
METRE_RANGE_DB = 25.0  # the metre is inferred from notes within this of the loud notes (a pianissimo is ~20 below)
BAR_RANGE_DB = 15.0  # a bar holds a played note this close to the median note level, else it is a ringing tail


class NotMusicError(AudioError):
    """Audio that decodes but holds no playable notes (speech, noise, a test tone)."""


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
        aligned = align.align(notes, notated, envelopes)
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
        bars_q = score_report.bar_starts_q(notated)
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
        written = score_report.written_durations(len(notes), notated, aligned)
        harmony = score_report.score_harmony(notated, bars_q[:, 1], bounds[:, 1])
        pedal_share = pedal.PEDAL_SHARE_SCORE
        report = score_report.score_report(notes, notated, aligned, bounds, tempo_result, dyn)
        if report.accuracy_pct < 100 * MIN_MATCHED_SHARE and report.n_matched < MIN_MATCHED_SHARE * len(notes):
            # Another piece: a few of its notes fall on the score's pitches, the rest is "wrong" at absurd tempi.
            raise NotMusicError(
                f"{name}: the playing does not match the score {notated.name} (only {report.n_matched} of the "
                f"{len(notes)} notes heard are in it)"
            )
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
            bounds = bars.heard_bar_bounds(grid, played, recording.duration_s)
        else:  # no bar grid to trust: groups of a bar's worth of beats from the first one
            group = grid.beats_per_bar if grid is not None else bars.BEATS_PER_SEGMENT
            bounds = bars.beat_group_bounds(tempo_result.beats, group, played, recording.duration_s)
        jitter = tempo.grid_jitter_ms(notes[:, 0], tempo_result.beats)
        kind = "bar" if grid is not None and grid.confident else "beats"
        dyn = dynamics.analyse_dynamics(curve, levels, notes[:, 0], bounds, kind)
        written = articulation.spans_to_next_onset(notes)
        # Harmony changes at the downbeats themselves (harmony_from_notes allows for the chord's spread).
        shift = np.r_[0.0, np.full(len(bounds) - 2, metre.CHORD_GAP_S), 0.0] if kind == "bar" else 0.0
        harmony_bounds = bars.half_bars(grid, bounds + shift) if kind == "bar" else bounds
        harmony = pedal.harmony_from_notes(notes, harmony_bounds)
        pedal_share = pedal.PEDAL_SHARE_AUDIO
        report = None
        heard = voices.from_pitch(notes)
        segment_bounds = bounds
    bar_views = bars.heard_bars(grid, bounds, tempo_result, dyn) if grid is not None and grid.confident else []
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
        bars=bar_views,
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
