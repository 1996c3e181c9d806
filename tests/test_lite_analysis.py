"""The Lite analysis on synthetic clips with known notes, tempo and loudness (no ../shared needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from llaqo.cli import main
from llaqo.lite import synth
from llaqo.lite.analysis import analyze
from llaqo.lite.measures import dynamics

SR = 22050
BPM = 100.0
LABELS = {
    "tempo": {"steady", "accelerando", "ritardando", "rubato", "rushing"},
    "dynamics": {"flat", "crescendo", "decrescendo", "terraced", "wide-contrast"},
    "articulation": {"legato", "staccato", "mixed"},
    "pedal": {"none", "clean", "blurred"},
}


def write_clip(tmp_path, notes, name="clip.wav"):
    path = tmp_path / name
    soundfile.write(path, synth.render(notes, SR), SR)
    return path


def write_score(tmp_path, notes, bpm, name="score.mid"):
    """A MIDI score of (N, 4) notes (times in seconds at `bpm`) with the tempo written in."""
    path = tmp_path / name
    synth.write_score(notes, path, bpm)
    return path


@pytest.fixture(scope="module")
def scale(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scale")
    notes = synth.scale_notes(BPM, n=15)
    return notes, write_clip(tmp, notes)


def hears(notes: np.ndarray):
    """A transcriber that hears exactly `notes`: for tests of what follows the transcription (the alignment's
    judgement of a section), independent of how Transkun hears the synthesiser."""
    from llaqo.lite.hearing.transcribe import Transcription

    notes = np.array(notes, dtype=float)
    notes = notes[np.argsort(notes[:, 0], kind="stable")]
    return lambda wave, progress=None: Transcription(notes, np.zeros((0, 2)), np.zeros((0, 2)))


def onset_matches(found: np.ndarray, truth: np.ndarray, tol: float = 0.05) -> int:
    return sum(bool(np.any((np.abs(found[:, 0] - on) <= tol) & (found[:, 2] == p))) for on, _, p, _ in truth)


def test_notes_and_tempo_without_score(scale):
    truth, path = scale
    result = analyze(path).to_json()
    notes = np.array(result["notes"])
    assert onset_matches(notes, truth) >= 0.9 * len(truth)
    assert len(notes) <= 1.2 * len(truth)
    assert result["tempo"]["bpm"] == pytest.approx(BPM, rel=0.03)
    assert result["tempo"]["label"] == "steady"
    assert result["duration_s"] == pytest.approx(truth[-1, 1] + 0.5, abs=0.01)
    for key, vocabulary in LABELS.items():
        assert result[key]["label"] in vocabulary
    assert "score" not in result


def test_crescendo_is_measured(tmp_path):
    notes = synth.scale_notes(BPM, n=15)
    notes[:, 3] = np.linspace(30, 127, len(notes))
    result = analyze(write_clip(tmp_path, notes)).to_json()
    assert result["dynamics"]["label"] == "crescendo"
    assert result["dynamics"]["range_db"] >= dynamics.TREND_DB
    flat = analyze(write_clip(tmp_path, synth.scale_notes(BPM, n=15), "flat.wav")).to_json()
    assert flat["dynamics"]["label"] == "flat"


def test_staccato_vs_legato(tmp_path):
    """Release ratios from the per-key envelopes. The notes are given: Transkun does not hear this synthesiser's
    0.15 s notes (a real piano's staccato has a hammer attack and damper noise the synthesiser lacks)."""
    detached, held = synth.scale_notes(BPM, n=15, legato=0.25), synth.scale_notes(BPM, n=15, legato=1.0)
    short = analyze(write_clip(tmp_path, detached), transcriber=hears(detached)).to_json()
    long = analyze(write_clip(tmp_path, held, "long.wav"), transcriber=hears(held)).to_json()
    assert short["articulation"]["mean_ratio"] < long["articulation"]["mean_ratio"]
    assert short["articulation"]["label"] == "staccato"
    assert long["articulation"]["label"] == "legato"


def test_keys_released_under_the_pedal_are_not_heard(tmp_path):
    """Under a held pedal the strings ring on after the keys rise, so no damper falls and a key's release is not
    heard; Transkun's note ends there are no key releases either (on the everyday set's clean takes it ends most held
    notes under a press early, and its pedalled legato takes read mixed). A legato scale whose second half is played
    under one long press, Transkun ending those notes at 0.45 of their length, reads legato from its first half; the
    same early ends without the pedal are overruled by the dampers, which fall where the keys rise."""
    from llaqo.lite.hearing.transcribe import Transcription

    held = synth.scale_notes(BPM, n=15, legato=1.0)
    ringing = held.copy()
    ringing[8:, 1] = ringing[-1, 1] + 0.4  # what the strings do while the pedal is down
    heard = held.copy()
    heard[8:, 1] = heard[8:, 0] + 0.45 * (held[8:, 1] - held[8:, 0])
    press = np.array([[held[8, 0] - 0.05, ringing[-1, 1]]])
    pedalled = analyze(
        write_clip(tmp_path, ringing),
        transcriber=lambda wave, progress=None: Transcription(heard, press, np.zeros((0, 2))),
    ).to_json()
    assert pedalled["articulation"]["label"] == "legato"
    assert pedalled["articulation"]["n_notes"] <= 8  # the notes released under the press are left out
    unpedalled = analyze(write_clip(tmp_path, held, "held.wav"), transcriber=hears(heard)).to_json()
    assert unpedalled["articulation"]["label"] == "legato"  # no pedal: the dampers say the keys were held


def test_score_alignment_finds_the_wrong_note_and_the_tempo(tmp_path):
    written = synth.scale_notes(BPM, n=15)
    played = written.copy()
    played[:, :2] *= 1.1  # 10% slower: 90.9 BPM against the notated 100
    played[10, 2] += 1  # one wrong note: a semitone too high
    played = np.delete(played, 12, axis=0)  # one missed note
    result = analyze(write_clip(tmp_path, played), write_score(tmp_path, written, BPM)).to_json()
    assert result["tempo"]["nominal_bpm"] == pytest.approx(BPM, rel=0.01)
    assert result["tempo"]["bpm"] == pytest.approx(BPM / 1.1, rel=0.02)
    wrong = result["score"]["wrong"]
    assert [(w["notated_pitch"], w["played_pitch"]) for w in wrong] == [(written[10, 2], written[10, 2] + 1)]
    assert wrong[0]["time_s"] == pytest.approx(played[10, 0], abs=0.05)
    assert [m["pitch"] for m in result["score"]["missed"]] == [written[12, 2]]
    assert result["score"]["bars"][0]["bar"] >= 0


def test_cli_json_and_summary(scale, capsys):
    _, path = scale
    assert main(["analyze", str(path), "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert {"duration_s", "notes", "tempo", "dynamics", "articulation", "pedal"} <= parsed.keys()
    assert main(["analyze", str(path)]) == 0
    assert "tempo:" in capsys.readouterr().out


def test_stray_anchors_flag_a_mismatch_but_not_a_ritardando():
    from llaqo.lite.alignment.align import _stray_anchors

    q = np.arange(0.0, 16.0, 1.0)
    seconds_per_beat = 0.6 * 1.1 ** np.clip(q - 10, 0, None)  # steady, then slowing 10% per beat
    t = np.concatenate([[0.0], np.cumsum(seconds_per_beat[:-1])])
    assert not _stray_anchors(q, t).any()
    t_bad = t.copy()
    t_bad[5] += 0.45  # a chord paired with notes most of a beat later
    t_bad[-1] += 2.0  # the last chord captured by a ghost two seconds later
    assert np.flatnonzero(_stray_anchors(q, t_bad)).tolist() == [5, 15]


def test_a_trailing_ghost_chord_does_not_bend_tempo_or_dynamics(tmp_path):
    """A re-sounded final note (a release thump, a reverb tail cut into notes) seconds after the end
    must not be aligned to the last notated chord: the tempo stays steady and the bars keep their level."""
    written = synth.scale_notes(BPM, n=15)
    ghosts = np.concatenate([written[-1:], written[-1:]])
    ghosts[:, :2] += np.array([[2.0], [4.0]])  # the last note re-sounds twice after the end
    ghosts[:, 3] = 60
    played = np.concatenate([written, ghosts])
    result = analyze(write_clip(tmp_path, played), write_score(tmp_path, written, BPM)).to_json()
    assert result["tempo"]["label"] == "steady"
    assert result["tempo"]["bpm"] == pytest.approx(BPM, rel=0.02)
    assert result["dynamics"]["label"] == "flat"


def test_a_note_over_a_lower_octave_cannot_show_its_release():
    """C5 released while C4 still sounds: C4's second harmonic fills C5's band, so C5's ringing is not judged.
    E5 over it has no such partner and is judged."""
    from llaqo.lite.measures.pedal import masked_ends

    notes = np.array([[0.0, 2.0, 60, 80], [0.0, 0.5, 72, 80], [0.0, 0.5, 76, 80]], dtype=float)
    damped = np.array([2.0, 0.5, 0.5])
    written_end = np.array([2.0, 0.5, 0.5])
    assert masked_ends(notes, damped, written_end).tolist() == [False, True, False]


def test_transcribed_presses_are_judged_at_each_harmony_change():
    """perfbench's definition on hand-made presses: a press still down > 0.25 s after a change is held through
    it; one released at the change is a clean change; a flicker shorter than a press is ignored."""
    from llaqo.lite.measures.pedal import presses_at_changes

    changes = np.array([2.5, 4.5, 6.5])
    presses, held, released = presses_at_changes(np.array([[0.6, 2.45], [2.6, 4.45], [4.6, 6.45]]), changes)
    assert len(presses) == 3 and len(held) == 0 and released.tolist() == [2.5, 4.5, 6.5]
    presses, held, released = presses_at_changes(np.array([[0.6, 4.45], [4.6, 8.0], [5.0, 5.1]]), changes)
    assert presses.tolist() == [[0.6, 4.45], [4.6, 8.0]]
    assert held.tolist() == [2.5, 6.5] and released.tolist() == [4.5]


def test_a_pulse_above_160_bpm_is_taken_as_a_subdivision():
    from llaqo.lite.hearing.tempo import fold_fast_beats

    frame_rate = 100.0
    envelope = np.ones(10_000)
    for bpm, expected in ((170.0, 85.0), (145.0, 145.0)):  # a fast waltz beat (145) stays as it is
        frames = np.round(np.arange(0, 60, 60 / bpm) * frame_rate).astype(int)
        folded = fold_fast_beats(frames, envelope, frame_rate)
        assert 60 * frame_rate / np.median(np.diff(folded)) == pytest.approx(expected, rel=0.02)


def test_terraces_are_plateaus_and_wide_contrast_changes_at_most_bars():
    """The same 11 dB spread: two plateaus joined by steps are terraced, a level that changes at nearly
    every bar is wide contrast (a quieter instrument narrows the spread, not the pattern)."""
    terraces = np.array([40.0, 40.5, 40.0, 51.0, 50.5, 51.0, 40.0, 40.5])
    alternating = np.array([51.0, 40.0, 50.0, 41.0, 51.0, 40.0, 50.0, 45.0])
    assert dynamics.dynamics_label(terraces) == "terraced"
    assert dynamics.dynamics_label(alternating) == "wide-contrast"
    assert dynamics.dynamics_label(np.array([40.0, 41.0, 40.5, 41.0])) == "flat"
    assert dynamics.dynamics_label(np.linspace(35.0, 48.0, 8)) == "crescendo"


def test_a_narrow_spread_that_steps_between_plateaus_is_terraced():
    """FluidR3's d04 (velocities 58 56 91 90 62 61 95 95) measured 7.6 dB across its bars: narrower than a flat
    take may jitter, but in plateaus of two bars. A minuet's single-bar dips of 5 dB are no terraces."""
    hymn = np.array([35.9, 37.5, 42.6, 43.5, 36.5, 37.6, 43.1, 40.7])
    minuet = np.array([44.7, 45.9, 41.1, 45.9, 44.5, 44.7, 45.4, 45.4, 44.5, 47.3, 42.0, 47.3, 44.1, 44.9, 46.5])
    assert dynamics.dynamics_label(hymn) == "terraced"
    assert dynamics.dynamics_label(minuet) == "flat"


def test_a_wide_range_in_runs_is_contrast_and_gradual_plateaus_are_terraces():
    """Bar levels measured on the everyday tuning half (bench/RESULTS.md). A waltz of wide contrast (velocities
    42-109) whose loud and soft bars come in runs, so that fewer than 60% of its boundaries step: its soft-to-loud
    range (16 dB) is contrast, not terraces. A nocturne's terraces (velocities 50, 77, 53) whose steps spread over
    a bar boundary or two: no single step of 4 dB, but plateaus, so terraced, not flat."""
    waltz = np.array([38.4, 38.0, 45.4, 44.6, 42.4, 35.8, 28.9, 30.3, 35.7, 34.8, 30.6, 41.1, 43.2, 41.8, 29.6, 31.9,
                      32.6, 27.7, 27.7])  # fmt: skip
    nocturne = np.array([38.2, 36.8, 35.7, 37.0, 39.2, 37.7, 44.8, 45.3, 44.6, 45.4, 43.8, 39.8, 39.5, 39.7, 39.0])
    assert dynamics.level_range(waltz) >= dynamics.WIDE_RANGE_DB
    assert dynamics.dynamics_label(waltz) == "wide-contrast"
    assert dynamics.dynamics_label(nocturne) == "terraced"


def test_notes_in_the_noise_floor_are_not_playing(tmp_path):
    """Notes 80 dB below the music (a render's or a room's near-silent tail) are not playing: the analysis
    keeps only notes within reach of the take's loud notes."""
    played = synth.scale_notes(BPM, n=15)
    faint = np.array([[9.5 + i, 9.9 + i, 50 + 5 * i, 1] for i in range(4)], dtype=float)  # velocity 1: -84 dB
    path = write_clip(tmp_path, np.concatenate([played, faint]))
    kept = analyze(path).notes
    assert not (kept[:, 0] > 9.3).any()
    assert onset_matches(kept, played) >= 14


def test_extra_notes_are_counted_inside_the_piece_only(tmp_path):
    """An added note inside the piece is extra; notes after the last notated note (the room, the pianist
    playing on) are not part of the score's performance."""
    written = synth.scale_notes(BPM, n=15)
    inside = [[written[7, 0] + 0.3, written[7, 0] + 0.5, 78, 90]]  # an F#5 between two scale notes
    after = [[written[-1, 1] + 2.0 + i, written[-1, 1] + 2.4 + i, 50 + 7 * i, 90] for i in range(3)]
    played = np.concatenate([written, inside, after])
    clip = write_clip(tmp_path, played)
    result = analyze(clip, write_score(tmp_path, written, BPM), transcriber=hears(played)).to_json()
    assert [(round(e["time_s"], 1), e["pitch"]) for e in result["score"]["extra"]] == [(round(inside[0][0], 1), 78)]


def test_a_take_of_the_first_bars_is_not_told_it_missed_the_rest(tmp_path):
    """Practising a section: the recording plays the first 12 of 30 notated notes. Only that section is judged."""
    written = np.concatenate(
        [synth.scale_notes(BPM, n=15), synth.scale_notes(BPM, n=15, start_s=0.5 + 15 * 0.6, first_pitch=54)]
    )
    played = written[:12]
    result = analyze(write_clip(tmp_path, played), write_score(tmp_path, written, BPM), transcriber=hears(played))
    result = result.to_json()
    report = result["score"]
    assert report["n_notated"] == 30
    assert report["n_performed"] == 12
    assert report["missed"] == [] and report["wrong"] == []
    assert report["accuracy_pct"] == 100.0
    assert report["performed_bars"][0] == report["bars"][0]["bar"]


def test_a_take_starting_mid_piece_is_judged_from_where_it_starts(tmp_path):
    written = np.concatenate(
        [synth.scale_notes(BPM, n=15), synth.scale_notes(BPM, n=15, start_s=0.5 + 15 * 0.6, first_pitch=54)]
    )
    played = written[18:].copy()
    played[:, :2] -= played[0, 0] - 0.5  # the recording starts just before the first note played
    clip = write_clip(tmp_path, played)
    report = analyze(clip, write_score(tmp_path, written, BPM), transcriber=hears(played)).to_json()["score"]
    assert report["n_performed"] == 12
    assert report["missed"] == [] and report["extra"] == []
    assert report["performed_bars"][0] > report["bars"][0]["bar"]


def test_a_note_struck_again_under_the_pedal_is_not_missed_when_heard_as_one(tmp_path):
    """An Alberti-like bass repeats its C3 every two beats under the pedal. Transkun often hears the repeat as
    the first C3 ringing on (d03): struck again in the audio, that is not a missed note (the transcriber's second
    look hears it struck). A repeat after the first C3 has stopped, not heard, still is."""
    melody = synth.scale_notes(BPM, n=8, first_pitch=72)
    beat = 60.0 / BPM
    start = melody[0, 0]
    bass = np.array([[start + k * 2 * beat, start + (k + 1) * 2 * beat, 48, 70] for k in range(4)])
    written = np.concatenate([melody, bass])
    written = written[np.argsort(written[:, 0], kind="stable")]
    score_path = write_score(tmp_path, written, BPM)
    merged = np.concatenate([melody, [[bass[0, 0], bass[1, 1], 48, 70]], bass[2:]])  # repeat 1 rings into 2
    clip = write_clip(tmp_path, written, "struck.wav")
    report = analyze(clip, score_path, transcriber=hears(merged)).to_json()["score"]
    assert report["missed"] == [] and report["extra"] == []
    dropped = np.concatenate([melody, bass[:1], bass[2:]])  # repeat 2 not played, repeat 1 released in time
    clip = write_clip(tmp_path, dropped, "dropped.wav")
    report = analyze(clip, score_path, transcriber=hears(dropped)).to_json()["score"]
    assert [(round(m["time_s"], 2), m["pitch"]) for m in report["missed"]] == [(round(bass[1, 0], 2), 48)]


@pytest.mark.parametrize(
    ("signature", "beat_q", "bpm"),
    [((3, 8), 0.5, 72.0), ((6, 8), 1.5, 24.0), ((2, 4), 1.0, 36.0), ((2, 2), 2.0, 18.0), ((5, 8), 0.5, 72.0)],
)
def test_a_scores_beat_is_its_notated_beat(tmp_path, signature, beat_q, bpm):
    """The tempo of a score counts its notated beat: a slow 3/8 in its three eighths (72 BPM, not a bar's 24),
    6/8 in dotted quarters, 2/2 in halves; the score's tempo (a quarter at 36) is converted to that beat."""
    import mido

    from llaqo.lite.alignment.score import load_score

    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("time_signature", numerator=signature[0], denominator=signature[1]))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(36)))
    for pitch in (60, 62, 64, 65, 67, 69):
        track.append(mido.Message("note_on", note=pitch, velocity=64, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=240))
    midi.save(tmp_path / "score.mid")
    score = load_score(tmp_path / "score.mid")
    assert score.beat_q == beat_q
    assert score.nominal_bpm == pytest.approx(bpm)
