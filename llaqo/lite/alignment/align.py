"""Align a transcription to its score (llaqo.lite.alignment.score).

The alignment is note-level: dynamic time warping over onset groups finds the path, notes of
the same pitch are paired along it, and what is left is classified as wrong (a notated note
replaced by a nearby played one), missed or extra. Matched notes anchor a score-to-performance
time map, which gives the tempo per notated beat and a bar number for any time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from llaqo.lite.alignment import heard
from llaqo.lite.alignment.score import Score
from llaqo.lite.hearing.spectral import Envelopes
from llaqo.lite.hearing.voices import STRUCK_TOGETHER_S, struck_groups

MATCH_WINDOW_S = 0.12  # a played note pairs with a notated one within this of the warped time
SUBSTITUTE_SEMITONES = 4  # a wrong note is within a third of the notated pitch; further is missed + extra
GHOST_INTERVALS = heard.PARTIAL_INTERVALS[1:]  # overtones (octave, 12th, 2 octaves, 17th) the transcriber can mistake
GHOST_LAG_S = 0.06  # ... cut from a louder note's attack up to this after it (a chorale chord's twelfth: 46 ms)
BURST_S = 0.05  # an added note this short is a key only if the second look hears it struck (alignment.recheck)
OUTSIDE_MARGIN_S = 0.5  # played notes this far outside the performed section are not "extra"
STRAY_REACH_Q = 2.0  # an anchor is checked against the anchors within two quarters of it
STRAY_NEIGHBOURS = 4
STRAY_BASE_S = 0.1  # it is stray when it misses where they put it by this (onsets scatter by ~30 ms) plus
STRAY_SHARE = 0.2  # this share of the step from its nearest neighbour (a closing ritardando stretches it by ~10%)


@dataclass(frozen=True)
class Substitution:
    """A notated note played at another pitch: score_index in the score, perf_index in the performance."""

    score_index: int
    perf_index: int
    time_s: float
    played_pitch: int


@dataclass(frozen=True)
class Alignment:
    """A performance matched to its score.

    pairs: (K, 2) int indices [score note, performed note] of notes played as written
    wrong: substituted pitches
    missed: (Ms,) int score note indices; extra: (E,) int performed note indices
    anchor_q, anchor_t: (A,) strictly increasing score quarters and their performed times in seconds
    performed: (M,) bool, the notated notes inside the section the recording plays (from the first to the
    last anchor); only these are judged, so a take of the first page is not told it missed the rest
    held: (H,) int score note indices the transcription lacks where an earlier note of the same pitch sounds on
    through their time (_rings_past): a key re-struck while it rang, or one left out; not in `missed`, since
    the notes alone cannot tell, but a second look by the transcriber can (alignment.recheck)
    masked: (B,) int score note indices the transcription lacks on an overtone of a lower notated note struck with
    them, whose own band does not stand out of that overtone (_heard): in `missed` unless the second look hears
    them struck (alignment.recheck), since the bands cannot tell a soft doubled tone from the overtone alone
    unsure: (U,) int score note indices the transcription lacks where the notes or the bands half say they were
    played (_rings_past, heard.rises): in `missed` unless the second look hears them struck
    brief: (X,) int performed indices of added notes shorter than BURST_S: in `extra` unless the second look does
    not hear their key struck (a phone's burst or a partial cut as a note)
    """

    pairs: np.ndarray
    wrong: list[Substitution]
    missed: np.ndarray
    extra: np.ndarray
    anchor_q: np.ndarray
    anchor_t: np.ndarray
    performed: np.ndarray
    held: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    masked: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    unsure: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    brief: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    def time_of(self, quarters: np.ndarray) -> np.ndarray:
        """(n,) score quarters -> (n,) performed seconds, linear between anchors and extrapolated at the ends."""
        return _interp_extrapolate(quarters, self.anchor_q, self.anchor_t)

    def quarter_of(self, times: np.ndarray) -> np.ndarray:
        """(n,) performed seconds -> (n,) score quarters."""
        return _interp_extrapolate(times, self.anchor_t, self.anchor_q)


def _interp_extrapolate(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if len(xp) < 2:
        return np.full_like(x, fp[0] if len(fp) else 0.0)
    y = np.interp(x, xp, fp)
    lo_slope = (fp[1] - fp[0]) / (xp[1] - xp[0])
    hi_slope = (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    y = np.where(x < xp[0], fp[0] + (x - xp[0]) * lo_slope, y)
    return np.where(x > xp[-1], fp[-1] + (x - xp[-1]) * hi_slope, y)


def group_features(group_ids: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """-> (n_groups, 100): pitch one-hot (88) and half-weighted pitch class (12), L2-normalised rows."""
    n = int(group_ids.max()) + 1 if len(group_ids) else 0
    feats = np.zeros((n, 100))
    for g, p in zip(group_ids, pitches, strict=True):
        feats[g, int(np.clip(p - 21, 0, 87))] = 1.0
        feats[g, 88 + int(p) % 12] = 0.5
    return feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-9)


def align(notes: np.ndarray, score: Score, envelopes: Envelopes | None = None) -> Alignment:
    """Align performed notes to a score.

    notes: (N, 4) [onset_s, offset_s, pitch, velocity] sorted by onset
    envelopes: the recording's pitch envelopes (hearing.spectral), the evidence that a notated note the
    transcription lacks was heard all the same (alignment.heard); without them every such note is missed
    """
    import librosa

    onsets, pitches = notes[:, 0], notes[:, 2].astype(int)
    perf_group = struck_groups(onsets)
    score_group = np.unique(score.onset_q, return_inverse=True)[1]
    if len(notes) == 0:
        empty = np.zeros((0, 2), dtype=int)
        nothing = np.arange(len(score.pitch))
        return Alignment(empty, [], nothing, np.zeros(0, int), np.zeros(1), np.zeros(1), np.ones(len(nothing), bool))

    cost = 1.0 - group_features(score_group, score.pitch) @ group_features(perf_group, pitches).T
    _, path = librosa.sequence.dtw(C=cost, backtrack=True)
    group_time = np.array([onsets[perf_group == g].min() for g in range(perf_group.max() + 1)])

    # Pass 1: pair same-pitch notes along the warping path.
    used = np.zeros(len(notes), dtype=bool)
    matched = np.full(len(score.pitch), -1)
    candidates: dict[int, list[int]] = {}
    for sg, pg in path[::-1]:
        candidates.setdefault(int(sg), []).append(int(pg))
    for s in range(len(score.pitch)):
        times = group_time[candidates.get(int(score_group[s]), [])]
        if len(times) == 0:
            continue
        near = np.flatnonzero(
            ~used
            & (pitches == score.pitch[s])
            & (onsets >= times.min() - MATCH_WINDOW_S)
            & (onsets <= times.max() + MATCH_WINDOW_S)
        )
        if len(near):
            best = near[np.argmin(np.abs(onsets[near] - times.mean()))]
            matched[s], used[best] = best, True
    anchor_q, anchor_t = _anchors(score.onset_q, matched, onsets)
    # The warping path must end on the last played group, so a trailing ghost (a release thump, a
    # re-detected final chord) can capture the last notated chord, and a sparse transcription lets
    # it pair chords a beat off. The anchors around such a pairing contradict it: unpair it and let
    # pass 2 find the note by time.
    stray = np.isin(score.onset_q, anchor_q[_stray_anchors(anchor_q, anchor_t)]) & (matched >= 0)
    used[matched[stray]] = False
    matched[stray] = -1
    anchor_q, anchor_t = _anchors(score.onset_q, matched, onsets)

    # Pass 2: with the time map, pair notes the warping path put in the wrong group.
    expected = _interp_extrapolate(score.onset_q, anchor_q, anchor_t)
    for s in np.flatnonzero(matched < 0):
        near = np.flatnonzero(~used & (pitches == score.pitch[s]) & (np.abs(onsets - expected[s]) <= MATCH_WINDOW_S))
        if len(near):
            best = near[np.argmin(np.abs(onsets[near] - expected[s]))]
            matched[s], used[best] = best, True
    anchor_q, anchor_t = _anchors(score.onset_q, matched, onsets)
    keep = ~_stray_anchors(anchor_q, anchor_t)
    anchor_q, anchor_t = anchor_q[keep], anchor_t[keep]
    expected = _interp_extrapolate(score.onset_q, anchor_q, anchor_t)

    # Pass 3: slips. Inside a bar of strong rubato the played notes stray from the straight line between the
    # anchors by more than the match window; such a note is still between the notes written around it.
    slips = _slips(score, matched, notes, used, anchor_q, anchor_t, expected)
    for s, best in slips:
        matched[s], used[best] = best, True
    if slips:  # the anchors they add follow the local tempo (the stray check is the costly part: only then)
        anchor_q, anchor_t = _anchors(score.onset_q, matched, onsets)
        keep = ~_stray_anchors(anchor_q, anchor_t)
        anchor_q, anchor_t = anchor_q[keep], anchor_t[keep]
        expected = _interp_extrapolate(score.onset_q, anchor_q, anchor_t)

    expected_end = _interp_extrapolate(score.onset_q + score.duration_q, anchor_q, anchor_t)
    unmatched_perf = [i for i in np.flatnonzero(~used) if not _is_ghost(i, notes, used)]
    performed = (score.onset_q >= anchor_q[0] - 1e-6) & (score.onset_q <= anchor_q[-1] + 1e-6)
    wrong, missed, held, masked, unsure = [], [], [], [], []
    for s in np.flatnonzero((matched < 0) & performed):
        near = [
            i
            for i in unmatched_perf
            if abs(onsets[i] - expected[s]) <= MATCH_WINDOW_S
            and 0 < abs(pitches[i] - score.pitch[s]) <= SUBSTITUTE_SEMITONES
        ]
        if near:
            best = min(near, key=lambda i: (abs(pitches[i] - score.pitch[s]), abs(onsets[i] - expected[s])))
            wrong.append(Substitution(int(s), int(best), float(onsets[best]), int(pitches[best])))
            unmatched_perf.remove(best)
            continue
        lower = _lower(s, score, expected, expected_end)
        if _heard(s, lower, score, expected, expected_end, envelopes):
            continue
        past = _rings_past(expected[s], score.pitch[s], notes)
        if past > MATCH_WINDOW_S:
            held.append(s)
        elif envelopes is not None and len(lower):
            masked.append(s)
        elif envelopes is not None and (past > 0 or heard.rises(envelopes, *_around(s, score, expected, expected_end))):
            unsure.append(s)  # half heard: by the added notes' test (heard.rises' defaults), not as far as _heard
        else:
            missed.append(s)
    # Sounds before the section starts or after it ends (a count-in, the room, the rest of the piece) are
    # not notes added to the music.
    span = (expected[performed].min() - OUTSIDE_MARGIN_S, expected_end[performed].max() + OUTSIDE_MARGIN_S)
    extra = [
        i
        for i in unmatched_perf
        if span[0] <= onsets[i] <= span[1]
        and not _rings_on(i, notes, envelopes)
        and not _echoes_score(i, notes, score.pitch, expected, expected_end, envelopes)
    ]
    pairs = np.array([(s, p) for s, p in enumerate(matched) if p >= 0], dtype=int).reshape(-1, 2)
    return Alignment(
        pairs=pairs,
        wrong=wrong,
        missed=np.array(missed, dtype=int),
        extra=np.array(extra, dtype=int),
        anchor_q=anchor_q,
        anchor_t=anchor_t,
        performed=performed,
        held=np.array(held, dtype=int),
        masked=np.array(masked, dtype=int),
        unsure=np.array(unsure, dtype=int),
        brief=np.array([i for i in extra if notes[i, 1] - notes[i, 0] < BURST_S], dtype=int),
    )


def _slips(
    score: Score,
    matched: np.ndarray,
    notes: np.ndarray,
    used: np.ndarray,
    anchor_q: np.ndarray,
    anchor_t: np.ndarray,
    expected: np.ndarray,
) -> list[tuple[int, int]]:
    """(score note, performed note) pairs for notated notes left unpaired between two anchors: an unused performed
    note of the same pitch played between those anchors' times (a local tempo the straight line between them
    does not follow: a mazurka's short first beat, a slow bar's stretched second half). Closest to the expected
    time first, each note once. A notated note at an anchor's own onset is not re-paired: its chord was found
    there, and pass 2 already looked around it. matched: (M,) performed index per notated note or -1."""
    onsets, pitches = notes[:, 0], notes[:, 2].astype(int)
    options = []
    for s in np.flatnonzero(matched < 0):
        k = int(np.searchsorted(anchor_q, score.onset_q[s] - 1e-6))
        if k == 0 or k >= len(anchor_q) or abs(anchor_q[k] - score.onset_q[s]) < 1e-6:
            continue
        lo, hi = anchor_t[k - 1] + STRUCK_TOGETHER_S, anchor_t[k] - STRUCK_TOGETHER_S
        for i in np.flatnonzero(~used & (pitches == score.pitch[s]) & (onsets > lo) & (onsets < hi)):
            options.append((abs(onsets[i] - expected[s]), int(s), int(i)))
    pairs, taken_s, taken_p = [], set(), set()
    for _, s, i in sorted(options):
        if s not in taken_s and i not in taken_p:
            pairs.append((s, i))
            taken_s.add(s)
            taken_p.add(i)
    return pairs


def _anchors(onset_q: np.ndarray, matched: np.ndarray, onsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median performed time per matched score onset, kept only where time increases with the score."""
    ok = matched >= 0
    qs = np.unique(onset_q[ok])
    ts = np.array([np.median(onsets[matched[ok & (onset_q == q)]]) for q in qs])
    keep_q, keep_t = [], []
    for q, t in zip(qs, ts, strict=True):
        # A chord matched far out of order is a matching error, not a time-travelling pianist.
        if not keep_t or t > keep_t[-1]:
            keep_q.append(q)
            keep_t.append(t)
    if not keep_q:
        return np.zeros(1), np.zeros(1)
    return np.array(keep_q), np.array(keep_t)


def _stray_anchors(anchor_q: np.ndarray, anchor_t: np.ndarray) -> np.ndarray:
    """(A,) anchors -> (A,) bool: anchors far from where their neighbours put them.

    Each anchor's time is predicted by a robust (Theil-Sen) line through the anchors within
    STRAY_REACH_Q quarters of it (at least its STRAY_NEIGHBOURS nearest), itself left out. Timing
    jitter and phrase-length rubato bend that line by tens of milliseconds, a closing ritardando
    stretches the last steps by a fraction of themselves; a chord paired with the wrong notes misses
    it by half a beat or more. Strays are removed worst first within each neighbourhood, because a
    stray also pulls its neighbours' predictions towards itself.
    """
    keep = np.ones(len(anchor_q), dtype=bool)
    while True:
        idx = np.flatnonzero(keep)
        excess, neighbours = _prediction_excess(anchor_q[idx], anchor_t[idx])
        worst = [j for j in np.flatnonzero(excess > 1.0) if excess[j] >= excess[neighbours[j]].max()]
        if not worst:
            return ~keep
        keep[idx[worst]] = False


def _prediction_excess(anchor_q: np.ndarray, anchor_t: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """-> (A,) each anchor's miss of its neighbours' prediction over the allowed miss (> 1: stray; 0 when
    it has too few neighbours to judge), and each anchor's neighbour indices."""
    excess, neighbours = np.zeros(len(anchor_q)), []
    for i in range(len(anchor_q)):
        distance = np.abs(anchor_q - anchor_q[i])
        distance[i] = np.inf
        near = np.flatnonzero(distance <= STRAY_REACH_Q)
        if len(near) < STRAY_NEIGHBOURS:  # sparse anchors (notes the transcriber missed): the nearest few
            near = np.argsort(distance)[:STRAY_NEIGHBOURS]
        near = near[np.isfinite(distance[near])]
        neighbours.append(near)
        if len(near) < STRAY_NEIGHBOURS:
            continue
        q, t = anchor_q[near], anchor_t[near]
        a, b = np.triu_indices(len(near), 1)
        slope = float(np.median((t[b] - t[a]) / (q[b] - q[a])))
        predicted = float(np.median(t - slope * q)) + slope * anchor_q[i]
        allowed = STRAY_BASE_S + STRAY_SHARE * float(distance[near].min()) * max(slope, 0.0)
        excess[i] = abs(predicted - anchor_t[i]) / allowed
    return excess, neighbours


def _is_ghost(i: int, notes: np.ndarray, used: np.ndarray) -> bool:
    """An unmatched note that re-sounds a louder matched note, or is an overtone of any louder note (matched
    or not: an added note has overtones too) at the same moment: within a chord's spread of it, or up to
    GHOST_LAG_S after it (the transcriber finds the overtone a few frames late)."""
    onset, pitch, velocity = notes[i, 0], notes[i, 2], notes[i, 3]
    louder = (notes[:, 3] >= velocity) & (np.arange(len(notes)) != i)
    same_time = louder & (notes[:, 0] - onset <= STRUCK_TOGETHER_S) & (onset - notes[:, 0] <= GHOST_LAG_S)
    overtone = np.isin(pitch - notes[:, 2], GHOST_INTERVALS)
    resound = (
        used & louder & (notes[:, 2] == pitch) & (notes[:, 0] < onset) & (onset <= notes[:, 1] + STRUCK_TOGETHER_S)
    )
    return bool(((same_time & overtone) | resound).any())


def _heard(
    s: int, lower: np.ndarray, score: Score, start: np.ndarray, end: np.ndarray, envelopes: Envelopes | None
) -> bool:
    """True when notated note s, absent from the transcription, sounded by its own band (alignment.heard):
    where it coincides with an overtone of the notated notes `lower` sounding with it (_lower: the F-A-C chord's C
    is the F's twelfth: the transcriber may not cut it out), its fundamental about as loud as theirs; elsewhere
    a struck string's rise near its chord's loudest, by its fundamental or, where no other note sounds there, by
    its octave. Without that evidence it is missed."""
    if envelopes is None:
        return False
    if not len(lower):
        return heard.rises(envelopes, *_around(s, score, start, end), heard.STRIKE_DB, heard.STRIKE_UNDER_DB)
    return heard.heard_over(
        envelopes, int(score.pitch[s]), float(start[s]), [(int(score.pitch[m]), float(start[m])) for m in lower]
    )


def _around(s: int, score: Score, start: np.ndarray, end: np.ndarray) -> tuple[int, float, list[int], list[int]]:
    """Notated note s's pitch and performed time, and the pitches of the other notated notes sounding when it starts
    (start, end: (M,) performed s) and of those struck with it: heard.rises' evidence."""
    others = np.arange(len(start)) != s
    sounding = (start <= start[s] + STRUCK_TOGETHER_S) & (end >= start[s]) & others
    chord = others & (np.abs(start - start[s]) <= STRUCK_TOGETHER_S)
    pitches = [int(p) for p in score.pitch[sounding]], [int(p) for p in score.pitch[chord]]
    return int(score.pitch[s]), float(start[s]), *pitches


def _lower(s: int, score: Score, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Indices of the notated notes sounding when note s starts (start, end: (M,) performed s) one of whose overtones
    (GHOST_INTERVALS) falls on its pitch."""
    sounding = (start <= start[s] + STRUCK_TOGETHER_S) & (end >= start[s]) & (np.arange(len(start)) != s)
    return np.flatnonzero(sounding & np.isin(score.pitch[s] - score.pitch, GHOST_INTERVALS))


def _rings_on(i: int, notes: np.ndarray, envelopes: Envelopes | None) -> bool:
    """An unmatched performed note none of whose first partials' bands rises at its onset (heard.rings_on): a string
    ringing on that the transcriber cut a note from (a hall's tail of a note that ended), not a key the pianist
    added. On the hall rendering of dev 7 of its 8 false added notes rose at most 7.5 dB in every band; the true
    added notes of dev, its renderings and the deviation benchmark's tuning half rose 12.3 dB or more in one."""
    return envelopes is not None and heard.rings_on(envelopes, int(notes[i, 2]), float(notes[i, 0]))


def _rings_past(expected: float, pitch: int, notes: np.ndarray) -> float:
    """How long (s) past a notated note's time the performed notes of its pitch begun before it (by MATCH_WINDOW_S)
    sound on; -inf when none. Over MATCH_WINDOW_S, held through: a repeat struck while the pedal holds the first is
    heard as one note (d03's Alberti bass). Over 0: a staccato repeat the transcriber merged into the note before it,
    ending it a few frames past (an Alberti G-sharp 3, 38 ms), or a left-out one's neighbour running on (65 ms)."""
    earlier = notes[(notes[:, 2] == pitch) & (notes[:, 0] < expected - MATCH_WINDOW_S), 1]
    return float(earlier.max() - expected) if len(earlier) else -np.inf


def _echoes_score(
    i: int, notes: np.ndarray, pitch: np.ndarray, start: np.ndarray, end: np.ndarray, envelopes: Envelopes | None
) -> bool:
    """An unmatched performed note at the pitch of a notated note sounding then, or at its overtone or an
    octave below: far more often resonance the transcriber cut into a note than a key the pianist added,
    unless its own band rises at its onset (alignment.heard) where no echoed note struck then explains the
    rise (an octave below, none does: the upper string has no energy there). A soft note added a step from
    the bass under louder chords is that case."""
    note = notes[i]
    sounding = (start <= note[0] + STRUCK_TOGETHER_S) & (end >= note[0] - STRUCK_TOGETHER_S)
    intervals = note[2] - pitch[sounding]
    echoed = np.isin(intervals, (0, -12) + GHOST_INTERVALS)
    if not echoed.any():
        return False
    others = [int(p) for k, p in enumerate(notes[:, 2]) if k != i and abs(notes[k, 0] - note[0]) <= STRUCK_TOGETHER_S]
    if envelopes is None or not heard.struck(envelopes, int(note[2]), float(note[0]), others):
        return True
    struck_with = np.abs(start[sounding] - note[0]) <= STRUCK_TOGETHER_S
    return bool((echoed & (intervals != -12) & struck_with).any())


def bar_at(score: Score, alignment: Alignment, times: np.ndarray) -> np.ndarray:
    """(n,) performed seconds -> (n,) notated bar numbers (of the last notated onset at or before)."""
    quarters = alignment.quarter_of(np.asarray(times, dtype=float))
    order = np.argsort(score.onset_q, kind="stable")
    idx = np.searchsorted(score.onset_q[order], quarters + 1e-6, side="right") - 1
    return score.bar[order][np.clip(idx, 0, len(order) - 1)]
