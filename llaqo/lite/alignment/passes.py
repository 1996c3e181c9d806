"""A practice session against its score: passes (stretches of continuous playing), found by an alignment that
may jump, each pass then aligned on its own with align.align.

The one-pass alignment (align.align) is monotonic: a second pass over bars it already placed must be forced
onto later bars or left over as "extra". Here the performed onset groups are first followed through the score
by a hidden Markov model over score onset groups (Viterbi) whose transitions advance by one group, stay, skip
forward a few groups at a cost per group, or jump anywhere at a fixed cost, like JumpDTW (Fremerey et al.,
ISMIR 2010) and the score follower with jumps of Nakamura et al. (arXiv 1404.2313). Where the path jumps a
new pass begins. A jump after a silence costs less: players restart after a pause far more often than
without one. With one pass, the alignment is align.align's over the whole take, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from llaqo.lite.alignment import align
from llaqo.lite.alignment.score import Score
from llaqo.lite.config import LITE
from llaqo.lite.hearing.spectral import Envelopes
from llaqo.lite.hearing.voices import struck_groups

STAY_COST = 0.4  # a score chord heard as two onset groups (a spread chord, a re-detected note)
SKIP_COST = 0.6  # per score group skipped forward (a chord left out, or missed by the transcriber)
JUMP_COST = 4.0  # a jump anywhere: more than three badly matched groups, less than a bar of them
PAUSE_S = 0.25  # a silence this long before a group (onset to onset, beyond a beat) makes a jump cheaper
PAUSE_JUMP_COST = 2.0  # ... costing this instead
START_COST = 1.0  # the first group may sit anywhere in the score (a mid-piece start), at this cost
MAX_FORWARD_GROUPS = 6  # a forward move further than this on the path is a jump, not a skip
MIN_PASS_GROUPS = 4  # a pass shorter than this many onset groups joins its neighbour (a fumbled note)


@dataclass(frozen=True)
class Pass:
    """One pass through (part of) the score, in the recording's and the score's indices.

    notes: (n,) int indices into the performed notes; alignment: align.align of those notes to the score notes
    in the pass's span, with its indices mapped back to the whole take and the whole score
    """

    notes: np.ndarray
    alignment: align.Alignment
    start_s: float
    end_s: float
    first_bar: int
    last_bar: int
    complete: bool
    """The pass plays the score from its first bar to its last."""


def score_path(notes: np.ndarray, score: Score) -> tuple[np.ndarray, np.ndarray]:
    """Follow the performance through the score, allowing jumps.

    notes: (N, 4) [onset_s, offset_s, pitch, velocity] sorted by onset
    -> ((N,) int onset group of each note, (G,) int the score onset group each performed group is placed on)
    """
    onsets = notes[:, 0]
    perf_group = struck_groups(onsets)
    score_group = np.unique(score.onset_q, return_inverse=True)[1]
    similarity = (
        align.group_features(score_group, score.pitch) @ align.group_features(perf_group, notes[:, 2].astype(int)).T
    )
    cost = 1.0 - similarity  # (S, G)
    n_score, n_perf = cost.shape
    group_start = np.array([onsets[perf_group == g].min() for g in range(n_perf)])
    gaps = np.diff(group_start, prepend=group_start[0])
    typical = float(np.median(gaps[1:])) if n_perf > 2 else 0.0
    steps = np.arange(n_score)
    back = np.zeros((n_perf, n_score), dtype=np.int32)
    total = cost[:, 0] + np.where(steps == 0, 0.0, START_COST)
    for g in range(1, n_perf):
        advance = np.r_[np.inf, total[:-1]]
        stay = total + STAY_COST
        # skip: min over k <= i - 2 of total[k] + SKIP_COST * (i - 1 - k), as a running minimum
        shifted = np.minimum.accumulate(total - SKIP_COST * steps)
        skip = np.r_[np.inf, np.inf, shifted[:-2]] + SKIP_COST * (steps - 1)
        skip_from = np.r_[0, 0, _running_argmin(total - SKIP_COST * steps)[:-2]]
        jump_cost = PAUSE_JUMP_COST if gaps[g] - typical >= PAUSE_S else JUMP_COST
        best = int(np.argmin(total))
        jump = np.full(n_score, total[best] + jump_cost)
        options = np.stack([advance, stay, skip, jump])  # (4, S)
        choice = np.argmin(options, axis=0)
        back[g] = np.choose(choice, [steps - 1, steps, skip_from, np.full(n_score, best)])
        total = options[choice, steps] + cost[:, g]
    path = np.zeros(n_perf, dtype=int)
    path[-1] = int(np.argmin(total))
    for g in range(n_perf - 1, 0, -1):
        path[g - 1] = back[g, path[g]]
    return perf_group, path


def _running_argmin(x: np.ndarray) -> np.ndarray:
    """(n,) -> (n,) index of the minimum of x[: i + 1] (the latest, on ties)."""
    at_minimum = x <= np.minimum.accumulate(x)
    return np.maximum.accumulate(np.where(at_minimum, np.arange(len(x)), 0))


def pass_starts(path: np.ndarray) -> np.ndarray:
    """(G,) score group per performed group -> (P,) the performed groups where a pass begins (the first is 0).

    A pass begins where the path moves back, or forward by more than MAX_FORWARD_GROUPS; a pass shorter than
    MIN_PASS_GROUPS joins the one before it.
    """
    step = np.diff(path)
    starts = [0] + [int(g) + 1 for g in np.flatnonzero((step < 0) | (step > MAX_FORWARD_GROUPS))]
    kept = [0]
    for s, nxt in zip(starts[1:], starts[2:] + [len(path)], strict=False):
        if nxt - s >= MIN_PASS_GROUPS and s - kept[-1] >= MIN_PASS_GROUPS:
            kept.append(s)
    return np.array(kept, dtype=int)


def find_passes(notes: np.ndarray, score: Score, envelopes: Envelopes | None = None) -> list[Pass]:
    """The passes of a take, each aligned on its own; one pass (align.align of the whole take) when it has no jump.

    notes: (N, 4) [onset_s, offset_s, pitch, velocity] sorted by onset
    envelopes: the recording's pitch envelopes, for align.align's word on notated notes the transcription lacks
    """
    if len(notes) == 0:
        return [_as_pass(np.arange(0), align.align(notes, score, envelopes), notes, score)]
    perf_group, path = score_path(notes, score)
    starts = pass_starts(path)
    group_q = np.unique(score.onset_q)
    if len(starts) == 1:
        # One pass: align.align of the whole take against the bars it plays. A take from the first bar to the
        # last is aligned to the whole score, as before passes; a start in the middle of the piece (or a stop
        # before its end) is aligned to its own bars only, since align.align's path must cover every score group
        # it is given and can pull a mid-piece start back onto earlier bars that sound alike.
        first, last = (score.bar[np.isclose(score.onset_q, group_q[g])].min() for g in (path.min(), path.max()))
        if first == score.bar.min() and last == score.bar.max():
            return [_as_pass(np.arange(len(notes)), align.align(notes, score, envelopes), notes, score)]
        written = np.flatnonzero((score.bar >= first) & (score.bar <= last))
        part = align.align(notes, _slice(score, written), envelopes)
        if len(part.pairs) < LITE.matched_share * len(notes):
            # Within its own bars the take pairs too few notes to be a pass of this piece (another piece, a few of
            # whose notes fall on the score's pitches): aligned to the whole score, so the analysis refuses it.
            return [_as_pass(np.arange(len(notes)), align.align(notes, score, envelopes), notes, score)]
        idx = np.arange(len(notes))
        return [_as_pass(idx, _lift(part, idx, written, len(score.pitch)), notes, score)]
    found = []
    for a, b in zip(starts, np.r_[starts[1:], len(path)], strict=True):
        idx = np.flatnonzero((perf_group >= a) & (perf_group < b))
        # The pass's span of the score: the groups its path visits; the notes it never reached are not judged.
        lo, hi = group_q[path[a:b].min()], group_q[path[a:b].max()]
        written = np.flatnonzero((score.onset_q >= lo - 1e-6) & (score.onset_q <= hi + 1e-6))
        part = align.align(notes[idx], _slice(score, written), envelopes)
        found.append(_as_pass(idx, _lift(part, idx, written, len(score.pitch)), notes, score))
    return found


def _slice(score: Score, written: np.ndarray) -> Score:
    """The score's notes at indices `written`, as a Score of their own."""
    take = {k: getattr(score, k)[written] for k in ("onset_q", "duration_q", "pitch", "bar", "hand")}
    return replace(score, **take)


def _lift(part: align.Alignment, idx: np.ndarray, written: np.ndarray, n_score: int) -> align.Alignment:
    """An alignment of notes[idx] to score notes `written` -> the same alignment in the whole take's and the whole
    score's indices (performed: (n_score,) bool, False outside the pass's span)."""
    pairs = np.stack([written[part.pairs[:, 0]], idx[part.pairs[:, 1]]], axis=1) if len(part.pairs) else part.pairs
    performed = np.zeros(n_score, dtype=bool)
    performed[written] = part.performed
    return replace(
        part,
        pairs=pairs.astype(int).reshape(-1, 2),
        wrong=[
            replace(w, score_index=int(written[w.score_index]), perf_index=int(idx[w.perf_index])) for w in part.wrong
        ],
        missed=written[part.missed].astype(int),
        extra=idx[part.extra].astype(int),
        performed=performed,
        held=written[part.held].astype(int),
        masked=written[part.masked].astype(int),
        unsure=written[part.unsure].astype(int),
        brief=idx[part.brief].astype(int),
    )


def _as_pass(idx: np.ndarray, aligned: align.Alignment, notes: np.ndarray, score: Score) -> Pass:
    """A pass from its notes and its alignment: times from its notes, bars from the section it performed (from its
    first to its last anchor: a note the alignment paired beyond them does not move the pass's bars)."""
    bars = score.bar[aligned.performed]
    first, last = (int(bars.min()), int(bars.max())) if len(bars) else (int(score.bar.min()),) * 2
    return Pass(
        notes=idx,
        alignment=aligned,
        start_s=float(notes[idx, 0].min()) if len(idx) else 0.0,
        end_s=float(notes[idx, 1].max()) if len(idx) else 0.0,
        first_bar=first,
        last_bar=last,
        complete=first == int(score.bar.min()) and last == int(score.bar.max()),
    )


def main_pass(passes: list[Pass]) -> Pass:
    """The pass the take's tempo, bars and dynamics are measured on: the one over the most notated notes, the
    latest of equals (a run-through rather than the drill after it, the try that got furthest)."""
    sizes = [int(p.alignment.performed.sum()) for p in passes]
    return passes[max(range(len(passes)), key=lambda k: (sizes[k], k))]
