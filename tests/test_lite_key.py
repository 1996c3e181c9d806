"""Notes spelled in the key (llaqo.lite.measures.key): the key from the score's signature or estimated from the
notes, every note an answer names spelled in it, and the marked score engraved with its key signature when
the MIDI file has none."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from llaqo.lite import synth
from llaqo.lite.alignment.score import load_score
from llaqo.lite.answers.grounding import Citer
from llaqo.lite.evidence import notation
from llaqo.lite.measures import key as keys

SHARED = Path(os.environ.get("LLAQO_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
C_MAJOR, E_MINOR = keys.Key(0, False, "score"), keys.Key(1, True, "score")


@pytest.mark.parametrize(
    "pitch, key, name",
    [
        (80, C_MAJOR, "G#5"), (87, E_MINOR, "D#6"), (63, C_MAJOR, "Eb4"), (66, keys.Key(-5, False, ""), "Gb4"),
        (64, keys.Key(-5, False, ""), "E4"), (60, keys.Key(4, True, ""), "B#3"), (59, keys.Key(-6, False, ""), "Cb4"),
        (68, keys.Key(0, True, ""), "G#4"), (70, keys.Key(-1, True, ""), "Bb4"), (61, None, "C#4"),
    ],
)  # fmt: skip
def test_pitches_are_spelled_in_the_key(pitch, key, name):
    assert keys.spell(pitch, key) == name


def test_key_names_and_signatures():
    assert [keys.Key(f, m, "").name for f, m in ((0, True), (-4, False), (1, True), (3, True))] == [
        "A minor", "Ab major", "E minor", "F# minor",
    ]  # fmt: skip
    assert keys.signature(8, False) == -4 and keys.signature(4, True) == 1 and keys.signature(1, False) == -5


def scale(tonic: int, steps: tuple[int, ...]) -> np.ndarray:
    """Two octaves of a scale up and down with its tonic triad, as (N,) pitches."""
    up = [tonic + 12 * o + s for o in (0, 1) for s in steps] + [tonic + 24]
    return np.array(up + up[::-1] + [tonic, tonic + steps[2], tonic + steps[4], tonic])


@pytest.mark.parametrize(
    "tonic, minor, name",
    [(67, False, "G major"), (64, True, "E minor"), (63, False, "Eb major"), (62, True, "D minor")],
)
def test_the_key_is_estimated_from_the_notes(tonic, minor, name):
    steps = (0, 2, 3, 5, 7, 8, 11) if minor else (0, 2, 4, 5, 7, 9, 11)  # harmonic minor
    pitches = scale(tonic, steps)
    assert keys.estimate(pitches, np.full(len(pitches), 0.5), "notes").name == name


def test_an_answer_names_a_note_in_the_documents_key():
    doc = {"score": {"wrong": [{"played_pitch": 87, "notated_pitch": 88}]}, "key": E_MINOR.to_json()}
    c = Citer(doc)
    assert c("score.wrong[0].played_pitch", how="note") == "D#6"
    assert c("score.wrong[0].played_pitch", how="note") != Citer({**doc, "key": None})(
        "score.wrong[0].played_pitch", how="note"
    ), "without the key the same pitch reads Eb6"


def test_a_midi_score_without_a_signature_is_engraved_in_its_key(tmp_path):
    """A G major score written as MIDI without a key signature: the key comes from its notes, the MusicXML that
    verovio engraves carries one sharp, and its F#s are F#, never Gb."""
    pitches = scale(55, (0, 2, 4, 5, 7, 9, 11))
    notes = np.array([[0.5 * i, 0.5 * i + 0.45, p, 64] for i, p in enumerate(pitches)], dtype=float)
    synth.write_score(notes, tmp_path / "score.mid", 120)
    score = load_score(tmp_path / "score.mid")
    assert score.key == keys.Key(1, False, "score notes")
    xml = notation.musicxml(score, score.key)
    assert re.search(r"<key>\s*<fifths>1</fifths>\s*<mode>major</mode>", xml)
    steps = re.findall(r"<step>([A-G])</step>\s*(?:<alter>(-?\d)</alter>)?", xml)
    assert ("F", "1") in steps and ("G", "-1") not in steps


@pytest.mark.skipif(not (SHARED / "perfbench" / "dev").is_dir(), reason="../shared/perfbench/dev is absent")
def test_perfbench_scores_are_in_the_keys_their_names_give():
    named = {
        folder: re.search(r"_([a-g])_(major|minor)$|_in_([a-g])$", folder.name)
        for folder in sorted((SHARED / "perfbench" / "dev").iterdir())
        if folder.is_dir()
    }
    named = {f: m for f, m in named.items() if m}
    assert len(named) >= 5, "the dev set names its keys"
    for folder, m in named.items():
        tonic, mode = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), "major")
        assert load_score(folder / "score.mid").key.name == f"{tonic.upper()} {mode}", folder.name
