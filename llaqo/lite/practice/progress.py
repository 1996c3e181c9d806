"""Progress across saved takes: "How have I improved since last week?" answered from the history, and the
trend plot (tempo, accuracy, evenness, dynamic range and pedal over dates)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures are rendered by the app, never shown in a window

from matplotlib.figure import Figure  # noqa: E402

from llaqo.lite.analysis import ANALYSIS_RATE, Analysis  # noqa: E402
from llaqo.lite.practice.headline import FIELDS, headline  # noqa: E402
from llaqo.lite.practice.history import History, Take, fingerprint  # noqa: E402
from llaqo.protocol import content_hash  # noqa: E402

ASKS_PROGRESS = r"improv|progress|since|last (?:week|month|time)|over time|trend|better than before|history|earlier"
PERIODS = {"week": 7, "month": 30, "yesterday": 1, "day": 1}  # "since last week" -> 7 days back
CHANGE_SHARE = 0.05  # a change under 5% of the earlier value reads as "about the same"
MAX_SERIES = 6  # numbers listed per measure before the series is shortened to its ends


def asks_progress(question: str) -> bool:
    return bool(re.search(ASKS_PROGRESS, question.lower()))


def baseline(takes: Sequence[Take], question: str) -> Take:
    """The take to compare the latest with: for "since last week", the latest take at least 7 days older
    than the newest (else the first); otherwise the first take."""
    q = question.lower()
    for word, days in PERIODS.items():
        if word in q:
            cutoff = takes[-1].recorded_at - timedelta(days=days)
            older = [t for t in takes[:-1] if t.recorded_at <= cutoff]
            return older[-1] if older else takes[0]
    return takes[0]


def progress_sentences(takes: Sequence[Take], question: str) -> list[str]:
    """Takes of one piece, oldest first -> sentences: each measure from the baseline to the latest take, with
    its direction (improved / worse / about the same) and the series of values in between."""
    if len(takes) < 2:
        saved = "one take" if takes else "no takes"
        return [f"The history holds {saved} of this piece; save another take to follow your progress."]
    first, last = baseline(takes, question), takes[-1]
    span = [t for t in takes if first.recorded_at <= t.recorded_at]
    out = [f"From {first.recorded_at:%d %b} to {last.recorded_at:%d %b} ({len(span)} takes of {last.piece}):"]
    for name, (what, unit, better) in FIELDS.items():
        values = [getattr(t.headline, name) for t in span]
        if any(v is None for v in values):
            continue
        a, b = values[0], values[-1]
        out.append(f"{what.capitalize()} {_verdict(a, b, better)} from {a:.0f} to {b:.0f} {unit}{_series(values)}.")
    if last.headline.top_problem != "none":
        out.append(f"The latest take's main problem: {last.headline.top_problem}.")
    return out


def _verdict(a: float, b: float, better: str) -> str:
    if abs(b - a) < CHANGE_SHARE * max(abs(a), 1e-9):
        return "stayed about the same"
    if not better:
        return "rose" if b > a else "fell"
    improved = (b < a) if better == "lower" else (b > a)
    return "improved" if improved else "got worse"


def _series(values: list[float]) -> str:
    if len(values) <= 2:
        return ""
    shown = values if len(values) <= MAX_SERIES else [*values[:2], None, *values[-2:]]
    return " (" + " → ".join("…" if v is None else f"{v:.0f}" for v in shown) + ")"


def trend_figure(takes: Sequence[Take]) -> Figure:
    """One small panel per measure (tempo, accuracy, evenness, dynamic range, pedal) against the take's date."""
    fig = Figure(figsize=(8.0, 6.0), layout="constrained")
    axes = fig.subplots(len(FIELDS), 1, sharex=True)
    dates = [t.recorded_at for t in takes]
    for ax, (name, (what, unit, better)) in zip(axes, FIELDS.items(), strict=True):
        values = [getattr(t.headline, name) for t in takes]
        pairs = [(d, v) for d, v in zip(dates, values, strict=True) if v is not None]
        if pairs:
            ax.plot(*zip(*pairs, strict=True), marker="o")
        hint = {"lower": " ↓ better", "higher": " ↑ better"}.get(better, "")
        ax.set_ylabel(f"{unit}", fontsize="small")
        ax.set_title(f"{what}{hint}", fontsize="small", loc="left")
    title = takes[-1].piece if takes else "no takes"
    fig.suptitle(f"Progress: {title}")
    if dates and max(dates) - min(dates) < timedelta(days=2):
        # A day or two of takes: a week around them, not matplotlib's default of years around a single date.
        middle = min(dates) + (max(dates) - min(dates)) / 2
        axes[-1].set_xlim(middle - timedelta(days=3.5), middle + timedelta(days=3.5))
    fig.autofmt_xdate()
    return fig


def save_take(
    store: History,
    a: Analysis,
    audio_path: str | Path,
    score_path: str | Path | None = None,
    *,
    piece_name: str | None = None,
    recorded_at: datetime | None = None,
) -> Take:
    """Save an analysed take's headline numbers and fingerprint (never the audio) -> the saved Take.
    Raises history.UnsurePiece when the piece needs naming."""
    return store.save(
        headline(a),
        content_hash(audio_path),
        fingerprint(a.wave, ANALYSIS_RATE),
        score_hash=content_hash(score_path) if score_path else None,
        # The piece is named by its score's title, or the file's name when the score has none.
        score_name=(a.score.title if a.score is not None else None) or (Path(score_path).stem if score_path else None),
        piece_name=piece_name,
        recorded_at=recorded_at,
    )
