"""Tempo: beat times -> a tempo curve, its stability, and a label.

Beat times come from the score alignment when a score is given (one per notated beat), and
otherwise from librosa's beat tracker, each beat snapped to the nearest played onset.
Labels follow ../shared/perfbench/README.md; each threshold sits between the definitions of
neighbouring labels so that measurement noise does not flip a clear case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOP = 512  # samples between onset-strength frames at 22050 Hz (23 ms); snapping to onsets restores precision
SNAP_S = 0.07  # a tracked beat moves to a played onset within this distance
EDGE_FRACTION = 0.1  # start / end tempo = mean of the first / last 10% of beats (at least 2)
ACCEL_RATIO = 1.13  # end/start: "steady" allows up to 1.08, "accelerando" needs 1.18
RIT_RATIO = 0.885  # end/start: "steady" allows down to 0.92, "ritardando" needs 0.85
RUBATO_CV = 4.25  # % beat-interval variation: "steady" is <= 3.5, "rubato" >= 5
# A turn of the tempo curve: it moves back by this share from its last peak or trough. A heard beat's curve,
# smoothed over three beats, wobbles by 1-2% in a steady take; a rubato's phrase swings by 10% or more.
REVERSAL = 0.05
RUBATO_REVERSALS = 2  # "rubato": push and pull, >= 2 tempo reversals; a ritardando or accelerando is smooth
RUSH_RATIO = 1.08  # mean/notated: "steady" is within 6%, "rushing" is >= 10% faster
RUSH_MIN_END_OVER_START = 0.97  # rushing creeps ahead (end/start >= 1.0); allow for measurement noise
SMOOTH_BEATS = 1.0  # half-width, in beats, of the local fit that places each notated beat
MIN_BEATS = 4  # fewer beats than this cannot give a tempo curve
JITTER_KEEP = 0.9  # share of notes, closest to the grid, that score_jitter_ms measures
GRID_SUBDIVISIONS = (4, 6)  # sixteenths or eighth-note triplets per beat, for grid_jitter_ms
MAX_BEAT_BPM = 160.0  # a tracked pulse faster than this is folded to half speed (see fold_fast_beats)


@dataclass(frozen=True)
class Tempo:
    """A tempo curve and its summary.

    beats: (B,) beat times in seconds; curve: (B-1, 2) rows [time_s, bpm] (bpm = 60 / beat interval)
    """

    beats: np.ndarray
    curve: np.ndarray
    bpm: float
    cv_pct: float
    start_bpm: float
    end_bpm: float
    nominal_bpm: float | None
    label: str
    source: str
    """"score" (aligned to notated beats) or "audio" (beat tracker)."""

    def to_json(self) -> dict:
        return {
            "bpm": round(self.bpm, 1),
            "curve": [[round(t, 3), round(b, 1)] for t, b in self.curve],
            "cv_pct": round(self.cv_pct, 2),
            "start_bpm": round(self.start_bpm, 1),
            "end_bpm": round(self.end_bpm, 1),
            "nominal_bpm": None if self.nominal_bpm is None else round(self.nominal_bpm, 1),
            "label": self.label,
            "source": self.source,
            "beats_s": [round(b, 3) for b in self.beats],
        }


def track_beats(wave: np.ndarray, sample_rate: int, note_onsets: np.ndarray) -> np.ndarray:
    """(samples,) mono audio and (N,) played onsets in s -> (B,) beat times in s."""
    import librosa

    envelope = librosa.onset.onset_strength(y=wave, sr=sample_rate, hop_length=HOP)
    _, frames = librosa.beat.beat_track(onset_envelope=envelope, sr=sample_rate, hop_length=HOP)
    beats = fold_fast_beats(frames, envelope, sample_rate / HOP)
    return snap_to_onsets(librosa.frames_to_time(beats, sr=sample_rate, hop_length=HOP), note_onsets)


def smooth_beats(beats: np.ndarray, half_width: int = 1) -> np.ndarray:
    """(B,) beat times -> (B,) each replaced by a straight-line fit of the 2 * half_width + 1 beats around it
    (at either end, of the first or last ones).

    A snapped beat inherits its onset's ~10 ms scatter, and the tracker sometimes snaps to a neighbouring
    note; a fit over three beats removes that noise, as the score path's fit over the notes within one beat
    does (SMOOTH_BEATS). A wider fit flattens a rubato's swings, which turn within a phrase of a few beats.
    The end beats are fit on their side's three beats, so the take's mean tempo is the same as a wider fit's.
    """
    width = 2 * half_width + 1
    if len(beats) < width:
        return np.maximum.accumulate(beats.astype(float))
    index = np.arange(len(beats))
    smoothed = beats.astype(float).copy()
    for i in index:
        first = min(max(i - half_width, 0), len(beats) - width)
        near = index[first : first + width]
        slope, intercept = np.polyfit(near, beats[near], 1)
        smoothed[i] = slope * i + intercept
    return np.maximum.accumulate(smoothed)


def fold_fast_beats(frames: np.ndarray, envelope: np.ndarray, frame_rate: float) -> np.ndarray:
    """(B,) beat frames of an onset envelope at frame_rate frames/s -> every other beat while the pulse is
    faster than MAX_BEAT_BPM.

    A tracker often locks onto running eighths or sixteenths; a notated beat is rarely above 160 BPM,
    so a faster pulse is taken as a subdivision. Of the two phases, the one on stronger onsets wins.
    """
    while len(frames) >= 2 * MIN_BEATS:
        bpm = 60.0 * frame_rate / float(np.median(np.diff(frames)))
        if bpm <= MAX_BEAT_BPM:
            break
        even, odd = frames[::2], frames[1::2]
        frames = even if envelope[even].mean() >= envelope[odd].mean() else odd
    return frames


def snap_to_onsets(beats: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """Move each beat to the nearest onset within SNAP_S: the tracker's frame grid is coarser than real timing."""
    if len(onsets) == 0:
        return beats
    idx = np.clip(np.searchsorted(onsets, beats), 1, len(onsets) - 1)
    nearest = np.where(np.abs(onsets[idx - 1] - beats) < np.abs(onsets[idx] - beats), onsets[idx - 1], onsets[idx])
    snapped = np.where(np.abs(nearest - beats) <= SNAP_S, nearest, beats)
    return np.unique(snapped)


def tempo_from_beats(beats: np.ndarray, nominal_bpm: float | None, source: str) -> Tempo:
    """(B,) increasing beat times in s -> Tempo. With fewer than MIN_BEATS beats the label is "steady" with bpm 0."""
    beats = np.asarray(beats, dtype=float)
    if len(beats) < MIN_BEATS:
        return Tempo(beats, np.zeros((0, 2)), 0.0, 0.0, 0.0, 0.0, nominal_bpm, "steady", source)
    intervals = np.diff(beats)
    bpm = 60.0 / intervals
    curve = np.stack([beats[:-1], bpm], axis=1)
    edge = max(2, int(round(EDGE_FRACTION * len(bpm))))
    start, end = float(bpm[:edge].mean()), float(bpm[-edge:].mean())
    mean_bpm = 60.0 / float(intervals.mean())
    cv = 100.0 * float(intervals.std() / intervals.mean())
    return Tempo(
        beats=beats,
        curve=curve,
        bpm=mean_bpm,
        cv_pct=cv,
        start_bpm=start,
        end_bpm=end,
        nominal_bpm=nominal_bpm,
        label=tempo_label(mean_bpm, cv, end / start, nominal_bpm, reversals(bpm)),
        source=source,
    )


def tempo_label(
    mean_bpm: float, cv_pct: float, end_over_start: float, nominal_bpm: float | None, turns: int = 0
) -> str:
    """steady / accelerando / ritardando / rubato / rushing, per the perfbench definitions; turns: the tempo
    curve's reversals (reversals())."""
    # A take that pushes and pulls ends slower or faster than it began as often as not (a phrase's last swing);
    # a ritardando or accelerando moves one way, smoothly.
    swings = cv_pct >= RUBATO_CV and turns >= RUBATO_REVERSALS
    if end_over_start >= ACCEL_RATIO and not swings:
        return "accelerando"
    if end_over_start <= RIT_RATIO and not swings:
        return "ritardando"
    # Rubato keeps the mean within 10% of the notation; a take well above it that does not slow down is
    # rushing even when its beats wobble.
    if nominal_bpm and mean_bpm / nominal_bpm >= RUSH_RATIO and end_over_start >= RUSH_MIN_END_OVER_START:
        return "rushing"
    if cv_pct >= RUBATO_CV:
        return "rubato"
    return "steady"


def reversals(bpm: np.ndarray) -> int:
    """(B-1,) tempo curve in BPM -> how many times it turns: moves back by REVERSAL from its last extreme."""
    turns, direction, extreme = 0, 0, float(bpm[0]) if len(bpm) else 0.0
    for value in map(float, bpm):
        if direction >= 0 and value < extreme * (1 - REVERSAL):  # falling back from a peak (or the start)
            turns, direction, extreme = turns + (direction > 0), -1, value
        elif direction <= 0 and value > extreme * (1 + REVERSAL):  # rising back from a trough (or the start)
            turns, direction, extreme = turns + (direction < 0), 1, value
        elif (direction > 0 and value > extreme) or (direction < 0 and value < extreme):
            extreme = value
    return turns


def score_beat_grid(anchor_q: np.ndarray, beat_q: float) -> np.ndarray:
    """(B,) notated beat positions in quarters spanned by the aligned anchors."""
    first = np.ceil(anchor_q[0] / beat_q - 1e-6) * beat_q
    return np.arange(first, anchor_q[-1] + 1e-6, beat_q)


def score_beats(anchor_q: np.ndarray, anchor_t: np.ndarray, beat_q: float) -> np.ndarray:
    """Aligned anchors (quarters, seconds) -> (B,) performed times of the notated beats (score_beat_grid).

    Each beat's time is a local straight-line fit of the anchors within SMOOTH_BEATS beats of it:
    averaging several onsets removes the ~10 ms scatter of single notes, which would otherwise
    read as beat-to-beat tempo variation, while phrase-length tempo changes survive.
    """
    grid = score_beat_grid(anchor_q, beat_q)
    times = np.interp(grid, anchor_q, anchor_t)
    for i, q in enumerate(grid):
        near = np.abs(anchor_q - q) <= SMOOTH_BEATS * beat_q
        if near.sum() >= 3 and np.ptp(anchor_q[near]) > 0:
            slope, intercept = np.polyfit(anchor_q[near], anchor_t[near], 1)
            times[i] = slope * q + intercept
    # The fit never reorders beats unless anchors are wildly inconsistent; keep the result monotonic.
    return np.maximum.accumulate(times)


def grid_jitter_ms(onsets: np.ndarray, beats: np.ndarray) -> float:
    """(N,) onsets and (B,) beats in s -> RMS distance (ms) of the onsets inside the beat span to the nearest
    point of an even subdivision of each beat: how evenly the notes sit on the pulse without a score.

    The subdivision (4 for duple sixteenths, 6 for triplets) is the one the onsets fit best.
    """
    return min((_grid_distance_ms(onsets, beats, n) for n in GRID_SUBDIVISIONS), default=0.0)


def _grid_distance_ms(onsets: np.ndarray, beats: np.ndarray, subdivisions: int) -> float:
    if len(beats) < 2:
        return 0.0
    pairs = zip(beats[:-1], beats[1:], strict=True)
    grid = np.concatenate([np.linspace(a, b, subdivisions, endpoint=False) for a, b in pairs])
    grid = np.append(grid, beats[-1])
    inside = onsets[(onsets >= beats[0]) & (onsets <= beats[-1])]
    if len(inside) == 0:
        return 0.0
    idx = np.clip(np.searchsorted(grid, inside), 1, len(grid) - 1)
    dist = np.minimum(np.abs(grid[idx] - inside), np.abs(grid[idx - 1] - inside))
    return float(np.sqrt(np.mean(dist**2)) * 1000)


def score_jitter_ms(played_s: np.ndarray, notated_q: np.ndarray, beats: np.ndarray, beat_grid_q: np.ndarray) -> float:
    """Spread (ms) of played onsets around their notated positions on the performed beat grid (the smoothed
    tempo curve, linear within a beat), over notes played as written: (K,) seconds and (K,) quarters."""
    if len(beats) < 2 or len(played_s) == 0:
        return 0.0
    inside = (notated_q >= beat_grid_q[0]) & (notated_q <= beat_grid_q[-1])
    if not inside.any():
        return 0.0
    deviation = played_s[inside] - np.interp(notated_q[inside], beat_grid_q, beats)
    # RMS of the closest 90%: a few notes the alignment paired wrongly, or chords spread on purpose, must not
    # dominate the measure of evenness (a median-based spread would collapse on the 11.6 ms onset frames).
    spread = np.sort(np.abs(deviation - np.median(deviation)))
    kept = spread[: max(1, int(np.ceil(JITTER_KEEP * len(spread))))]
    return float(np.sqrt(np.mean(kept**2)) * 1000)
