"""Compare a take with a reference recording: align the two, then measure, segment by segment, where the
take was slower, softer or less even than the reference.

With a score both recordings are aligned to it, so their bar times pair up (bar 5 starts at 8.1 s in the
reference and 9.0 s in the take). Without one, the two recordings are aligned to each other by dynamic time
warping on chroma plus onset-chroma features, the features of synctoolbox's multi-resolution DTW, computed
with librosa (synctoolbox itself pins an older numba and pulls in IPython, music21 and pandas).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from llaqo.lite import analysis
from llaqo.lite.analysis import Analysis
from llaqo.lite.measures import bars

HOP = 256  # DTW frames every 11.6 ms at 22050 Hz; the path's staircase stays well below 50 ms
N_FFT = 4096  # 186 ms windows resolve semitones down to the bass octave
MAX_CELLS = 25e6  # largest DTW cost matrix (200 MB of float64); longer pairs use a coarser hop
ONSET_WEIGHT = 1.0  # onset-chroma against chroma in the DTW cost: onsets place notes, chroma tells which
CHROMA_FLOOR = 1e-3  # added before normalising, so silence reads as "all pitch classes, equally weak"
MIN_COMMON_BARS = 2  # fewer bars in common than this: the bar alignment cannot be trusted; use the audio


@dataclass(frozen=True)
class TimeMap:
    """Corresponding times: points (K, 2) rows [reference_s, take_s], both non-decreasing."""

    points: np.ndarray
    method: str
    """"bars" (both aligned to the score) or "audio" (chroma DTW of the two recordings)."""

    def take_time(self, reference_s: np.ndarray | float) -> np.ndarray:
        """Reference times -> the take's times at the same place in the music."""
        return np.interp(reference_s, *_unique(self.points[:, 0], self.points[:, 1]))

    def reference_time(self, take_s: np.ndarray | float) -> np.ndarray:
        return np.interp(take_s, *_unique(self.points[:, 1], self.points[:, 0]))


def _unique(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A DTW staircase -> one y (the mean) per distinct x, for interpolation."""
    xs, inverse = np.unique(x, return_inverse=True)
    return xs, np.bincount(inverse, weights=y) / np.bincount(inverse)


def sync_features(wave: np.ndarray, sample_rate: int, hop: int) -> np.ndarray:
    """(samples,) mono -> (24, F) features per hop: L2-normalised chroma and onset-chroma (the rise of each
    pitch class's log energy), as in synctoolbox's chroma + DLNCO features."""
    import librosa

    chroma = librosa.feature.chroma_stft(y=wave, sr=sample_rate, hop_length=hop, n_fft=N_FFT, norm=None)
    log_chroma = np.log1p(100 * chroma / max(float(chroma.max()), 1e-9))
    onset = np.maximum(np.diff(log_chroma, axis=1, prepend=log_chroma[:, :1]), 0)
    return np.concatenate([_normalise(log_chroma), ONSET_WEIGHT * _normalise(onset)])


def _normalise(x: np.ndarray) -> np.ndarray:
    x = x + CHROMA_FLOOR
    return x / np.linalg.norm(x, axis=0, keepdims=True)


def align_audio(reference: np.ndarray, take: np.ndarray, sample_rate: int) -> TimeMap:
    """Two (samples,) mono recordings of the same music -> TimeMap by DTW on sync_features.

    The hop grows for long recordings so that the cost matrix stays under MAX_CELLS.
    """
    import librosa

    frames = (len(reference) / HOP) * (len(take) / HOP)
    hop = HOP * max(1, math.ceil(math.sqrt(frames / MAX_CELLS)))
    x, y = sync_features(reference, sample_rate, hop), sync_features(take, sample_rate, hop)
    _, path = librosa.sequence.dtw(X=x, Y=y, metric="euclidean", backtrack=True)
    # Frame i covers [i*hop - n_fft/2, i*hop + n_fft/2] (centred), so frame times are i * hop / sr.
    points = path[::-1].astype(float) * hop / sample_rate
    return TimeMap(points, "audio")


def align_bars(reference: Analysis, take: Analysis) -> TimeMap | None:
    """Both recordings aligned to one score -> TimeMap through their common notated beats, or None when they
    share fewer than MIN_COMMON_BARS bars.

    Within each common bar the two recordings' score beats pair up in order (both count the bar's notated
    beats); a bar whose beat counts differ (at the edge of the played section) contributes its start only.
    """
    if reference.score is None or take.score is None:
        return None
    ref_bars = {b.bar: b for b in reference.score.bars}
    common = [(ref_bars[b.bar], b) for b in take.score.bars if b.bar in ref_bars]
    if len(common) < MIN_COMMON_BARS:
        return None
    points = []
    for ref_bar, take_bar in common:
        ref_beats = _beats_in(reference.tempo.beats, ref_bar.start_s, ref_bar.end_s)
        take_beats = _beats_in(take.tempo.beats, take_bar.start_s, take_bar.end_s)
        if len(ref_beats) and len(ref_beats) == len(take_beats):
            points += list(zip(ref_beats, take_beats, strict=True))
        else:
            points.append((ref_bar.start_s, take_bar.start_s))
    points.append((common[-1][0].end_s, common[-1][1].end_s))
    points = np.maximum.accumulate(np.array(points), axis=0)
    return TimeMap(points, "bars")


def _beats_in(beats: np.ndarray, start: float, end: float) -> np.ndarray:
    """Beats in [start, end), with a tolerance for the bar line falling a hair before its downbeat."""
    tolerance = 0.05 * (end - start)
    return beats[(beats >= start - tolerance) & (beats < end - tolerance)]


@dataclass(frozen=True)
class Segment:
    """One stretch of the music in both recordings: a bar (with a score) or a group of reference beats.

    bpm: tempo; level_db: loudness relative to the recording's own overall level (recordings are made at
    different gains, so only relative levels compare); cv_pct: beat-interval variation (None: < 3 beats).
    """

    label: int | None
    """The bar number, or None without a score."""
    reference_s: tuple[float, float]
    take_s: tuple[float, float]
    reference_bpm: float
    take_bpm: float
    reference_level_db: float
    take_level_db: float
    reference_cv_pct: float | None
    take_cv_pct: float | None

    @property
    def tempo_pct(self) -> float:
        """How much faster (+) or slower (-) the take was, in % of the reference's tempo."""
        return 100.0 * (self.take_bpm / self.reference_bpm - 1.0)

    @property
    def level_diff_db(self) -> float:
        return self.take_level_db - self.reference_level_db

    @property
    def cv_diff(self) -> float | None:
        if self.reference_cv_pct is None or self.take_cv_pct is None:
            return None
        return self.take_cv_pct - self.reference_cv_pct


@dataclass(frozen=True)
class Comparison:
    """A take against a reference: the time map, the segments, and the overall numbers."""

    reference: Analysis
    take: Analysis
    time_map: TimeMap
    segments: list[Segment]
    reference_bpm: float
    take_bpm: float

    @property
    def by_bar(self) -> bool:
        return self.time_map.method == "bars"

    def to_json(self) -> dict:
        return {
            "reference": self.reference.name,
            "take": self.take.name,
            "method": self.time_map.method,
            "reference_bpm": round(self.reference_bpm, 1),
            "take_bpm": round(self.take_bpm, 1),
            "segments": [
                {
                    "bar": s.label,
                    "reference_s": [round(t, 3) for t in s.reference_s],
                    "take_s": [round(t, 3) for t in s.take_s],
                    "reference_bpm": round(s.reference_bpm, 1),
                    "take_bpm": round(s.take_bpm, 1),
                    "reference_level_db": round(s.reference_level_db, 1),
                    "take_level_db": round(s.take_level_db, 1),
                    "reference_cv_pct": None if s.reference_cv_pct is None else round(s.reference_cv_pct, 1),
                    "take_cv_pct": None if s.take_cv_pct is None else round(s.take_cv_pct, 1),
                }
                for s in self.segments
            ],
        }


def compare_takes(reference: Analysis, take: Analysis) -> Comparison:
    """Two analysed recordings -> Comparison: by bars when both were aligned to a score, else by audio DTW (on the
    waves the analyses kept)."""
    time_map = align_bars(reference, take)
    if time_map is None:
        time_map = align_audio(reference.wave, take.wave, analysis.ANALYSIS_RATE)
    return compare(reference, take, time_map)


def compare(reference: Analysis, take: Analysis, time_map: TimeMap) -> Comparison:
    """Segment the music (bars, or groups of reference beats) and measure each segment in both recordings."""
    if time_map.method == "bars":
        ref_bars = {b.bar: b for b in reference.score.bars}
        spans = [(b.bar, ref_bars[b.bar].start_s, ref_bars[b.bar].end_s) for b in take.score.bars if b.bar in ref_bars]
    else:
        spans = [(None, a, b) for a, b in _beat_groups(reference)]
    ref_overall, take_overall = _overall_level(reference), _overall_level(take)
    segments = []
    for label, a, b in spans:
        take_a, take_b = (float(t) for t in time_map.take_time(np.array([a, b])))
        if b - a <= 0 or take_b - take_a <= 0:
            continue
        ref_bpm = _segment_bpm(reference, a, b)
        take_bpm = ref_bpm * (b - a) / (take_b - take_a)  # the same music took longer: slower, in proportion
        if time_map.method == "bars":
            take_bpm = _segment_bpm(take, take_a, take_b) or take_bpm
        if not ref_bpm:
            continue
        segments.append(
            Segment(
                label=label,
                reference_s=(a, b),
                take_s=(take_a, take_b),
                reference_bpm=ref_bpm,
                take_bpm=take_bpm,
                reference_level_db=_level(reference, a, b) - ref_overall,
                take_level_db=_level(take, take_a, take_b) - take_overall,
                reference_cv_pct=_cv_pct(reference.tempo.beats, a, b),
                take_cv_pct=_cv_pct(take.tempo.beats, take_a, take_b),
            )
        )
    if segments:
        ref_span = segments[-1].reference_s[1] - segments[0].reference_s[0]
        take_span = segments[-1].take_s[1] - segments[0].take_s[0]
    else:
        ref_span = take_span = 1.0
    ref_bpm = reference.tempo.bpm
    take_bpm = take.tempo.bpm if time_map.method == "bars" else ref_bpm * ref_span / take_span
    return Comparison(reference, take, time_map, segments, ref_bpm, take_bpm)


def _beat_groups(a: Analysis) -> list[tuple[float, float]]:
    """Reference segments without a score: groups of BEATS_PER_SEGMENT tracked beats, else SEGMENT_S windows
    (llaqo.lite.measures.bars), as the take's own analysis."""
    beats = a.tempo.beats
    if len(beats) > 2 * bars.BEATS_PER_SEGMENT:
        bounds = beats[:: bars.BEATS_PER_SEGMENT]
    else:
        first, last = (a.notes[0, 0], a.notes[:, 1].max()) if len(a.notes) else (0.0, a.duration_s)
        bounds = np.arange(first, last + 1e-6, bars.SEGMENT_S)
    return [(float(x), float(y)) for x, y in zip(bounds[:-1], bounds[1:], strict=True)]


def _segment_bpm(a: Analysis, start: float, end: float) -> float:
    """Median beat tempo inside [start, end) in s; without beats there, 60 / the beat interval at the start."""
    curve = a.tempo.curve
    inside = (curve[:, 0] >= start - 1e-3) & (curve[:, 0] < end - 1e-3)
    if inside.any():
        return float(np.median(curve[inside, 1]))
    if len(curve):
        return float(np.interp(start, curve[:, 0], curve[:, 1]))
    return 0.0


def _power_mean_db(db: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(10 ** (db / 10)))) if len(db) else float("nan")


def _level(a: Analysis, start: float, end: float) -> float:
    """Power-mean RMS level (dBFS) of the loudness curve inside [start, end]."""
    curve = a.dynamics.curve
    return _power_mean_db(curve[(curve[:, 0] >= start) & (curve[:, 0] <= end), 1])


def _overall_level(a: Analysis) -> float:
    """Power-mean RMS level (dBFS) from the first onset to the last note's end: the recording's own loudness."""
    if not len(a.notes):
        return _power_mean_db(a.dynamics.curve[:, 1])
    return _level(a, float(a.notes[0, 0]), float(a.notes[:, 1].max()))


def _cv_pct(beats: np.ndarray, start: float, end: float) -> float | None:
    """Beat-interval variation (%) of the beats inside [start, end], or None with fewer than 3 beats there."""
    inside = beats[(beats >= start - 1e-3) & (beats <= end + 1e-3)]
    if len(inside) < 3:
        return None
    intervals = np.diff(inside)
    return float(100 * intervals.std() / intervals.mean())
