"""The Lite analysis: one recording (and optionally its score) -> every measurement the coach cites.

analyze() is one straight line: hear the recording (notes, pedal, levels), lay a time grid over it (a Timeline,
from the score's alignment or from the heard metre), measure over that grid, each measurement once, and collect
the results in a typed Analysis. Analysis.to_json() is the `python -m llaqo analyze --json` contract, documented
in the README.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torchaudio

from llaqo.audio import AudioError, Recording, load_audio
from llaqo.lite.alignment import align, pass_report, passes, recheck, repeats, score, score_report
from llaqo.lite.alignment.score_report import ScoreReport
from llaqo.lite.config import LITE
from llaqo.lite.hearing import gain, metre, spectral, tempo, transcribe, voices
from llaqo.lite.hearing import room as rooms
from llaqo.lite.measures import articulation, balance, bars, cautions, chords, dynamics, pedal, runs
from llaqo.lite.measures import key as keys
from llaqo.lite.measures.bars import BarView

log = logging.getLogger(__name__)

MAX_DURATION_S = 20 * 60.0  # Lite analyses up to 20 minutes; longer takes are split by the user
MIN_NOTES = 4  # fewer detected notes than this is not a piano performance we can judge
ANALYSIS_RATE = 22050  # Hz: the envelopes, loudness and beat tracking; the transcriber hears 44.1 kHz
AUDIBLE_RANGE_DB = 50.0  # notes this far below the loud notes (95th percentile of attack levels) are noise
METRE_RANGE_DB = 25.0  # the metre is inferred from notes within this of the loud notes (a pianissimo is ~20 below)
BAR_RANGE_DB = 15.0  # a bar holds a played note this close to the median note level, else it is a ringing tail


class NotMusicError(AudioError):
    """Audio that decodes but holds no playable notes (speech, noise, a test tone)."""


@dataclass(frozen=True)
class Heard:
    """What the ear gives, before any grid. wave: (samples,) mono float32 at ANALYSIS_RATE; notes: (N, 4)
    [onset_s, offset_s, pitch, velocity] of the audible notes; levels: (N,) attack levels in dB; curve: (T, 2)
    [time_s, dBFS]; pedal: (P, 2) [down_s, up_s] of the transcribed sustain pedal; room: how fast and how far its
    sound can fall (rooms.hear_room), which tells a phone in a live room; ungained: (N,) where the floor lies near
    the music (a recorder's gain, live room or not: rooms.Room.near_floor), the attack levels with its estimated gain
    taken out (hearing.gain), else None."""

    name: str
    duration_s: float
    sample_rate: int
    channels: int
    wave: np.ndarray
    notes: np.ndarray
    levels: np.ndarray
    envelopes: spectral.Envelopes
    curve: np.ndarray
    pedal: np.ndarray
    room: rooms.Room
    ungained: np.ndarray | None

    @property
    def live(self) -> bool:
        return self.room.live


@dataclass(frozen=True)
class Timeline:
    """The time grid the measurements run over: the score's bars where they were played, or the heard metre.

    beats: (B,) beat times in s; bounds: (S + 1,) segment boundaries in s, of bars or (kind "beats", without a
    confident bar grid) of groups of a bar's worth of beats; bar_at: (n,) times in s -> (n,) bar numbers
    (notated, or counted from 1 at the first heard downbeat), None on a grid of beats; numbers: (S + 1,) the
    notated bar numbers at the bounds (with a score; the last is one past the final bar).
    """

    beats: np.ndarray
    bounds: np.ndarray
    kind: str
    bar_at: Callable[[np.ndarray], np.ndarray] | None = None
    numbers: np.ndarray | None = None


@dataclass(frozen=True)
class Reading:
    """What the grid's source alone knows, in the form the measurements take.

    belongs: (M,) indices of the notes that belong to the music (with a score, the ones in it);
    written: (N,) each note's written length in s (without a score, to the next onset in its register; nan: unknown)
    held_against: (N,) the written length articulation judges each note's hold against: with a score the same,
    without one the time to the next onset in its voice (articulation.spans_in_reach)
    """

    source: str
    """"score" (aligned to the notated beats) or "audio" (the heard metre or the beat tracker)."""
    nominal_bpm: float | None
    jitter_ms: float
    belongs: np.ndarray
    written: np.ndarray
    held_against: np.ndarray
    harmony: pedal.Harmony
    voices: voices.Voices
    pedal_share: float
    """The sustained share above which the pedal counts as used (pedal.PEDAL_SHARE_SCORE or _AUDIO)."""
    metre: metre.Metre | None = None
    notated: score.Score | None = None
    aligned: align.Alignment | None = None
    """With a score: the main pass's alignment (passes.main_pass), which the grid is laid over."""
    passes: list[passes.Pass] = field(default_factory=list)
    """With a score: the passes of the take through it (one for a single run), each judged on its own."""


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
    timeline: Timeline | None = None
    """The time grid the measurements ran over."""
    notated: score.Score | None = None
    """The parsed score (with a score): the marked score is engraved from it, not from the file again."""
    wave: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32), repr=False, compare=False)
    """(samples,) mono float32 at ANALYSIS_RATE, as heard: a comparison without a score aligns two takes' waves,
    and the practice history fingerprints it, without decoding the file again."""
    key: keys.Key | None = None
    """The key notes are spelled in: the score's (its signature or its notes), else estimated from the notes heard."""
    heard_passes: list[repeats.HeardPass] = field(default_factory=list)
    """Without a score: the take split at its stops, each pass with the earlier span it plays again."""

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
            "key": None if self.key is None else self.key.to_json(),
        }
        if self.score is not None:
            out["score"] = self.score.to_json()
        else:
            out["metre"] = None if self.metre is None else self.metre.to_json()
            if self.metre is not None:  # the other level's tempo, as the answers say it
                out["metre"]["alternative"]["bpm"] = round(self.tempo.bpm * self.metre.alt_factor, 1)
            out["bars"] = [b.to_json() for b in self.bars]
            out["passes"] = [p.to_json() for p in self.heard_passes]
        return out


def decode(path: str | Path) -> tuple[np.ndarray, np.ndarray, Recording]:
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
    """Measure a recording: hear it, lay a time grid over it (the score's, else the heard metre's), measure over
    that grid. Raises AudioError (NotMusicError) or score.ScoreError naming the problem.

    progress(done, total) is called after each transcription segment (the long step); transcriber is
    transcribe.transcribe or a caching wrapper of it (bench/lite_accuracy.py).
    """
    notated = score.load_score(score_path) if score_path is not None else None
    heard = hear(audio_path, progress, transcriber)
    timeline, reading = score_grid(heard, notated) if notated is not None else heard_grid(heard)
    return measure(heard, timeline, reading)


def hear(
    audio_path: str | Path,
    progress: transcribe.Progress | None = None,
    transcriber: Callable[..., transcribe.Transcription] = transcribe.transcribe,
) -> Heard:
    """Decode once, transcribe, and keep the notes that sound (with their levels and envelopes)."""
    wave, wave_hi, recording = decode(audio_path)
    name = Path(audio_path).name
    result = transcriber(wave_hi, progress=progress)
    notes = result.notes
    if len(notes) < MIN_NOTES:
        raise NotMusicError(f"{name}: no piano notes detected ({len(notes)} found); is this a music recording?")
    curve = dynamics.loudness_curve(wave, ANALYSIS_RATE)
    envelopes = spectral.pitch_envelopes(wave, ANALYSIS_RATE)
    levels = dynamics.note_levels(envelopes, notes)
    # The transcriber is level-blind: in a near-silent tail or pause it finds "notes" in the noise floor.
    # A piano's softest notes sound within ~40 dB of its loudest; anything far below is not playing.
    audible = levels >= np.percentile(levels, 95) - AUDIBLE_RANGE_DB
    notes, levels = notes[audible], levels[audible]
    if len(notes) < MIN_NOTES:
        raise NotMusicError(f"{name}: no piano notes detected ({len(notes)} found); is this a music recording?")
    room = rooms.hear_room(wave, ANALYSIS_RATE)
    ungained = gain.ungained_levels(wave, ANALYSIS_RATE, notes[:, 0], levels) if room.near_floor else None
    return Heard(
        name, recording.duration_s, recording.sample_rate, recording.channels, wave, notes, levels, envelopes,
        curve, result.pedal, room, ungained,
    )  # fmt: skip


def score_grid(heard: Heard, notated: score.Score) -> tuple[Timeline, Reading]:
    """The grid of the score's bars and beats, placed where the alignment heard them played."""
    notes = heard.notes
    # A practice session (stops, restarts, a drilled passage) is judged pass by pass; the grid is its main pass's.
    found = passes.find_passes(notes, notated, heard.envelopes)
    found = recheck.recheck(found, notated, notes, heard.wave, ANALYSIS_RATE)
    aligned = passes.main_pass(found).alignment
    if len(aligned.anchor_q) < tempo.MIN_BEATS:
        raise NotMusicError(f"{heard.name}: the playing does not match the score {notated.name}")
    beats = tempo.score_beats(aligned.anchor_q, aligned.anchor_t, notated.beat_q)
    jitter = tempo.score_jitter_ms(
        notes[aligned.pairs[:, 1], 0],
        notated.onset_q[aligned.pairs[:, 0]],
        beats,
        tempo.score_beat_grid(aligned.anchor_q, notated.beat_q),
    )
    bars_q = score_report.bar_starts_q(notated)
    numbers = np.append(bars_q[:, 0], bars_q[-1, 0] + 1)
    bounds = aligned.time_of(np.append(bars_q[:, 1], (notated.onset_q + notated.duration_q).max()))
    # Only notes that belong to the score: a release thump or a ringing overtone cut into a
    # faint "note" must not make a bar sound quiet.
    played = np.concatenate([aligned.pairs[:, 1], [w.perf_index for w in aligned.wrong]])
    placed = pass_report.placed_notes(found)
    written = pass_report.written_durations(found, notated, len(notes))
    timeline = Timeline(beats, bounds, "bar", functools.partial(align.bar_at, notated, aligned), numbers)
    return timeline, Reading(
        source="score",
        nominal_bpm=notated.nominal_bpm,
        jitter_ms=jitter,
        belongs=np.sort(played.astype(int)),
        written=written,
        held_against=written,
        harmony=score_report.score_harmony(notated, bars_q[:, 1], bounds),
        voices=voices.from_score(notes, notated.hand, notated.onset_q, placed),
        pedal_share=pedal.PEDAL_SHARE_SCORE,
        notated=notated,
        aligned=aligned,
        passes=found,
    )


def heard_grid(heard: Heard) -> tuple[Timeline, Reading]:
    """The grid of the heard metre: its bars when it is confident, else groups of a bar's worth of beats."""
    notes, levels = heard.notes, heard.levels
    # Faint "notes" in a ringing tail or the room are no beats; they would extend the bars past the music.
    grid = metre.infer_metre(notes[levels >= np.percentile(levels, 95) - METRE_RANGE_DB])
    tracked = grid.beats if grid is not None else tempo.track_beats(heard.wave, ANALYSIS_RATE, notes[:, 0])
    beats = tempo.smooth_beats(tracked)
    played = notes[levels >= np.median(levels) - BAR_RANGE_DB, 0]
    if grid is not None and grid.confident:
        bounds = bars.heard_bar_bounds(grid, played, heard.duration_s)
        # Harmony changes at the downbeats themselves (harmony_from_notes allows for the chord's spread).
        shift = np.r_[0.0, np.full(len(bounds) - 2, metre.CHORD_GAP_S), 0.0]
        timeline = Timeline(beats, bounds, "bar", grid.bar_at)
        harmony_bounds = bars.half_bars(grid, bounds + shift)
    else:  # no bar grid to trust: groups of a bar's worth of beats from the first one
        group = grid.beats_per_bar if grid is not None else bars.BEATS_PER_SEGMENT
        bounds = bars.beat_group_bounds(beats, group, played, heard.duration_s)
        timeline = Timeline(beats, bounds, "beats")
        harmony_bounds = bounds
    return timeline, Reading(
        source="audio",
        nominal_bpm=None,
        jitter_ms=tempo.grid_jitter_ms(notes[:, 0], beats),
        belongs=np.arange(len(notes)),
        written=articulation.spans_to_next_onset(notes),
        held_against=articulation.spans_in_reach(notes),
        harmony=pedal.harmony_from_notes(notes, harmony_bounds),
        voices=voices.from_pitch(notes),
        pedal_share=pedal.PEDAL_SHARE_AUDIO,
        metre=grid,
    )


def measure(heard: Heard, timeline: Timeline, reading: Reading) -> Analysis:
    """Every measurement, each once, over the time grid -> the Analysis."""
    notes, levels, envelopes, music = heard.notes, heard.levels, heard.envelopes, reading.belongs
    tempo_result = tempo.tempo_from_beats(timeline.beats, reading.nominal_bpm, reading.source)
    ungained = None if heard.ungained is None else heard.ungained[music]
    dyn = dynamics.analyse_dynamics(
        heard.curve, levels[music], notes[music, 0], timeline.bounds, timeline.kind, ungained
    )
    report = None if reading.aligned is None else _score_report(heard, timeline, reading, tempo_result, dyn)
    confident = reading.metre is not None and reading.metre.confident
    pedalling = pedal.analyse_pedal(
        notes,
        pedal.damped_times(envelopes, notes),
        notes[:, 0] + reading.written,
        reading.harmony,
        reading.pedal_share,
        heard.pedal,
        heard.live,
        envelopes,
    )
    # A note released under a press is timed by its transcribed end, or in a live room left out: only under the
    # presses the pedal measure believes (in a live room Transkun hears presses nobody made).
    presses = heard.pedal if pedal.presses_believed(pedalling.sustained_share, heard.live) else np.zeros((0, 2))
    return Analysis(
        name=heard.name,
        duration_s=heard.duration_s,
        sample_rate=heard.sample_rate,
        channels=heard.channels,
        notes=notes,
        tempo=tempo_result,
        timing_jitter_ms=reading.jitter_ms,
        dynamics=dyn,
        articulation=articulation.analyse_articulation(
            articulation.release_ratios(envelopes, notes, reading.held_against, presses, heard.live)
        ),
        pedal=pedalling,
        balance=balance.analyse_balance(levels, notes[:, 0], reading.voices, timeline.bounds),
        chords=chords.analyse_chords(notes, reading.voices),
        runs=runs.analyse_runs(notes[:, 0], reading.voices.group),
        score=report,
        cautions=cautions.cautions(notes, heard.duration_s, dyn, heard.live),
        metre=reading.metre,
        bars=bars.heard_bars(reading.metre, timeline.bounds, tempo_result, dyn) if confident else [],
        timeline=timeline,
        notated=reading.notated,
        wave=heard.wave,
        key=reading.notated.key
        if reading.notated is not None
        else keys.estimate(notes[:, 2], notes[:, 1] - notes[:, 0], "notes"),
        heard_passes=repeats.heard_passes(notes) if reading.aligned is None else [],
    )


def _score_report(
    heard: Heard, timeline: Timeline, reading: Reading, tempo_result: tempo.Tempo, dyn: dynamics.Dynamics
) -> ScoreReport:
    """The score report; raises NotMusicError when the take is of another piece."""
    notes, notated, aligned = heard.notes, reading.notated, reading.aligned
    bounds = np.stack([timeline.numbers, timeline.bounds], axis=1)
    report = score_report.score_report(notes, notated, aligned, bounds, tempo_result, dyn)
    if report.accuracy_pct < 100 * LITE.matched_share and report.n_matched < LITE.matched_share * len(notes):
        # Another piece: a few of its notes fall on the score's pitches, the rest is "wrong" at absurd tempi.
        raise NotMusicError(
            f"{heard.name}: the playing does not match the score {notated.name} (only {report.n_matched} of the "
            f"{len(notes)} notes heard are in it)"
        )
    return pass_report.session_report(
        report, pass_report.judge_passes(reading.passes, notes, notated, heard.curve, heard.levels)
    )
