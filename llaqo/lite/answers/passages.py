"""The passages an answer cites -> their spans in the recording, for the app to play and the API to return.

The Lite answers name places in two forms only (answers.where): notated bars ("bar 5", "bars 9-12",
"bars 3, 5, 9") when a score is given, and clock times ("around 0:21", "around 0:21-0:29") otherwise.
cited() reads those names back and resolves them on the Analysis (a bar's span is where it was played).
"""

from __future__ import annotations

import re

from llaqo.lite.alignment.pass_report import nth_time
from llaqo.lite.analysis import Analysis
from llaqo.lite.answers.phrases import ORDINALS
from llaqo.protocol import Passage, clock

MAX_PASSAGES = 6  # more clips than this under one answer is a playlist, not evidence
MAX_PASSAGE_S = 20.0  # a longer "passage" is the whole take ("the recording covers bars 1-40"), not a place
CLOCK_SLACK_S = 0.5  # a clock time is rounded to the second: it names the second around it
POINT_HALF_S = 1.0  # a single time ("at 0:21") stands for the second either side of it

BARS = re.compile(r"\bbars? (\d+(?:\s*-\s*\d+)?(?:,\s*(?:and\s+)?\d+(?:\s*-\s*\d+)?)*)")
TIMES = re.compile(r"\b(\d+):(\d{2})(?:\s*-\s*(\d+):(\d{2}))?\b")
NTH_TIME = re.compile(r",? the (\w+) time\b")  # after bars: "bar 6, the second time" (answers.session)


def cited(a: Analysis, answer: str) -> list[Passage]:
    """An answer's cited places -> passages in time order, overlapping ones merged, at most MAX_PASSAGES.

    Where bars are counted (a score's, or the bar grid heard without one), bars are cited and clock times in
    brackets only repeat them, so only bars are read; otherwise clock times are.
    """
    found: list[Passage] = []
    bars = a.score.bars if a.score is not None else a.bars
    if bars:
        views = {b.bar: b for b in bars}
        for match in BARS.finditer(answer):
            for item in re.split(r",\s*(?:and\s+)?", match.group(1)):
                first, _, last = item.replace(" ", "").partition("-")
                first, last = int(first), int(last or first)
                nth = NTH_TIME.match(answer, match.end())
                which = nth_time(a.score.passes, first, ORDINALS.get(nth.group(1), 0)) if nth and a.score else None
                # A bar of a session named with its pass is played from that pass, and its clip says so.
                own = {b.bar: b for b in which.report.bars} if which is not None else views
                played = [own[b] for b in range(first, last + 1) if b in own]
                label = _bars_label(first, last) + (f", the {nth.group(1)} time" if which is not None else "")
                if played:
                    found.append(Passage(played[0].start_s, played[-1].end_s, label, (first, last)))
    else:
        for match in TIMES.finditer(answer):
            start = 60 * int(match.group(1)) + int(match.group(2))
            if match.group(3) is None:
                found.append(
                    Passage(max(0.0, start - POINT_HALF_S), min(a.duration_s, start + POINT_HALF_S), clock(start))
                )
            else:
                end = 60 * int(match.group(3)) + int(match.group(4))
                if end - start <= MAX_PASSAGE_S:
                    span = (max(0.0, start - CLOCK_SLACK_S), min(a.duration_s, end + CLOCK_SLACK_S))
                    found.append(Passage(*span, f"{clock(start)}-{clock(end)}"))
    found = [p for p in found if 0 < p.end_s - p.start_s <= MAX_PASSAGE_S]
    return _merged(found)[:MAX_PASSAGES]


def _bars_label(first: int, last: int) -> str:
    return f"bar {first}" if first == last else f"bars {first}-{last}"


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
                bars, label = None, f"{clock(q.start_s)}-{clock(max(q.end_s, p.end_s))}"
            p = Passage(q.start_s, max(q.end_s, p.end_s), label, bars)
        out.append(p)
    return out
