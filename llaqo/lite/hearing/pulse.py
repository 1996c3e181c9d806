"""The pulse through the chords: a regular sequence at one metrical level, held through the take.

track_pulse() finds the sequence with the most salience by dynamic programming over (frame, period). The period
may drift by a few per cent a beat, so an accelerando or a ritardando is followed (librosa's tracker assumes one
tempo). The pulse is some metrical level, not necessarily the notated beat (llaqo.lite.hearing.metre picks that).

A faster pulse collects more chords, so where a level comes within the tracker's periods partway through (an
Alberti bass's sixteenths as a ritardando slows them below 240 a minute), or leaves them (a march's eighths as it
speeds past 240), the free pulse drifts to another level in a few beats, and the beat read from it halves or
doubles. No played tempo changes by an octave in a few beats, so such a drift is taken for a change of level:
the pulse is tracked again with its period held near the level it kept longest.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

FRAME_RATE = 100.0  # frames/s of the pulse tracker's salience curve
MIN_PULSE_S, MAX_PULSE_S = 0.25, 1.2  # the pulse tracker's periods (240 to 50 BPM)
PERIOD_STEP = 1.02  # ratio between neighbouring period states
MAX_DRIFT = 5  # the pulse may drift by this many period states (2% each) a beat: rubato moves 10% a beat
DRIFT_PENALTY = 0.1  # cost of each 2% step of drift, in units of an average chord's salience
EMPTY_BEAT_COST = 0.3  # a pulse beat without a chord costs this share of an average chord's salience
# A change of level: the pulse's period (a running median of three) moves by this many octaves within
# LEVEL_WINDOW pulses. Played tempo moves by at most 0.4 octave within eight pulses on the development sets (a
# rubato's swing, a ritardando); a drift to another level by 0.9.
LEVEL_JUMP = 0.6
LEVEL_WINDOW = 8
LEVEL_BAND = 1.5  # the held pulse's period stays within this factor of the level's period where it was left


def track_pulse(time: np.ndarray, salience: np.ndarray, snap: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """(E,) chord times in s and (E,) saliences -> (P,) pulse times in s, moved to chords by snap.

    The free pulse (any period in MIN_PULSE_S..MAX_PULSE_S); where it changes level (level_change), the pulse
    tracked again with the other side's period held within LEVEL_BAND of the longer side's where they meet.
    """
    if len(time) < 2:
        return time.copy()
    free = snap(_track(time, salience, None))
    change = level_change(free)
    if change is None:
        return free
    first, last = change
    n_frames = int(round(time.max() * FRAME_RATE)) + 2
    frame_s = np.arange(n_frames) / FRAME_RATE
    intervals = np.diff(free)
    if free[first] - free[0] >= free[-1] - free[last]:  # held from the start: hold its period after the change
        period, other = float(np.median(intervals[max(first - 2, 0) : first + 1])), frame_s > free[first]
    else:  # the end's level is held longer: hold it before the change
        period, other = float(np.median(intervals[last - 1 : last + 2])), frame_s < free[last]
    band = np.stack([np.full(n_frames, MIN_PULSE_S), np.full(n_frames, MAX_PULSE_S)])
    band[:, other] = [[period / LEVEL_BAND], [period * LEVEL_BAND]]
    return snap(_track(time, salience, band))


def level_change(pulse: np.ndarray) -> tuple[int, int] | None:
    """(P,) pulse times -> (first, last) pulse indices of the first LEVEL_WINDOW pulses over which the period
    (a running median of three) moves by LEVEL_JUMP octaves or more, or None."""
    if len(pulse) < LEVEL_WINDOW + 2:
        return None
    octaves = np.log2(np.maximum(np.diff(pulse), 1e-3))
    median = np.array([np.median(octaves[max(i - 1, 0) : i + 2]) for i in range(len(octaves))])
    for i in range(len(median) - LEVEL_WINDOW + 1):
        if abs(median[i + LEVEL_WINDOW - 1] - median[i]) >= LEVEL_JUMP:
            return i, i + LEVEL_WINDOW
    return None


def _track(time: np.ndarray, salience: np.ndarray, band: np.ndarray | None) -> np.ndarray:
    """(E,) chord times and saliences -> (P,) unsnapped pulse times in s; band: (2, frames) the lowest and
    highest period in s each frame allows (None: MIN_PULSE_S..MAX_PULSE_S everywhere).

    Dynamic programming over (frame, period): a pulse beat at frame t with period k follows one at
    t - period[k] whose period was within MAX_DRIFT states of it. A beat earns the salience of the chord at it
    (less EMPTY_BEAT_COST: a pulse through silence must be paid for), and each step of drift costs
    DRIFT_PENALTY, so the pulse keeps one metrical level and follows gradual tempo changes.
    """
    scale = float(np.mean(salience))
    frames = np.round(time * FRAME_RATE).astype(int)
    n_frames = int(frames.max()) + 2
    local = np.full(n_frames, -EMPTY_BEAT_COST)
    for f, s in zip(frames, salience / scale, strict=True):
        # A chord slightly off the frame grid still counts, a little less, one frame either side.
        local[max(f - 1, 0) : f + 2] = np.maximum(local[max(f - 1, 0) : f + 2], s * np.array([0.8, 1.0, 0.8])[:3])
    shortest = MIN_PULSE_S if band is None else min(MIN_PULSE_S, float(band[0].min()))
    longest = MAX_PULSE_S if band is None else max(MAX_PULSE_S, float(band[1].max()))
    n_steps = int(np.log(longest / shortest) / np.log(PERIOD_STEP)) + 1
    period = np.unique(np.round(shortest * PERIOD_STEP ** np.arange(n_steps) * FRAME_RATE).astype(int))
    allowed = None  # else (frames, K): the periods each frame allows
    if band is not None:
        allowed = (period >= band[0, :, None] * FRAME_RATE - 0.5) & (period <= band[1, :, None] * FRAME_RATE + 0.5)
    k_count = len(period)
    score = np.full((n_frames, k_count), -np.inf)
    back = np.full((n_frames, k_count), -1, dtype=np.int16)  # previous period state, -1: the pulse starts here
    states = np.arange(k_count)
    # (previous state for each state, drift cost) per allowed drift, computed once rather than per frame
    drifts = [
        (np.clip(states + shift, 0, k_count - 1), DRIFT_PENALTY * abs(shift))
        for shift in range(-MAX_DRIFT, MAX_DRIFT + 1)
    ]
    for t in range(n_frames):
        prev_t = t - period
        ok = prev_t >= 0
        best = np.zeros(k_count)
        arg = np.full(k_count, -1)
        if ok.any():
            rows = score[np.where(ok, prev_t, 0)]  # (K, K): row k = scores at t - period[k], every previous state
            for j, cost in drifts:
                cand = np.where(ok, rows[states, j] - cost, -np.inf)
                better = cand > best
                best = np.where(better, cand, best)
                arg = np.where(better, j, arg)
        score[t] = local[t] + best
        if allowed is not None:
            score[t, ~allowed[t]] = -np.inf
        back[t] = arg
    last = frames.max()
    window = np.arange(max(last - int(MAX_PULSE_S * FRAME_RATE), 0), min(last + 2, n_frames))
    t, k = np.unravel_index(np.argmax(score[window]), (len(window), k_count))
    t = int(window[t])
    pulse = []
    while True:
        pulse.append(t)
        prev = int(back[t, k])
        if prev < 0:
            break
        t, k = t - int(period[k]), prev
    return np.array(pulse[::-1], dtype=float) / FRAME_RATE
