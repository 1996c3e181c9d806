"""Answers about a take against a reference: "Where was I slower, softer, less even than the reference?"

Every sentence cites numbers of compare.Comparison, and names its places as bars with a score, the take's times
without one (grounding.Place).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from llaqo.lite.answers.grounding import Place, Sentence
from llaqo.lite.answers.questions import parse
from llaqo.lite.practice.compare import Comparison, Segment
from llaqo.protocol import clock

ASKS_COMPARISON = r"referen|teacher|compar|\bthan\b|versus|\bvs\b|differ|model recording|other take"
TOPIC_WORDS = {
    "tempo": r"slow|fast|tempo|speed|bpm|rush|drag|hurr|pace",
    "dynamics": r"soft|loud|quiet|dynamic|volume|level|forte|piano\b",
    "evenness": r"even|steady|timing|rhythm|pulse|beat|regular|stable",
}
TEMPO_PCT = 5.0  # a stretch at least 5% slower or faster than the reference is worth naming
LEVEL_DB = 3.0  # ... at least 3 dB softer or louder (relative to each recording's overall level)
CV_POINTS = 2.0  # ... at least 2 percentage points more beat-to-beat variation
MAX_PLACES = 3


def asks_comparison(question: str, previous_question: str | None = None) -> bool:
    """True when the question compares with the reference, or follows up a comparison on a compared topic
    ("and softer?") or on none ("why?")."""
    q = question.lower()
    if re.search(ASKS_COMPARISON, q):
        return True
    if previous_question is None or not re.search(ASKS_COMPARISON, previous_question.lower()):
        return False
    asked = parse(question)  # no topic: an overall follow-up ("why?")
    return not asked.unmeasurable and set(asked.topics) <= {"tempo", "rhythm", "dynamics"}


def compared_topics(question: str) -> list[str]:
    """The compared topics a question names, in a fixed order; all of them when it names none."""
    q = question.lower()
    named = [t for t, pattern in TOPIC_WORDS.items() if re.search(rf"\b(?:{pattern})", q)]
    return named or list(TOPIC_WORDS)


def comparison_sentences(c: Comparison, question: str, previous_question: str | None = None) -> list[Sentence]:
    """Sentences answering a comparison question; a follow-up naming no topic keeps the previous one's."""
    topics = compared_topics(question)
    if previous_question and topics == list(TOPIC_WORDS):
        topics = compared_topics(previous_question)
    if not c.segments:
        return [
            Sentence(f"I could not line up {c.take.name} with the reference {c.reference.name}: is it the same music?")
        ]
    basis = (
        "Both recordings were aligned to the score, bar by bar."
        if c.by_bar
        else "Without a score I lined the recordings up by their sound (chroma DTW); times are in your take."
    )
    out = [Sentence(f"Compared with the reference {c.reference.name}: {basis}")]
    for topic in topics:
        out += SENTENCES[topic](c)
    return out


def tempo_sentences(c: Comparison) -> list[Sentence]:
    pct = 100 * (c.take_bpm / c.reference_bpm - 1) if c.reference_bpm else 0.0
    out = [
        Sentence(
            f"Overall you played at {c.take_bpm:.0f} BPM, the reference at {c.reference_bpm:.0f} "
            f"({_signed(pct, 'faster', 'slower')})."
        )
    ]
    slower = _places(c, lambda s: -s.tempo_pct, TEMPO_PCT)
    for group in slower:
        take, ref = _mean(group, "take_bpm"), _mean(group, "reference_bpm")
        where, at = _where(c, group)
        out.append(Sentence(
            f"You were slower than the reference {where}: {take:.0f} BPM against {ref:.0f} "
            f"({100 * (1 - take / ref):.0f}% slower).", places=(at,)
        ))  # fmt: skip
    if not slower:
        out.append(Sentence(f"Nowhere were you {TEMPO_PCT:.0f}% or more slower than the reference."))
    for group in _places(c, lambda s: s.tempo_pct, TEMPO_PCT)[:1]:
        take, ref = _mean(group, "take_bpm"), _mean(group, "reference_bpm")
        where, at = _where(c, group)
        out.append(Sentence(
            f"You were faster {where}: {take:.0f} BPM against {ref:.0f} ({100 * (take / ref - 1):.0f}% faster).",
            places=(at,),
        ))  # fmt: skip
    return out


def dynamics_sentences(c: Comparison) -> list[Sentence]:
    softer = _places(c, lambda s: -s.level_diff_db, LEVEL_DB)
    out = []
    for group in softer:
        diff = -float(np.mean([s.level_diff_db for s in group]))
        where, at = _where(c, group)
        out.append(Sentence(f"You were softer than the reference {where}, by {diff:.1f} dB.", places=(at,)))
    for group in _places(c, lambda s: s.level_diff_db, LEVEL_DB)[:1]:
        diff = float(np.mean([s.level_diff_db for s in group]))
        where, at = _where(c, group)
        out.append(Sentence(f"You were louder {where}, by {diff:.1f} dB.", places=(at,)))
    if not out:
        out.append(Sentence(f"Your loudness followed the reference's shape within {LEVEL_DB:.0f} dB everywhere."))
    out.append(Sentence(
        "Levels are relative to each recording's overall loudness, since the two were recorded at different gains."
    ))  # fmt: skip
    return out


def evenness_sentences(c: Comparison) -> list[Sentence]:
    t, r = c.take.timing_jitter_ms, c.reference.timing_jitter_ms
    out = [Sentence(f"Your notes sat {t:.0f} ms (RMS) off an even placement, the reference's {r:.0f} ms.")]
    less_even = _places(c, lambda s: s.cv_diff if s.cv_diff is not None else 0.0, CV_POINTS)
    for group in less_even:
        take, ref = _mean(group, "take_cv_pct"), _mean(group, "reference_cv_pct")
        where, at = _where(c, group)
        out.append(Sentence(
            f"Your beats were less even than the reference's {where}: beat-to-beat variation "
            f"{take:.1f}% against {ref:.1f}%.", places=(at,)
        ))  # fmt: skip
    if not less_even:
        out.append(Sentence(
            f"Nowhere did your beat-to-beat variation exceed the reference's by {CV_POINTS:.0f} points."
        ))  # fmt: skip
    return out


SENTENCES: dict[str, Callable[[Comparison], list[Sentence]]] = {
    "tempo": tempo_sentences,
    "dynamics": dynamics_sentences,
    "evenness": evenness_sentences,
}


def _places(c: Comparison, excess: Callable[[Segment], float], threshold: float) -> list[list[Segment]]:
    """Runs of consecutive segments whose excess is >= threshold, the largest mean excess first."""
    runs: list[list[Segment]] = []
    previous = -2
    for i, s in enumerate(c.segments):
        if excess(s) >= threshold:
            if i == previous + 1:
                runs[-1].append(s)
            else:
                runs.append([s])
            previous = i
    runs.sort(key=lambda run: -float(np.mean([excess(s) for s in run])))
    return runs[:MAX_PLACES]


def _mean(group: list[Segment], name: str) -> float:
    return float(np.mean([getattr(s, name) for s in group]))


def _where(c: Comparison, group: list[Segment]) -> tuple[str, Place]:
    """Where the group is in words ("in bars 5-8", "around 0:21-0:29") and as a place: bars with a score, the take's
    seconds without one."""
    if c.by_bar:
        first, last = group[0].label, group[-1].label
        return (f"in bar {first}" if first == last else f"in bars {first}-{last}"), Place.of_bars(first, last)
    start, end = group[0].take_s[0], group[-1].take_s[1]
    where = f"around {clock(start)}-{clock(end)}" if clock(start) != clock(end) else f"around {clock(start)}"
    return where, Place.of_time(start, end)


def _signed(pct: float, up: str, down: str) -> str:
    if abs(pct) < 0.5:
        return "the same"
    return f"{abs(pct):.0f}% {up if pct > 0 else down}"
