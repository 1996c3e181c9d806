"""Sustain pedal: the transcriber's pedal events where it hears them, and what keeps sounding where it does not.

Transkun transcribes the sustain pedal as presses [down_s, up_s] (llaqo.lite.hearing.transcribe); each harmony change
is judged against them: a press held more than BLUR_S through a change blurs it (perfbench's definition), a
press released at a change is a clean change. On rendered pianos Transkun finds only part of the presses
(bench/RESULTS.md: a SoundFont's pedal holds notes but makes none of the sympathetic resonance of a real
piano's lifted dampers), so where it hears no press the sound decides: strings left undamped. For each note we
find when its string was damped (articulation.release_time, on the fundamental alone with a longer window, so
that other notes' overtones and the room's reverberation do not fake or hide a fall) and compare
it with when the note was written to end (the score's note end, or without a score the next
onset in the register):
- sustained share: notes still sounding > SUSTAIN_S past their written end: the pedal is in use
  (only notes whose ending is audible count: see masked_ends); so is a pedal that Transkun hears released
  at MIN_RELEASED harmony changes or more, and at BLUR_SHARE of them;
- blur: a change at which at least MIN_CARRIED notes that ended before it, of pitch classes foreign to the
  new harmony, sound > BLUR_S into it, unless Transkun hears a press released at it: the pedal was held
  across the change (perfbench's "blurred"); where the pedal is in use (the sustained share or the releases) and
  the room is dry, so is a change across which most of the old harmony's strings still ring (ringing_across:
  their band's fall over the change, which a broken chord's early falls and refilled bands do not fool as they
  fool the first fall). A press Transkun hears held through a change is reported
  (held_s) but is not enough alone: in a reverberant hall the tail hides the damper and its releases come
  late (bench/RESULTS.md: FluidR3 in a hall, d11 read as blurred).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llaqo.lite.hearing.spectral import Envelopes
from llaqo.lite.hearing.voices import STRUCK_TOGETHER_S
from llaqo.lite.measures.articulation import ATTACK_S, release_time

SUSTAIN_S = 0.3  # sounding this long past the written end counts as sustained by the pedal
# Share of sustained notes (of those whose ending can be heard) above which the pedal is in use. Without a
# score a note's written end is the next onset in its register, which cuts the other voices' long notes
# short, so unpedalled playing already shows ~10-18% "sustained" notes there; with a score, up to 5%.
# Measured on dev and five renderings (bench/RESULTS.md): unpedalled takes reach 0.051 with a score and 0.181
# without; pedalled takes that only the ringing tells (no releases heard at changes) start at 0.123 and 0.205.
# Each threshold sits between the two (a live hall's reverberation and a SoundFont whose samples ring past
# their key-up overlap both, and are the measured exceptions).
PEDAL_SHARE_SCORE = 0.10
PEDAL_SHARE_AUDIO = 0.19
MASKING_INTERVALS = (0, 12, 19, 24, 28)  # a note is masked by one sounding this many semitones below it
BLUR_S = 0.25  # a foreign note still sounding this long after a change blurs it (perfbench definition)
MIN_CARRIED = 2  # foreign notes carried over for a change to count as blurred (one can be a tie or a slip)
MIN_BLURRED = 2  # the definition asks for at least two pedal-downs held across a change
BLUR_SHARE = 0.3  # ... and we ask that they are a sizeable share of the changes
CHANGE_JACCARD = 0.5  # consecutive windows whose pitch-class sets overlap less than this change harmony
DAMP_DB = 8.0  # damper fall on the fundamental: >= 8 dB within 150 ms (53 dB/s; natural decay is ~5-20 dB/s,
DAMP_WINDOW_S = 0.15  # a damped string in a live room with a 1 s reverberation still falls ~60 dB/s)
HORIZON_S = 4.0  # a string is followed at most this long after its onset
MIN_PRESS_S = 0.3  # transcribed pedal events shorter than this are not a press (the model flickers on dry playing)
# Transcribed presses released at this many harmony changes, and at BLUR_SHARE of them: the pedal is in use. One or
# two can be flickers: on a dry chorale heard without its score (dev d05: two lifts at 2 of the 6 changes heard),
# or two short ones in a quiet, noisy minuet (TimGM6mb d09). Three instead of two raised the audio-only pedal label
# on dev (83 -> 92%) and on four of five renderings, and changed none for the worse (bench/RESULTS.md).
MIN_RELEASED = 3
# In a live room (hearing.room) Transkun hears presses nobody made: 14-20 a take in the pedal-free chorales of the
# everyday set's phone copies, lifted at the harmony changes often enough to read "clean", above all without a score,
# whose half-bar windows count more changes than the score's bars. There a press is believed only when the strings
# show it: this share of the audible notes rings past the written end. Tuning half's phone copies: pedal-free
# takes 0.00-0.02, pedalled ones 0.09-0.53; FluidR3 in a hall (live too): pedal-free 0.00-0.02 (two more 0.08-0.18,
# read by their ringing alone), pedalled 0.07-0.60 (bench/RESULTS.md).
LIVE_SUSTAINED_SHARE = 0.05
# A string still ringing across a change, read from its band's fall over the change rather than from the first
# fall after its onset (damped_times): in broken-chord textures a band falls 8 dB early (a SoundFont's sample
# decays ~40 dB/s, partials beat) and is refilled later by the next note an octave below, so the first fall
# says little about the change (bench/RESULTS.md). The fundamental's level RING_BEFORE_S before the change
# (its 0.19 s frame ends before the new chord's attack) against RING_AFTER_S after it (the frame starts past the
# attack): a damper lifted at the change takes the band down 20-45 dB, a held pedal 0-13 dB. Dry rooms only: in a
# live one the reverberation carries a damped string's band on (FluidR3 in a hall, dev d04: 3-13 dB).
RING_BEFORE_S = 0.12
RING_AFTER_S = 0.35
RING_DB = 15.0
AUDIBLE_DB = 40.0  # an old string read only where its band before the change is within this of its attack's peak
# Old strings ringing across a change to blur it: two ring at one of dev d11's clean changes (a legato note that the
# re-pressed pedal caught, and one more).
MIN_RINGING = 3
RING_SHARE = 0.5  # ... for at least this share of the old notes read (a bass string or a refilled band may ring)
# The new chord's notes whose partials (1st-8th harmonics, within a quarter tone) land on an old note's
# fundamental refill its band: such old notes are not read. Up to C4 a partial a semitone off leaks into the band too
# (the 0.19 s frame's main lobe is +-11 Hz wide; a semitone at C4 is 16 Hz, the band +-0.3 semitone).
REFILL_INTERVALS = (0, 12, 19, 24, 28, 31, 34, 36)
LEAKY_PITCH = 60


@dataclass(frozen=True)
class Harmony:
    """Windows of the music with the pitch classes that sound in each.

    bounds: (W+1,) window boundaries in s; classes: W sets of pitch classes 0-11
    """

    bounds: np.ndarray
    classes: list[set[int]]


@dataclass(frozen=True)
class Pedal:
    events: np.ndarray
    """(P, 2) transcribed sustain presses [down_s, up_s] of at least MIN_PRESS_S, sorted."""
    held_s: np.ndarray
    """(Hh,) harmony changes a transcribed press was held through by more than BLUR_S."""
    released_s: np.ndarray
    """(Hr,) harmony changes at which a transcribed press was released (down before, up by BLUR_S after)."""
    sustained_share: float
    changes_s: np.ndarray
    """(H,) harmony-change times in s."""
    blurred_s: np.ndarray
    """(Hb,) the harmony changes across which notes of the previous harmony kept sounding, and at which no
    transcribed press was released."""
    label: str

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "events": [[round(float(a), 3), round(float(b), 3)] for a, b in self.events],
            "held_changes_s": [round(float(t), 3) for t in self.held_s],
            "released_changes_s": [round(float(t), 3) for t in self.released_s],
            "sustained_share": round(self.sustained_share, 3),
            "n_harmony_changes": int(len(self.changes_s)),
            "harmony_changes_s": [round(float(t), 3) for t in self.changes_s],
            "blurred_changes_s": [round(float(t), 3) for t in self.blurred_s],
        }


def harmony_from_notes(notes: np.ndarray, bounds: np.ndarray) -> Harmony:
    """Windows (e.g. groups of tracked beats) filled with the pitch classes of the notes starting in them."""
    classes = [
        set(
            (notes[(notes[:, 0] >= a - STRUCK_TOGETHER_S) & (notes[:, 0] < b - STRUCK_TOGETHER_S), 2] % 12)
            .astype(int)
            .tolist()
        )
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return Harmony(bounds=bounds, classes=classes)


def damped_times(env: Envelopes, notes: np.ndarray) -> np.ndarray:
    """(N, 4) notes -> (N,) time in s at which each string was damped (or stopped being followed)."""
    return np.array(
        [
            notes[i, 0] + release_time(env, notes, i, HORIZON_S, DAMP_DB, DAMP_WINDOW_S, fundamental=True)
            for i in range(len(notes))
        ]
    )


def masked_ends(notes: np.ndarray, damped: np.ndarray, written_end: np.ndarray) -> np.ndarray:
    """(N,) bool: notes whose ringing past the written end cannot be heard, because another note sounding
    then has the same pitch or an overtone on it (an octave, twelfth, two octaves or seventeenth below).
    Their fundamental's band holds the other note's energy, so their own damper fall is hidden."""
    pitch = notes[:, 2].astype(int)
    masked = np.zeros(len(notes), dtype=bool)
    for i in np.flatnonzero(np.isfinite(written_end)):
        others = (notes[:, 0] <= written_end[i] + SUSTAIN_S) & (damped >= written_end[i])
        others[i] = False
        masked[i] = bool(np.isin(pitch[i] - pitch[others], MASKING_INTERVALS).any())
    return masked


def ringing_across(
    env: Envelopes, notes: np.ndarray, written_end: np.ndarray, since_s: float, change_s: float, after: set[int]
) -> tuple[int, int]:
    """(N, 4) notes, (N,) written ends in s, the start of the old harmony and the change to the new one (s), the
    new harmony's pitch classes -> (how many pitches of the old harmony's notes foreign to the new one, written to
    end by the change and not refilled by a new note's partial, still ring RING_AFTER_S into it (their
    fundamental fell less than RING_DB across it), how many such pitches were read)."""
    fr = env.frame_rate
    before, after_frame = int((change_s - RING_BEFORE_S) * fr), int((change_s + RING_AFTER_S) * fr)
    if before < 0 or after_frame >= env.fundamental_db.shape[1]:
        return 0, 0
    pitch = notes[:, 2].astype(int)
    old = (
        np.isfinite(written_end)
        & (written_end <= change_s + STRUCK_TOGETHER_S)
        & (notes[:, 0] >= since_s - STRUCK_TOGETHER_S)
        & ~np.isin(pitch % 12, list(after))
    )
    new = (notes[:, 0] >= change_s - STRUCK_TOGETHER_S) & (notes[:, 0] <= change_s + RING_AFTER_S + RING_BEFORE_S)
    near = np.add.outer(REFILL_INTERVALS, (-1, 0, 1)).ravel()
    falls = []
    for p in set(pitch[old].tolist()):
        if np.isin(p - pitch[new], near if p <= LEAKY_PITCH else REFILL_INTERVALS).any():
            continue
        band = env.of(p, fundamental=True)
        onset = int(notes[old & (pitch == p), 0].max() * fr)
        if band[before] >= band[onset : onset + max(int(ATTACK_S * fr), 1) + 1].max() - AUDIBLE_DB:
            falls.append(band[before] - band[after_frame])
    return int(sum(f < RING_DB for f in falls)), len(falls)


def presses_at_changes(events: np.ndarray, changes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P, 2) transcribed events [down_s, up_s], (H,) harmony changes -> (the presses of at least MIN_PRESS_S,
    the changes a press was held through by more than BLUR_S, the changes at which a press was released)."""
    events = np.asarray(events, dtype=float).reshape(-1, 2)
    events = events[events[:, 1] - events[:, 0] >= MIN_PRESS_S]
    changes = np.asarray(changes, dtype=float)
    down_before = events[:, None, 0] < changes[None, :] - STRUCK_TOGETHER_S
    through = down_before & (events[:, None, 1] > changes[None, :] + BLUR_S)
    # released at the change: up within a pedal change's reach of it (from a beat before to BLUR_S after)
    released = down_before & (np.abs(events[:, None, 1] - changes[None, :] - BLUR_S / 2) <= BLUR_S)
    return events, changes[through.any(axis=0)], changes[released.any(axis=0) & ~through.any(axis=0)]


def presses_believed(sustained_share: float, live: bool) -> bool:
    """Whether Transkun's presses count: in a dry room always, in a live one when LIVE_SUSTAINED_SHARE of the
    audible notes ring past their written end (Pedal.sustained_share)."""
    return not live or sustained_share >= LIVE_SUSTAINED_SHARE


def analyse_pedal(
    notes: np.ndarray,
    damped: np.ndarray,
    written_end: np.ndarray,
    harmony: Harmony,
    pedal_share: float,
    events: np.ndarray,
    live: bool = False,
    env: Envelopes | None = None,
) -> Pedal:
    """(N, 4) notes, (N,) damping times, (N,) written end times (nan = unknown) in s, the harmony, the
    sustained share above which the pedal counts as used (PEDAL_SHARE_SCORE or PEDAL_SHARE_AUDIO), the
    (P, 2) transcribed sustain events and whether the room is live (hearing.room: then the events count only when
    LIVE_SUSTAINED_SHARE of the notes ring on) -> Pedal. env: the take's envelopes; where the pedal is in use,
    a change across which most old notes' strings ring on (ringing_across) is blurred too."""
    known = np.isfinite(written_end)
    audible = known & ~masked_ends(notes, damped, written_end)
    sustained = float((damped[audible] > written_end[audible] + SUSTAIN_S).mean()) if audible.any() else 0.0
    if not presses_believed(sustained, live):
        events = np.zeros((0, 2))
    changes, carried_at, spans = [], [], []
    since = float(harmony.bounds[0])  # where the harmony before the change began
    for k in range(1, len(harmony.classes)):
        before, after = harmony.classes[k - 1], harmony.classes[k]
        if not before or not after or len(before & after) / len(before | after) >= CHANGE_JACCARD:
            continue
        h = float(harmony.bounds[k])
        changes.append(h)
        carried = (
            known
            & (written_end <= h + STRUCK_TOGETHER_S)
            & (damped > h + BLUR_S)
            & ~np.isin(notes[:, 2].astype(int) % 12, list(after))
        )
        if carried.sum() >= MIN_CARRIED:
            carried_at.append(h)
        spans.append((since, h, after))
        since = h
    # A press Transkun hears released at a change outweighs a carried note there (a SoundFont's sample can
    # ring on after its key is up); where it hears no release, the ringing decides.
    presses, held, released = presses_at_changes(events, np.array(changes))
    in_use = sustained >= pedal_share or len(released) >= max(MIN_RELEASED, BLUR_SHARE * len(changes))
    # The strings ringing across a change tell a held pedal from a lifted one, not a pedal from none: a note
    # released before its written end (staccato) has fallen already, and its tail falls little more across the
    # change (everyday pedal-free takes). So they are read only where the pedal is in use, in a dry room.
    ringing_at = []
    if in_use and env is not None and not live:
        for since, h, after in spans:
            ringing, read = ringing_across(env, notes, written_end, since, h, after)
            if ringing >= MIN_RINGING and ringing >= RING_SHARE * read:
                ringing_at.append(h)
    blurred = np.setdiff1d(np.union1d(carried_at, ringing_at), released)
    enough = len(blurred) >= MIN_BLURRED and len(blurred) >= BLUR_SHARE * len(changes)
    label = "blurred" if enough else "clean" if in_use else "none"
    return Pedal(presses, held, released, sustained, np.array(changes), blurred, label)
