"""Was a notated note heard where the transcription has none? The audio's evidence for a missed note.

The transcriber can leave out a note played together with a lower one whose overtone falls on its pitch
(the F-A-C chord's C is the F's twelfth). Such a note is only excused from "missed" when its own band says
it sounded: its fundamental, at its time, about as loud as the lower note's. An overtone alone is far
weaker (measured on the deviation benchmark's tuning half, bench/deviations.py: an unplayed note's band
peaks 7-15 dB under the note whose overtone it holds, a played one within a few dB of it).
"""

from __future__ import annotations

import numpy as np

from llaqo.lite.hearing.spectral import Envelopes

ATTACK_S = (-0.02, 0.09)  # a note's band peak is looked for in this window around its expected onset
HEARD_UNDER_DB = 6.0  # heard: its band peaks no more than this under the lower note's


def band_peak(env: Envelopes, pitch: int, time_s: float) -> float:
    """The fundamental band's peak level (dB) of `pitch` in ATTACK_S around time_s."""
    band = env.of(pitch, fundamental=True)
    lo = int(np.clip(np.floor((time_s + ATTACK_S[0]) * env.frame_rate), 0, len(band) - 1))
    hi = int(np.clip(np.ceil((time_s + ATTACK_S[1]) * env.frame_rate), lo + 1, len(band)))
    return float(band[lo:hi].max())


def heard_over(env: Envelopes, pitch: int, time_s: float, lower: list[tuple[int, float]]) -> bool:
    """True when `pitch` sounded at time_s by its band, given the lower notes (pitch, onset s) whose overtones
    fall on it: its fundamental peaks within HEARD_UNDER_DB of the loudest of theirs."""
    if not lower:
        return False
    masking = max(band_peak(env, p, t) for p, t in lower)
    return band_peak(env, pitch, time_s) >= masking - HEARD_UNDER_DB


ATTACK_DB = 10.0  # a struck string: its band rises this much over the ~100 ms before (a played note: median 30 dB)
OWN_UNDER_DB = 24.0  # ... to within this of the loudest note struck with it (more is a neighbour's leakage)


def attack_db(env: Envelopes, pitch: int, time_s: float) -> float:
    """How much the fundamental band of `pitch` rises at time_s: its peak in ATTACK_S over its median level in
    the 100 ms before (a ringing string's resonance cut into a "note" does not rise)."""
    band = env.of(pitch, fundamental=True)
    i = int(np.clip(round(time_s * env.frame_rate), 0, len(band) - 1))
    before = band[max(i - int(0.13 * env.frame_rate), 0) : max(i - int(0.03 * env.frame_rate), 1)]
    return band_peak(env, pitch, time_s) - float(np.median(before))


def struck(env: Envelopes, pitch: int, time_s: float, others: list[int]) -> bool:
    """True when `pitch`'s own string was struck at time_s: its band rises by ATTACK_DB and peaks within
    OWN_UNDER_DB of the loudest of the `others` (pitches struck with it), whose leakage a bass step away can
    otherwise raise a silent band from nothing."""
    if attack_db(env, pitch, time_s) < ATTACK_DB:
        return False
    loudest = max((band_peak(env, p, time_s) for p in others), default=-np.inf)
    return band_peak(env, pitch, time_s) >= loudest - OWN_UNDER_DB
