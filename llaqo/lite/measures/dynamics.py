"""Loudness: an RMS level curve in dBFS for the eye, and per-segment note levels for the label.

A segment is a notated bar when a score is given, otherwise a group of tracked beats. A note's
level is the peak of its own pitch's harmonic bands (spectral.Envelopes) just after its onset,
so that texture (how many notes sound) and the resonance of earlier notes do not pass for
dynamics. A segment's level is the power mean of its notes' levels: a bar sounds as loud as its
loud notes, and a few faint spurious notes barely move it.

In a live room a recorder's automatic gain may have evened the levels out; there the trend is also read from the
levels with the estimated gain taken out (hearing.gain, trend_through_gain), and where the take opens as through a
gain (hearing.gain.opens_through_a_gain) its steps and contrasts too (label_through_gain).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from llaqo.lite.config import LITE
from llaqo.lite.hearing import gain
from llaqo.lite.hearing.spectral import Envelopes

CURVE_HOP_S = 0.1  # one loudness point every 100 ms
FRAME_S = 0.2  # RMS window
ATTACK_S = 0.09  # a note's level is its band peak within this time of the onset
FLOOR_DB = -80.0  # level of digital silence
# Label thresholds on segment levels in dB. The perfbench definitions are in velocity units (flat <= 12,
# cresc >= 25 with r >= 0.8, steps >= 18, wide >= 50); a piano's attack level rises about 0.25 dB per unit.
# Flat: a spread under LITE.flat_db (llaqo.lite.config); the advice and the class view read the label.
TREND_DB = 5.0
RANGE_PERCENTILES = (10, 90)  # the soft and the loud end of a take's segment levels (level_range)
TREND_R = 0.8
# In a live room or through a phone's automatic gain a bar's level carries less of the played change: the gain follows
# the level and the echo fills the soft bars (the everyday set's phone copies: 0.10 dB a velocity unit against 0.25
# on the clean takes, bench/RESULTS.md). A consistent trend this large then counts, below the flat spread.
LIVE_TREND_DB = 4.0
# ... and in the silence before the music the gain is fully up, so the first attack comes in loud until it turns down:
# the everyday tuning half's first notes sound 8.2 dB (median) over the next 3 s of notes on the phone copies, 2.7 dB
# on the clean takes, 0.0 in the hall rendering. A live take's recorded levels leave out the notes this close to the
# first onset (a chord's spread); the gain estimate (hearing.gain) corrects them instead.
FIRST_ATTACK_S = 0.1
STEP_DB = 4.0
# Through an evident gain a take is flat when its gain-corrected segment levels span less than this from the soft to
# the loud end (level_range). The estimate is rough a note (bench/RESULTS.md: 5 velocity units a bar), so one odd bar
# widens max - min; the everyday tuning half's phone copies: flat takes 2.0-5.2 dB (one 9.8), terraced 8.1-11.4;
# every value from 6 to 8 read the same there.
GAINED_FLAT_DB = 7.0
# ... and wide-contrast only from this range on. The estimate reads a velocity unit as 0.25-0.43 dB (median 0.29-0.34
# on the three everyday tuning halves' phone copies; 0.26 for the dry levels), steeper and noisier on TimGM6mb, so a
# terrace's 28 units spread up to 14.0 dB there, over the dry WIDE_RANGE_DB; wide-contrast takes (50-60 units)
# 14.4-22.3 dB. Every value from 14.0 to 14.4 read the same on those halves (13, the midpoint of 28 and 55 units
# at 0.30 dB, left two TimGM6mb terraces wide). Steps between the rough gained segments are no evidence of contrast.
GAINED_WIDE_DB = 14.0
WIDE_DB = 13.0
# The soft-to-loud range (level_range: 90th minus 10th percentile) from which a take reads wide-contrast before its
# steps are counted. The everyday tuning half and perfbench dev: terraced takes span 7.3-10.9 dB, the tuning half's
# wide-contrast ones 12.1-16.0 (dev's d07 10.7-11.7 and d03 7.1-9.7, which their steps still tell); any value from
# 11 to 12 read the same there.
WIDE_RANGE_DB = 11.5
TERRACE_STEP_SHARE = 0.6  # terraced takes step at fewer than 60% of segment boundaries
# A narrow spread is still terraced when the level steps between plateaus this often: a SoundFont whose samples
# differ in brightness compresses a 35-velocity terrace to ~7 dB (bench/RESULTS.md, FluidR3 d04), while flat
# takes measured up to 8 dB but never stepped between plateaus more than once.
MIN_PLATEAU_STEPS = 2
TRENDS = ("crescendo", "decrescendo")


@dataclass(frozen=True)
class Dynamics:
    """curve: (T, 2) [time_s, dBFS]; segments: (S, 3) [start_s, end_s, note level dB (relative, not dBFS)]."""

    curve: np.ndarray
    segments: np.ndarray
    range_db: float
    label: str
    segment_kind: str
    """"bar" or "beats"."""
    through_gain: bool = False
    """The label was read from the levels with a recorder's estimated gain taken out (hearing.gain)."""

    @property
    def segment_name(self) -> str:
        """The segment in words, for plots and summaries: "bar" or "beat group"."""
        return "bar" if self.segment_kind == "bar" else "beat group"

    def to_json(self) -> dict:
        return {
            "range_db": round(self.range_db, 1),
            "curve": [[round(t, 2), round(d, 1)] for t, d in self.curve],
            "segments": [[round(a, 3), round(b, 3), round(d, 1)] for a, b, d in self.segments],
            "segment_kind": self.segment_kind,
            "label": self.label,
            "through_gain": self.through_gain,
        }


def loudness_curve(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """(samples,) mono -> (T, 2) [time_s, RMS level in dBFS] every CURVE_HOP_S."""
    import librosa

    hop = int(CURVE_HOP_S * sample_rate)
    rms = librosa.feature.rms(y=wave, frame_length=int(FRAME_S * sample_rate), hop_length=hop, center=True)[0]
    db = np.maximum(20 * np.log10(np.maximum(rms, 1e-12)), FLOOR_DB)
    return np.stack([np.arange(len(db)) * CURVE_HOP_S, db], axis=1)


def note_levels(env: Envelopes, notes: np.ndarray) -> np.ndarray:
    """(N, 4) notes -> (N,) attack level of each note in dB (band power of its own pitch)."""
    fr = env.frame_rate
    width = max(int(ATTACK_S * fr), 1)
    return np.array(
        [env.of(int(p))[int(on * fr) : int(on * fr) + width].max(initial=FLOOR_DB) for on, _, p, _ in notes]
    )


def power_mean(levels: np.ndarray) -> float:
    """(n,) levels in dB -> their power mean in dB: as loud as the loud notes, barely moved by a few faint ones."""
    return float(10 * np.log10(np.mean(10 ** (levels / 10))))


def segment_levels(
    levels: np.ndarray, onsets: np.ndarray, bounds: np.ndarray, average: Callable[[np.ndarray], float] = power_mean
) -> np.ndarray:
    """(N,) note levels in dB, (N,) onsets and (S+1,) segment boundaries in s -> (S', 3) [start, end, level dB],
    a segment's level the `average` of its notes'.

    Segments without a note are left out.
    """
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        inside = (onsets >= a) & (onsets < b)
        if inside.any():
            rows.append((a, b, float(average(levels[inside]))))
    return np.array(rows, dtype=float).reshape(-1, 3)


def plateau_steps(levels: np.ndarray) -> int:
    """(S,) segment levels in dB -> boundaries where the two segments after differ from the two before by
    STEP_DB or more on average: steps between plateaus, which one odd segment (a spike) does not make."""
    return sum(abs(levels[k : k + 2].mean() - levels[k - 2 : k].mean()) >= STEP_DB for k in range(2, len(levels) - 1))


def dynamics_label(levels: np.ndarray, live: bool = False) -> str:
    """(S,) segment levels in dB -> flat / crescendo / decrescendo / terraced / wide-contrast. live: the take was
    heard through a live room or an automatic gain (see LIVE_TREND_DB)."""
    if len(levels) < 2:
        return "flat"
    spread = float(levels.max() - levels.min())
    r = float(np.corrcoef(np.arange(len(levels)), levels)[0, 1]) if spread > 0 else 0.0
    change = float(levels[-1] - levels[0])
    if live and abs(change) >= LIVE_TREND_DB and abs(r) >= TREND_R and len(levels) >= 3:
        return "crescendo" if change > 0 else "decrescendo"
    if spread < LITE.flat_db:
        return "terraced" if plateau_steps(levels) >= MIN_PLATEAU_STEPS else "flat"
    if change >= TREND_DB and r >= TREND_R:
        return "crescendo"
    if change <= -TREND_DB and r <= -TREND_R:
        return "decrescendo"
    # A range this wide between the soft and the loud segments is contrast, however many of its changes are steps:
    # a nocturne's swells and a waltz's accents, whose loud and soft bars come in runs, read as terraces before.
    if level_range(levels) >= WIDE_RANGE_DB:
        return "wide-contrast"
    steps = np.abs(np.diff(levels)) >= STEP_DB
    # Terraces are plateaus joined by a few steps; wide contrast changes level at most segment boundaries
    # (swells, subito changes, accents). The share of steps tells them apart whatever the instrument's
    # loudness range, which moves the spread in dB.
    if steps.sum() >= 2 and steps.mean() < TERRACE_STEP_SHARE:
        return "terraced"
    if spread >= WIDE_DB or steps.mean() >= TERRACE_STEP_SHARE:
        return "wide-contrast"
    # Neither trend, segment-to-segment steps nor a wide range: plateaus that step gradually (over a segment
    # boundary or two) are terraced, else the nearer of "flat" and "wide-contrast".
    if plateau_steps(levels) >= MIN_PLATEAU_STEPS:
        return "terraced"
    return "flat" if spread < (LITE.flat_db + WIDE_DB) / 2 else "wide-contrast"


def analyse_dynamics(
    curve: np.ndarray,
    levels: np.ndarray,
    onsets: np.ndarray,
    bounds: np.ndarray,
    segment_kind: str,
    ungained: np.ndarray | None = None,
) -> Dynamics:
    """Loudness curve, (N,) note levels and onsets, and segment boundaries (s) -> Dynamics.

    ungained: for a take heard through a live room and a recorder's gain, (N,) the note levels with the estimated
    gain taken out (hearing.gain); None for a dry take, whose label rests on `levels` alone."""
    recorded = slice(None) if ungained is None or len(onsets) == 0 else onsets >= onsets.min() + FIRST_ATTACK_S
    segments = segment_levels(levels[recorded], onsets[recorded], bounds)
    seg_levels = segments[:, 2]
    label, through_gain = dynamics_label(seg_levels, ungained is not None), False
    if ungained is not None:
        gained = gained_levels(ungained, onsets, bounds)
        trend = trend_through_gain(gained)
        if trend is not None:
            label, through_gain = trend, True
        elif label not in TRENDS and len(onsets) and gain.opens_through_a_gain(curve, float(onsets.min())):
            label, through_gain = label_through_gain(gained), True
    return Dynamics(curve, segments, level_range(seg_levels), label, segment_kind, through_gain)


def gained_levels(ungained: np.ndarray, onsets: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(N,) note levels with a recorder's estimated gain taken out, (N,) onsets, (S+1,) bounds in s -> (S',) their
    segment levels. A segment's level is the median of its notes': the gain at a single onset is a rough estimate."""
    return segment_levels(ungained, onsets, bounds, np.median)[:, 2]


def trend_through_gain(levels: np.ndarray) -> str | None:
    """(S,) segment levels with the estimated gain taken out (gained_levels) -> "crescendo" or "decrescendo" when
    they read so by the dry take's rules, else None.

    Only the trend is taken from them: a gain estimated where there was none (a hall: hearing.gain) widens the
    spread, so flat, terraced and contrasting takes would read wider, but a steady rise stays a rise."""
    label = dynamics_label(levels)
    return label if label in TRENDS else None


def label_through_gain(levels: np.ndarray) -> str:
    """(S,) segment levels with the estimated gain taken out (gained_levels) -> their label, flat when their range
    is under GAINED_FLAT_DB, wide-contrast only from GAINED_WIDE_DB (terraced below it).

    For a take whose gain is evident (hearing.gain.opens_through_a_gain): the gain shrinks a terrace's steps and a
    contrast's range under the dry thresholds, which the estimate gives back."""
    spread = level_range(levels)
    if spread < GAINED_FLAT_DB:
        return "flat"
    label = dynamics_label(levels)
    return "terraced" if label == "wide-contrast" and spread < GAINED_WIDE_DB else label


def level_range(levels: np.ndarray) -> float:
    """(S,) segment levels -> the dynamic range in dB, from the soft end (RANGE_PERCENTILES[0]) to the loud end.

    Not max - min: one stray segment (a bar of transcribed ghost notes in a noisy room, a beat group the grid cut
    short) moved that by up to 12 dB between the same take with a score (its bars, its notes) and without one
    (the heard bars or beat groups, every note heard), where the soft and loud ends agree within 3 dB on the
    perfbench dev takes (bench/RESULTS.md)."""
    if len(levels) == 0:
        return 0.0
    soft, loud = np.percentile(levels, RANGE_PERCENTILES)
    return float(loud - soft)
