"""Where the bars start: the accents a listener hears on each beat (a bass note, a long note, a loud chord, a
change of harmony) and how well a bar of n beats from a given first downbeat fits them.
llaqo.lite.hearing.metre finds the beats; this judges the bars over them.

Pure functions over the transcribed notes (N, 4) [onset_s, offset_s, pitch, velocity] and the beat times (B,).
"""

from __future__ import annotations

import math

import numpy as np

BEATS_PER_BAR = (2, 3, 4)
DOWNBEAT_ACCENTS = {"bass": 1.0, "long": 0.5, "loud": 0.5, "change": 1.0, "on": 0.5}  # weights of the accents
METRE_PRIOR = {2: -0.1, 3: 0.0, 4: 0.1}  # common time is the likeliest metre, 2/4 the least, when accents tie
EDGE_DOWNBEAT_BONUS = 0.15  # pieces mostly start on a downbeat (or a short pickup) and end on one
BASS_EVERY_BEAT = 0.8  # a bass note on this share of the beats is the bass line of every beat ...
BASS_REPEATED = 0.4  # ... and it repeats its pitch through the bar when this share of beats keeps the last one's
BASS_REACH = 1  # a bass note marks a downbeat when no note within this many beats either side is lower
# Beat 3 of a bar of four is weaker than beat 1 by its harmony: chords change on beat 1 more often than on beat 3.
# (How low the bass goes varies with the chord from one downbeat to the next, so it cannot tell the two apart.)
# The bar is four beats when the changes on beat 1 exceed those on beat 3 by this t statistic (~99% one-sided
# with a dozen bars): a melody's passing notes make the changes of a bar of two differ by chance up to t ~ 2.
HALF_BAR_T = 2.5
# A harmony that changes on nearly every beat (a chorale: a new chord on each beat) marks the beats, not the bars:
# its changes and the contour of its bass repeat with the progression, not the bar, and pointed a beat off the
# notated downbeat on every chorale of the tuning halves. Past this median change from one beat to the next
# (chorales 0.70-1.00 on the tuning halves and their phone copies; melodies over a harmony that changes once a
# bar 0.1-0.6, dev's staccato thirds 0.61-0.66, its Bach chorale 0.47-0.52) the bars are not heard.
BEAT_RATE_HARMONY = 0.68


def beat_features(notes: np.ndarray, beats: np.ndarray, reach_s: float) -> dict[str, np.ndarray]:
    """(N, 4) notes and (B,) beat times -> per beat, the accents that mark a downbeat, each (B,):
    on (a note starts within reach_s of the beat), loud (its loudest velocity / 127), long (its longest note,
    0-1 from a quarter of the beat to two beats), bass (no note starting within BASS_REACH beats either side is
    lower than the lowest one starting here), change (1 - cosine similarity of the pitch classes sounding in this
    beat and the previous one) and change2 (the same for this beat and the next against the two before)."""
    length = np.diff(beats, append=beats[-1] + (beats[-1] - beats[-2]))
    edges = np.append(beats, beats[-1] + length[-1])
    tol = np.minimum(reach_s, 0.25 * length)
    onsets, offsets, pitch = notes[:, 0], notes[:, 1], notes[:, 2]
    idx = np.clip(np.searchsorted(edges - np.append(tol, tol[-1]), onsets, side="right") - 1, 0, len(beats) - 1)
    at_beat = np.abs(onsets - beats[idx]) <= tol[idx]
    out = {key: np.zeros(len(beats)) for key in ("on", "loud", "long", "bass", "change")}
    lowest_at = np.full(len(beats), np.inf)
    lowest_in = np.full(len(beats), np.inf)
    np.minimum.at(lowest_in, idx, pitch)
    np.minimum.at(lowest_at, idx[at_beat], pitch[at_beat])
    out["on"][idx[at_beat]] = 1.0
    np.maximum.at(out["loud"], idx[at_beat], notes[at_beat, 3] / 127.0)
    held = np.log2(np.maximum(offsets - onsets, 1e-3) / length[idx])
    np.maximum.at(out["long"], idx[at_beat], np.clip((held[at_beat] + 2.0) / 3.0, 0.0, 1.0))
    # The bar's bass note is the lowest one near it: a fifth or an octave above it on beat 3 or 4 is not a
    # second downbeat, however low it is next to the chords around it.
    padded = np.concatenate([np.full(BASS_REACH, np.inf), lowest_in, np.full(BASS_REACH, np.inf)])
    around = np.lib.stride_tricks.sliding_window_view(padded, 2 * BASS_REACH + 1).min(axis=1)
    out["bass"] = (np.isfinite(lowest_at) & (lowest_at <= around)).astype(float)
    # A bass note on nearly every beat that repeats its pitch through the bar (a nocturne's or a slow piece's bass
    # under its broken chords): beside a lower bass of the next bar, the lowest note says the opposite of the bar
    # line. There the bar starts where the bass moves to a new note. (A melody in thirds or a chorale's bass moves
    # on nearly every beat: it keeps the lowest-note test.)
    bass_note = lowest_at <= np.percentile(pitch, 25)
    moved = np.append(True, lowest_at[1:] != lowest_at[:-1])
    if bass_note.mean() >= BASS_EVERY_BEAT and 1.0 - moved.mean() >= BASS_REPEATED:
        out["bass"] = (bass_note & moved).astype(float)
    profile = np.zeros((len(beats), 12))
    for i, (a, b) in enumerate(zip(edges[:-1] - tol, edges[1:] - np.append(tol[1:], tol[-1]), strict=True)):
        overlap = np.clip(np.minimum(offsets, b) - np.maximum(onsets, a), 0.0, None)
        np.add.at(profile[i], pitch.astype(int) % 12, overlap)
    norm = np.linalg.norm(profile, axis=1)
    cos = (profile[1:] * profile[:-1]).sum(axis=1) / np.maximum(norm[1:] * norm[:-1], 1e-9)
    out["change"][1:] = np.where((norm[1:] > 0) & (norm[:-1] > 0), 1.0 - cos, 0.0)
    # The same over two beats against the two before: a half bar's harmony against the previous half's, which
    # the passing notes of a melody move less than a single beat's.
    pair = profile + np.vstack([profile[1:], np.zeros((1, 12))])
    before = np.vstack([np.zeros((2, 12)), pair[:-2]])
    norm_pair, norm_before = np.linalg.norm(pair, axis=1), np.linalg.norm(before, axis=1)
    cos_pair = (pair * before).sum(axis=1) / np.maximum(norm_pair * norm_before, 1e-9)
    out["change2"] = np.where((norm_pair > 0) & (norm_before > 0), 1.0 - cos_pair, 0.0)
    return out


def _contrast(feat: dict[str, np.ndarray], strong: np.ndarray, weak: np.ndarray) -> float:
    """How much more the `strong` beats (B,) bool carry the accents than the `weak` ones, each accent in units
    of its spread over the beats, weighted as in DOWNBEAT_ACCENTS."""
    total = 0.0
    for key, weight in DOWNBEAT_ACCENTS.items():
        values = feat[key]
        total += weight * float(values[strong].mean() - values[weak].mean()) / max(float(values.std()), 0.1)
    return total


def _half_bar_evidence(first: np.ndarray, third: np.ndarray) -> float:
    """Welch's t of the harmony changes (one per bar) on the bars' first beats over those on their third beats:
    how clearly, beyond the bar-to-bar variation of a melody's passing notes, the harmony moves on beat 1."""
    if len(first) < 2 or len(third) < 2:
        return 0.0
    spread = np.sqrt(first.var(ddof=1) / len(first) + third.var(ddof=1) / len(third))
    return float(first.mean() - third.mean()) / max(float(spread), 0.02)


def downbeat_score(feat: dict[str, np.ndarray], n: int, phase: int) -> float:
    """Accents on the downbeats minus on the other beats, plus METRE_PRIOR and EDGE_DOWNBEAT_BONUS for each of
    the first and the last sounding beat on a downbeat.

    A bar of four is a bar of two twice over, with a first beat heard stronger than its third: it scores as
    the bar of two on the same downbeats plus how clearly its harmony changes more on beat 1 than on beat 3,
    less HALF_BAR_T. So when beats 1 and 3 are alike (a bass note on each, the harmony changing on both), the
    bar is two beats long."""
    size = len(feat["on"])
    position = (np.arange(size) - phase) % n
    if (position == 0).sum() < 2 or (position != 0).sum() < 2:
        return -np.inf
    total = METRE_PRIOR[n]
    if n == 4:
        total += _contrast(feat, position % 2 == 0, position % 2 == 1)
        total += _half_bar_evidence(feat["change2"][position == 0], feat["change2"][position == 2]) - HALF_BAR_T
    else:
        total += _contrast(feat, position == 0, position != 0)
    played = np.flatnonzero(feat["on"] > 0)
    if len(played):
        total += EDGE_DOWNBEAT_BONUS * (float(position[played[0]] == 0) + float(position[played[-1]] == 0))
    return total


def halves_disagreeing(feat: dict[str, np.ndarray], n: int, first: int) -> int:
    """How many of the take's two halves (by beats) hear their own best downbeats on other beats than the whole
    take's bar grid (n beats a bar, first downbeat at beat `first`): 0, 1 or 2. Bars of two and of four share
    every other downbeat, so those are compared modulo 2; a bar of three shares none with them (no verdict)."""
    size = len(feat["on"])
    disagree = 0
    for lo, hi in ((0, size // 2), (size // 2, size)):
        half = {key: values[lo:hi] for key, values in feat.items()}
        score, m, f = max((downbeat_score(half, m, f), m, f) for m in BEATS_PER_BAR for f in range(m))
        if np.isfinite(score) and (lo + f - first) % math.gcd(m, n) != 0:
            disagree += 1
    return disagree


def harmony_every_beat(feat: dict[str, np.ndarray]) -> bool:
    """True when the harmony changes on nearly every beat (BEAT_RATE_HARMONY), so that neither the changes nor
    the bass say where the bars start: feat as from beat_features."""
    change = feat["change"][1:]
    return len(change) > 0 and float(np.median(change)) >= BEAT_RATE_HARMONY
