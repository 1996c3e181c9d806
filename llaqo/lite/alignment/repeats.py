"""Passes without a score: a take split at its stops, and each stretch after a stop matched against what was played
before it, so a restart is told from new music by self-similarity of the notes played.

A stop is a silence of at least STOP_S and STOP_IOIS median inter-onset intervals (a rest in the music is a beat or
two); a wait for the next note as long while notes still ring (HELD_STOP_S: a pedal held through the pause, a
reverberant room, a last chord let ring), or a silence of STOP_S shorter than STOP_IOIS intervals (slow music), is a
stop only when the playing after it repeats earlier playing. The opening of the stretch after a stop (up to
OPENING_GROUPS onset groups, as pitch features: align's) is found in the earlier playing by subsequence dynamic time
warping; a close match means the player went back there. A restart a bar or so back replays fewer groups than that
opening: then its first groups replay, one for one, the groups just before the stop (went_back).

A restart without a pause is found inside a stretch as a tandem repeat: the L onset groups from g play again,
near exactly, the L groups just before g (the player went back L groups), and the step into g is clearly longer
than the step out of the repeat, from the same last group into the music that follows (the hands lift and
reach back). Music repeats itself too (a sequence, a repeated bar, an Alberti bass), but in time: its repeats
keep the rhythm at the seam, so the seam's length tells a restart from a written repeat. A seam longer than every
step of the music it replays (a short pause, not a stop) is evidence enough for a less exact repeat (PAUSED_COST:
a hall's echo blurs what the transcriber hears).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llaqo.lite.alignment import align
from llaqo.lite.hearing.voices import struck_groups

STOP_S = 1.0  # a silence at least this long ...
STOP_IOIS = 4.0  # ... and this many median inter-onset intervals (of the onset groups) is a stop
HELD_STOP_S = 1.0  # no new note for this long (and STOP_IOIS intervals) while notes ring (a pedal held through
# the pause, a reverberant room) is a stop when the playing after it repeats earlier playing (a fermata is not);
# the drill after a run-through's last chord let ring for a 1 s pause waits 1.6 s (bench/practice_sessions.py)
SILENT_IOIS = 2.0  # ... and a silence of STOP_S and this many intervals, when the playing after it repeats earlier
OPENING_GROUPS = 12  # the onset groups of a stretch's opening that are looked for in the earlier playing
REPEAT_COST = 0.3  # mean feature distance (0 same pitches, 1 none shared) at most, for a repeat
MIN_GROUPS = 4  # a stretch shorter than this is not matched (a stray note after a stop)
TANDEM_GROUPS = 6  # a restart without a pause goes back at least this many onset groups (shorter: a figure)
TANDEM_COST = 0.1  # mean feature distance at most between the repeat and what it repeats (near exact) ...
TANDEM_BACK_S = 15.0  # ... and it goes back at most this far (a few bars, not a section: a written repeat)
SEAM_RATIO = 1.4  # the step into the restart is at least this many times the repeat's own step out ...
SEAM_S = 0.1  # ... and this much longer (s)
PAUSED_COST = 0.2  # the repeat's distance at most (not TANDEM_COST) when the player paused at the seam (a hall's
PAUSED_S = 0.25  # echo blurs the notes heard): a seam this much longer (s) than every step of the music replayed


@dataclass(frozen=True)
class HeardPass:
    """A stretch of continuous playing, and the earlier span (s) it plays again, None for new music."""

    start_s: float
    end_s: float
    repeats_s: tuple[float, float] | None

    def to_json(self) -> dict:
        repeats = None if self.repeats_s is None else [round(t, 3) for t in self.repeats_s]
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "repeats_s": repeats}


def stop_starts(notes: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) notes and (N,) their onset groups -> ((P,) the groups after a stop, the first group (0) first;
    (Q,) the groups after a stop that counts when what follows repeats earlier playing: no onset for HELD_STOP_S
    while earlier notes still ring, or a silence of STOP_S and SILENT_IOIS but fewer than STOP_IOIS intervals)."""
    n = int(groups.max()) + 1
    start = np.array([notes[groups == g, 0].min() for g in range(n)])
    sounding = np.maximum.accumulate(np.array([notes[groups == g, 1].max() for g in range(n)]))
    silence, gap = start[1:] - sounding[:-1], np.diff(start)
    ioi = float(np.median(gap)) if n > 2 else 0.0
    stops = (silence >= STOP_S) & (silence >= STOP_IOIS * ioi)
    # In slow music a silence of STOP_S and SILENT_IOIS intervals (a fermata cut short by a phone's transcription
    # is about one).
    quiet = (silence >= STOP_S) & (silence >= SILENT_IOIS * ioi)
    held = ~stops & (((gap >= HELD_STOP_S) & (gap >= STOP_IOIS * ioi)) | quiet)
    return np.r_[0, np.flatnonzero(stops) + 1].astype(int), (np.flatnonzero(held) + 1).astype(int)


def restarts(features: np.ndarray, start: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """Restarts without a pause in the stretch of onset groups [a, b) -> [(g, s)]: the group g where the player
    went back, and the group s they went back to (s < g).

    features: (G, D) unit pitch features of the onset groups; start: (G,) their onsets (s)
    """
    similarity = features[a:b] @ features[a:b].T
    steps = np.diff(start[a:b])
    n, found = b - a, []
    # No lag reaches further back than TANDEM_BACK_S anywhere in the stretch.
    longest = int((np.searchsorted(start[a:b], start[a:b] + TANDEM_BACK_S, side="right") - np.arange(n)).max())
    for lag in range(TANDEM_GROUPS, min(n // 2, longest) + 1):
        # The mean similarity of groups [s, s + lag) to [s + lag, s + 2 lag), for every s, from a cumulative sum.
        diagonal = np.r_[0.0, np.cumsum(np.diagonal(similarity, offset=lag))]
        first = np.arange(n - 2 * lag + 1)
        distance = 1.0 - (diagonal[first + lag] - diagonal[first]) / lag
        s = first[distance <= PAUSED_COST] + a
        g = s + lag
        seam = start[g] - start[g - 1]
        after = np.minimum(g + lag, b - 1)  # the group after the repeat (none when the stretch ends with it)
        natural = np.where(g + lag < b, start[after] - start[after - 1], np.inf)
        # The longer the seam, the surer the restart: a pause lets the notes match less exactly. A pause is
        # longer than every step of the music it replays (a written long note is not), by PAUSED_S.
        widest = steps[(s - a)[:, None] + np.arange(lag - 1)].max(axis=1)  # (candidates,) within [s, g)
        paused = seam >= widest + PAUSED_S
        close = (distance[s - a] <= TANDEM_COST) | paused
        longer = seam >= np.maximum(SEAM_RATIO * natural, natural + SEAM_S)
        restart = close & longer & (start[g] - start[s] <= TANDEM_BACK_S)
        found += zip(g[restart].tolist(), s[restart].tolist(), strict=True)
    kept: list[tuple[int, int]] = []
    for g, s in sorted(found):  # the earliest of overlapping candidates, each pass at least MIN_GROUPS long
        # A later seam inside a kept repeat, back by the same lag, is that repeat going on (a long step in the
        # music it replays), not another restart.
        same = any(k < g < 2 * k - j and abs((g - s) - (k - j)) <= 1 for k, j in kept)
        if not same and g - max([a, *(k for k, _ in kept)]) >= MIN_GROUPS and b - g >= MIN_GROUPS:
            kept.append((g, s))
    return kept


def went_back(features: np.ndarray, a: int, b: int) -> int | None:
    """The group s < a the stretch [a, b) went back to, when its first L = a - s groups replay, one for one, the L
    groups just before the stop at a (at least TANDEM_GROUPS, within REPEAT_COST); the closest match, else None.
    A player who stops and goes back a bar replays fewer groups than the opening (OPENING_GROUPS) the earlier
    playing is searched for, and then goes on into music not played before.

    features: (G, D) unit pitch features of the onset groups
    """
    best, found = REPEAT_COST, None
    for lag in range(TANDEM_GROUPS, min(a, b - a) + 1):
        distance = 1.0 - float(np.mean(np.sum(features[a - lag : a] * features[a : a + lag], axis=1)))
        if distance <= best:
            best, found = distance, a - lag
    return found


def heard_passes(notes: np.ndarray) -> list[HeardPass]:
    """(N, 4) [onset_s, offset_s, pitch, velocity] sorted by onset -> the passes, each with the span it repeats."""
    import librosa

    if len(notes) == 0:
        return []
    groups = struck_groups(notes[:, 0])
    features = align.group_features(groups, notes[:, 2].astype(int))  # (G, 100)
    start = np.array([notes[groups == g, 0].min() for g in range(len(features))])
    end = np.array([notes[groups == g, 1].max() for g in range(len(features))])
    stops, held = stop_starts(notes, groups)
    stops = np.r_[stops, len(features)]
    back = {g: s for a, b in zip(stops[:-1], stops[1:], strict=True) for g, s in restarts(features, start, a, b)}
    bounds = np.array(sorted({*stops.tolist(), *back, *held.tolist()}))
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        repeats = None
        if a in back:  # went back without a pause: the span from where they went back to where they left
            repeats = (float(start[back[a]]), float(end[back[a] : a].max()))
        elif a >= MIN_GROUPS and b - a >= MIN_GROUPS:
            opening = features[a : min(b, a + OPENING_GROUPS)]
            cost = 1.0 - opening @ features[:a].T  # (n, a)
            total, path = librosa.sequence.dtw(C=cost, subseq=True, backtrack=True)
            last = int(np.argmin(total[-1]))  # where the opening's best match ends
            first = int(path[-1, 1])  # the path runs back from the end: its last step is the opening's start
            if total[-1, last] / len(opening) > REPEAT_COST:
                first = went_back(features, a, b)  # a restart a bar or so back: a shorter repeat than the opening
            if first is not None:
                # The earlier span from where the player went back to, as long as this pass or to that pass's end.
                stop = bounds[bounds > first].min()
                span_end = min(float(end[first:stop].max()), float(start[first] + end[a:b].max() - start[a]))
                repeats = (float(start[first]), span_end)
        if out and a in held and repeats is None:  # a held note, a fermata, then new music: one pass
            out[-1] = HeardPass(out[-1].start_s, float(end[a:b].max()), out[-1].repeats_s)
            continue
        out.append(HeardPass(float(start[a]), float(end[a:b].max()), repeats))
    return out
