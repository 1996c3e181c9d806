"""A phone in a live room (synth.in_a_room: reverberation, room noise, an automatic gain): the analysis hears the room
from the take, leaves out the note ends the room makes up, keeps a crescendo a crescendo, and says what the room
hides."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from llaqo.lite import synth
from llaqo.lite.analysis import analyze, hear
from llaqo.lite.answers.answers import answer_sentences
from llaqo.lite.hearing import room
from llaqo.lite.hearing.transcribe import Transcription
from llaqo.lite.measures import articulation, dynamics

SR = 22050
BPM = 100.0
RT60_S = 1.0


def heard_as(notes: np.ndarray, pedal: np.ndarray | None = None):
    """A transcriber that hears `notes` (and sustain presses `pedal`), as Transkun would in the room."""
    pedal = np.zeros((0, 2)) if pedal is None else pedal
    return lambda wave, progress=None: Transcription(np.array(notes, dtype=float), pedal, np.zeros((0, 2)))


def write(tmp_path, wave: np.ndarray, name: str):
    path = tmp_path / name
    soundfile.write(path, wave, SR)
    return path


@pytest.fixture(scope="module")
def legato():
    notes = synth.scale_notes(BPM, n=24, legato=1.0, first_pitch=36)
    return notes, synth.render_struck(notes, SR)


def test_the_room_is_heard_from_the_take(legato):
    _, dry = legato
    detached = synth.render_struck(synth.scale_notes(BPM, n=16, legato=0.3), SR)
    assert not room.hear_room(dry, SR).live
    assert not room.hear_room(detached, SR).live
    live = room.hear_room(synth.in_a_room(dry, SR, RT60_S), SR)
    assert live.live
    assert live.decay_s > room.LITE.live_decay_s  # the sound never falls fast ...
    assert live.floor_db < room.FLOOR_DB < room.hear_room(dry, SR).floor_db  # ... nor far: the room's noise
    # Silence, or a click, is no room at all.
    assert not room.hear_room(np.zeros(SR, np.float32), SR).live
    assert not room.hear_room(np.zeros(10, np.float32), SR).live


def test_in_a_live_room_notes_ended_under_a_press_are_not_timed_by_their_ends(tmp_path, legato):
    """In the room Transkun ends the held notes early and hears a pedal nobody pressed (the everyday set's phone
    copies: legato chorale notes ending at 0.42 of their length). A note released under a press is left out, in the
    live room as in a dry one: its key's release is not heard. The take says so in its cautions and answers; the dry
    take does not."""
    notes, dry = legato
    early = notes.copy()
    early[:, 1] = early[:, 0] + 0.42 * (early[:, 1] - early[:, 0])
    false_pedal = np.array([[notes[0, 0], notes[8, 0]]])
    path = write(tmp_path, synth.in_a_room(dry, SR, RT60_S), "room.wav")
    heard = hear(path, transcriber=heard_as(early, false_pedal))
    assert heard.live
    written = articulation.spans_to_next_onset(heard.notes)
    as_if_dry = articulation.release_ratios(heard.envelopes, heard.notes, written, heard.pedal, live=False)
    as_live = articulation.release_ratios(heard.envelopes, heard.notes, written, heard.pedal, live=True)
    under = int(((early[:, 1] >= false_pedal[0, 0]) & (early[:, 1] <= false_pedal[0, 1])).sum())
    assert under >= 7 and len(as_live) == len(as_if_dry) == np.isfinite(written).sum() - under

    result = analyze(path, transcriber=heard_as(early, false_pedal))
    assert any("echo" in c for c in result.cautions)
    said = " ".join(answer_sentences(result, "How was my articulation?"))
    assert "the room's echo or the recorder's automatic gain" in said

    clean = analyze(write(tmp_path, dry, "dry.wav"), transcriber=heard_as(notes))
    assert clean.articulation.label == "legato"
    assert not any("echo" in c for c in clean.cautions)
    assert "echo" not in " ".join(answer_sentences(clean, "How was my articulation?"))


def test_detached_notes_in_the_room_are_still_detached(tmp_path):
    """A detached scale lets the room fall between its notes: the take is not heard as live, and reads staccato."""
    notes = synth.scale_notes(BPM, n=16, legato=0.3)
    path = write(tmp_path, synth.in_a_room(synth.render_struck(notes, SR), SR, RT60_S), "detached.wav")
    assert analyze(path, transcriber=heard_as(notes)).articulation.label == "staccato"


def test_a_crescendo_through_an_automatic_gain_is_still_a_crescendo(tmp_path):
    """Velocities 70 -> 120 sound 10 dB apart; the automatic gain, kept busy by notes every 0.3 s, leaves less than
    the flat spread of it (the first attack, which the gain lets in loud after the silence, left out). A consistent
    trend in a live take still counts; the same notes played evenly stay flat."""
    rising = synth.scale_notes(2 * BPM, n=32)
    rising[:, 3] = np.linspace(70, 120, len(rising))
    result = analyze(write(tmp_path, synth.in_a_room(synth.render_struck(rising, SR), SR, RT60_S), "cresc.wav"),
                     transcriber=heard_as(rising))  # fmt: skip
    levels = result.dynamics.segments[:, 2]
    assert levels.max() - levels.min() < dynamics.LITE.flat_db  # what the gain left of 15 dB
    assert dynamics.dynamics_label(levels, live=False) == "flat"
    assert result.dynamics.label == "crescendo"

    even = synth.scale_notes(2 * BPM, n=32)
    flat = analyze(write(tmp_path, synth.in_a_room(synth.render_struck(even, SR), SR, RT60_S), "even.wav"),
                   transcriber=heard_as(even))  # fmt: skip
    assert flat.dynamics.label == "flat"
