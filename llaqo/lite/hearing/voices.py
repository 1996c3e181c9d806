"""Which hand played each note, which notes carry the top voice, and which notes sound together.

With a score the hands come from its staves or tracks (the part with the higher notes is the right hand)
and the notes played together are the ones notated together. Without one the hands cannot be told apart
reliably (a waltz's left-hand chords sit where a right hand could): the hand is a guess from the register,
used only to group chords, and balance is judged by voice. Notes heard within a few tens of ms are together.
The top voice is the notes above every other note sounding when they start; a transcribed overtone of a
louder sounding note (a ghost) belongs to no voice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RIGHT, LEFT, UNKNOWN = 0, 1, -1
STRUCK_TOGETHER_S = 0.035  # onsets closer than this were struck as one chord (hand asynchrony is ~10-30 ms)
HEARD_TOGETHER_S = 0.06  # onsets chained within 60 ms are one chord (a rolled chord spreads up to ~150 ms)
MAX_CHORD_S = 0.2  # ... but a chord never spans more than this; a faster run is not a chord
SPLIT_RANGE = (48, 72)  # the hands' split point lies between C3 and C5
GHOST_INTERVALS = (12, 19, 24, 28)  # overtones (octave, 12th, 2 octaves, 17th) a transcriber mistakes for notes


@dataclass(frozen=True)
class Voices:
    """Per performed note: hand (N,) RIGHT/LEFT, top (N,) bool (top voice), group (N,) int chord id (-1: none),
    real (N,) bool (not a ghost). source: "score" (hands from the score's parts or staves, groups notated
    together) or "voice" (no score: hands guessed from the register)."""

    hand: np.ndarray
    top: np.ndarray
    group: np.ndarray
    real: np.ndarray
    source: str


def split_pitch(pitches: np.ndarray) -> float:
    """(N,) MIDI pitches -> the split between the hands: the middle of the widest band of unplayed pitches
    within SPLIT_RANGE (the hands keep to their registers), else middle C."""
    inside = np.unique(pitches[(pitches >= SPLIT_RANGE[0]) & (pitches <= SPLIT_RANGE[1])])
    edges = np.concatenate([[SPLIT_RANGE[0] - 1], inside, [SPLIT_RANGE[1] + 1]])
    gaps = np.diff(edges)
    if gaps.max() < 3:
        return 59.5
    i = int(np.argmax(gaps))
    return float(edges[i] + edges[i + 1]) / 2


def struck_groups(onsets: np.ndarray) -> np.ndarray:
    """(N,) onsets sorted in s -> (N,) group ids counting up from 0: a new group after a gap over STRUCK_TOGETHER_S.
    Tighter than heard_groups: the aligner and the articulation's lines count a chord's notes as one event."""
    if len(onsets) == 0:
        return np.zeros(0, dtype=int)
    return np.concatenate([[0], np.cumsum(np.diff(onsets) > STRUCK_TOGETHER_S)])


def heard_groups(onsets: np.ndarray) -> np.ndarray:
    """(N,) onsets sorted in s -> (N,) group ids: onsets chained within HEARD_TOGETHER_S, a group at most
    MAX_CHORD_S long."""
    group = np.zeros(len(onsets), dtype=int)
    start = 0
    for i in range(1, len(onsets)):
        new = onsets[i] - onsets[i - 1] > HEARD_TOGETHER_S or onsets[i] - onsets[start] > MAX_CHORD_S
        group[i] = group[i - 1] + int(new)
        start = i if new else start
    return group


def ghosts(notes: np.ndarray) -> np.ndarray:
    """(N,) bool: notes an overtone interval above a louder (higher velocity) note sounding when they start."""
    out = np.zeros(len(notes), dtype=bool)
    for i, (onset, _, pitch, velocity) in enumerate(notes):
        sounding = (notes[:, 0] <= onset + HEARD_TOGETHER_S / 2) & (notes[:, 1] > onset) & (notes[:, 3] > velocity)
        out[i] = bool(np.isin(pitch - notes[sounding, 2], GHOST_INTERVALS).any())
    return out


def _top_voice(notes: np.ndarray, real: np.ndarray) -> np.ndarray:
    """(N,) bool: real notes above every real note sounding when they start (a held melody note stays on top
    of the chords played under it)."""
    top = np.zeros(len(notes), dtype=bool)
    for i in np.flatnonzero(real):
        onset = notes[i, 0]
        sounding = real & (notes[:, 0] <= onset + HEARD_TOGETHER_S / 2) & (notes[:, 1] > onset)
        sounding[i] = True  # the note itself, even one with no length (offset at its onset)
        top[i] = notes[i, 2] >= notes[sounding, 2].max()
    return top


def from_pitch(notes: np.ndarray) -> Voices:
    """(N, 4) notes sorted by onset -> Voices split by register and heard together."""
    hand = np.where(notes[:, 2] >= split_pitch(notes[:, 2]), RIGHT, LEFT)
    real = ~ghosts(notes)
    return Voices(hand, _top_voice(notes, real), heard_groups(notes[:, 0]), real, "voice")


def from_score(notes: np.ndarray, score_hand: np.ndarray, score_onset_q: np.ndarray, played: np.ndarray) -> Voices:
    """Hands and groups of the performed notes played as written or substituted.

    score_hand: (M,) RIGHT/LEFT/UNKNOWN per notated note; score_onset_q: (M,) quarters;
    played: (K, 2) [score note, performed note]. Notes the score does not place fall back to from_pitch.
    """
    fallback = from_pitch(notes)
    if not (score_hand != UNKNOWN).any():
        return fallback
    hand = fallback.hand.copy()
    group = np.full(len(notes), -1)
    known = score_hand[played[:, 0]] != UNKNOWN
    hand[played[known, 1]] = score_hand[played[known, 0]]
    _, group_ids = np.unique(score_onset_q[played[:, 0]], return_inverse=True)
    group[played[:, 1]] = group_ids
    real = fallback.real.copy()
    real[played[:, 1]] = True
    return Voices(hand, _top_voice(notes, real), group, real, "score")
