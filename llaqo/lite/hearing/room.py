"""The room and the recorder, as the take itself reveals them: how fast its sound can fall, and how far.

When a chord is damped in a dry room its sound falls 20 dB in about a tenth of a second. A live room's
reverberation carries it on (a reverberation time RT60 of 0.6 s falls 20 dB in 0.2 s), and so does a phone's
automatic gain, which turns the level up as the sound dies. The fastest 20 dB fall anywhere in the take bounds
both from below. It is measured on the broadband level in short frames, from levels within TOP_DB of the take's
loud level, so that noise-floor flicker in silences does not count.

A slow fall alone does not tell a room: a piano whose samples ring on after the key is up falls as slowly (the
perfbench dev takes: 0.11-0.95 s, with dry note ends that today's articulation reads right). A phone in a room
also never falls far: the room's noise, which its automatic gain turns up in every pause, stays within FLOOR_DB
of the music. So a take is heard as live when it falls slowly and its floor is near.

Measured (bench/RESULTS.md): the everyday set's clean tuning half falls 20 dB in 0.075-0.175 s with floors
55-66 dB down; perfbench dev in 0.11-0.95 s, floors 46-84 dB down; the tuning half's phone copies (make_phone.py:
RT60 0.4-0.9 s, automatic gain, room noise) in 0.2-1.0 s (one in a short room, 0.11 s), floors 23-33 dB down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llaqo.lite.config import LITE

FALL_DB = 20.0  # the fall timed: 20 dB, a third of the 60 dB that defines a reverberation time
FRAME_S = 0.023  # level frames: short enough to time a damper (~0.1 s), long enough to average a bass cycle
HOP_S = 0.006
TOP_DB = 25.0  # a fall counts from levels within this of the loud level (its 95th percentile)
LONGEST_S = 1.5  # falls slower than this are not timed (the take then has no fall at all: inf)
MIN_FALLS = 2  # the room lets the sound fall this fast in at least two places, SEPARATE_S apart: one fall can be
SEPARATE_S = 0.5  # an automatic gain's, which turns the first note after a silence up and then down at once
FLOOR_PERCENTILES = (5, 95)  # the floor and the loud level of the short frames
FLOOR_DB = 40.0  # a floor nearer the loud level than this is a room's noise raised by a recorder's gain
MUSIC_DB = 15.0  # ... but music rises at least this far above it (silence or a steady hum has no room to hear)


@dataclass(frozen=True)
class Room:
    """decay_s: the fastest FALL_DB fall (decay_time); floor_db: how far below the loud level the floor lies."""

    decay_s: float
    floor_db: float

    @property
    def near_floor(self) -> bool:
        """The floor lies near the music: a room's noise raised by a recorder's automatic gain (or a noisy hall).
        A phone's gain is there however short the room: a phone copy in a dry room still reads near."""
        return MUSIC_DB <= self.floor_db < FLOOR_DB

    @property
    def live(self) -> bool:
        """Heard through a live room and a recorder's gain: the sound falls slowly and never far."""
        return self.decay_s > LITE.live_decay_s and self.near_floor


def hear_room(wave: np.ndarray, sample_rate: int) -> Room:
    """(samples,) mono -> the Room the take reveals."""
    level = frame_levels(wave, sample_rate)
    if len(level) < 2:
        return Room(0.0, float("inf"))
    floor, loud = np.percentile(level, FLOOR_PERCENTILES)
    return Room(decay_time(level), float(loud - floor))


def frame_levels(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """(samples,) mono -> (F,) level in dB of FRAME_S frames every HOP_S."""
    frame, hop = max(int(FRAME_S * sample_rate), 1), max(int(HOP_S * sample_rate), 1)
    if len(wave) < frame:
        return np.zeros(0)
    power = np.convolve(wave.astype(np.float64) ** 2, np.ones(frame) / frame, mode="valid")[::hop]
    return 10 * np.log10(power + 1e-12)


def decay_time(level: np.ndarray) -> float:
    """(F,) frame_levels -> the shortest time in s in which the level falls FALL_DB, from a level within TOP_DB of
    the loud level, in MIN_FALLS places; inf when it does not within LONGEST_S (a take without rests, or a very live
    room)."""
    if len(level) < 2:
        return float("inf")
    start = level >= np.percentile(level, FLOOR_PERCENTILES[1]) - TOP_DB
    # The smallest lag at which loud frames are followed by one FALL_DB below them: one pass per lag, not per frame.
    for lag in range(1, min(int(LONGEST_S / HOP_S), len(level) - 1) + 1):
        falls = np.flatnonzero(start[:-lag] & (level[lag:] <= level[:-lag] - FALL_DB))
        if len(falls) and 1 + np.sum(np.diff(falls) * HOP_S > SEPARATE_S) >= MIN_FALLS:
            return lag * HOP_S
    return float("inf")
