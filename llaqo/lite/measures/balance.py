"""Hand balance and voicing: the level of the right hand against the left (with a score, whose staves or
tracks give the hands), and of the top voice (melody) against the other notes (accompaniment), in dB, over
the take and per segment (bar or beat group). Without a score only the voices are compared.

A group's level is the power mean of its notes' attack levels (dynamics.note_levels), so the louder notes
dominate as they do to the ear. Positive: the right hand (melody) is louder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llaqo.lite.hearing.voices import LEFT, RIGHT, Voices

EARLY_S = 0.03  # a note this much before a segment's start belongs to it (a bar line aligned to its chord)


def power_mean_db(levels: np.ndarray) -> float:
    """(n,) dB -> the dB of their mean power; nan when empty."""
    return float(10 * np.log10(np.mean(10 ** (levels / 10)))) if len(levels) else float("nan")


def difference_db(levels: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    """Power-mean level of the notes in `first` minus that of `second` (bool masks); nan if either is empty."""
    return power_mean_db(levels[first]) - power_mean_db(levels[second])


@dataclass(frozen=True)
class Balance:
    """right_minus_left_db, melody_minus_accompaniment_db: over the take (nan when a side has no note or,
    for the hands, without a score);
    segments: (S, 4) [start_s, end_s, right - left dB, melody - accompaniment dB]."""

    right_minus_left_db: float
    melody_minus_accompaniment_db: float
    segments: np.ndarray
    source: str

    def to_json(self) -> dict:
        def r(x: float) -> float | None:
            return None if np.isnan(x) else round(float(x), 1)

        return {
            "source": self.source,
            "right_minus_left_db": r(self.right_minus_left_db),
            "melody_minus_accompaniment_db": r(self.melody_minus_accompaniment_db),
            "segments": [[round(a, 3), round(b, 3), r(h), r(m)] for a, b, h, m in self.segments],
        }


def analyse_balance(levels: np.ndarray, onsets: np.ndarray, voices: Voices, bounds: np.ndarray) -> Balance:
    """(N,) note levels dB, (N,) onsets, the notes' Voices, (S+1,) segment bounds in s -> Balance."""
    known = voices.source == "score"
    right, left = voices.real & (voices.hand == RIGHT) & known, voices.real & (voices.hand == LEFT) & known
    melody, accompaniment = voices.top, voices.real & ~voices.top
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        inside = (onsets >= a - EARLY_S) & (onsets < b - EARLY_S)
        if inside.any():
            rows.append(
                (a, b, difference_db(levels, right & inside, left & inside),
                 difference_db(levels, melody & inside, accompaniment & inside))
            )  # fmt: skip
    return Balance(
        difference_db(levels, right, left),
        difference_db(levels, melody, accompaniment),
        np.array(rows, dtype=float).reshape(-1, 4),
        voices.source,
    )
