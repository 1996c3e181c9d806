"""The headline numbers of one analysed take: the row of the class view and of the progress history.

The choice of each field lives here only, so that the table, the history and their answers switch together
(e.g. when the analysis grows a better evenness measure).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from llaqo.lite.config import LITE

if TYPE_CHECKING:  # the history imports Headline without the analysis stack (torch, librosa)
    from llaqo.lite.analysis import Analysis

ACCURATE_PCT = 95.0  # below this share of notes played as written, accuracy is the first thing to fix

FIELDS = {  # name -> (what it is, unit, better): better is "lower", "higher" or "" (neither)
    "tempo_bpm": ("tempo", "BPM", ""),
    "accuracy_pct": ("note accuracy", "%", "higher"),
    "evenness_ms": ("evenness (timing spread)", "ms RMS", "lower"),
    "range_db": ("dynamic range", "dB", "higher"),
    "pedal_pct": ("notes held by the pedal", "%", ""),
}


@dataclass(frozen=True)
class Headline:
    """One take in five numbers and its most pressing problem. accuracy_pct is None without a score."""

    name: str
    tempo_bpm: float
    accuracy_pct: float | None
    evenness_ms: float
    """The timing spread: RMS ms of onsets around their notated (or even-grid) places; lower is more even."""
    range_db: float
    pedal_pct: float
    top_problem: str

    def to_json(self) -> dict:
        return {k: round(v, 1) if isinstance(v, float) else v for k, v in asdict(self).items()}


def evenness_ms(a: Analysis) -> float:
    """The evenness measure used by the class view and the history."""
    return a.timing_jitter_ms


def headline(a: Analysis) -> Headline:
    return Headline(
        name=a.name,
        tempo_bpm=a.tempo.bpm,
        accuracy_pct=a.score.accuracy_pct if a.score is not None else None,
        evenness_ms=evenness_ms(a),
        range_db=a.dynamics.range_db,
        pedal_pct=100 * a.pedal.sustained_share,
        top_problem=top_problem(a),
    )


def top_problem(a: Analysis) -> str:
    """The measured problem furthest past its threshold, in words with its number; "none" when there is none."""
    problems = []  # (how far past the threshold, as a share of it; the problem)
    if a.score is not None and a.score.accuracy_pct < ACCURATE_PCT:
        acc = a.score.accuracy_pct
        problems.append(((ACCURATE_PCT - acc) / 5, f"wrong or missed notes ({acc:.0f}% accurate)"))
    if evenness_ms(a) > LITE.jitter_even_ms:
        problems.append((evenness_ms(a) / LITE.jitter_even_ms - 1, f"uneven timing ({evenness_ms(a):.0f} ms RMS)"))
    if a.pedal.label == "blurred":
        share = len(a.pedal.blurred_s) / max(len(a.pedal.changes_s), 1)
        problems.append((share, f"blurred pedal ({len(a.pedal.blurred_s)} of {len(a.pedal.changes_s)} changes)"))
    if a.tempo.label == "rushing" and a.tempo.nominal_bpm:
        problems.append((a.tempo.bpm / a.tempo.nominal_bpm - 1, f"rushing ({a.tempo.bpm:.0f} BPM)"))
    if a.dynamics.range_db < LITE.flat_db:
        problems.append((1 - a.dynamics.range_db / LITE.flat_db, f"flat dynamics ({a.dynamics.range_db:.1f} dB)"))
    return max(problems)[1] if problems else "none"
