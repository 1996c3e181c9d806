"""Re-render perfbench performances with other pianos and rooms, to measure how the Lite analysis generalises.

The dev set is rendered with one piano (MuseScore General). The held-out set uses other instruments, quiet
takes and room noise, so tuning on dev alone can overfit that one piano. Each performance's performance.mid
is rendered again with FluidSynth and another GM SoundFont, optionally made quieter and mixed with noise;
score.mid and truth.json are linked unchanged, since the labels describe what was played, not the sound.
With --wrong-notes N, N more notes of each performance are moved by one or two semitones before rendering
and truth.json is rewritten with them added to its substitutions (the labels are kept: a few wrong pitches
change neither tempo, dynamics, articulation nor pedalling). Point bench/lite_accuracy.py --perfbench at the
output. With --warp START:END:FACTOR[,...] every event time of the performance is moved by a known tempo warp
(llaqo.lite.synth.stretch_times; written to warp.json): rendered with and without it, one performance gives a
reference and a take whose true correspondence is known (tests/test_compare_perfbench.py).

Needs the fluidsynth program and a SoundFont (Debian: apt-get install fluidsynth fluid-soundfont-gm
timgm6mb-soundfont). Writes outside the project:

    python bench/render_variants.py --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2 --out /tmp/pb-fluidr3
    python bench/render_variants.py --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --gain-db -24 \
        --noise-snr-db 25 --out /tmp/pb-timgm-quiet-noisy
    python bench/render_variants.py --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2 --room hall \
        --noise-snr-db 20 --out /tmp/pb-fluidr3-hall-noisy
    python bench/render_variants.py --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --wrong-notes 4 \
        --out /tmp/pb-timgm-wrong
    python bench/render_variants.py --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2 --only d09_minuet_in_g \
        --warp 6:12:1.3,16:22:0.85 --out /tmp/pb-warped
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf
from common import PERFBENCH_DEV  # this folder is on the path of a script run from it

from llaqo.lite.synth import stretch_times

SAMPLE_RATE = 22050  # as perfbench
PEAK = 0.7  # perfbench's takes peak near -3 dBFS; --gain-db is relative to that
ROOMS = {  # FluidSynth's reverb: its default (light, as perfbench) or a large, live hall
    "light": [],
    "hall": ["-o", "synth.reverb.room-size=0.95", "-o", "synth.reverb.damp=0.1", "-o", "synth.reverb.level=0.9"],
}


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) unit-RMS noise with a 1/f power spectrum, like a room's hum and air handling."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / np.sqrt(np.mean(noise**2))


def timed_events(source: mido.MidiFile) -> list[list]:
    """A one-track MIDI file -> [absolute tick, absolute seconds, message] for every message."""
    events, tick, tempo = [], 0, 500_000
    seconds = 0.0
    for msg in source.tracks[0]:
        seconds += mido.tick2second(msg.time, source.ticks_per_beat, tempo)
        tick += msg.time
        events.append([tick, seconds, msg])
        if msg.type == "set_tempo":
            tempo = msg.tempo
    return events


def parse_warp(text: str) -> list[tuple[float, float, float]]:
    """ "8:12:1.4,20:24:0.8" -> [(8.0, 12.0, 1.4), (20.0, 24.0, 0.8)]: from 8 s to 12 s lasts 1.4 times as long."""
    try:
        spans = [tuple(float(x) for x in part.split(":")) for part in text.split(",")]
    except ValueError:
        spans = []
    if not spans or any(len(s) != 3 or s[1] <= s[0] or s[2] <= 0 for s in spans):
        raise argparse.ArgumentTypeError(f"--warp {text!r}: expected START:END:FACTOR[,...] in seconds, factor > 0")
    return spans


def warp_midi(midi: Path, out: Path, spans: list[tuple[float, float, float]]) -> None:
    """Copy a one-track performance MIDI to `out` with every event time moved by synth.stretch_times(spans), a
    known tempo warp; the copy keeps one tempo (120 BPM) and places events in ticks of it."""
    source = mido.MidiFile(midi)
    events = [e for e in timed_events(source) if e[2].type != "set_tempo"]
    warped = stretch_times(np.array([e[1] for e in events]), spans)
    tempo, tpq = 500_000, source.ticks_per_beat
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    previous = 0
    for (_, _, msg), seconds in zip(events, warped, strict=True):
        tick = int(round(mido.second2tick(seconds, tpq, tempo)))
        track.append(msg.copy(time=max(tick - previous, 0)))
        previous = max(tick, previous)
    result = mido.MidiFile(type=0, ticks_per_beat=tpq)
    result.tracks.append(track)
    result.save(out)


def inject_wrong_notes(midi: Path, out: Path, n: int, rng: np.random.Generator) -> list[dict]:
    """Copy a one-track performance MIDI to `out` with n notes moved by 1-2 semitones -> their substitutions
    [{time_s, notated_pitch, played_pitch}]. A note is only moved where its new pitch is not already sounding."""
    source = mido.MidiFile(midi)
    events = timed_events(source)
    notes = []  # (on index, off index, pitch, onset s, offset s)
    for i, (_, t_on, msg) in enumerate(events):
        if msg.type == "note_on" and msg.velocity > 0:
            for j in range(i + 1, len(events)):
                off = events[j][2]
                if (
                    off.type in ("note_off", "note_on")
                    and off.note == msg.note
                    and (off.type == "note_off" or off.velocity == 0)
                ):
                    notes.append((i, j, msg.note, t_on, events[j][1]))
                    break
    substitutions = []
    for k in rng.permutation(len(notes)):
        if len(substitutions) == n:
            break
        i, j, pitch, onset, offset = notes[k]
        new = int(pitch + rng.choice([-2, -1, 1, 2]))
        if any(p == new and a < offset + 0.3 and b > onset - 0.3 for _, _, p, a, b in notes):
            continue
        events[i][2] = events[i][2].copy(note=new)
        events[j][2] = events[j][2].copy(note=new)
        substitutions.append({"time_s": round(onset, 4), "notated_pitch": int(pitch), "played_pitch": new})
    track, previous = mido.MidiTrack(), 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - previous))
        previous = tick
    result = mido.MidiFile(type=0, ticks_per_beat=source.ticks_per_beat)
    result.tracks.append(track)
    result.save(out)
    return sorted(substitutions, key=lambda x: x["time_s"])


def render(midi: Path, soundfont: Path, out: Path, room: str, gain_db: float, snr_db: float | None, seed: int) -> None:
    """Render midi with FluidSynth in a ROOMS reverb, bring its peak to PEAK then change it by gain_db,
    add pink noise at snr_db (None = none), write FLAC."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "render.wav"
        subprocess.run(
            [
                "fluidsynth",
                "-ni",
                "-g",
                "0.5",
                "-r",
                str(SAMPLE_RATE),
                *ROOMS[room],
                "-F",
                str(wav),
                str(soundfont),
                str(midi),
            ],
            check=True,
            capture_output=True,
        )
        audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    audio *= PEAK / max(np.abs(audio).max(), 1e-9) * 10 ** (gain_db / 20)
    if snr_db is not None:
        rms = np.sqrt(np.mean(audio**2))
        audio = audio + pink_noise(len(audio), np.random.default_rng(seed)) * rms * 10 ** (-snr_db / 20)
    peak = np.abs(audio).max()
    if peak > 0.99:  # never clip: a real recorder's gain would have been set lower
        audio *= 0.99 / peak
    sf.write(out, audio, sr, subtype="PCM_16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--perfbench", type=Path, default=PERFBENCH_DEV)
    parser.add_argument("--soundfont", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--room", choices=sorted(ROOMS), default="light")
    parser.add_argument("--gain-db", type=float, default=0.0, help="level relative to a -3 dBFS peak, e.g. -24")
    parser.add_argument("--noise-snr-db", type=float, default=None, help="add pink noise this far below the music")
    parser.add_argument("--wrong-notes", type=int, default=0, help="move this many more notes per performance")
    parser.add_argument(
        "--warp",
        type=parse_warp,
        help="a known tempo warp START:END:FACTOR[,...] (seconds; 1.4 = 40%% longer there), written to warp.json",
    )
    parser.add_argument("--only", help="render only this performance (a folder name, e.g. d09_minuet_in_g)")
    args = parser.parse_args()
    if shutil.which("fluidsynth") is None:
        parser.error("the fluidsynth program is not installed (Debian: apt-get install fluidsynth)")
    if not args.soundfont.is_file():
        parser.error(f"no SoundFont at {args.soundfont}")
    if not args.perfbench.is_dir():
        parser.error(f"no perfbench folder at {args.perfbench}")
    if args.warp and args.wrong_notes:
        parser.error("--warp and --wrong-notes rewrite the performance differently; use one of them")
    for seed, take in enumerate(sorted(p for p in args.perfbench.iterdir() if p.is_dir())):
        if args.only and take.name != args.only:
            continue
        dest = args.out / take.name
        dest.mkdir(parents=True, exist_ok=True)
        midi = take / "performance.mid"
        if args.warp:
            warp_midi(midi, dest / "warped.mid", args.warp)
            midi = dest / "warped.mid"
            (dest / "warp.json").write_text(json.dumps({"spans": args.warp}))
        if args.wrong_notes:
            truth = json.loads((take / "truth.json").read_text())
            midi = dest / "performance.mid"
            added = inject_wrong_notes(take / "performance.mid", midi, args.wrong_notes, np.random.default_rng(seed))
            truth["wrong_notes"]["substitutions"] = sorted(
                truth["wrong_notes"]["substitutions"] + added, key=lambda x: x["time_s"]
            )
            for sub in added:  # the played notes in the truth carry the new pitch too
                for note in truth["notes"]:
                    if abs(note[0] - sub["time_s"]) < 0.002 and note[2] == sub["notated_pitch"]:
                        note[2] = sub["played_pitch"]
                        break
        render(midi, args.soundfont, dest / "audio.flac", args.room, args.gain_db, args.noise_snr_db, seed)
        (dest / "truth.json").unlink(missing_ok=True)
        (dest / "score.mid").unlink(missing_ok=True)
        (dest / "score.mid").symlink_to((take / "score.mid").resolve())
        if args.wrong_notes:
            (dest / "truth.json").write_text(json.dumps(truth))
        else:
            (dest / "truth.json").symlink_to((take / "truth.json").resolve())
        print(dest)


if __name__ == "__main__":
    main()
