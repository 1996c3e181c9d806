"""Whole-recording scope: which windows to hear, and how their answers read as one.

Pure functions over times and texts; the coach encodes the windows and asks the model.
"""

from __future__ import annotations

import math

from llaqo.audio import FRAME_SHIFT_MS, AudioError
from llaqo.protocol import clock

MIN_STRIDE_S = 1.0
"""A shorter stride asks the model about nearly the same audio over and over."""


def window_starts(duration_s: float, span_s: float, stride_s: float) -> list[float]:
    """Starts (s, on the 10 ms frame grid) of windows of span_s every stride_s that cover [0, duration_s].

    The last window is moved back to end at the recording's end, so no window runs past it (unless the
    recording is shorter than one window, which is then heard once from 0, padded as in the original).
    Raises AudioError for a stride shorter than MIN_STRIDE_S or longer than the window (it would leave gaps).
    """
    if not MIN_STRIDE_S <= stride_s <= span_s:
        raise AudioError(
            f"the stride must be between {MIN_STRIDE_S:.0f} s and the window's {span_s:.2f} s (got {stride_s:g} s)"
        )
    last = max(duration_s - span_s, 0.0)
    count = math.ceil(last / stride_s - 1e-9) + 1
    grid = 1000 / FRAME_SHIFT_MS
    starts = [min(i * stride_s, last) for i in range(count)]
    return [math.floor(s * grid + 1e-6) / grid for s in starts]


def merge(spans: list[tuple[float, float]], answers: list[str]) -> list[tuple[float, float, str]]:
    """Per-window answers -> (start, end, answer), neighbours that say the same thing joined into one span."""
    merged: list[tuple[float, float, str]] = []
    for (start, end), answer in zip(spans, answers, strict=True):
        answer = answer.strip()
        if merged and merged[-1][2] == answer:
            merged[-1] = (merged[-1][0], end, answer)
        else:
            merged.append((start, end, answer))
    return merged


def describe(merged: list[tuple[float, float, str]]) -> str:
    """The whole-recording answer: one line per span, "**0:00–0:10** answer"."""
    return "\n".join(f"**{clock(start)}–{clock(end)}** {answer or '(no answer)'}" for start, end, answer in merged)
