"""Evenness of fast passages: runs of single notes at a steady fast rate, and how much their inter-onset
intervals vary (coefficient of variation, %). An even run varies by a few %; an audibly uneven one by 10%+."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAST_IOI_S = 0.2  # notes at most 200 ms apart (sixteenths at 75 BPM or faster) make a fast passage
SAME_RATE = 1.6  # an interval more than 1.6 times longer or shorter than the run's median leaves the run
MIN_NOTES = 6  # a run has at least this many notes


@dataclass(frozen=True)
class Runs:
    """runs: (R, 5) [start_s, end_s, n_notes, mean inter-onset interval ms, inter-onset CV %]."""

    runs: np.ndarray

    @property
    def cv_pct(self) -> float:
        """The note-weighted mean CV over all runs (0 when there are none)."""
        r = self.runs
        return float(np.average(r[:, 4], weights=r[:, 2])) if len(r) else 0.0

    def to_json(self) -> dict:
        return {
            "n_runs": len(self.runs),
            "cv_pct": round(self.cv_pct, 1),
            "runs": [[round(a, 3), round(b, 3), int(n), round(i, 1), round(c, 1)] for a, b, n, i, c in self.runs],
        }


def analyse_runs(onsets: np.ndarray, group: np.ndarray) -> Runs:
    """(N,) sorted onsets and (N,) chord group ids -> Runs over the first onset of each group (a chord in a
    run counts once)."""
    keep = np.ones(len(onsets), dtype=bool)
    if len(group):
        keep[1:] = (group[1:] != group[:-1]) | (group[1:] < 0)
    t = onsets[keep]
    rows, start = [], 0
    ioi = np.diff(t)
    for i in range(1, len(ioi) + 1):
        run = ioi[start:i]
        median = float(np.median(run)) if len(run) else 0.0
        ends = i == len(ioi) or ioi[i] > FAST_IOI_S or not (median / SAME_RATE <= ioi[i] <= median * SAME_RATE)
        if ends:
            if i - start + 1 >= MIN_NOTES and median <= FAST_IOI_S:
                rows.append((t[start], t[i], i - start + 1, 1000 * run.mean(), 100 * run.std() / run.mean()))
            start = i
    return Runs(np.array(rows, dtype=float).reshape(-1, 5))
