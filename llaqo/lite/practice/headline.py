"""The headline numbers of one analysed take: the row of the class view and of the progress history.

The choice of each field lives here only, so that the table, the history and their answers switch together
(e.g. when the analysis grows a better evenness measure).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the history imports Headline without the analysis stack (torch, librosa)
    from llaqo.lite.analysis import Analysis

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
    """The problem the chat's advice would fix first (llaqo.lite.answers.advice, its severity order), in a few
    words with its number; "none" when it measures none. One ranking, so the class view's row and the chat's
    "the one thing to fix first" name the same problem."""
    from llaqo.lite.answers import advice, answers  # here: the history imports Headline without the analysis
    from llaqo.lite.answers.grounding import Citer
    from llaqo.lite.answers.questions import Scope
    from llaqo.lite.answers.scope import resolve_scope

    c = Citer(answers.document(a.to_json()))
    found = advice.problems(c, resolve_scope(Scope(), c.doc))
    if not found:
        return "none"
    d = c.doc
    words = {
        "notes": lambda: f"wrong or missed notes ({d['score']['accuracy_pct']:.0f}% accurate)",
        "tempo": lambda: f"{d['tempo']['label']} tempo ({d['tempo']['cv_pct']:.1f}% beat to beat)",
        "rhythm": lambda: f"uneven timing ({evenness_ms(a):.0f} ms RMS)",
        "pedal": lambda: f"blurred pedal ({len(a.pedal.blurred_s)} of {len(a.pedal.changes_s)} changes)",
        "chords": lambda: f"chords not together ({d['chords']['median_spread_ms']:.0f} ms spread)",
        "runs": lambda: f"uneven runs ({d['runs']['cv_pct']:.0f}% spacing variation)",
        "balance": lambda: "a melody that does not come through",
        "dynamics": lambda: f"flat dynamics ({a.dynamics.range_db:.1f} dB)",
    }
    return words[found[0].topic]()
