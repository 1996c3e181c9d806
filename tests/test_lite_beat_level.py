"""The notated beat without a score, from the bass line: a slow chorale's chords, a nocturne's dotted quarters, a
waltz's quarters over its one bass note a bar (llaqo.lite.hearing.beat_level, used by metre.infer_metre)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from llaqo.lite import synth
from llaqo.lite.analysis import analyze
from llaqo.lite.hearing import beat_level, metre, tempo


def _piece(bpm: float, bars: int, beats_per_bar: int, fill, seed: int = 0) -> np.ndarray:
    """(N, 4) notes [onset_s, offset_s, pitch, velocity] sorted by onset: `fill(bar, beat, start_s, beat_s, add)`
    writes each beat's notes through add(onset_s, length_s, pitch, velocity), with +-5 ms of timing scatter."""
    rng = np.random.default_rng(seed)
    beat_s = 60.0 / bpm
    rows = []

    def add(onset: float, length: float, pitch: int, velocity: int) -> None:
        on = onset + float(rng.normal(0, 0.005))
        rows.append([on, on + 0.95 * length, pitch, velocity])

    for b in range(bars * beats_per_bar):
        bar, beat = divmod(b, beats_per_bar)
        fill(bar, beat, 0.5 + b * beat_s, beat_s, add)
    notes = np.array(rows)
    return notes[np.argsort(notes[:, 0], kind="stable")]


def chorale(bpm: float, bars: int = 10) -> np.ndarray:
    """4/4, a new four-voice chord on every beat (the harmony changes with each)."""

    def fill(bar, beat, start, beat_s, add):
        chord = synth.PROGRESSION[(4 * bar + beat) % len(synth.PROGRESSION)]
        accent = 8 if beat == 0 else 0
        for pitch in (36 + chord[0], 55 + (chord[1] - 55) % 12, 60 + chord[2] % 12, 72 + chord[0]):
            add(start, beat_s, pitch, 66 + accent)

    return _piece(bpm, bars, 4, fill)


def nocturne(bpm: float, bars: int = 8) -> np.ndarray:
    """6/8 at `bpm` dotted quarters: a bass note on each dotted quarter, a broken chord in eighths over it, a
    melody note a bar."""

    def fill(bar, beat, start, beat_s, add):
        chord = synth.PROGRESSION[bar % len(synth.PROGRESSION)]
        add(start, beat_s / 3, 36 + chord[0], 70)
        add(start + beat_s / 3, beat_s / 3, 48 + chord[1] % 12, 52)
        add(start + 2 * beat_s / 3, beat_s / 3, 60 + chord[2] % 12, 52)
        if beat == 0:
            add(start, 2 * beat_s, 72 + chord[0], 74)

    return _piece(bpm, bars, 2, fill)


def waltz(bpm: float, bars: int = 16) -> np.ndarray:
    """3/4: the bass on beat 1, a chord on beats 2 and 3, a melody note on beat 1 and on beat 3."""

    def fill(bar, beat, start, beat_s, add):
        chord = synth.PROGRESSION[bar % len(synth.PROGRESSION)]
        if beat == 0:
            add(start, beat_s, 36 + chord[0], 74)
        else:
            for pc in chord:
                add(start, 0.5 * beat_s, 52 + pc % 12, 56)
        if beat != 1:
            add(start, beat_s * (2 if beat == 0 else 1), 72 + chord[beat // 2], 70)

    return _piece(bpm, bars, 3, fill)


def _bpm(notes: np.ndarray) -> tuple[float, metre.Metre]:
    found = metre.infer_metre(notes)
    return tempo.tempo_from_beats(tempo.smooth_beats(found.beats), None, "audio").bpm, found


@pytest.mark.parametrize("bpm", [44.0, 50.0])
def test_a_slow_chorale_is_counted_in_its_chords(bpm):
    """A chord on every beat at 44-50 BPM: the beat is the chord, not the eighth a moderato prior would prefer."""
    measured, found = _bpm(chorale(bpm))
    assert measured == pytest.approx(bpm, rel=0.05)
    assert found.beat_unit == "quarter"


@pytest.mark.parametrize("bpm", [44.0, 56.0])
def test_a_nocturne_in_six_eight_is_counted_in_dotted_quarters(bpm):
    """The broken chord's eighths are as regular as the beat, but the bass moves once a dotted quarter."""
    measured, found = _bpm(nocturne(bpm))
    assert measured == pytest.approx(bpm, rel=0.05)
    assert found.compound and found.beat_unit == "dotted quarter"
    assert found.name == "6/8"


@pytest.mark.parametrize("bpm", [120.0, 180.0])
def test_a_waltz_is_counted_in_quarters_not_bars(bpm):
    """One bass note a bar under two after-beat chords: the beats are the bass and the chords, even fast."""
    measured, found = _bpm(waltz(bpm))
    assert measured == pytest.approx(bpm, rel=0.05)
    assert found.name == "3/4"


def test_the_bass_line_marks_the_bass_and_a_waltzs_after_beats():
    ev = metre.events(waltz(120.0))
    size = ev.classes.sum(axis=1)
    bass = beat_level.bass_attacks(ev.time, ev.low, ev.high)
    assert set(ev.low[bass]) <= set(range(36, 48))  # bass notes, no chord ...
    assert bass.sum() >= 15  # ... nearly every one (one a bar)
    after = beat_level.after_beats(ev.time, size, bass)
    assert after.sum() >= 2 * 12 and (size[after] >= 3).all()  # both chords of nearly every bar
    marked, bass_line = beat_level.accents(ev.time, ev.low, ev.high, size, ev.middle)
    assert marked.sum() == bass.sum() + after.sum() and (bass_line == bass).all()


def test_a_bass_that_only_the_melody_divides_says_nothing_of_the_beat():
    """Chords every other beat under a melody in quarters: the chords' half notes may be the beat or the half bar,
    so the bass line gives no evidence (the melody's quarters and the accents decide)."""
    rows = []
    for i in range(32):
        t = 0.5 + i * 0.6
        rows.append([t, t + 0.5, 72 + (i * 2) % 7, 70])
        if i % 2 == 0:
            rows += [[t, t + 1.1, 48 + i % 5, 60], [t, t + 1.1, 55 + i % 5, 60]]
    notes = np.array(rows)
    ev = metre.events(notes[np.argsort(notes[:, 0], kind="stable")])
    size = ev.classes.sum(axis=1)
    assert beat_level.bass_attacks(ev.time, ev.low, ev.high).sum() >= 14  # the chords are a bass line ...
    marked, bass_line = beat_level.accents(ev.time, ev.low, ev.high, size, ev.middle)
    assert not marked.any() and not bass_line.any()  # ... but not the left hand's beat


def test_a_scale_in_tenths_is_a_line_not_a_bass_under_chords():
    """Both hands in parallel tenths, eighths at 96 BPM, a few left-hand notes unheard (as a soft SoundFont's are):
    nothing sounds between the lower notes, as in a chorale, but no chord has inner voices, so the lower line says
    nothing of the beat (read as a chorale's bass, its eighths were taken for the beat: 2x the tempo)."""
    rows = []
    for i in range(48):
        t, step = 0.5 + i * 60 / 96 / 2, [0, 2, 4, 5, 7, 9, 11, 12][i % 8] + 12 * ((i // 8) % 2)
        rows.append([t, t + 0.3, 64 + step, 70])
        if i % 10 != 9:
            rows.append([t, t + 0.3, 48 + step, 70])
    notes = np.array(rows)
    ev = metre.events(notes[np.argsort(notes[:, 0], kind="stable")])
    size = ev.classes.sum(axis=1)
    bass = beat_level.bass_attacks(ev.time, ev.low, ev.high)
    assert 0.5 * len(bass) <= bass.sum() <= beat_level.MAX_BASS_SHARE * len(bass)  # a bass, by its register ...
    assert not beat_level.filled_by_the_left_hand(ev.time, ev.low, size, bass, ev.middle)  # ... but is none
    chorale_size = np.full_like(size, 4)  # the same rhythm in four-part chords is a chorale's bass
    assert beat_level.filled_by_the_left_hand(ev.time, ev.low, chorale_size, bass, ev.middle)
    beats = metre.infer_metre(notes[np.argsort(notes[:, 0], kind="stable")]).beats
    assert 60 / float(np.median(np.diff(beats))) == pytest.approx(96.0, rel=0.05)  # quarters, not eighths


def test_level_fit_peaks_at_the_level_of_the_accents():
    """Accents every 4 grid points, bass notes on every other accent (a bar of two beats)."""
    marked, bass = np.zeros(48), np.zeros(48)
    marked[::4] = 1.0
    bass[::8] = 1.0
    fits = {}
    for step in (2, 4, 8, 6):
        on = np.zeros(48, dtype=bool)
        on[::step] = True
        fits[step] = beat_level.level_fit(marked, bass, on)
    assert fits[4] == pytest.approx(1.0)
    assert fits[2] == pytest.approx(2 / 3) and fits[8] == pytest.approx(2 / 3)
    assert fits[6] < 0.5 * fits[8]  # across the bars: half the bass notes between beats
    assert beat_level.level_fit(np.zeros(48), np.zeros(48), np.ones(48, dtype=bool)) == 0.0


def test_a_slow_chorale_without_its_score_reads_the_chord_rate(tmp_path):
    """End to end on a synthesized take: analyze() without a score gives the chords' tempo (48 BPM, not 96)."""
    notes = chorale(48.0, bars=7)
    path = tmp_path / "chorale.wav"
    soundfile.write(path, synth.render_struck(notes, 22050), 22050)
    result = analyze(path)
    assert result.tempo.bpm == pytest.approx(48.0, rel=0.06)
