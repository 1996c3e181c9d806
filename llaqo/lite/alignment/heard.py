"""Was a notated note heard where the transcription has none? The audio's evidence for a missed note.

The transcriber can leave out a note played together with a lower one whose overtone falls on its pitch
(the F-A-C chord's C is the F's twelfth). Such a note is only excused from "missed" when its own band says
it sounded: its fundamental, at its time, about as loud as the lower note's. An overtone alone is far
weaker (measured on the deviation benchmark's tuning half, bench/deviations.py: an unplayed note's band
peaks 7-15 dB under the note whose overtone it holds, a played one within a few dB of it). Elsewhere a
missed note is excused when its band rises as a struck string's (struck, with STRIKE_DB). The same bands judge
an added note that echoes a notated pitch (struck, an attack of its own) and any added note (rings_on: a string
that only rings on was not struck then).
"""

from __future__ import annotations

import numpy as np

from llaqo.lite.hearing.spectral import LOWEST_PITCH, Envelopes

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


def struck(
    env: Envelopes,
    pitch: int,
    time_s: float,
    others: list[int],
    rise_db: float = ATTACK_DB,
    under_db: float = OWN_UNDER_DB,
) -> bool:
    """True when `pitch`'s own string was struck at time_s: its band rises by rise_db and peaks within
    under_db of the loudest of the `others` (pitches struck with it), whose leakage a bass step away can
    otherwise raise a silent band from nothing."""
    if attack_db(env, pitch, time_s) < rise_db:
        return False
    loudest = max((band_peak(env, p, time_s) for p in others), default=-np.inf)
    return band_peak(env, pitch, time_s) >= loudest - under_db


# A notated note the transcription lacks, with no overtone of another on its pitch, was played all the same when
# its band rises like a struck string's. Stricter than an added note's test (struck's defaults): here the evidence
# overrules the transcriber. Measured on the tuning halves (the everyday set's FluidR3 takes, the deviation
# benchmark's renderings and phone copies, bench/deviations.py): notes played but not transcribed (a re-struck
# melody note, a chord's soft inner voice, a take's first note) rose 27-67 dB and peaked 0-10 dB under their
# chord's loudest; notes left out that peaked within 12 dB of it rose at most 22 dB (a phone copy's room lifts
# them), those that rose more peaked 19 dB or more under it (a louder neighbour's leakage; 18.9 dB the closest,
# bench/deviations.py's b5 D3). A chorale's first chord's soft lowest tone, played, rose 68 dB and peaked 13.6 dB
# under its top: within 15 dB, half-way to the closest note left out.
STRIKE_DB = 25.0
STRIKE_UNDER_DB = 15.0


PARTIAL_INTERVALS = (0, 12, 19, 24, 28)  # a note's first five partials, in semitones over it


def octave_struck(
    env: Envelopes,
    pitch: int,
    time_s: float,
    sounding: list[int],
    chord: list[int],
    rise_db: float = STRIKE_DB,
    under_db: float = STRIKE_UNDER_DB,
) -> bool:
    """True when the band of `pitch`'s second partial (an octave up) rises as a struck string's (rise_db) within
    under_db of the loudest of `chord` (pitches struck with it), where none of the `sounding` pitches puts a
    partial within a semitone of it. A bass string's fundamental is weak, a phone's microphone weaker still there:
    the nocturne's B-flat 1 under a loud melody rose 11 dB by its fundamental, 29 dB by its octave. Of the notes left
    out on the tuning halves, none whose octave band is free rose 25 dB there within 15 dB of its chord's loudest."""
    octave = pitch + 12
    if any(abs(octave - q - k) <= 1 for q in sounding for k in PARTIAL_INTERVALS):
        return False
    return struck(env, octave, time_s, chord, rise_db, under_db)


def rises(
    env: Envelopes,
    pitch: int,
    time_s: float,
    sounding: list[int],
    chord: list[int],
    rise_db: float = ATTACK_DB,
    under_db: float = OWN_UNDER_DB,
) -> bool:
    """True when `pitch`'s string rose as a struck one at time_s (struck, rise_db, under_db of the loudest of `chord`),
    by its fundamental or by its octave (octave_struck, free of the `sounding` pitches' partials). With STRIKE_DB
    and STRIKE_UNDER_DB the bands alone excuse a missed note; with the added notes' test (the defaults) they only
    half say it was played, and the transcriber's second look decides (alignment.recheck): a chorale's soft inner F4
    under a loud D-D-D, 17.9 dB under it (rising 18.5 dB through a phone), a waltz's bass D-sharp 2 18 dB under its
    chord; a missed note left out rises less or further under (a neighbour's leakage), or the second look does not
    hear it."""
    return struck(env, pitch, time_s, chord, rise_db, under_db) or octave_struck(
        env, pitch, time_s, sounding, chord, rise_db, under_db
    )


def rings_on(env: Envelopes, pitch: int, time_s: float) -> bool:
    """True when no band of `pitch`'s first three partials (fundamental, octave, twelfth; those on the keyboard)
    rises by ATTACK_DB at time_s: a string ringing on, not struck then. The partials count as well as the
    fundamental because a bass string's fundamental is weak (a chorale's added C3 rose 4.3 dB by it, 31 by its
    octave)."""
    partials = [pitch + k for k in PARTIAL_INTERVALS[:3] if pitch + k < LOWEST_PITCH + 88]
    return max(attack_db(env, p, time_s) for p in partials) < ATTACK_DB
