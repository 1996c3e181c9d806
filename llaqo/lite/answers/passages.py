"""The places an answer names -> their spans in the recording, for the app to play and the API to return.

Each answer sentence carries the places it names (grounding.Place): bars as the answer counts them (the score's,
or the heard grid's), or spans and moments of the take in seconds. cited() resolves them on the Analysis: a bar's
span is where it was played.
"""

from __future__ import annotations

from collections.abc import Iterable

from llaqo.lite.alignment.pass_report import nth_time
from llaqo.lite.analysis import Analysis
from llaqo.lite.answers.grounding import Place
from llaqo.lite.answers.session import TIMES
from llaqo.protocol import Passage, clock

MAX_PASSAGES = 6  # more clips than this under one answer is a playlist, not evidence
MAX_PASSAGE_S = 20.0  # a longer "passage" is the whole take ("the recording covers bars 1-40"), not a place
POINT_HALF_S = 1.0  # a moment ("at 0:21") stands for the second either side of it


def cited(a: Analysis, places: Iterable[Place]) -> list[Passage]:
    """The places an answer names -> passages in time order, overlapping ones merged, at most MAX_PASSAGES.
    Bars the take did not play, and spans longer than MAX_PASSAGE_S, are not passages."""
    views = {b.bar: b for b in (a.score.bars if a.score is not None else a.bars)}
    found: list[Passage] = []
    for place in places:
        if place.bars is not None:
            first, last = place.bars
            which = nth_time(a.score.passes, first, place.nth) if place.nth and a.score is not None else None
            # Bars of a session named with their pass are played from that pass, and the clip says so.
            own = {b.bar: b for b in which.report.bars} if which is not None else views
            played = [own[b] for b in range(first, last + 1) if b in own]
            label = _bars_label(first, last) + (f", the {TIMES[place.nth]} time" if which is not None else "")
            if played:
                found.append(Passage(played[0].start_s, played[-1].end_s, label, (first, last)))
        else:
            start, end = place.span_s
            if start == end:
                around = (max(0.0, start - POINT_HALF_S), min(a.duration_s, start + POINT_HALF_S))
                found.append(Passage(*around, clock(start)))
            else:
                found.append(Passage(start, end, _times_label(start, end)))
    found = [p for p in found if 0 < p.end_s - p.start_s <= MAX_PASSAGE_S]
    return _merged(found)[:MAX_PASSAGES]


def _bars_label(first: int, last: int) -> str:
    return f"bar {first}" if first == last else f"bars {first}-{last}"


def _times_label(start: float, end: float) -> str:
    return clock(start) if clock(start) == clock(end) else f"{clock(start)}-{clock(end)}"


def _merged(passages: list[Passage]) -> list[Passage]:
    """Sort by start and merge passages that overlap (the same bar cited twice is one clip)."""
    out: list[Passage] = []
    for p in sorted(passages, key=lambda p: (p.start_s, p.end_s)):
        if out and p.start_s < out[-1].end_s - 1e-6:
            q = out.pop()
            if q.bars and p.bars:
                bars = (min(q.bars[0], p.bars[0]), max(q.bars[1], p.bars[1]))
                label = _bars_label(*bars)
            else:
                bars, label = None, _times_label(q.start_s, max(q.end_s, p.end_s))
            p = Passage(q.start_s, max(q.end_s, p.end_s), label, bars)
        out.append(p)
    return out
