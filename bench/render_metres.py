"""Render perfbench-style takes in metres dev lacks: compound metres (6/8, 9/8, 12/8), pickups, and tempo changes
in the second half, to measure the beat, metre and downbeats inferred without a score.

Each take is llaqo.lite.synth.metre_piece (a bass note on each downbeat, chords on the other beats, a melody in
eighths, louder on the beats, +-5 ms of timing scatter) written as performance.mid and score.mid (the notated
tempo and time signature, a pickup at the end of an otherwise empty first bar, as in perfbench) and rendered
with FluidSynth. truth.json holds what bench/lite_accuracy.py reads, in perfbench's format: the labels, the
tempo curve per notated beat, the bars (dynamics.velocity_per_bar) and the notes. Writes outside the project:

    python bench/render_metres.py --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2 --out /tmp/pb-metres
    python bench/lite_accuracy.py --perfbench /tmp/pb-metres
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from llaqo.lite import synth

SAMPLE_RATE = 22050
PEAK = 0.7
# name: (beats per bar, compound, beats a minute, pickup beats, end tempo / start tempo)
TAKES = {
    "m01_two_four_pickup": (2, False, 104.0, 1, 1.0),
    "m02_three_four_pickup": (3, False, 126.0, 1, 1.0),
    "m03_four_four_pickup": (4, False, 80.0, 1, 1.0),
    "m04_six_eight": (2, True, 62.0, 0, 1.0),
    "m05_six_eight_pickup": (2, True, 70.0, 1, 1.0),
    "m06_nine_eight": (3, True, 56.0, 0, 1.0),
    "m07_twelve_eight_pickup": (4, True, 52.0, 1, 1.0),
    "m08_three_four_ritardando": (3, False, 112.0, 0, 0.72),
    "m09_four_four_accelerando": (4, False, 76.0, 0, 1.3),
    "m10_six_eight_ritardando": (2, True, 66.0, 1, 0.72),
    "m11_two_four_ritardando": (2, False, 96.0, 0, 0.72),
    "m12_four_four_slow_pickup": (4, False, 60.0, 2, 1.0),
}
LABEL_BY_RATIO = {1.0: "steady", 0.72: "ritardando", 1.3: "accelerando"}


def midi(notes: np.ndarray, path: Path, quarters_per_minute: float, time_signature: tuple[int, int]) -> None:
    """(N, 4) notes in seconds at quarters_per_minute -> a MIDI file with that tempo and time signature."""
    synth.write_score(notes, path, quarters_per_minute, time_signature)
    import mido

    performed = mido.MidiFile(path)  # keep the played velocities: write_score writes every velocity 64
    velocities = iter(int(v) for v in notes[np.lexsort((notes[:, 2], notes[:, 0])), 3])
    for msg in performed.tracks[0]:
        if msg.type == "note_on" and msg.velocity > 0:
            msg.velocity = next(velocities)
    performed.save(path)


def take(name: str, spec: tuple, seed: int, soundfont: Path, out: Path) -> None:
    beats_per_bar, compound, bpm, pickup, end_ratio = spec
    notes, beats, downbeats, position = synth.metre_piece(
        beats_per_bar, compound, bpm, n_bars=10, pickup_beats=pickup, end_ratio=end_ratio, seed=seed
    )
    beat_q = 1.5 if compound else 1.0
    bar_q = beats_per_bar * beat_q
    quarters = position * beat_q + (bar_q if pickup else 0.0)  # a pickup ends an otherwise empty first bar
    local = np.interp(notes[:, 0], beats[:-1], np.diff(beats))
    length_q = (notes[:, 1] - notes[:, 0]) / local * beat_q
    q_per_min = bpm * beat_q
    notated = np.stack([quarters, quarters + length_q, notes[:, 2], np.full(len(notes), 64)], axis=1) * [
        60 / q_per_min,
        60 / q_per_min,
        1,
        1,
    ]
    signature = (3 * beats_per_bar, 8) if compound else (beats_per_bar, 4)
    dest = out / name
    dest.mkdir(parents=True, exist_ok=True)
    synth.write_score(notated, dest / "score.mid", q_per_min, signature)
    # The performance: its own timing, written at 60 quarters a minute so that MIDI seconds are quarters.
    midi(notes, dest / "performance.mid", 60.0, signature)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "render.wav"
        cmd = ["fluidsynth", "-ni", "-g", "0.5", "-r", str(SAMPLE_RATE), "-F", str(wav), str(soundfont)]
        subprocess.run([*cmd, str(dest / "performance.mid")], check=True, capture_output=True)
        audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    sf.write(dest / "audio.flac", audio * PEAK / max(float(np.abs(audio).max()), 1e-9), SAMPLE_RATE, subtype="PCM_16")
    played = beats  # every beat from the first played one to the final chord's
    intervals = np.diff(played)
    bar_rows = []
    starts = np.concatenate([[played[0]] if pickup else [], downbeats])
    for number, start in enumerate(starts, start=0 if pickup else 1):
        end = downbeats[downbeats > start + 1e-6][0] if (downbeats > start + 1e-6).any() else np.inf
        inside = (notes[:, 0] >= start - 0.03) & (notes[:, 0] < end - 0.03)
        if inside.any():
            bar_rows.append(
                [number, round(float(start), 4), round(float(notes[inside, 3].mean()), 2), int(inside.sum())]
            )
    truth = {
        "id": name,
        "labels": {
            "tempo": LABEL_BY_RATIO[end_ratio],
            "dynamics": "flat",
            "articulation": "legato",
            "pedal": "none",
        },
        "metre": {"time_signature": f"{signature[0]}/{signature[1]}", "pickup_beats": pickup},
        "first_onset_s": round(float(notes[:, 0].min()), 4),
        "tempo": {
            "nominal_bpm": bpm,
            "beat_unit": "dotted quarter" if compound else "quarter",
            "curve": [
                [round(float(t), 4), round(60.0 / float(i), 2)] for t, i in zip(played[:-1], intervals, strict=True)
            ],
            "mean_bpm": round(60.0 / float(intervals.mean()), 2),
        },
        "dynamics": {"label": "flat", "velocity_per_bar": bar_rows},
        "wrong_notes": {"substitutions": [], "missed": [], "extra": []},
        "notes": [[round(float(a), 4), round(float(b), 4), int(p), int(v)] for a, b, p, v in notes],
    }
    (dest / "truth.json").write_text(json.dumps(truth))
    print(dest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--soundfont", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if shutil.which("fluidsynth") is None:
        parser.error("the fluidsynth program is not installed (Debian: apt-get install fluidsynth)")
    if not args.soundfont.is_file():
        parser.error(f"no SoundFont at {args.soundfont}")
    for seed, (name, spec) in enumerate(TAKES.items()):
        take(name, spec, seed, args.soundfont, args.out)


if __name__ == "__main__":
    main()
