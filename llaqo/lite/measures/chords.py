"""Chord asynchrony: how far apart in time the notes of a chord (notated together with a score, heard
together without) were played, and which chords were rolled (spread wider than a hand's natural asynchrony)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llaqo.lite.hearing.voices import Voices

ROLLED_MS = 50.0  # a chord spread this wide is rolled; a chord played together spreads ~10-30 ms
TOGETHER_MS = 30.0  # chords spread less than this sound together
MAX_SPREAD_MS = 250.0  # notes notated together but played further apart are an alignment slip, not a chord
BOTH_HANDS = 2


@dataclass(frozen=True)
class Chords:
    """chords: (C, 5) [time_s, spread_ms, n_notes, rolled 0/1, hand (0 right, 1 left, 2 both)], in time order."""

    chords: np.ndarray
    source: str

    @property
    def median_spread_ms(self) -> float:
        return float(np.median(self.chords[:, 1])) if len(self.chords) else 0.0

    def to_json(self) -> dict:
        c = self.chords
        return {
            "source": self.source,
            "n_chords": len(c),
            "median_spread_ms": round(self.median_spread_ms, 1),
            "max_spread_ms": round(float(c[:, 1].max()), 1) if len(c) else 0.0,
            "n_rolled": int(c[:, 3].sum()) if len(c) else 0,
            "chords": [[round(t, 3), round(s, 1), int(n), int(r), int(h)] for t, s, n, r, h in c],
        }


def analyse_chords(notes: np.ndarray, voices: Voices) -> Chords:
    """(N, 4) notes and their Voices -> every group of >= 2 distinct pitches (ghosts left out), with its
    spread in ms."""
    rows = []
    for g in np.unique(voices.group[voices.group >= 0]):
        members = np.flatnonzero((voices.group == g) & voices.real)
        if len(np.unique(notes[members, 2])) < 2:
            continue
        onsets = notes[members, 0]
        spread = 1000 * float(onsets.max() - onsets.min())
        if spread > MAX_SPREAD_MS:
            continue
        hands = np.unique(voices.hand[members])
        hand = int(hands[0]) if len(hands) == 1 else BOTH_HANDS
        rows.append((float(onsets.min()), spread, len(members), int(spread >= ROLLED_MS), hand))
    return Chords(np.array(rows, dtype=float).reshape(-1, 5), voices.source)
