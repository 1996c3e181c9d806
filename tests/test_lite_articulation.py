"""Articulation from the damper falls and Transkun's note ends, on hand-made envelopes: where the damper cannot be
timed, and in a live room where each sign errs alone."""

from __future__ import annotations

import numpy as np

from llaqo.lite.hearing.spectral import LOWEST_PITCH, Envelopes
from llaqo.lite.measures.articulation import (
    ATTACK_S,
    SHORT_RATIO,
    TREBLE_PITCH,
    articulation_label,
    release_ratios,
    spans_in_reach,
    spans_of_lines,
    spans_to_next_onset,
)

FRAME_RATE = 200.0  # envelope frames a second
SILENT_DB = -100.0
WINDOW_HALF_S = 0.093  # half of spectral.N_FFT at 22050 Hz: a frame hears a note from this long before to after it


def take(written_s: float, sounds: list[list[tuple[float, float]]], ends: list[float]):
    """Notes of `written_s` each, one a pitch from middle C, in a row; note i sounds at 0 dB over the spans
    sounds[i] (s after its onset) and Transkun ends it ends[i] s after its onset -> (envelopes, notes, written).
    As in spectral's long frames, each note's band rises 3 dB until ATTACK_S after its onset (the frames take in
    more of its sound) and stays up WINDOW_HALF_S past each span."""
    n = len(sounds)
    onsets = 0.5 + written_s * np.arange(n)
    frames = int((onsets[-1] + 3 * written_s) * FRAME_RATE)
    db = np.full((88, frames), SILENT_DB, dtype=np.float32)
    for i, spans in enumerate(sounds):
        row = db[60 + i - LOWEST_PITCH]
        for a, b in spans:
            row[int((onsets[i] + a) * FRAME_RATE) : int((onsets[i] + b + WINDOW_HALF_S) * FRAME_RATE)] = 0.0
        rise = int(onsets[i] * FRAME_RATE) + np.arange(int(ATTACK_S * FRAME_RATE))
        row[rise] = np.minimum(row[rise], np.linspace(-3.0, 0.0, len(rise)))
    notes = np.array([[t, t + e, 60 + i, 70] for i, (t, e) in enumerate(zip(onsets, ends, strict=True))])
    return Envelopes(db, db, FRAME_RATE), notes, np.full(n, written_s)


def test_notes_too_short_for_a_damper_fall_are_timed_by_their_ends():
    """Sixteenths at 150 BPM (0.1 s), sounding a third of that: no fall window fits between the envelope's peak and
    the horizon, so their transcribed ends time them, in a dry room and a live one. (Timed by the envelope they
    could only read held: the everyday set's staccato Alberti bass read legato or mixed.)"""
    env, notes, written = take(0.1, [[(0.0, 0.033)]] * 12, [0.033] * 12)
    for live in (False, True):
        ratios = release_ratios(env, notes, written, live=live)
        assert len(ratios) == 12 and (ratios < SHORT_RATIO).all()
        assert articulation_label(ratios) == "staccato"


def test_in_a_live_room_an_early_end_counts_where_the_damper_falls_there():
    """Through a phone the automatic gain dips after an attack (the band falls for 50 ms and comes back), which looks
    like a damper, and in the room Transkun ends held notes early (at 0.42 of their length): on different notes. A
    dry room takes the dips for releases. A live one times the notes by Transkun's ends and takes an early end only
    where the band falls near it: the legato line stays legato, and notes whose sound stops at their early ends
    still read detached."""
    dipped = [(0.0, 0.15), (0.3, 0.5)]  # sounds to its written end, with a dip
    held = [(0.0, 0.5)]
    legato = take(0.5, [dipped, held] * 6, [0.5, 0.21] * 6)
    assert articulation_label(release_ratios(*legato, live=False)) == "mixed"
    live = release_ratios(*legato, live=True)
    assert (live >= SHORT_RATIO).all() and articulation_label(live) == "legato"
    detached = take(0.5, [[(0.0, 0.15)]] * 12, [0.15] * 12)
    assert articulation_label(release_ratios(*detached, live=True)) == "staccato"


def ramped(written_s: float, fall_at: list[float], db_per_s: float, ends: list[float]):
    """Notes of `written_s` each, one a pitch from middle C, whose bands hold at 0 dB and then fall at db_per_s from
    fall_at[i] s after the onset (a room's reverberation carrying a damped string on); Transkun ends note i ends[i]
    s after its onset -> (envelopes, notes, written)."""
    n = len(fall_at)
    onsets = 0.5 + written_s * np.arange(n)
    t = np.arange(int((onsets[-1] + 3 * written_s) * FRAME_RATE)) / FRAME_RATE
    db = np.full((88, len(t)), SILENT_DB, dtype=np.float32)
    for i, at in enumerate(fall_at):
        since = t - onsets[i]
        row = np.where(since < at, 0.0, -db_per_s * (since - at))
        db[60 + i - LOWEST_PITCH] = np.where(since < 0, SILENT_DB, np.maximum(row, SILENT_DB))
    notes = np.array([[s, s + e, 60 + i, 70] for i, (s, e) in enumerate(zip(onsets, ends, strict=True))])
    return Envelopes(db, db, FRAME_RATE), notes, np.full(n, written_s)


def test_in_a_live_room_a_detached_note_falls_slower_than_a_dry_damper_but_on():
    """A detached chord in a room: its band falls at 80 dB/s from its early end, 5.6 dB in 70 ms (no dry damper's
    6 dB) but 8 dB in 0.1 s. It reads detached (a dry damper's window read the everyday detached set's mixed takes
    legato). A held note whose band falls only at the string's pace (20 dB/s) still reads held."""
    detached = ramped(0.5, [0.15] * 12, 80.0, [0.15] * 12)
    assert articulation_label(release_ratios(*detached, live=True)) == "staccato"
    held = ramped(0.5, [0.0] * 12, 20.0, [0.2] * 12)
    assert articulation_label(release_ratios(*held, live=True)) == "legato"


def test_in_a_live_room_a_fall_after_the_written_end_does_not_confirm_an_early_end():
    """A legato scale in a room: each key goes up just after the next onset (10 ms: legato overlaps) and its band
    falls at the room's 80 dB/s from there, but Transkun ends the notes at 0.48 of their length, so the fall lies
    within the confirming window after that end. A fall that starts after the written end is the legato release:
    the line reads legato (it read staccato with the window unbounded)."""
    written = 0.25
    scale = ramped(written, [written + 0.01] * 12, 80.0, [0.12] * 12)
    assert articulation_label(release_ratios(*scale, live=True)) == "legato"


def test_in_a_live_room_a_fast_note_is_confirmed_by_the_take_s_own_falls():
    """Staccato eighths of a jig (0.18 s, Transkun ending them 40 ms after the onset) in a room, on a piano whose
    release is slow: the band falls 45 dB/s from 50 ms on, 4.5 dB in 0.1 s before the next onset, under the 7 dB
    that confirms a slower note's early end (the TimGM6mb phone copies' staccato jig read mixed, its notes held).
    Too fast for a whole confirming fall, and no held note in the take to say how its bands fall otherwise: 3 dB
    confirms them, and it reads staccato (legato before). A legato take of the same notes whose bands fall as fast
    from their attack (the piano's own decay), Transkun ending every other one early, stays legato: its held notes
    fall 4.5 dB in the same place, so an early end needs 5.5."""
    staccato = ramped(0.18, [0.05] * 12, 45.0, [0.04] * 12)
    assert articulation_label(release_ratios(*staccato, live=True)) == "staccato"
    legato = ramped(0.18, [0.0] * 12, 45.0, [0.04, 0.18] * 6)
    assert articulation_label(release_ratios(*legato, live=True)) == "legato"


def settled(written_s: float, attack_db: float, release_at: float | None, ends_s: float, n: int = 12):
    """n notes of `written_s` each, one a pitch from middle C, whose bands fall attack_db linearly over the 0.1 s after
    the onset (the attack's own decay and a recorder's duck), then hold; where release_at is given the key comes up
    there (s after the onset) and the band falls at a room's 80 dB/s. Transkun ends every note ends_s after its onset
    -> (envelopes, notes, written)."""
    onsets = 0.5 + written_s * np.arange(n)
    t = np.arange(int((onsets[-1] + 3 * written_s) * FRAME_RATE)) / FRAME_RATE
    db = np.full((88, len(t)), SILENT_DB, dtype=np.float32)
    for i, onset in enumerate(onsets):
        since = t - onset
        row = -attack_db * np.clip(since / 0.1, 0.0, 1.0)
        if release_at is not None:
            row = row - 80.0 * np.clip(since - release_at, 0.0, None)
        db[60 + i - LOWEST_PITCH] = np.where(since < 0, SILENT_DB, np.maximum(row, SILENT_DB))
    notes = np.array([[s, s + ends_s, 60 + i, 70] for i, s in enumerate(onsets)])
    return Envelopes(db, db, FRAME_RATE), notes, np.full(n, written_s)


def test_in_a_live_room_a_slow_note_ended_at_its_attack_is_timed_by_its_fall_after_it():
    """Through a phone, on a piano whose release is slow (TimGM6mb), Transkun ends slow notes at their attack (40 ms
    after the onset), held or detached, so its end says nothing of the key. A staccato waltz in quarters (0.62 s)
    whose keys come up at 0.25 s, their bands falling at 80 dB/s from there after a 4 dB attack decay, reads
    staccato (legato at ed11971: the window near the end held only the attack's decay). A legato chorale whose bands
    fall 8 dB in the 0.1 s after the attack (the recorder's duck) and then hold reads legato (staccato at ed11971:
    that fall lay near the end), and so does one whose gain ducks 8 dB later and comes back: a released key's band
    stays down."""
    waltz = settled(0.62, 4.0, 0.25, 0.04)
    assert articulation_label(release_ratios(*waltz, live=True)) == "staccato"
    chorale = settled(1.0, 8.0, None, 0.04)
    assert articulation_label(release_ratios(*chorale, live=True)) == "legato"
    ducked = settled(1.0, 4.0, None, 0.04)  # the recorder's gain ducks 8 dB at 0.3 s and comes back by 0.5 s
    env, notes, written = ducked
    t = np.arange(env.db.shape[1]) / FRAME_RATE
    for onset in notes[:, 0]:
        dip = np.interp(t - onset, [0.3, 0.4, 0.5], [0.0, -8.0, 0.0], left=0.0, right=0.0)
        env.db[notes[notes[:, 0] == onset, 2].astype(int) - LOWEST_PITCH] += dip.astype(np.float32)
    assert articulation_label(release_ratios(env, notes, written, live=True)) == "legato"


def test_in_a_live_room_a_pedalled_take_s_fast_notes_are_confirmed_by_its_ringing_strings():
    """A legato take whose first twelve eighths (0.18 s) lie under a press, Transkun holding them, and whose last four,
    outside it, it ends 40 ms after the onset; every band falls 4.5 dB in 0.1 s after the attack (the piano's decay
    in the room). Too few held notes outside the press to say how a ringing string falls, but those under it say so:
    an early end needs 5.5 dB, and the take reads legato (staccato at ed11971, from the 3 dB of a staccato take)."""
    written = 0.18
    env, notes, written_s = ramped(written, [0.0] * 16, 45.0, [written] * 12 + [0.04] * 4)
    pedal = np.array([[0.4, 0.5 + 12 * written + 0.005]])
    ratios = release_ratios(env, notes, written_s, pedal, live=True)
    assert len(ratios) == 4 and articulation_label(ratios) == "legato"


def test_a_left_hand_figure_across_middle_c_is_judged_against_its_own_next_note():
    """Without a score a note's written value is the time to its voice's next onset. An Alberti-like figure C3 G3 E4
    G3 in legato eighths crosses middle C, so in its register alone each note's next onset is two eighths away and
    the legato figure read detached at half its value (the everyday set's Alberti and nocturne takes). Its next note
    within an octave is the figure's."""
    step, figure = 0.25, [48, 55, 64, 55] * 4
    onsets = 0.5 + step * np.arange(len(figure))
    notes = np.array([[t, t + step, p, 70] for t, p in zip(onsets, figure, strict=True)])
    frames = int((onsets[-1] + 1.0) * FRAME_RATE)
    db = np.full((88, frames), SILENT_DB, dtype=np.float32)
    for t, p in zip(onsets, figure, strict=True):  # each key sounds until the figure's next note, then is damped
        db[p - LOWEST_PITCH, int(t * FRAME_RATE) : int((t + step + WINDOW_HALF_S) * FRAME_RATE)] = 0.0
    env = Envelopes(db, db, FRAME_RATE)
    assert np.allclose(spans_in_reach(notes)[:-1], step)
    assert articulation_label(release_ratios(env, notes, spans_in_reach(notes))) == "legato"
    assert articulation_label(release_ratios(env, notes, spans_to_next_onset(notes))) != "legato"


def broken_chords(step_s: float, held: float, bars: int = 4):
    """A nocturne's bars in 6/8 eighths of step_s: a bass C2 struck with a melody C5 held the bar, then a left hand
    climbing and falling E3 G4 E3 G4 E3, each a tenth or more from the last (across middle C, over an octave). Each
    figure note's key comes up `held` of an eighth after its onset (just after the next onset when legato), its band
    stopping there, and Transkun ends it there -> (envelopes, notes)."""
    figure = [(0, 36), (0, 72)] + [(k, p) for k, p in enumerate([52, 67, 52, 67, 52], start=1)]
    rows = [
        (0.5 + (6 * bar + k) * step_s, p, (6 if p == 72 else held) * step_s) for bar in range(bars) for k, p in figure
    ]
    notes = np.array([[t, t + length, p, 70] for t, p, length in rows])
    db = np.full((88, int((notes[-1, 0] + 1.0) * FRAME_RATE)), SILENT_DB, dtype=np.float32)
    for t, end, p, _ in notes:
        db[int(p) - LOWEST_PITCH, int(t * FRAME_RATE) : int((end + WINDOW_HALF_S) * FRAME_RATE)] = 0.0
    return Envelopes(db, db, FRAME_RATE), notes


def test_a_broken_chord_climbing_over_the_octave_is_judged_against_its_own_next_note():
    """Without a score, a nocturne's left hand climbing E3 G4 E3 G4 in legato eighths (steps of a tenth, across middle
    C) finds none of its next notes within an octave or in its register, so each note was judged against the one two
    eighths on and its legato read mixed at half its value, in a dry room (the damper) and a live one (the legato
    release after the next onset counts in a slow note's value), where the score's eighths read it legato (the
    everyday set's nocturnes through a phone). A note struck alone followed by one struck alone within two octaves
    is one line: the figure reads legato, played detached it still reads staccato, and a chord's notes are left to
    their reach (a ragtime's after-beat chords would read held against the melody's notes between them)."""
    step = 0.3
    env, notes = broken_chords(step, held=1.03)
    alone = np.flatnonzero(notes[:, 2] > 40)[:-1]  # the figure's notes and the melody's, all but the last
    assert np.isnan(spans_of_lines(notes)[notes[:, 2] == 36]).all()
    assert np.allclose(spans_in_reach(notes)[alone][notes[alone, 2] != 72], step)
    for live in (False, True):
        assert articulation_label(release_ratios(env, notes, spans_in_reach(notes), live=live)) == "legato"
    env, notes = broken_chords(step, held=0.4)
    for live in (False, True):
        assert articulation_label(release_ratios(env, notes, spans_in_reach(notes), live=live)) == "staccato"
    chords = np.array([[0.5, 0.6, p, 70] for p in (48, 52, 55)] + [[0.75, 0.9, 76, 70]])
    assert np.isnan(spans_of_lines(chords)).all()


def test_a_held_treble_note_whose_string_dies_fast_is_no_release():
    """From E6 up a held string decays as fast as a damper stops one (a SoundFont's treble: 150 dB/s after the
    attack), and a grand has no dampers there, so such a fall says nothing of the key: a legato melody an octave
    above the treble staff does not read detached. The notes below it are still timed by their dampers."""
    written, n = 0.5, 12
    onsets = 0.5 + written * np.arange(n)
    pitches = [92 if i % 2 else 62 + i % 3 for i in range(n)]
    t = np.arange(int((onsets[-1] + 2.0) * FRAME_RATE)) / FRAME_RATE
    db = np.full((88, len(t)), SILENT_DB, dtype=np.float32)
    for onset, p in zip(onsets, pitches, strict=True):
        since = t - onset
        if p >= TREBLE_PITCH:  # dies at the string's own pace, held all the while
            row = np.where(since < 0, SILENT_DB, np.maximum(-150.0 * since, SILENT_DB))
        else:  # held to the next onset, then damped
            row = np.where((since >= 0) & (since < written + WINDOW_HALF_S), 0.0, SILENT_DB)
        db[p - LOWEST_PITCH] = np.maximum(db[p - LOWEST_PITCH], row)
    notes = np.array([[s, s + written, p, 70] for s, p in zip(onsets, pitches, strict=True)])
    ratios = release_ratios(Envelopes(db, db, FRAME_RATE), notes, np.full(n, written))
    assert len(ratios) == sum(p < TREBLE_PITCH for p in pitches)
    assert articulation_label(ratios) == "legato"


def test_ends_under_the_pedal_count_only_where_they_hold_some_keys():
    """Under a press the strings ring on (no damper falls), so a key's release there is Transkun's guess: where it
    ends every note under the press early (the everyday set's pedalled legato takes) the notes are left out and the
    take reads legato from the notes released outside it; where it holds some and ends others (dev's pedalled waltz,
    its melody held and its chords detached), it follows the keys, and its early ends count: the take reads mixed.
    A live room leaves them out either way."""
    written, n_free = 0.4, 4
    sounds = [[(0.0, written)]] * n_free + [[(0.0, 1.2)]] * 8  # after the first four notes the pedal is down
    guessed = [written] * n_free + [0.4 * written] * 8
    tracked = [written] * n_free + [written, 0.4 * written] * 4
    for ends, label in ((guessed, "legato"), (tracked, "mixed")):
        env, notes, written_s = take(written, sounds, ends)
        press = np.array([[notes[n_free, 0] + 0.01, notes[-1, 0] + 2.0]])
        ratios = release_ratios(env, notes, written_s, press)
        assert articulation_label(ratios) == label
        assert len(ratios) == (n_free if label == "legato" else len(notes))
        assert articulation_label(release_ratios(env, notes, written_s, press, live=True)) == "legato"
