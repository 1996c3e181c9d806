"""Which metrical level is the notated beat: the evidence of the bass line and the accompaniment's figure.

The pulse tracker (llaqo.lite.hearing.metre) finds a regular level and the chords' accents rank its multiples,
but that alone reads a slow chorale's or a nocturne's beat at its eighths (a fast level is as regular as the
beat, and closer to a moderato prior). A score would notate the beat where the bass moves:

- a chorale's bass moves with every chord, so its beat is the chord rate;
- a nocturne's, a march's, an Alberti bass's or a jig's left hand starts each beat with a bass note and fills
  it with a broken chord, single notes or an after-beat, so the beat is the bass's rate, not its filling;
- a waltz's bass sounds once a bar, under two after-beat chords (oom-pah-pah), and so does a slow 3/8 piece
  counted in eighths: there the beats are the bass and the two chords, a third of the bass's rate.

Pure functions over metre's chords: time (E,) s, low / high (E,) MIDI pitch of the chord's lowest / highest note,
size (E,) notes in the chord.
"""

from __future__ import annotations

import numpy as np

BASS_WINDOW_S = 1.5  # a bass note is judged against the chords within this many s either side
BASS_BAND = 7  # ... it lies within a fifth of the lowest note played there
BASS_GAP = 5  # ... and a fourth or more below the middle of the chords' lowest notes there (a distinct line) ...
BASS_MIDDLE = 50  # percentile of the lowest notes around that stands for the other chords
BASS_SPAN = 12  # ... or under a chord spanning an octave or more (a chorale's bass, in every chord)
MIN_BASS = 8  # fewer bass notes than this show no rhythm
VOICED = 3  # pitch classes in a chorale's chords (a bass with inner voices); two hands in tenths have two
MAX_BASS_SHARE = 0.95  # a line whose every chord is "bass" (a scale in octaves) is no bass line
MIN_BEAT_BPM = 36.0  # a bass slower than this moves once a bar (or less): it shows the bar, not the beat
REGULAR = 0.15  # a bass interval within this share of a whole number of the median interval is regular
MIN_REGULAR = 0.6  # ... and at least this share of them must be, or the bass has no rhythm to go by
FIGURE_REACH = 0.08  # a chord within this share of the bass interval of its third is an after-beat
MIN_FIGURE = 0.6  # ... and at least this share of the bass intervals must hold them: oom-pah-pah, oom-pah
AFTER_BEAT_MAX_BPM = 160.0  # an after-beat in halves faster than this is an off-beat, not a beat


def bass_attacks(time: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(E,) chord times in s, MIDI pitches of each chord's lowest and highest note -> (E,) bool: the chord starts
    a bass note.

    A bass note is near the lowest note played within BASS_WINDOW_S and either lies well below the other chords
    there (a left hand's bass under its broken chords or after-beats) or under a chord spanning an octave (the
    bass voice of a chorale). A line with no other register (every chord its own bass) has no bass: all False.
    (A melody alone may show one at its lowest notes; filled_by_the_left_hand and regular() then mostly refuse it.)
    """
    out = np.zeros(len(time), dtype=bool)
    for i, t in enumerate(time):
        near = np.abs(time - t) <= BASS_WINDOW_S
        floor, middle = float(low[near].min()), float(np.percentile(low[near], BASS_MIDDLE))
        out[i] = low[i] <= floor + BASS_BAND and (high[i] - low[i] >= BASS_SPAN or low[i] <= middle - BASS_GAP)
    if out.mean() > MAX_BASS_SHARE:
        return np.zeros(len(time), dtype=bool)
    return out


def regular(times: np.ndarray) -> bool:
    """(K,) sorted times in s -> whether they keep a rhythm: MIN_BASS or more, and most intervals a whole number
    of the median one (within REGULAR)."""
    if len(times) < MIN_BASS:
        return False
    gaps = np.diff(times)
    ratio = gaps / float(np.median(gaps))
    return float(np.mean((np.abs(ratio - np.round(ratio)) < REGULAR) & (ratio > 0.5))) >= MIN_REGULAR


def after_beats(time: np.ndarray, size: np.ndarray, bass: np.ndarray) -> np.ndarray:
    """(E,) bool: the after-beat chords (two or more notes, no bass) that divide the bass intervals evenly into
    beats, else all False. Most bass intervals (MIN_FIGURE) must hold exactly one such chord on each third (a
    waltz's or a 3/8 piece's oom-pah-pah), on each quarter (a bass note a bar of four under three chords) or, at
    a half slower than AFTER_BEAT_MAX_BPM, on the half (an oom-pah in quarters; a faster one is a march's
    off-beat eighth, and its beat is the bass's)."""
    starts = time[bass]
    if len(starts) < 2:
        return np.zeros(len(time), dtype=bool)
    chords = np.flatnonzero((size >= 2) & ~bass)
    for parts in (3, 4, 2):
        if parts == 2 and 60.0 / (float(np.median(np.diff(starts))) / 2) > AFTER_BEAT_MAX_BPM:
            continue
        out = np.zeros(len(time), dtype=bool)
        full = 0
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            inside = chords[(time[chords] > a + FIGURE_REACH * (b - a)) & (time[chords] < b - FIGURE_REACH * (b - a))]
            points = a + np.arange(1, parts) * (b - a) / parts
            if len(inside) == parts - 1 and (np.abs(time[inside] - points) <= FIGURE_REACH * (b - a)).all():
                full += 1
                out[inside] = True
        if full >= MIN_FIGURE * (len(starts) - 1):
            return out
    return np.zeros(len(time), dtype=bool)


def filled_by_the_left_hand(
    time: np.ndarray, low: np.ndarray, size: np.ndarray, bass: np.ndarray, middle: float
) -> bool:
    """Whether the bass notes are the left hand's beats: nothing sounds between them and they carry voiced chords
    (a chorale, the melody moving with the bass; a scale in tenths carries two pitch classes, and is a line, not a
    bass under its chords), or the accompaniment (a chord whose lowest note is below `middle`, a MIDI pitch
    between the accompaniment and the melody) fills most of their intervals (MIN_FIGURE: a broken chord,
    after-beats). A bass under a melody that alone divides it is the half bar or the bar of a melody's beat, and
    says nothing of which."""
    starts = np.flatnonzero(bass)
    between = [np.arange(a + 1, b) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    moving = [span for span in between if len(span)]
    if len(moving) < 0.5 * len(between):
        return float(np.median(size[starts])) >= VOICED
    return sum(bool((low[span] < middle).any()) for span in moving) >= MIN_FIGURE * len(moving)


def accents(
    time: np.ndarray, low: np.ndarray, high: np.ndarray, size: np.ndarray, middle: float
) -> tuple[np.ndarray, np.ndarray]:
    """-> ((E,) bool the chords a notated beat starts on, by the bass line: every bass note, and a waltz's two
    after-beat chords; (E,) bool the bass notes alone). Both all False when the bass keeps no rhythm, is not the
    left hand's beat (filled_by_the_left_hand; `middle`: a MIDI pitch between the accompaniment and the melody),
    or is slower than MIN_BEAT_BPM: then it says nothing of the beat."""
    none = np.zeros(len(time), dtype=bool)
    bass = bass_attacks(time, low, high)
    if not regular(time[bass]) or not filled_by_the_left_hand(time, low, size, bass, middle):
        return none, none
    marked = bass | after_beats(time, size, bass)
    if 60.0 / float(np.median(np.diff(time[marked]))) < MIN_BEAT_BPM:
        return none, none
    return marked, bass


def accent_fit(marked: np.ndarray, on_beat: np.ndarray) -> float:
    """(G,) grid points holding an accent (float 0/1) and (G,) bool beats of one level -> 0-1: the F-measure of the
    accents on the beats (1 when every beat starts on an accent and every accent on a beat; a level twice too fast
    or too slow scores 2/3)."""
    total = float(marked.sum())
    if total == 0 or not on_beat.any():
        return 0.0
    hits = float(marked[on_beat].sum())
    precision, recall = hits / float(on_beat.sum()), hits / total
    return 2 * precision * recall / max(precision + recall, 1e-9)


def level_fit(marked: np.ndarray, bass: np.ndarray, on_beat: np.ndarray) -> float:
    """(G,) grid points holding an accent and (G,) those holding a bass note (float 0/1), and (G,) bool beats of
    one level -> 0-1: accent_fit times the share of the bass notes on beats (a level of two quarters in a waltz,
    across its bars of three, misses half of them)."""
    bass_on_beats = float(bass[on_beat].sum()) / max(float(bass.sum()), 1.0)
    return accent_fit(marked, on_beat) * bass_on_beats
