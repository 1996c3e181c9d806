"""The key a piece is in, and pitches spelled in it: F#4 in G major, Gb4 in Db major, D#5 in E minor.

The key comes from the score's key signature when it has one, else from the notes (the score's, or the
performance's without a score) by the Krumhansl-Kessler key profiles: the key whose profile correlates best
with the pitch classes' durations. A pitch is spelled by the line of fifths: of the names a pitch class can
take (G# or Ab), the one nearest the middle of the key's scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Krumhansl & Kessler (1982): how well each scale degree fits a major and a minor key, from the tonic up.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
LETTERS = "FCGDAEB"  # the line of fifths from F (position -1) to B (5)
# The middle of a key's notes on the line of fifths, from its signature: a major scale spans fifths-1..fifths+5;
# a minor key's raised sixth and seventh pull it one fifth sharper. The 0.2 breaks the tie of the two names a
# fifth-and-a-half away (G#/Ab in C major) towards the sharp, the raised degree a chromatic note usually is.
MAJOR_MIDDLE, MINOR_MIDDLE = 2.2, 3.2
PLAIN = (-6, 10)  # Gb..A# on the line of fifths: the names with at most one accidental, but Cb, Fb, E# and B#
MAX_NOTE_S = 2.0  # a held note weighs at most this long: one pedal tone must not decide the key


@dataclass(frozen=True)
class Key:
    """A key: its signature on the circle of fifths (-6 six flats .. 6 six sharps), its mode, and where it was
    read (the score's signature, "score notes" or "notes" for an estimate)."""

    fifths: int
    minor: bool
    source: str

    @property
    def tonic(self) -> int:
        """The tonic's pitch class (0 C .. 11 B)."""
        return (7 * self.fifths + (9 if self.minor else 0)) % 12

    @property
    def name(self) -> str:
        """ "A minor", "Eb major"."""
        return f"{spell(self.tonic + 60, self)[:-1]} {'minor' if self.minor else 'major'}"

    def to_json(self) -> dict:
        return {"name": self.name, "fifths": self.fifths, "minor": self.minor, "source": self.source}

    @classmethod
    def from_json(cls, data: dict | None) -> Key | None:
        return None if data is None else cls(data["fifths"], data["minor"], data["source"])


def signature(tonic: int, minor: bool) -> int:
    """A tonic pitch class and mode -> its key signature in fifths, between 5 flats and 6 sharps (Db, not C#)."""
    major_tonic = (tonic + 3) % 12 if minor else tonic
    fifths = (7 * major_tonic) % 12
    return fifths - 12 if fifths > 6 else fifths


def estimate(pitches: np.ndarray, durations_s: np.ndarray, source: str) -> Key | None:
    """(N,) MIDI pitches and their durations (s, or quarters) -> the best-fitting key; None without notes."""
    if len(pitches) == 0:
        return None
    weights = np.clip(np.asarray(durations_s, dtype=float), 0.05, MAX_NOTE_S)
    histogram = np.bincount(np.asarray(pitches, dtype=int) % 12, weights=weights, minlength=12)
    if not histogram.any() or np.ptp(histogram) == 0:
        return None
    best = max(
        ((np.corrcoef(histogram, np.roll(profile, tonic))[0, 1], tonic, minor)
         for tonic in range(12) for minor, profile in ((False, MAJOR_PROFILE), (True, MINOR_PROFILE))),
    )  # fmt: skip
    _, tonic, minor = best
    return Key(signature(tonic, minor), minor, source)


def spell(pitch: float, key: Key | None) -> str:
    """A MIDI pitch -> its name in the key ("F#4", "Gb4", "B#3"); without a key, C major's spelling."""
    p = int(pitch)
    fifths, minor = (0, False) if key is None else (key.fifths, key.minor)
    middle = fifths + (MINOR_MIDDLE if minor else MAJOR_MIDDLE)
    first = (7 * p) % 12  # positions on the line of fifths with this pitch class: first + 12k
    # Cb, Fb, E#, B# and double accidentals only where the key's own scale (with a minor key's raised sixth
    # and seventh) has them: E, not Fb, in Db major; but B# in C# minor.
    scale = range(fifths - 1, fifths + (9 if minor else 6))
    named = [q for q in (first - 12, first, first + 12) if PLAIN[0] <= q <= PLAIN[1] or q in scale]
    position = min(named, key=lambda q: abs(q - middle))
    alter = (position + 1) // 7  # F..B natural, F#..B# one sharp, Fb..Bb one flat
    letter = LETTERS[(position + 1) % 7]
    accidental = "#" * alter if alter > 0 else "b" * -alter
    return f"{letter}{accidental}{(p - alter) // 12 - 1}"
