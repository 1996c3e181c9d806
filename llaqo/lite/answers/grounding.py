"""Grounded sentences: every number an answer prints is cited from a named field of the answer's document
(the analysis JSON, plus the question's scale and the rating record), with how it was derived; and every
place it names (a bar, bars, a time) is recorded with it, for the app to play.

A Citer formats a value found at a path ("tempo.curve[3][1]"), or an aggregate of several paths, records
the citation, and returns the text to print; say() closes a sentence with the citations and places it used.
A test (tests/test_grounding.py) recomputes every citation from the document and checks that the sentence
holds no number outside them, and that its places are the ones its text names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from llaqo.lite.config import LITE
from llaqo.lite.measures import key as keys
from llaqo.protocol import clock


def note_name(pitch: float, key: dict | None = None) -> str:
    """MIDI 60 -> "C4": the name a pianist reads, spelled in the key (the analysis JSON's "key"; the JSON keeps
    the number)."""
    return keys.spell(pitch, keys.Key.from_json(key))


# How a cited text is derived from the values at its paths; the formats apply to the numbers.
HOW: dict[str, Callable[[list], float | str]] = {
    "value": lambda v: v[0],
    "abs": lambda v: abs(v[0]),
    "pct": lambda v: 100 * v[0],
    "mean": lambda v: float(np.mean(v)),
    "absmean": lambda v: abs(float(np.mean(v))),  # a mean said as "x dB below" rather than "-x dB"
    "median": lambda v: float(np.median(v)),
    "min": lambda v: min(v),
    "max": lambda v: max(v),
    "count": lambda v: len(v),
    "diff": lambda v: v[0] - v[1],
    "absdiff": lambda v: abs(v[0] - v[1]),
    "pct_change": lambda v: abs(100 * (float(np.mean(v[:-1])) / v[-1] - 1)),  # the mean of all but the last vs it
    "above_median": lambda v: v[0] - float(np.median(v[1:])),  # a value against the median of the rest given
    "below_median": lambda v: float(np.median(v[1:])) - v[0],
    "slow": lambda v: LITE.slow_practice_share * v[0],  # the slow-practice metronome mark
}
TEXT_HOW = {"clock": clock, "note": note_name}  # "note" is spelled in the document's key


def resolve(doc: dict, path: str):
    """ "tempo.curve[3][1]" -> doc["tempo"]["curve"][3][1]."""
    value = doc
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        value = value[int(token[1:-1])] if token.startswith("[") else value[token]
    return value


@dataclass(frozen=True)
class Cite:
    """Text printed, derived by `how` (a HOW or TEXT_HOW name) from the values at `paths`, formatted by fmt."""

    text: str
    how: str
    paths: tuple[str, ...]
    fmt: str = ""


@dataclass(frozen=True)
class Place:
    """A place a sentence names: bars (first, last) as the answer counts them (the score's bars, or the heard
    grid's), or else a span of the take in seconds (start, end); a moment ("0:21") is a span with start == end."""

    bars: tuple[int, int] | None = None
    span_s: tuple[float, float] | None = None
    nth: int | None = None
    """Of bars a practice session played more than once: which time through them (2: "the second time")."""

    @classmethod
    def of_bars(cls, first: int, last: int | None = None) -> Place:
        return cls(bars=(int(first), int(first if last is None else last)))

    @classmethod
    def of_time(cls, start_s: float, end_s: float | None = None) -> Place:
        return cls(span_s=(float(start_s), float(start_s if end_s is None else end_s)))


@dataclass(frozen=True)
class Sentence:
    text: str
    cites: tuple[Cite, ...] = ()
    places: tuple[Place, ...] = ()
    """The places the text names, in the order it names them."""


def derive(doc: dict, how: str, paths: Sequence[str], fmt: str) -> str:
    """The text a citation prints, recomputed from the document."""
    values = [resolve(doc, p) for p in paths]
    if how == "note":
        return note_name(values[0], doc.get("key"))
    if how in TEXT_HOW:
        return TEXT_HOW[how](values[0])
    value = HOW[how](values)
    text = format(value, fmt)
    return "0" if re.fullmatch(r"-0(\.0+)?", text) else text


@dataclass
class Citer:
    """Formats cited values from `doc` and collects them, and the places named, until say() closes the sentence."""

    doc: dict
    pending: list[Cite | Place] = field(default_factory=list)
    """What the sentence being built cites and names (dropped with it when it is not said)."""

    def __call__(self, path: str, fmt: str = ".0f", how: str = "value") -> str:
        return self.of(how, [path], fmt)

    def of(self, how: str, paths: Sequence[str], fmt: str = ".0f") -> str:
        text = derive(self.doc, how, paths, fmt)
        self.pending.append(Cite(text, how, tuple(paths), fmt))
        return text

    def get(self, path: str):
        """A value to reason with (not printed, so not cited)."""
        return resolve(self.doc, path)

    def name(self, place: Place) -> None:
        """Record that the sentence being built names this place."""
        self.pending.append(place)

    def bar(self, path: str) -> str:
        """A bar number cited from `path`, and named as a place: "bar {c.bar(path)}"."""
        self.name(Place.of_bars(self.get(path)))
        return self(path, "d")

    def again(self, nth: int) -> None:
        """The bars named last are their nth playing in a practice session ("bar 6, the second time")."""
        last = max(i for i, p in enumerate(self.pending) if isinstance(p, Place))
        self.pending[last] = replace(self.pending[last], nth=nth)

    def say(self, text: str) -> Sentence:
        cites = tuple(p for p in self.pending if isinstance(p, Cite))
        sentence = Sentence(text, cites, tuple(p for p in self.pending if isinstance(p, Place)))
        self.pending = []
        return sentence
