"""Passes without a score: a take split at its stops, and each stretch after a stop matched against what was played
before it, so a restart is told from new music by self-similarity of the notes played.

A stop is a silence of at least STOP_S and STOP_IOIS median inter-onset intervals (a rest in the music is a beat or
two). The opening of the stretch after it (up to OPENING_GROUPS onset groups, as pitch features: align's) is found
in the earlier playing by subsequence dynamic time warping; a close match means the player went back there.
A restart without a pause is not found this way (the score's jumps find it, passes.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llaqo.lite.alignment import align

STOP_S = 1.0  # a silence at least this long ...
STOP_IOIS = 4.0  # ... and this many median inter-onset intervals (of the onset groups) is a stop
OPENING_GROUPS = 12  # the onset groups of a stretch's opening that are looked for in the earlier playing
REPEAT_COST = 0.3  # mean feature distance (0 same pitches, 1 none shared) at most, for a repeat
MIN_GROUPS = 4  # a stretch shorter than this is not matched (a stray note after a stop)


@dataclass(frozen=True)
class HeardPass:
    """A stretch of continuous playing, and the earlier span (s) it plays again, None for new music."""

    start_s: float
    end_s: float
    repeats_s: tuple[float, float] | None

    def to_json(self) -> dict:
        repeats = None if self.repeats_s is None else [round(t, 3) for t in self.repeats_s]
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "repeats_s": repeats}


def stop_starts(notes: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(N, 4) notes and (N,) their onset groups -> (P,) the groups after a stop, the first group (0) first."""
    n = int(groups.max()) + 1
    start = np.array([notes[groups == g, 0].min() for g in range(n)])
    sounding = np.maximum.accumulate(np.array([notes[groups == g, 1].max() for g in range(n)]))
    silence = start[1:] - sounding[:-1]
    ioi = float(np.median(np.diff(start))) if n > 2 else 0.0
    stops = np.flatnonzero((silence >= STOP_S) & (silence >= STOP_IOIS * ioi)) + 1
    return np.r_[0, stops].astype(int)


def heard_passes(notes: np.ndarray) -> list[HeardPass]:
    """(N, 4) [onset_s, offset_s, pitch, velocity] sorted by onset -> the passes, each with the span it repeats."""
    import librosa

    if len(notes) == 0:
        return []
    groups = align._groups(notes[:, 0], align.GROUP_GAP_S)
    features = align._group_features(groups, notes[:, 2].astype(int))  # (G, 100)
    start = np.array([notes[groups == g, 0].min() for g in range(len(features))])
    end = np.array([notes[groups == g, 1].max() for g in range(len(features))])
    bounds = np.r_[stop_starts(notes, groups), len(features)]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        repeats = None
        if a >= MIN_GROUPS and b - a >= MIN_GROUPS:
            opening = features[a : min(b, a + OPENING_GROUPS)]
            cost = 1.0 - opening @ features[:a].T  # (n, a)
            total, path = librosa.sequence.dtw(C=cost, subseq=True, backtrack=True)
            last = int(np.argmin(total[-1]))  # where the opening's best match ends
            if total[-1, last] / len(opening) <= REPEAT_COST:
                first = int(path[-1, 1])  # the path runs back from the end: its last step is the opening's start
                # The earlier span from where the player went back to, as long as this pass or to that pass's end.
                stop = bounds[bounds > first].min()
                span_end = min(float(end[first:stop].max()), float(start[first] + end[a:b].max() - start[a]))
                repeats = (float(start[first]), span_end)
        out.append(HeardPass(float(start[a]), float(end[a:b].max()), repeats))
    return out
