"""Sustain pedal as heard: the transcriber's pedal events judged against the harmony changes.

Transkun transcribes the sustain pedal as intervals [down_s, up_s] (llaqo.lite.transcribe). Following
perfbench's definitions:
- none: no pedal press (of at least MIN_PRESS_S: shorter "presses" are the model's flicker on dry playing);
- blurred: at least MIN_BLURRED presses stay down more than BLUR_S past a harmony change (and they are a
  sizeable share of the changes), so the old harmony rings into the new one;
- clean: the pedal is used and released at the harmony changes (a change is "clean" when no press spans it).
Harmony changes come from the score's bars, or without a score from groups of beats whose pitch-class sets
differ (harmony_from_notes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_PRESS_S = 0.3  # pedal events shorter than this are not a press (the model flickers on dry playing)
BLUR_S = 0.25  # a press still down this long after a change blurs it (perfbench definition)
MIN_BLURRED = 2  # the definition asks for at least two presses held across a change
BLUR_SHARE = 0.3  # ... and we ask that they are a sizeable share of the changes
CHANGE_JACCARD = 0.5  # consecutive windows whose pitch-class sets overlap less than this change harmony
CHORD_GAP_S = 0.035  # a pitch class starting this early still belongs to the next window (a spread chord)


@dataclass(frozen=True)
class Harmony:
    """Windows of the music with the pitch classes that sound in each.

    bounds: (W+1,) window boundaries in s; classes: W sets of pitch classes 0-11
    """

    bounds: np.ndarray
    classes: list[set[int]]


@dataclass(frozen=True)
class Pedal:
    events: np.ndarray
    """(P, 2) sustain presses [down_s, up_s] (those of at least MIN_PRESS_S), sorted."""
    sustained_share: float
    """Share of the playing time (first onset to last offset) with the sustain pedal down."""
    changes_s: np.ndarray
    """(H,) harmony-change times in s."""
    blurred_s: np.ndarray
    """(Hb,) the harmony changes a press was held through (by more than BLUR_S)."""
    clean_s: np.ndarray
    """(Hc,) the harmony changes with the pedal down before them and no press held through them."""
    label: str

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "events": [[round(float(a), 3), round(float(b), 3)] for a, b in self.events],
            "sustained_share": round(self.sustained_share, 3),
            "n_harmony_changes": int(len(self.changes_s)),
            "harmony_changes_s": [round(float(t), 3) for t in self.changes_s],
            "blurred_changes_s": [round(float(t), 3) for t in self.blurred_s],
            "clean_changes_s": [round(float(t), 3) for t in self.clean_s],
        }


def harmony_from_notes(notes: np.ndarray, bounds: np.ndarray) -> Harmony:
    """Windows (e.g. groups of tracked beats) filled with the pitch classes of the notes starting in them."""
    classes = [
        set((notes[(notes[:, 0] >= a - CHORD_GAP_S) & (notes[:, 0] < b - CHORD_GAP_S), 2] % 12).astype(int).tolist())
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return Harmony(bounds=bounds, classes=classes)


def harmony_changes(harmony: Harmony) -> np.ndarray:
    """(H,) times of the window boundaries where the pitch-class set changes (Jaccard < CHANGE_JACCARD)."""
    out = []
    for k in range(1, len(harmony.classes)):
        before, after = harmony.classes[k - 1], harmony.classes[k]
        if before and after and len(before & after) / len(before | after) < CHANGE_JACCARD:
            out.append(float(harmony.bounds[k]))
    return np.array(out)


def analyse_pedal(events: np.ndarray, notes: np.ndarray, harmony: Harmony) -> Pedal:
    """(P, 2) transcribed sustain events [down_s, up_s], (N, 4) notes and the harmony -> Pedal."""
    events = np.asarray(events, dtype=float).reshape(-1, 2)
    events = events[events[:, 1] - events[:, 0] >= MIN_PRESS_S]
    changes = harmony_changes(harmony)
    span = (float(notes[:, 0].min()), float(notes[:, 1].max())) if len(notes) else (0.0, 0.0)
    down = np.clip(events, *span)
    share = float((down[:, 1] - down[:, 0]).sum() / (span[1] - span[0])) if span[1] > span[0] else 0.0
    # A press held through a change: down before it (a chord's spread aside) and still down BLUR_S after.
    through = (events[:, None, 0] < changes[None, :] - CHORD_GAP_S) & (events[:, None, 1] > changes[None, :] + BLUR_S)
    blurred = changes[through.any(axis=0)]
    # Clean: the pedal was down in the window before the change, and released before BLUR_S into it.
    window = np.diff(harmony.bounds).max() if len(harmony.bounds) > 1 else 0.0
    before = (events[:, None, 1] > changes[None, :] - window) & (events[:, None, 0] < changes[None, :])
    clean = changes[before.any(axis=0) & ~through.any(axis=0)]
    n_presses_through = int(through.any(axis=1).sum())
    if n_presses_through >= MIN_BLURRED and len(blurred) >= BLUR_SHARE * len(changes):
        label = "blurred"
    elif len(events):
        label = "clean"
    else:
        label = "none"
    return Pedal(events, share, changes, blurred, clean, label)
