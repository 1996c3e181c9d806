"""A recorder's automatic gain, estimated from the take, so that note levels can be read through it.

A phone's voice-memo app turns its gain down as the sound grows and up as it dies, following the level of the
last few tens of milliseconds. A note's attack therefore arrives at the gain that the sound before it set: a
crescendo's later bars meet a lower gain, and a bar keeps only part of the played change in dB (the everyday set's
phone copies: 0.10 dB a velocity unit, against 0.25 on the clean takes; bench/RESULTS.md). That part is a
compressor's ratio: 0.10 / 0.25 = 0.4, so the gain moves by -(1 / 0.4 - 1) = -1.5 dB for each dB the recorded
level moves. Taking that estimated gain out of each note's attack level gives the played change back: on the
tuning half's phone copies a bar level then rises 0.26 dB a velocity unit, as on the clean takes.

In a hall without a recorder's gain the same estimate only adds the level before each note to its attack, which
widens a flat take's spread: both read as live rooms. What tells the gain is how a take opens (opens_through_a_gain):
in the silence before the music the gain is fully up, so the first attack comes in over the take's loud level and
falls back within a fraction of a second as the gain turns down. Where it shows, the dynamics label reads steps and
contrasts through the estimate too; else the trend alone (measures/dynamics.py).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

LEVEL_S = 0.02  # the level the gain follows: a power average over this time constant (s)
GAIN_S = 0.05  # the gain's own smoothing (s): it lags the level, so an attack meets the gain set before it
EXPONENT = 1.5  # dB of gain change for each dB of recorded level (a 0.4 compression ratio, above)
RANGE_DB = 20.0  # the gain is followed only this far below the take's loud level: a recorder's gain is bounded,
# and in a rest the level would otherwise ask for an unbounded gain
# How a take opens through a recorder's gain (opens_through_a_gain): the first attack's peak (within PEAK_S of the
# first onset) over the level SETTLED_S later, plus its height over the take's loud level (95th percentile). The
# everyday tuning half, on the 100 ms loudness curve: phone copies -4..19 dB (14 of 22 at 5 or more), the FluidR3
# hall rendering (live, no gain) -18..2 dB; 4 and 5 read the same there.
PEAK_S = (-0.05, 0.15)
SETTLED_S = (0.35, 1.0)
OPENING_DB = 5.0


def gain_db(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """(samples,) mono -> (samples,) the gain in dB (up to a constant) a following gain applied at each sample."""
    power = wave.astype(np.float64) ** 2
    level = _smooth(power, LEVEL_S * sample_rate)
    db = 10 * np.log10(level + 1e-12)
    db = np.maximum(db, np.percentile(db, 95) - RANGE_DB)
    gain = 10 ** (-EXPONENT * db / 20)
    return 20 * np.log10(_smooth(gain, GAIN_S * sample_rate))


def ungained_levels(wave: np.ndarray, sample_rate: int, onsets: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """(samples,) mono, (N,) onsets in s and (N,) attack levels in dB -> (N,) the levels with the estimated gain
    at each onset taken out (gain_db)."""
    if len(onsets) == 0:
        return levels.copy()
    gain = gain_db(wave, sample_rate)
    at = np.clip((np.asarray(onsets) * sample_rate).astype(int), 0, len(gain) - 1)
    return levels - gain[at]


def opens_through_a_gain(curve: np.ndarray, first_onset_s: float) -> bool:
    """(T, 2) [time_s, dBFS] loudness curve (measures.dynamics.loudness_curve), the first onset in s -> whether the
    take opens as through a recorder's gain: a first attack louder than the take's loud level that falls back within
    a second (the gain, fully up in the silence before, turning down). False when the curve is too short to tell."""
    t, db = curve[:, 0], curve[:, 1]
    peak = db[(t >= first_onset_s + PEAK_S[0]) & (t <= first_onset_s + PEAK_S[1])]
    settled = db[(t >= first_onset_s + SETTLED_S[0]) & (t <= first_onset_s + SETTLED_S[1])]
    if len(peak) == 0 or len(settled) == 0:
        return False
    loud = np.percentile(db[t >= first_onset_s], 95)
    return bool(2 * peak.max() - np.median(settled) - loud >= OPENING_DB)


def _smooth(x: np.ndarray, samples: float) -> np.ndarray:
    """One-pole low-pass with a time constant of `samples`."""
    a = np.exp(-1.0 / max(samples, 1.0))
    return signal.lfilter([1 - a], [1, -a], x)
