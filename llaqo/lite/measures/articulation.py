"""Articulation: how long keys are held relative to the time the notes are written (or given) to last.

A key release is found where the damper stops the string: the note's harmonic-band energy
(spectral.Envelopes) falls by DROP_DB within DROP_WINDOW_S, far faster than a held note decays.
Under a held sustain pedal no damper falls and the string rings on, so a key released there is not heard: the note
is left out, in any room, unless (dry rooms) the take's transcribed ends under the presses follow the keys
(ends_tracked). Transkun's note ends there are mostly no key releases: on the everyday set's clean takes they end
53-69% of the held notes under a press before 0.6 of their written value, and its pedalled legato takes read mixed
from them; on perfbench dev they end 30% of the held and 62% of the detached ones, and its pedalled waltz's
detached chords are read from them alone. Nothing in the sound tells the two apart (a released and a held key
sound the same under the pedal: no damper falls after either; the everyday mixed waltz w1 and legato waltz w3
get the same ends), so only a take whose ends hold a fair share of the notes is trusted (bench/RESULTS.md).

A note too short for its damper to be timed (no fall window fits between the envelope's peak, searched ATTACK_S
after the onset, and the horizon: sixteenths at 144 BPM) is timed by the transcriber's note end in any room: its
envelope could only ever read it held.

In a live room (hearing.room: its sound falls neither fast nor far) the damper's first fall is no release: a
recorder's automatic gain dips after each attack, and the reverberation fills a detached note's fall (on the
everyday set's phone copies the damper missed most of the staccato notes that Transkun ended early). There a note
is timed by Transkun's note end, its trained key release, checked against the damper: an early end (under
SHORT_RATIO) counts only when the note's band falls CONFIRM_DB within CONFIRM_WINDOW_S near it, within the spectral
frames' reach (they span ~0.19 s) and Transkun's own error (tens of ms), and before the note's written end (a fall
after it is the legato release at the next onset, which the frames smear back towards an early end); an early end
that no fall confirms is the room's doing (Transkun ends the room's held notes early: legato chorale notes at 0.42
of their written length), and the note counts as held its written length. The confirming fall is slower than a dry
damper's (75 dB/s, not 86): the room's reverberation fills a detached chord's fall, which falls only 4-6 dB in
70 ms there but goes on falling (bench/RESULTS.md). The caller passes only the presses the pedal measure believes
(pedal.presses_believed: in a live room Transkun hears presses nobody made). (Asking a damper fall to stay down as well,
against the gain's dips, read the hall rendering's staccato and mixed takes as legato or mixed: bench/RESULTS.md.)
A fast note (written shorter than ~0.28 s: fast_below_s) has no room in the long frames for a whole confirming fall
before its next onset, and a piano whose release is slow (TimGM6mb) shows only 3-10 dB of it there: its early end
is confirmed by a fall larger than the take's own held notes' bands show in the same place after their attack (the
piano's decay through this room and recorder: fast_confirm_db), so the threshold follows the take, not a piano.
A slow note (written from ~0.48 s: slow_from_s) whose end Transkun puts early is confirmed by a fall anywhere from
SETTLE_S after its envelope peak to SHORT_RATIO of its written value, not near that end: through a phone on a piano
whose release is slow (TimGM6mb) Transkun ends most slow notes, held or detached, at their attack (40-50 ms after the
onset), so its end says nothing of the key, and the window near it holds only the attack's own decay and the
recorder's duck after it, which falls as far on a legato chorale's held notes as on a staccato waltz's (the
TimGM6mb phone copies: a held chorale note's largest fall starts within 0.1 s of the peak, quartiles, a slow detached
note's 0.2-0.4 s after it, where the key came up; bench/RESULTS.md).

A note from E6 up (TREBLE_PITCH) is left out in any room: its string's own decay is as fast as a damper (on the
everyday set's clean takes, 99% of such held notes fell 6 dB in 70 ms before 0.6 of their written length, against
0-1% below C5 and 7% from C5 to G#5), and a grand has no dampers from about F#6 up, so no fall times its release.

The written duration comes from the score (converted to seconds with the performed tempo) when
one is given, and otherwise is the time to the next onset in the note's voice, the part of the
written value that the performance itself reveals (spans_in_reach).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llaqo.lite.hearing.spectral import HOP, N_FFT, Envelopes
from llaqo.lite.hearing.voices import STRUCK_TOGETHER_S, struck_groups

SHORT_RATIO = 0.6  # a note held for less than 60% of its value counts as detached (perfbench definition)
STACCATO_SHARE = 0.75  # share of detached notes above which the playing is staccato (mixed allows up to 80%)
LEGATO_SHARE = 0.25  # share of detached notes below which it is legato (mixed needs at least 20%)
SPLIT_PITCH = 60  # middle C separates the hands' registers when no score says which hand plays
REACH = 12  # a hand's reach: the next note of a note's voice is struck within an octave of it, or in its register
# ... or, for a note struck alone, the next onset when that is one note within two octaves: a broken chord's next note
# (one hand's figure: a nocturne's bass, tenth and twelfth; an Alberti bass under a melody's held note)
LINE_REACH = 24
TREBLE_PITCH = 88  # E6: from here up a held string decays as fast as a damper stops one (see above)
# Transkun's ends under a press time the notes only where it reads this share of them held this much of their value
# (ends_tracked; everyday tuning halves, dev and the TimGM6mb rendering: bench/RESULTS.md).
HELD_RATIO = 0.8
TRACKED_SHARE = 0.3
DROP_DB = 6.0  # a damper stops a string: >= 6 dB down within 70 ms (~86 dB/s, natural decay is ~5-20 dB/s)
DROP_WINDOW_S = 0.07  # short, to time the release closely; all three harmonics, so one masked band does not hide it
ATTACK_S = 0.09  # the envelope peak is searched this long after the onset
HORIZON = 1.3  # look for the release up to 1.3 written durations after the onset
# In a live room an early transcribed end is confirmed by a damper fall starting this near it: the spectral frames
# (186 ms) spread a release over +-93 ms, and Transkun's ends lie 40-90 ms from the key releases (README).
CONFIRM_BEFORE_S = 0.1
CONFIRM_AFTER_S = 0.15
# ... and by a fall of 7 dB in 0.1 s: the room carries a released chord on, so its fall is slower than a dry damper's
# (everyday tuning half, detached set, dev and the hall: 6.5 dB or 7.5 dB read fewer takes right than 7).
CONFIRM_DB = 7.0
CONFIRM_WINDOW_S = 0.1
# A fast note (fast_below_s: its written end comes before a whole confirming window can follow its envelope peak) has
# no room for a whole confirming fall: its band shows a part of one. Its early end is confirmed by the take's own
# evidence instead (fast_confirm_db): a fall FAST_MARGIN_DB more than the take's held notes' bands fall in the same
# place, within FAST_CONFIRM_DB..CONFIRM_DB. On the everyday phone copies a staccato jig's band falls 3-10 dB there on
# TimGM6mb (10th-90th percentile; its release is slow) and 9-16 dB on FluidR3, the held notes' median 2-7 dB by take
# (bench/RESULTS.md).
FAST_CONFIRM_DB = 3.0
FAST_MARGIN_DB = 1.0
MIN_HELD = 5  # the held notes' falls count from this many notes on; fewer (a staccato take): FAST_CONFIRM_DB
# A slow note's confirming fall is looked for from this long after its envelope peak: the attack's own decay and a
# recorder's duck come within it (slow_from_s).
SETTLE_S = 0.1
# ... and must stay down: a recorder's gain comes back after its duck (7-9 dB on the TimGM6mb chorales' held notes
# whose fall after the attack was taken for a release), a released string's band does not (bench/RESULTS.md).
RISE_DB = 4.0


@dataclass(frozen=True)
class Articulation:
    """ratios: (M,) held / written duration of the notes that have a written duration."""

    ratios: np.ndarray
    label: str

    @property
    def short_share(self) -> float:
        return float((self.ratios < SHORT_RATIO).mean()) if len(self.ratios) else 0.0

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "mean_ratio": round(float(self.ratios.mean()), 3) if len(self.ratios) else None,
            "median_ratio": round(float(np.median(self.ratios)), 3) if len(self.ratios) else None,
            "short_share": round(self.short_share, 3),
            "n_notes": int(len(self.ratios)),
        }


def spans_to_next_onset(notes: np.ndarray) -> np.ndarray:
    """(N, 4) notes -> (N,) seconds to the next later onset in the same register (nan for the last notes)."""
    spans = np.full(len(notes), np.nan)
    for low in (True, False):
        idx = np.flatnonzero((notes[:, 2] < SPLIT_PITCH) == low)
        onsets = np.unique(notes[idx, 0])
        nxt = np.searchsorted(onsets, notes[idx, 0] + STRUCK_TOGETHER_S, side="right")
        ok = nxt < len(onsets)
        spans[idx[ok]] = onsets[nxt[ok]] - notes[idx[ok], 0]
    return spans


def spans_in_reach(notes: np.ndarray) -> np.ndarray:
    """(N, 4) notes -> (N,) seconds to the next later onset in the note's voice (nan for the last notes): the sooner
    of the next onset within REACH semitones, the next in its register (spans_to_next_onset) and, for a note struck
    alone, a broken chord's next note (spans_of_lines). A left hand's broken chord or Alberti figure crosses middle C,
    so its register alone skips the figure's next note and a legato note reads released at half its value (the
    everyday set's Alberti and nocturne takes without a score); a wider reach lets the other hand's notes cut a
    detached note's value (dev's ragtime read legato from 16 semitones)."""
    near = np.full(len(notes), np.nan)
    for i, (onset, _, pitch, _) in enumerate(notes):
        later = notes[(notes[:, 0] > onset + STRUCK_TOGETHER_S) & (np.abs(notes[:, 2] - pitch) <= REACH), 0]
        near[i] = later.min() - onset if len(later) else np.nan
    return np.fmin(np.fmin(spans_to_next_onset(notes), near), spans_of_lines(notes))


def spans_of_lines(notes: np.ndarray) -> np.ndarray:
    """(N, 4) notes -> (N,) seconds to the next onset for a note struck alone (no other onset within STRUCK_TOGETHER_S)
    whose next onset is one note struck alone within LINE_REACH semitones (nan elsewhere): one line, a broken chord's
    next note. A nocturne's left hand climbs bass, tenth, twelfth across middle C in steps over an octave, so neither
    its reach nor its register holds the figure's next note: without a score its legato notes read released at half
    their value (the everyday set's nocturnes and Alberti takes: the audio-only label's share of detached notes
    0.12-0.25 where the score's was 0.00-0.12; bench/RESULTS.md). Chords are left to spans_in_reach: a ragtime's
    detached after-beat chords would otherwise be judged against the melody's notes struck between them."""
    spans = np.full(len(notes), np.nan)
    if len(notes) < 2:
        return spans
    order = np.argsort(notes[:, 0], kind="stable")
    onsets = notes[order, 0]
    group = struck_groups(onsets)
    alone = np.bincount(group)[group] == 1  # in onset order
    line = alone[:-1] & alone[1:] & (np.abs(np.diff(notes[order, 2])) <= LINE_REACH)
    spans[order[:-1][line]] = np.diff(onsets)[line]
    return spans


def release_time(
    env: Envelopes,
    notes: np.ndarray,
    i: int,
    horizon_s: float,
    drop_db: float = DROP_DB,
    window_s: float = DROP_WINDOW_S,
    fundamental: bool = False,
) -> float:
    """Seconds after note i's onset at which its string was damped (energy down drop_db within window_s);
    horizon_s (or the time to the next onset of the same pitch, if sooner) when no such fall is found."""
    onset, pitch = notes[i, 0], notes[i, 2]
    same = notes[(notes[:, 2] == pitch) & (notes[:, 0] > onset + STRUCK_TOGETHER_S), 0]
    end_s = min(onset + horizon_s, same[0] if len(same) else np.inf)
    curve = env.of(int(pitch), fundamental)
    fr = env.frame_rate
    stop, w = min(int(end_s * fr), len(curve) - 1), max(int(window_s * fr), 1)
    peak = peak_frame(curve, onset, fr)
    if stop - w <= peak:
        return end_s - onset
    drops = curve[peak : stop - w] - curve[peak + w : stop]
    hits = np.flatnonzero(drops >= drop_db)
    return (peak + hits[0]) / fr - onset if len(hits) else end_s - onset


def peak_frame(curve: np.ndarray, onset_s: float, frame_rate: float) -> int:
    """(T,) band envelope in dB -> the frame of its peak within ATTACK_S after onset_s: falls are searched from
    there (before it the band is still rising with the attack)."""
    start = int(onset_s * frame_rate)
    return start + int(np.argmax(curve[start : start + max(int(ATTACK_S * frame_rate), 1)]))


def damper_blind(written_s: np.ndarray) -> np.ndarray:
    """(M,) written durations in s -> (M,) bool: too short for release_time to find a fall in (no DROP_WINDOW_S
    window fits between the latest envelope peak, ATTACK_S after the onset, and the HORIZON)."""
    return HORIZON * written_s < ATTACK_S + DROP_WINDOW_S


def falls_near(
    env: Envelopes, notes: np.ndarray, i: int, at_s: float, until_s: float, drop_db: float = CONFIRM_DB
) -> bool:
    """Whether note i's band falls drop_db within CONFIRM_WINDOW_S in a fall starting from CONFIRM_BEFORE_S before
    at_s (s), but not before the band's peak, to CONFIRM_AFTER_S after it, and before until_s (s: its written end)."""
    return largest_fall(env, notes, i, at_s - CONFIRM_BEFORE_S, min(at_s + CONFIRM_AFTER_S, until_s)) >= drop_db


def largest_fall(env: Envelopes, notes: np.ndarray, i: int, from_s: float, until_s: float) -> float:
    """The largest fall in dB of note i's band within CONFIRM_WINDOW_S, in a fall starting from from_s (s), but not
    before the band's peak, to until_s (s); -inf where no window starts there."""
    curve = env.of(int(notes[i, 2]))
    fr = env.frame_rate
    w = max(int(CONFIRM_WINDOW_S * fr), 1)
    lo = max(int(from_s * fr), peak_frame(curve, notes[i, 0], fr))
    hi = min(int(until_s * fr), len(curve) - w)
    return float((curve[lo:hi] - curve[lo + w : hi + w]).max()) if hi > lo else -np.inf


def fast_below_s(env: Envelopes) -> float:
    """Written lengths in s under which a note's written end comes before a whole CONFIRM_WINDOW_S fall can follow its
    envelope peak (searched ATTACK_S after the onset) in the spectral frames: the next onset's energy enters them half
    a frame (~93 ms) before it."""
    return ATTACK_S + CONFIRM_WINDOW_S + N_FFT / HOP / env.frame_rate / 2


def slow_from_s() -> float:
    """Written lengths in s from which a whole CONFIRM_WINDOW_S fall fits between SETTLE_S after the latest envelope
    peak (ATTACK_S after the onset) and SHORT_RATIO of the note's value, where a detached key must have come up."""
    return (ATTACK_S + SETTLE_S + CONFIRM_WINDOW_S) / SHORT_RATIO


def falls_after_attack(env: Envelopes, notes: np.ndarray, i: int, written_s: float) -> bool:
    """Whether note i's band falls CONFIRM_DB within CONFIRM_WINDOW_S in a fall starting from SETTLE_S after its
    envelope peak to SHORT_RATIO of its written length written_s (s), and stays down: it rises no more than RISE_DB
    above where the fall ended before the next onset's sound enters the frames (half a frame before the written
    end). A slow note's release, wherever Transkun ended it; a recorder's gain comes back after its duck."""
    curve, fr = env.of(int(notes[i, 2])), env.frame_rate
    w = max(int(CONFIRM_WINDOW_S * fr), 1)
    lo = peak_frame(curve, notes[i, 0], fr) + int(SETTLE_S * fr)
    hi = min(int((notes[i, 0] + SHORT_RATIO * written_s) * fr), len(curve) - w)
    end = min(int((notes[i, 0] + written_s) * fr - N_FFT / HOP / 2), len(curve))
    for start in lo + np.flatnonzero(curve[lo:hi] - curve[lo + w : hi + w] >= CONFIRM_DB):
        after = curve[start + w : end]
        if not len(after) or after.max() - after[0] <= RISE_DB:
            return True
    return False


def ringing_reference(notes: np.ndarray, written_s: np.ndarray, under: np.ndarray) -> np.ndarray:
    """(N, 4) notes, (N,) written lengths in s and (N,) bool released under a press -> (N,) bool: the notes whose
    bands show how a ringing string falls after its attack (fast_confirm_db): those Transkun holds HELD_RATIO of
    their value, too long to be damper_blind, outside the presses; where fewer than MIN_HELD are outside, those
    under the presses too (a pedalled take whose pressed notes leave too few outside: its strings ring under the
    press as under a held key, and a staccato take's fallback read the everyday legato waltz w3 mixed from 16 notes)."""
    held = ~damper_blind(written_s) & (notes[:, 1] - notes[:, 0] >= HELD_RATIO * written_s)
    return held & ~under if np.sum(held & ~under) >= MIN_HELD else held


def fast_confirm_db(env: Envelopes, notes: np.ndarray, held: np.ndarray, written_s: np.ndarray) -> float:
    """(H,) indices of the notes whose strings ring (ringing_reference) and (H,) their written lengths in s -> the
    fall in dB that confirms a fast note's early end: FAST_MARGIN_DB more than the median largest fall of the held
    notes' bands from their peak to CONFIRM_AFTER_S after it (and before their written end), where a fast note's
    release is looked for (its transcribed end lies near its onset). That fall is the piano's own decay after the
    attack, through the room and the recorder's gain. Clipped to FAST_CONFIRM_DB..CONFIRM_DB; FAST_CONFIRM_DB from
    fewer than MIN_HELD held notes (a staccato take)."""
    fr = env.frame_rate
    peaks = np.array([peak_frame(env.of(int(notes[i, 2])), notes[i, 0], fr) / fr for i in held])
    until = np.minimum(notes[held, 0] + written_s, peaks + CONFIRM_AFTER_S)
    falls = [largest_fall(env, notes, i, at, end) for i, at, end in zip(held, peaks, until, strict=True)]
    falls = [f for f in falls if np.isfinite(f)]
    if len(falls) < MIN_HELD:
        return FAST_CONFIRM_DB
    return float(np.clip(np.median(falls) + FAST_MARGIN_DB, FAST_CONFIRM_DB, CONFIRM_DB))


def release_ratios(
    env: Envelopes, notes: np.ndarray, written_s: np.ndarray, pedal: np.ndarray | None = None, live: bool = False
) -> np.ndarray:
    """(N, 4) notes and (N,) written durations in s (nan = unknown) -> (M,) held / written ratios (notes from
    TREBLE_PITCH up are left out).

    pedal: (P, 2) transcribed sustain presses [down_s, up_s]. A key released while the pedal is down lets no
    damper fall, so its release cannot be heard: such a note is left out, unless the take's transcribed ends
    under the presses track the keys (ends_tracked; dry rooms only): then they time those notes. A note too short
    for its damper to be timed (damper_blind) is timed by its transcribed end. live: the room is live
    (hearing.room): the notes are timed by their transcribed ends, an early one only where a damper fall confirms
    it (see above).
    """
    rows = np.flatnonzero(np.isfinite(written_s) & (written_s > 0) & (notes[:, 2] < TREBLE_PITCH))
    pedal = np.zeros((0, 2)) if pedal is None else np.asarray(pedal, dtype=float).reshape(-1, 2)
    key_up = notes[rows, 1]
    under = ((pedal[None, :, 0] <= key_up[:, None]) & (key_up[:, None] <= pedal[None, :, 1])).any(axis=1)
    ringing = rows[ringing_reference(notes[rows], written_s[rows], under)]
    if live or not ends_tracked(notes[rows[under], 1] - notes[rows[under], 0], written_s[rows[under]]):
        rows, under = rows[~under], under[~under]
    written = written_s[rows]
    ended = (notes[rows, 1] - notes[rows, 0]) / written
    timed = under | damper_blind(written)
    if live:
        fast_db = fast_confirm_db(env, notes, ringing, written_s[ringing])
        drop_db = np.where(written < fast_below_s(env), fast_db, CONFIRM_DB)
        slow = written >= slow_from_s()
        unconfirmed = [
            k
            for k in np.flatnonzero(~timed & (ended < SHORT_RATIO))
            if not (
                falls_after_attack(env, notes, rows[k], written[k])
                if slow[k]
                else falls_near(env, notes, rows[k], notes[rows[k], 1], notes[rows[k], 0] + written[k], drop_db[k])
            )
        ]
        ended[unconfirmed] = 1.0
        return ended
    damped = [
        np.nan if t else release_time(env, notes, i, HORIZON * w) / w
        for i, w, t in zip(rows, written, timed, strict=True)
    ]
    return np.where(timed, ended, np.array(damped).reshape(-1))


def ends_tracked(held_s: np.ndarray, written_s: np.ndarray) -> bool:
    """(U,) transcribed hold and written durations in s of a take's notes released under a press -> whether
    Transkun's ends there follow the keys: it reads at least TRACKED_SHARE of them held (HELD_RATIO of their value).
    Where it guesses, it ends nearly every note under the pedal early (most of the everyday set's pedalled legato
    takes that its ends read mixed: 3-25% held), where it follows the keys it holds the held ones (perfbench dev's
    pedalled waltz: 32% / 47% with a score / without, its melody held and its detached chords short). A thin margin,
    and not a clean split: two everyday legato takes (32-43%) pass (bench/RESULTS.md)."""
    return bool(len(held_s)) and float(np.mean(held_s / written_s >= HELD_RATIO)) >= TRACKED_SHARE


def articulation_label(ratios: np.ndarray) -> str:
    """(M,) duration ratios -> legato / staccato / mixed."""
    if len(ratios) == 0:
        return "legato"
    share = float((ratios < SHORT_RATIO).mean())
    if share >= STACCATO_SHARE:
        return "staccato"
    if share >= LEGATO_SHARE:
        return "mixed"
    return "legato"


def analyse_articulation(ratios: np.ndarray) -> Articulation:
    return Articulation(ratios=ratios, label=articulation_label(ratios))
