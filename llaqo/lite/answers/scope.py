"""A question's scope resolved against one take: which bars or which time span.

Bars come from the score's alignment (`score.bars`) or, without a score, from the bar grid heard in the
playing (`bars`, present only when that grid is confident). Named parts of the take are counted in bars when
there are bars: the opening and the first phrase are the first PHRASE_BARS bars played, the end and the last
phrase the last PHRASE_BARS, the middle the bars between the first and last quarter, a half half of the bars.
Without bars the same parts are shares of the played time (a phrase is PHRASE_SHARE of it), and a question
about bars is answered for the whole take and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from llaqo.lite.answers.grounding import Citer, Place
from llaqo.lite.answers.questions import Scope

PHRASE_BARS = 4
PHRASE_SHARE = 0.25
MIN_SPAN_S = 1.0


def bars_path(doc: dict) -> str:
    """Where the document's bars are: "score.bars" with a score, else "bars" (the heard grid; maybe empty)."""
    return "score.bars" if doc.get("score") else "bars"


def bar_views(doc: dict) -> list[dict]:
    """The document's bars ({bar, start_s, end_s, bpm, level_db, ...}), or [] when none can be counted."""
    return (doc["score"] if doc.get("score") else doc).get("bars") or []


@dataclass(frozen=True)
class Span:
    """start_s, end_s: the judged time span; bars: indices into bar_views() inside it (None without bars);
    whole: the whole take; named: the part of the take the question named ("the end"), or ""; unresolved:
    the question named bars that cannot be counted without a score."""

    start_s: float
    end_s: float
    bars: list[int] | None
    whole: bool
    named: str = ""
    unresolved: bool = False

    def holds(self, t: float) -> bool:
        return self.start_s - 1e-3 <= t < self.end_s + 1e-3


def _bar_span(doc: dict, chosen: list[int], named: str) -> Span:
    bars = bar_views(doc)
    return Span(bars[chosen[0]]["start_s"], bars[chosen[-1]]["end_s"], chosen, False, named)


def _time_span(doc: dict, start: float, end: float, named: str) -> Span:
    end = max(min(end, doc["duration_s"]), start + MIN_SPAN_S)
    bars = bar_views(doc)
    chosen = [i for i, b in enumerate(bars) if b["end_s"] > start and b["start_s"] < end] if bars else None
    return Span(start, end, chosen, False, named)


def resolve_scope(scope: Scope, doc: dict) -> Span:
    """Scope + the answer document (analysis JSON) -> the Span to judge."""
    whole = Span(0.0, doc["duration_s"], None, True)
    bars = bar_views(doc)
    if scope.whole:
        return whole
    notes = doc["notes"]
    first_s, last_s = (notes[0][0], notes[-1][1]) if notes else (0.0, doc["duration_s"])
    if bars:
        n = len(bars)
        numbers = [b["bar"] for b in bars]
        if scope.bars is not None:
            lo, hi = scope.bars
            chosen = [i for i, b in enumerate(numbers) if lo <= b and (hi is None or b <= hi)]
            return _bar_span(doc, chosen, "") if chosen else Span(0.0, doc["duration_s"], None, True, "", True)
        count = scope.first_bars or scope.last_bars
        if count:
            chosen = list(range(min(count, n))) if scope.first_bars else list(range(max(0, n - count), n))
            return _bar_span(doc, chosen, "")
        section = scope.section or ""
        k = min(PHRASE_BARS, max(1, n // 2))
        ranges = {
            "opening": range(0, k), "first phrase": range(0, k), "end": range(n - k, n),
            "last phrase": range(n - k, n), "first half": range(0, (n + 1) // 2),
            "second half": range(n // 2, n), "middle": range(n // 4, max(n // 4 + 1, n - n // 4)),
        }  # fmt: skip
        if section in ranges:
            return _bar_span(doc, list(ranges[section]), section)
    elif scope.bars is not None or scope.first_bars or scope.last_bars:
        return Span(0.0, doc["duration_s"], None, True, "", True)
    if scope.time_s is not None:
        start, end = scope.time_s
        return _time_span(doc, start, doc["duration_s"] if end is None else end, "")
    length = last_s - first_s
    section = scope.section or ""
    shares = {
        "opening": (0, PHRASE_SHARE), "first phrase": (0, PHRASE_SHARE), "end": (1 - PHRASE_SHARE, 1),
        "last phrase": (1 - PHRASE_SHARE, 1), "first half": (0, 0.5), "second half": (0.5, 1), "middle": (0.25, 0.75),
    }  # fmt: skip
    if section.startswith("last ") and section.endswith(" s"):
        return _time_span(doc, max(0.0, last_s - float(section[5:-2])), last_s, "")
    a, b = shares.get(section, (0, 1))
    return _time_span(doc, first_s + a * length, first_s + b * length, section)


def score_events(doc: dict, span: Span, kinds: tuple[str, ...]) -> list[tuple[str, int]]:
    """(kind, index) of the score report's events of these kinds ("wrong", "missed", "extra") inside the span:
    by bar where the span counts bars, else by time."""
    s = doc["score"]
    bars = {s["bars"][i]["bar"] for i in span.bars} if span.bars else None
    return [
        (kind, i)
        for kind in kinds
        for i, e in enumerate(s[kind])
        if (bars is None and span.holds(e["time_s"])) or (bars is not None and e.get("bar") in bars)
    ]


def place(c: Citer, span: Span, times: bool = False) -> str:
    """The judged part in words, cited and named as a place: "bars 5-8" (with times: "bars 5-8 (0:08-0:16)") or
    "0:30-0:45"."""
    if span.bars:
        first, last = f"{bars_path(c.doc)}[{span.bars[0]}]", f"{bars_path(c.doc)}[{span.bars[-1]}]"
        clocks = f" ({c(first + '.start_s', how='clock')}-{c(last + '.end_s', how='clock')})" if times else ""
        c.name(Place.of_bars(c.get(first + ".bar"), c.get(last + ".bar")))
        if first == last:
            return f"bar {c(first + '.bar', 'd')}{clocks}"
        return f"bars {c(first + '.bar', 'd')}-{c(last + '.bar', 'd')}{clocks}"
    c.doc.setdefault("scope", {})["span_s"] = [round(span.start_s, 3), round(span.end_s, 3)]
    c.name(Place.of_time(*c.doc["scope"]["span_s"]))
    return f"{c('scope.span_s[0]', how='clock')}-{c('scope.span_s[1]', how='clock')}"


def where(c: Citer, t_path: str) -> str:
    """A moment in words, cited and named as a place: "bar 7 (0:14)" where bars are counted, "0:14" otherwise."""
    t = c.get(t_path)
    for i, b in enumerate(bar_views(c.doc)):
        if b["start_s"] - 1e-3 <= t < b["end_s"]:
            return f"bar {c.bar(f'{bars_path(c.doc)}[{i}].bar')} ({c(t_path, how='clock')})"
    c.name(Place.of_time(t))
    return c(t_path, how="clock")
