"""A question's scope resolved against one take: which bars (with a score) or which time span.

Named parts of the take are counted in bars when a score gives them: the opening and the first phrase are
the first PHRASE_BARS bars played, the end and the last phrase the last PHRASE_BARS, the middle the bars
between the first and last quarter, a half half of the bars. Without a score the same parts are shares
of the played time (a phrase is PHRASE_SHARE of it), and bars cannot be counted, so a question about bars
is answered for the whole take and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from llaqo.lite.grounding import Citer
from llaqo.lite.questions import Scope

PHRASE_BARS = 4
PHRASE_SHARE = 0.25
MIN_SPAN_S = 1.0


@dataclass(frozen=True)
class Span:
    """start_s, end_s: the judged time span; bars: indices into score.bars inside it (None without a score);
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
    bars = doc["score"]["bars"]
    return Span(bars[chosen[0]]["start_s"], bars[chosen[-1]]["end_s"], chosen, False, named)


def _time_span(doc: dict, start: float, end: float, named: str) -> Span:
    end = max(min(end, doc["duration_s"]), start + MIN_SPAN_S)
    bars = doc.get("score", {}).get("bars")
    chosen = [i for i, b in enumerate(bars) if b["end_s"] > start and b["start_s"] < end] if bars else None
    return Span(start, end, chosen, False, named)


def resolve_scope(scope: Scope, doc: dict) -> Span:
    """Scope + the answer document (analysis JSON) -> the Span to judge."""
    whole = Span(0.0, doc["duration_s"], None, True)
    bars = doc.get("score", {}).get("bars")
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


def place(c: Citer, span: Span, times: bool = False) -> str:
    """The judged part in words, cited: "bars 5-8" (with times: "bars 5-8 (0:08-0:16)") or "0:30-0:45"."""
    if span.bars:
        first, last = span.bars[0], span.bars[-1]
        clocks = ""
        if times:
            clocks = (
                f" ({c(f'score.bars[{first}].start_s', how='clock')}-{c(f'score.bars[{last}].end_s', how='clock')})"
            )
        if first == last:
            return f"bar {c(f'score.bars[{first}].bar', 'd')}{clocks}"
        return f"bars {c(f'score.bars[{first}].bar', 'd')}-{c(f'score.bars[{last}].bar', 'd')}{clocks}"
    c.doc.setdefault("scope", {})["span_s"] = [round(span.start_s, 3), round(span.end_s, 3)]
    return f"{c('scope.span_s[0]', how='clock')}-{c('scope.span_s[1]', how='clock')}"


def where(c: Citer, t_path: str) -> str:
    """A moment in words, cited: "bar 7 (0:14)" with a score, "0:14" without."""
    t = c.get(t_path)
    bars = c.doc.get("score", {}).get("bars") or []
    for i, b in enumerate(bars):
        if b["start_s"] - 1e-3 <= t < b["end_s"]:
            return f"bar {c(f'score.bars[{i}].bar', 'd')} ({c(t_path, how='clock')})"
    return c(t_path, how="clock")
