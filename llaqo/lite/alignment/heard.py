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
