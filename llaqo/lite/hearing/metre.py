"""Beat and metre from the played notes alone: the beat a score would most likely notate, the beats per bar
and the downbeats, for a recording analysed without its score.

Three pure steps over the transcribed notes (N, 4) [onset_s, offset_s, pitch, velocity]:

1. events(): chords (onsets within CHORD_GAP_S) with the accents a listener hears: loudness, a bass note,
   a long note, a change of harmony.
2. track_pulse(): a regular pulse through the chords at one metrical level, which follows an accelerando or a
   ritardando (llaqo.lite.hearing.pulse). It is not necessarily the notated beat.
3. infer_metre(): every hypothesis "the beat is r pulses, a bar is n beats, the first downbeat is beat p" is
   scored by how the accents fall on it (beats carry more, and stronger, chords than the points between them;
   downbeats carry the bass notes, long notes and harmony changes: llaqo.lite.hearing.downbeat), by where the
   bass line puts the beat (llaqo.lite.hearing.beat_level), plus a prior on the tempo of a notated beat. The best
   one gives the beats, the metre and the downbeats; the margin over the runner-up gives the bar grid's
   confidence, lowered when the take's two halves hear their bars elsewhere.

No maintained beat/downbeat model ships its weights offline for this stack (BeatNet needs madmom 0.16, which
predates numpy 2; beat_this downloads its checkpoints at run time), hence a clear inference over the notes,
which gets better as the transcription does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from llaqo.lite.hearing import beat_level, downbeat
from llaqo.lite.hearing import pulse as pulses

CHORD_GAP_S = 0.05  # onsets closer than this are one chord (hand asynchrony is ~10-30 ms)
SNAP_S = 0.06  # a pulse or beat moves to a chord within this distance
SUBDIVISIONS = 6  # fine grid points per pulse: halves and thirds of the pulse both fall on it
# Candidate beats, in pulses. The tracker's pulse is usually the fastest regular level (every chord on it),
# so the beat is that or a multiple; 3:2 is offered for a compound beat tracked in its quarters (a jig's eighths
# in twos), where the bass line must carry it: other 3:2 levels cut across the bass notes and score low.
BEAT_FACTORS = (1 / 3, 1 / 2, 1.0, 1.5, 2.0, 3.0, 4.0)
BEAT_PRIOR_BPM = 100.0  # notated beats centre on moderato ...
BEAT_PRIOR_OCTAVES = 0.7  # ... and rarely go beyond one octave either way (50 or 200 BPM)
LEVEL_WEIGHT = 2.0  # weight of the bass line's beat (beat_level.level_fit, 0-1) against coverage, contrast, prior
EXCESS_WEIGHT = 4.0  # weight of how much better the bass line fits a slower level through the same beats
COVERAGE_WEIGHT = 4.0  # a notated beat nearly always carries a chord: each 10% of beats without one costs 0.4
FULL_COVERAGE = 0.9  # ... but rests, held notes and tracking slips leave some beats empty: 90% counts as all
# Beat hypotheses within this of the best are judged together with their metre: chords on every other quarter
# make half notes stand out from the quarters between them, but the quarters make clearer bars (a bass note and a
# new harmony on every other beat), so both levels must be weighed with their bars.
BEAT_SHORTLIST = 0.75
# ... but not a level the bass line clearly says is too fast (its bass notes fit a slower level through the same
# beats this much better: a slow piece's eighths under a bass note on every quarter), unless it is the best:
# its bars of two would put a "downbeat" on every bass note and outscore the bass's own level.
SHORTLIST_EXCESS = 0.1
DOWNBEAT_WEIGHT = 0.25  # weight of the downbeat accents against the beat's own evidence
CONFIDENCE_SCALE = 0.5  # a downbeat score margin of this gives a confidence of 0.63
CONFIDENT = 0.5  # a bar grid at least this confident is used for bar numbers
# A grid whose downbeats one half of the take hears elsewhere (a scale, a syncopated passage, a bar dropped or
# added) is not to be trusted from the other half alone: each such half multiplies the confidence by this, which
# takes even a certain grid below CONFIDENT.
HALF_DISAGREES = 0.4
MIDDLE_PERCENTILE = 65  # the accompaniment's notes (a bass and chords, twice the melody's) lie below this
MIN_CHORDS = 8  # fewer chords than this cannot show a metre


@dataclass(frozen=True)
class Events:
    """Chords of the performance and their accents.

    time: (E,) onset in s; salience: (E,) how strongly each is heard as a beat (loudness, bass, length, notes);
    loud, bass, long: (E,) accent features in [0, 1]; classes: (E, 12) pitch-class weights of the notes
    starting in the chord; low, high: (E,) MIDI pitch of its lowest and highest note.
    """

    time: np.ndarray
    salience: np.ndarray
    loud: np.ndarray
    bass: np.ndarray
    long: np.ndarray
    classes: np.ndarray
    low: np.ndarray
    high: np.ndarray
    middle: float


@dataclass(frozen=True)
class Metre:
    """The inferred beat and bar grid.

    beats: (B,) times in s of the notated beat; downbeats: (D,) times in s of the first beat of each bar
    beats_per_bar: 2, 3 or 4; compound: the beat divides in three (6/8, 9/8, 12/8)
    beat_unit / alt_unit: the notated beat in words ("quarter", "dotted quarter") and the other level a
    listener might count ("eighth", "half"); alt_factor: the alternative's tempo over the beat's
    confidence: 0-1, how clearly the accents single out this bar grid among the other metres and phases
    """

    beats: np.ndarray
    downbeats: np.ndarray
    beats_per_bar: int
    compound: bool
    beat_unit: str
    alt_unit: str
    alt_factor: float
    confidence: float

    @property
    def name(self) -> str:
        """The time signature a score would most likely carry: "3/4", "6/8" ..."""
        return f"{3 * self.beats_per_bar}/8" if self.compound else f"{self.beats_per_bar}/4"

    @property
    def confident(self) -> bool:
        return self.confidence >= CONFIDENT

    def bar_bounds(self, end_s: float) -> np.ndarray:
        """(D+1,) bar boundaries in s: every downbeat, then the next one (or end_s when that is later)."""
        if len(self.downbeats) == 0:
            return np.zeros(0)
        bar = float(np.median(np.diff(self.downbeats))) if len(self.downbeats) > 1 else 0.0
        return np.append(self.downbeats, max(self.downbeats[-1] + bar, min(end_s, self.downbeats[-1] + 2 * bar)))

    def bar_at(self, times: np.ndarray) -> np.ndarray:
        """(n,) times in s -> (n,) bar numbers counted from 1 at the first downbeat (0: before it)."""
        return np.searchsorted(self.downbeats, np.asarray(times, dtype=float) + 1e-6, side="right")

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "beats_per_bar": self.beats_per_bar,
            "compound": self.compound,
            "beat_unit": self.beat_unit,
            "alternative": {"unit": self.alt_unit, "factor": round(self.alt_factor, 3)},
            "confidence": round(self.confidence, 2),
            "downbeats_s": [round(float(t), 3) for t in self.downbeats],
        }


def events(notes: np.ndarray) -> Events:
    """(N, 4) notes sorted by onset -> Events, one per chord (onsets within CHORD_GAP_S)."""
    onsets = notes[:, 0]
    group = np.concatenate([[0], np.cumsum(np.diff(onsets) > CHORD_GAP_S)]) if len(notes) else np.zeros(0, int)
    n = int(group.max()) + 1 if len(notes) else 0
    low_pitch = np.percentile(notes[:, 2], 25) if len(notes) else 0.0
    time, loud, bass, long, classes = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros((n, 12))
    low, high = np.zeros(n), np.zeros(n)
    for g in range(n):
        chord = notes[group == g]
        time[g] = float(np.median(chord[:, 0]))
        low[g], high[g] = float(chord[:, 2].min()), float(chord[:, 2].max())
        loud[g] = float(chord[:, 3].max()) / 127.0
        bass[g] = float(chord[:, 2].min() <= low_pitch)
        long[g] = float(np.clip(np.log2(max(float((chord[:, 1] - chord[:, 0]).max()), 1e-3) / 0.125) / 4, 0, 1))
        np.add.at(classes[g], chord[:, 2].astype(int) % 12, 1.0)
    salience = loud * (1.0 + 0.5 * bass + 0.5 * long + 0.5 * np.log2(classes.sum(axis=1)))
    middle = float(np.percentile(notes[:, 2], MIDDLE_PERCENTILE)) if n else 60.0
    return Events(time, salience, loud, bass, long, classes, low, high, middle)


def track_pulse(ev: Events) -> np.ndarray:
    """Events -> (P,) pulse times in s, each on a chord within SNAP_S (llaqo.lite.hearing.pulse)."""
    return pulses.track_pulse(ev.time, ev.salience, lambda times: snap(times, ev.time))


def snap(times: np.ndarray, chords: np.ndarray, reach: float = SNAP_S) -> np.ndarray:
    """(B,) times and (E,) sorted chord times -> (B,) each moved to the nearest chord within reach."""
    if len(chords) == 0 or len(times) == 0:
        return times
    idx = np.clip(np.searchsorted(chords, times), 1, len(chords) - 1) if len(chords) > 1 else np.zeros(len(times), int)
    left, right = chords[np.maximum(idx - 1, 0)], chords[idx]
    nearest = np.where(np.abs(left - times) <= np.abs(right - times), left, right)
    return np.where(np.abs(nearest - times) <= reach, nearest, times)


def fine_grid(pulse: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    """(P,) pulse times -> (G,) SUBDIVISIONS points per pulse, extended at the local period to cover
    [start_s, end_s] (a pickup before the first pulse, a last chord after the last)."""
    period_first = pulse[1] - pulse[0]
    period_last = pulse[-1] - pulse[-2]
    before = int(np.ceil(max(pulse[0] - start_s, 0) / period_first + 1e-6))
    after = int(np.ceil(max(end_s - pulse[-1], 0) / period_last + 1e-6))
    full = np.concatenate(
        [pulse[0] - period_first * np.arange(before, 0, -1), pulse, pulse[-1] + period_last * np.arange(1, after + 1)]
    )
    steps = np.arange(SUBDIVISIONS) / SUBDIVISIONS
    grid = (full[:-1, None] + np.diff(full)[:, None] * steps[None, :]).ravel()
    return np.append(grid, full[-1])


def grid_features(grid: np.ndarray, ev: Events) -> dict[str, np.ndarray]:
    """(G,) grid times and Events -> per grid point: on (a chord there), salience, loud, bass, long (0 without
    a chord), change (how far the harmony of the next pulse differs from the previous one's, 0-1) and accent
    (a chord the bass line says a beat starts on: llaqo.lite.hearing.beat_level) and bass_line (its bass notes)."""
    unit = np.diff(grid, append=grid[-1] + (grid[-1] - grid[-2]))
    idx = np.clip(np.searchsorted(grid, ev.time), 1, len(grid) - 1)
    nearest = np.where(np.abs(grid[idx - 1] - ev.time) <= np.abs(grid[idx] - ev.time), idx - 1, idx)
    inside = np.abs(grid[nearest] - ev.time) <= np.maximum(0.5 * unit[nearest], 0.03)
    out = {key: np.zeros(len(grid)) for key in ("on", "salience", "loud", "bass", "long")}
    for key, values in (("salience", ev.salience), ("loud", ev.loud), ("bass", ev.bass), ("long", ev.long)):
        np.maximum.at(out[key], nearest[inside], values[inside])
    out["on"][nearest[inside]] = 1.0
    marked, bass_line = beat_level.accents(ev.time, ev.low, ev.high, ev.classes.sum(axis=1), ev.middle)
    out["accent"], out["bass_line"] = np.zeros(len(grid)), np.zeros(len(grid))
    out["accent"][nearest[marked & inside]] = 1.0
    out["bass_line"][nearest[bass_line & inside]] = 1.0
    classes = np.zeros((len(grid), 12))
    np.add.at(classes, nearest[inside], ev.classes[inside])
    window = np.ones(SUBDIVISIONS)
    after = np.stack([np.convolve(classes[:, c], window)[SUBDIVISIONS - 1 :] for c in range(12)], axis=1)
    before = np.vstack([np.zeros((SUBDIVISIONS, 12)), after[:-SUBDIVISIONS]])
    norm = np.linalg.norm(after, axis=1) * np.linalg.norm(before, axis=1)
    similarity = np.where(norm > 0, (after * before).sum(axis=1) / np.maximum(norm, 1e-9), 1.0)
    out["change"] = np.where(out["on"] > 0, 1.0 - similarity, 0.0)
    return out


def _beat_score(feat: dict[str, np.ndarray], grid: np.ndarray, step: int, phase: int) -> tuple[float, float]:
    """How well beats every `step` grid points from `phase` fit the chords: coverage, accent contrast, prior; and
    how much better the bass line fits a slower level through the same beats (0-1)."""
    on_beat = np.zeros(len(grid), dtype=bool)
    on_beat[phase::step] = True
    beats = grid[on_beat]
    if len(beats) < 3:
        return -np.inf, 0.0
    coverage = float(feat["on"][on_beat].mean())
    off = ~on_beat & (feat["on"] > 0)
    strength = float(feat["salience"][on_beat & (feat["on"] > 0)].mean()) if (on_beat & (feat["on"] > 0)).any() else 0
    # Without chords between the beats there is nothing to compare: no contrast either way.
    off_strength = float(feat["salience"][off].mean()) if off.any() else strength
    contrast = (strength - off_strength) / max(float(feat["salience"][feat["on"] > 0].mean()), 1e-9)
    bpm = 60.0 / float(np.median(np.diff(beats)))
    prior = -0.5 * (np.log2(bpm / BEAT_PRIOR_BPM) / BEAT_PRIOR_OCTAVES) ** 2
    fit = beat_level.level_fit(feat["accent"], feat["bass_line"], on_beat)
    # A level the bass line fits worse than a slower one through the same beats is too fast (a nocturne's eighths).
    # Compared by the accents' F-measure alone: a chord taken for a bass note off the slower level's beats would
    # cost that level its share of the bass notes as well, while the faster level, on every chord, loses nothing
    # (a slow 2/4's eighths then outscored its quarters).
    slower = max(
        beat_level.accent_fit(feat["accent"], _level(len(grid), k * step, phase + j * step))
        for k in (2, 3, 4)
        for j in range(k)
    )
    excess = max(slower - beat_level.accent_fit(feat["accent"], on_beat), 0.0)
    score = COVERAGE_WEIGHT * min(coverage / FULL_COVERAGE, 1.0) + contrast + prior + LEVEL_WEIGHT * fit
    return score - EXCESS_WEIGHT * excess, excess


def _level(size: int, step: int, phase: int) -> np.ndarray:
    """(size,) bool: every `step`-th grid point from `phase`."""
    on = np.zeros(size, dtype=bool)
    on[phase % step :: step] = True
    return on


def _triple_subdivision(feat: dict[str, np.ndarray], beat_idx: np.ndarray, step: int) -> bool:
    """True when the chords between beats fall on thirds of the beat more than on halves and quarters."""
    thirds = [step // 3, 2 * step // 3] if step % 3 == 0 else []
    halves = [step // 2] if step % 2 == 0 else []
    if not thirds:
        return False
    idx = beat_idx[:-1]
    third_share = float(np.mean([feat["on"][idx + o].mean() for o in thirds]))
    half_share = float(np.mean([feat["on"][idx + o].mean() for o in halves])) if halves else 0.0
    return third_share > max(half_share, 0.25)


def infer_metre(notes: np.ndarray) -> Metre | None:
    """(N, 4) notes sorted by onset -> the most likely Metre, or None with too few chords (MIN_CHORDS)."""
    ev = events(notes)
    if len(ev.time) < MIN_CHORDS:
        return None
    pulse = track_pulse(ev)
    if len(pulse) < 3:
        return None
    grid = fine_grid(pulse, float(ev.time[0]) - 0.02, float(ev.time[-1]) + 0.02)
    feat = grid_features(grid, ev)
    beat_options = []
    for factor in BEAT_FACTORS:
        step = int(round(factor * SUBDIVISIONS))
        beat_options += [(*_beat_score(feat, grid, step, phase), step, phase) for phase in range(step)]
    top = max(score for score, _, _, _ in beat_options)
    # A beat level must also make bars: in a waltz, two quarters cover the chords as well as one, but no
    # bar of half notes puts the bass notes on its downbeats. So close beat levels are judged with their metre.
    options = []
    heard = {}  # (step, phase) -> the beats played on that level and their downbeat accents
    for beat_score, excess, step, phase in beat_options:
        if beat_score < top - BEAT_SHORTLIST or (beat_score < top and excess > SHORTLIST_EXCESS):
            continue
        beats = _played_beats(grid[phase::step], ev)
        bf = downbeat.beat_features(notes, beats, SNAP_S)
        heard[step, phase] = beats, bf
        for n in downbeat.BEATS_PER_BAR:
            for first in range(n):
                score = beat_score + DOWNBEAT_WEIGHT * downbeat.downbeat_score(bf, n, first)
                options.append((score, step, phase, n, first))
    options.sort(reverse=True)
    best, step, phase, n, first = options[0]
    compound = _triple_subdivision(feat, np.arange(phase, len(grid), step), step)
    # Confidence: the margin over the best bar grid on the same beats whose downbeats are elsewhere: another first
    # downbeat, or bars of three against bars of two or four from the same one (they share only bar 1's). A bar of
    # two on the chosen bar of four's downbeats, or the reverse, is the same grid counted at another level.
    rivals = [s for s, st, ph, m, f in options[1:] if (st, ph) == (step, phase) and (f != first or math.gcd(m, n) == 1)]
    runner_up = max(rivals, default=-np.inf)
    margin = (best - runner_up) / DOWNBEAT_WEIGHT
    confidence = float(1.0 - np.exp(-max(margin, 0.0) / CONFIDENCE_SCALE)) if np.isfinite(runner_up) else 1.0
    beats, bf = heard[step, phase]
    confidence *= HALF_DISAGREES ** downbeat.halves_disagreeing(bf, n, first)
    if downbeat.harmony_every_beat(bf):
        confidence *= HALF_DISAGREES
    alt_unit, alt_factor = _alternative(compound, 60.0 / float(np.median(np.diff(beats))), n)
    return Metre(
        beats=beats,
        downbeats=beats[first::n],
        beats_per_bar=n,
        compound=compound,
        beat_unit="dotted quarter" if compound else "quarter",
        alt_unit=alt_unit,
        alt_factor=alt_factor,
        confidence=confidence,
    )


def _played_beats(grid_beats: np.ndarray, ev: Events) -> np.ndarray:
    """Beats on the (extended) grid -> those from the first chord to the last, each snapped to a chord near it."""
    beats = snap(grid_beats, ev.time)
    return beats[(beats >= ev.time[0] - SNAP_S) & (beats <= ev.time[-1] + SNAP_S)]


def _alternative(compound: bool, bpm: float, beats_per_bar: int) -> tuple[str, float]:
    """The other level a listener might count: eighths under a slow beat, a slower level over a fast one."""
    if compound:
        return ("eighth", 3.0) if bpm < 100 else ("bar", 1.0 / beats_per_bar)
    if bpm < 100:
        return "eighth", 2.0
    return ("half", 0.5) if beats_per_bar != 3 else ("bar", 1.0 / 3)
