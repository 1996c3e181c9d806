"""The score path and the export, end to end: the real Lite coach behind the chat handlers, on synthesized
takes of known pieces with their scores written as MIDI and MusicXML, in 3/4 and 6/8."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
from pathlib import Path

# mido is imported at collection: imported first inside a test, while the servers of earlier test modules wound
# down, its module set-up once failed in the full suite ("dictionary changed size during iteration").
import mido
import numpy as np
import pytest
import soundfile

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from llaqo.app import ChatApp, Session  # noqa: E402
from llaqo.lite import synth  # noqa: E402
from llaqo.lite.coach import LiteCoach  # noqa: E402
from llaqo.lite.hearing import transcribe  # noqa: E402

SETTINGS = ["Streaming, greedy", 0.7, 0, 0.0, False]
STEPS = ("C", "C", "D", "D", "E", "F", "F", "G", "G", "A", "A", "B")


def melody(beats: int, beat_type: int, bars: int, low: int, seed: int) -> np.ndarray:
    """A line of quarters (x/4) or eighths (x/8) filling `bars` bars: (N, 3) [onset_q, duration_q, pitch]."""
    step_q = 4 / beat_type
    pitches = np.random.default_rng(seed).choice([0, 2, 4, 5, 7, 9, 11, 12, 14, 16], size=bars * beats) + low
    return np.array([[i * step_q, step_q, p] for i, p in enumerate(pitches)], dtype=float)


def performance(notes: np.ndarray, quarter_bpm: float, path: Path, wrong: int | None = None) -> Path:
    """Render the notes exactly in time (one of them a tone higher when `wrong` is given) to a wav."""
    spq = 60 / quarter_bpm
    played = np.array([[0.5 + q * spq, 0.5 + (q + 0.9 * d) * spq, p, 80] for q, d, p in notes])
    if wrong is not None:
        played[wrong, 2] += 2
    soundfile.write(path, synth.render(played, transcribe.SAMPLE_RATE), transcribe.SAMPLE_RATE)
    return path


def midi_score(notes: np.ndarray, beats: int, beat_type: int, quarter_bpm: float, path: Path) -> Path:
    ticks = synth.TICKS_PER_QUARTER
    track = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(quarter_bpm), time=0),
            mido.MetaMessage("time_signature", numerator=beats, denominator=beat_type, time=0),
        ]
    )
    now = 0
    for q, d, p in notes:
        start, end = round(q * ticks), round((q + d) * ticks)
        track.append(mido.Message("note_on", note=int(p), velocity=64, time=start - now))
        track.append(mido.Message("note_off", note=int(p), velocity=0, time=end - start))
        now = end
    score = mido.MidiFile(ticks_per_beat=ticks)
    score.tracks.append(track)
    score.save(path)
    return path


def musicxml_score(notes: np.ndarray, beats: int, beat_type: int, quarter_bpm: float, path: Path) -> Path:
    """A one-part MusicXML file as notation programs write it: a metronome mark and <sound tempo> (quarters)."""
    divisions, bar_q = 2, beats * 4 / beat_type
    dot, per_minute = ("", quarter_bpm) if beat_type == 4 else ("<beat-unit-dot/>", quarter_bpm / 1.5)
    measures = []
    for bar in range(int(round(notes[-1, 0] // bar_q)) + 1):
        inside = notes[(notes[:, 0] >= bar * bar_q) & (notes[:, 0] < (bar + 1) * bar_q)]
        body = ""
        if bar == 0:
            body += (
                f"<attributes><divisions>{divisions}</divisions><time><beats>{beats}</beats>"
                f"<beat-type>{beat_type}</beat-type></time><clef><sign>G</sign><line>2</line></clef></attributes>"
                f"<direction><direction-type><metronome><beat-unit>quarter</beat-unit>{dot}"
                f"<per-minute>{per_minute:g}</per-minute></metronome></direction-type>"
                f'<sound tempo="{quarter_bpm:g}"/></direction>'
            )
        for _, d, p in inside:
            step, alter, octave = (
                STEPS[int(p) % 12],
                int(STEPS[int(p) % 12] == STEPS[int(p) % 12 - 1]),
                int(p) // 12 - 1,
            )
            body += (
                f"<note><pitch><step>{step}</step><alter>{alter}</alter><octave>{octave}</octave></pitch>"
                f"<duration>{int(d * divisions)}</duration><type>{'eighth' if d == 0.5 else 'quarter'}</type></note>"
            )
        measures.append(f'<measure number="{bar + 1}">{body}</measure>')
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1"><part-list>'
        '<score-part id="P1"><part-name>Piano</part-name></score-part></part-list>'
        f'<part id="P1">{"".join(measures)}</part></score-partwise>'
    )
    return path


@pytest.fixture(scope="module")
def app():
    coach = LiteCoach()
    return ChatApp(coach, coach, practice_coach=coach)


def send(app: ChatApp, session: Session, text: str, *files: Path) -> tuple[str, list]:
    """One chat message; returns the last written reply (the clips of the passages it cites follow it as
    audio messages) and every update."""
    outputs = list(app.respond({"text": text, "files": [str(f) for f in files]}, [], session, *SETTINGS))
    return next(m["content"] for m in reversed(outputs[-1][0]) if isinstance(m["content"], str)), outputs


def overview_of(outputs: list) -> str:
    return next(o[2] for o in outputs if isinstance(o[2], str))


def test_score_follow_ups_errors_and_export_in_three_four(app, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    notes = melody(3, 4, bars=6, low=60, seed=1)
    take = performance(notes, 100, tmp_path / "waltz.wav", wrong=12)  # the 13th quarter: bar 5
    midi = midi_score(notes, 3, 4, 100, tmp_path / "waltz.mid")
    xml = musicxml_score(notes, 3, 4, 100, tmp_path / "waltz.musicxml")
    session = Session()

    reply, _ = send(app, session, "Any wrong notes?", midi)
    assert reply == "Please add the recording along with the score."

    reply, outputs = send(app, session, "How steady was my tempo?", take)
    assert reply.startswith("*waltz.wav · heard") and "Against the score" not in overview_of(outputs)
    assert session.evidence.measurements["tempo"]["source"] == "audio"

    for score in (midi, xml):  # a score alone applies to the current recording
        reply, outputs = send(app, session, "Which notes were wrong?", score)
        assert "**Against the score:** 1 wrong, 0 missed, 0 extra" in overview_of(outputs), score.name
        measured = session.evidence.measurements
        assert [(w["bar"], w["notated_pitch"], w["played_pitch"]) for w in measured["score"]["wrong"]] == [
            (5, notes[12, 2], notes[12, 2] + 2)
        ], score.name
        assert measured["score"]["name"] == score.name and len(measured["score"]["bars"]) == 6
        assert measured["tempo"]["source"] == "score" and measured["tempo"]["nominal_bpm"] == pytest.approx(100)
        assert measured["tempo"]["bpm"] == pytest.approx(100, rel=0.03)
        assert "bar 5" in reply, reply

    # Another piece, in the bass: none of its pitches is played, nor an overtone of one that is.
    other = musicxml_score(melody(3, 4, bars=6, low=37, seed=3), 3, 4, 100, tmp_path / "other.musicxml")
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.musicxml"
    garbage.write_text("<score-partwise><part id='P1'><measure>")
    for score, problem in (
        (other, "waltz.wav: the playing does not match the score other.musicxml"),
        (empty, "empty.mid: the score file is empty"),
        (garbage, "garbage.musicxml: not a readable score"),
    ):
        reply, _ = send(app, session, "And now?", score)
        assert reply.startswith("**Problem:** ") and problem in reply and "Traceback" not in reply, (score.name, reply)
    reply, _ = send(app, session, "Which bar had the wrong note?")
    assert reply.startswith("*waltz.wav · heard") and "bar 5" in reply, "the last good analysis stays current"

    markdown, data, *evidence = app.export(session)["value"]
    assert any(path.endswith("-score-1.svg") for path in evidence), "the marked score is exported"
    exported = json.loads(Path(data).read_text())
    (recording,) = exported["recordings"].values()
    assert recording["measurements"] == json.loads(json.dumps(session.evidence.measurements))
    assert recording["measurements"]["score"]["wrong"][0]["bar"] == 5
    questions = ["How steady was my tempo?", "Which notes were wrong?", "Which notes were wrong?"]
    assert [e["question"] for e in exported["exchanges"]] == [*questions, "Which bar had the wrong note?"]
    images = {name: decode_png(png) for name, png in recording["plots_png_base64"].items()}
    assert set(images) == {"tempo", "dynamics", "piano_roll"}
    text = Path(markdown).read_text()
    assert text.count("![Score, marked, page") == len([path for path in evidence if path.endswith(".svg")])
    assert all(title in text for title in ("![tempo]", "![dynamics]", "![piano_roll]"))
    for encoded in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)\)", text):
        assert decode_png(encoded).shape[0] > 100
    assert "waltz" not in caplog.text and "other.musicxml" not in caplog.text, "no file name reaches the logs"
    summary = json.loads(re.search(r"```json\n(.*?)\n```", text, re.S).group(1))
    assert summary == {k: v for k, v in recording["measurements"].items() if k != "notes"}


def decode_png(encoded: str) -> np.ndarray:
    """A base64 PNG -> its pixels (rows, columns, channels); raises when it is not a PNG."""
    import matplotlib.image

    data = base64.b64decode(encoded)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return matplotlib.image.imread(io.BytesIO(data), format="png")


@pytest.mark.parametrize("writer", [musicxml_score, midi_score], ids=["musicxml", "midi"])
def test_compound_metre_and_its_tempo_unit(app, tmp_path, writer):
    """6/8 at dotted quarter = 80 (quarter = 120): beats, tempo and bars are counted in dotted quarters."""
    notes = melody(6, 8, bars=6, low=60, seed=2)
    take = performance(notes, 120, tmp_path / "jig.wav", wrong=20)  # the 21st eighth: bar 4
    score = writer(notes, 6, 8, 120, tmp_path / f"jig.{'musicxml' if writer is musicxml_score else 'mid'}")
    session = Session()
    reply, _ = send(app, session, "Was my tempo steady?", take, score)
    measured = session.evidence.measurements
    assert measured["tempo"]["nominal_bpm"] == pytest.approx(80)
    assert measured["tempo"]["bpm"] == pytest.approx(80, rel=0.03)
    assert len(measured["tempo"]["curve"]) == pytest.approx(12, abs=1), "two beats a bar"
    assert [w["bar"] for w in measured["score"]["wrong"]] == [4] and measured["score"]["accuracy_pct"] < 100
    assert [b["bar"] for b in measured["score"]["bars"]] == [1, 2, 3, 4, 5, 6]
    assert "80" in reply, reply
