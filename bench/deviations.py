"""Deviation benchmark (issue 25): is every wrong, missed and extra note found, and nothing else, under rubato?

Takes are built with a known truth. The sources are the perfbench dev performances (performance.mid, score.mid,
truth.json) and little two-hand pieces built here from a score (runs, chords, a bass under a melody, 3/4 and 4/4).
Each piece gives two takes: a clean one and one with deviations, both with rubato inside every bar (each beat
stretched or squeezed by up to 20%, the bar's length kept: a mazurka's long second beat, not a smooth warp).
The deviations: notes left out of runs and of chords in either hand, soft extra notes (velocity 40-50) a step from
a bass note sounding under louder ones, and a wrong note (render_variants.inject_wrong_notes). A dev performance
keeps the deviations its truth already lists (their times warped with the take). The takes are rendered with
FluidSynth (render_variants.render, other SoundFonts than dev's), then copied as a phone in a room would record
them (../shared/perfbench/make_phone.py). Pieces alternate between a tuning half and a held-out half.

    python bench/deviations.py build --out /tmp/deviation-bench        # needs fluidsynth; writes render/, phone/
    python bench/deviations.py score --bench /tmp/deviation-bench [--cache /tmp/llaqo-transkun-cache/lite]

`score` prints, per half and per copy (render, phone), precision and recall of each kind and the clean takes that
report no deviation. A reported note hits a true one of its kind within 100 ms at the same pitch(es) (as
bench/lite_accuracy.py counts), each true one used once.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
from common import PERFBENCH_DEV, one_key_at_a_time, quiet  # this folder is on the path of a script run from it
from lite_accuracy import cached_transcriber, event_hits, wrong_hits
from render_variants import inject_wrong_notes, render, timed_events

from llaqo.lite.hearing.voices import STRUCK_TOGETHER_S  # as the aligner groups a chord
from llaqo.lite.synth import write_score

SOUNDFONTS = ("FluidR3_GM.sf2", "TimGM6mb.sf2", "default-GM.sf2")  # dev is rendered with MuseScore General
RUBATO = 0.2  # a beat lasts up to 20% more or less than its share of the bar
SPLIT_PITCH = 60  # a performed note below middle C is the left hand's (the performance files do not say)
RUN_STEP_S = 0.4  # a note in a run has its hand's neighbours this close on both sides
CLEAR_S = 1.0  # deviations keep this far from each other and from the take's first and last notes
PHONE = PERFBENCH_DEV.parent / "make_phone.py"
KINDS = ("wrong", "missed", "extra")


def midi_notes(path: Path) -> tuple[np.ndarray, list[tuple[float, mido.Message]]]:
    """A one-track performance MIDI -> notes (N, 4) [onset_s, offset_s, pitch, velocity] sorted by onset, and the
    pedal and other control messages with their times."""
    sounding: dict[int, tuple[float, int]] = {}
    notes, controls = [], []
    for _, seconds, msg in timed_events(mido.MidiFile(path)):
        if msg.type == "note_on" and msg.velocity > 0:
            sounding[msg.note] = (seconds, msg.velocity)
        elif msg.type in ("note_on", "note_off") and msg.note in sounding:
            onset, velocity = sounding.pop(msg.note)
            notes.append([onset, seconds, msg.note, velocity])
        elif msg.type == "control_change":
            controls.append((seconds, msg))
    return np.array(sorted(notes)), controls


def write_performance(notes: np.ndarray, controls: list[tuple[float, mido.Message]], path: Path) -> None:
    """Notes (N, 4) and control messages -> a one-track MIDI file at one tempo (120 BPM, 480 ticks a quarter)."""
    notes = one_key_at_a_time(notes)
    events = [(float(a), 1, mido.Message("note_on", note=int(p), velocity=int(v))) for a, _, p, v in notes]
    events += [(float(b), 0, mido.Message("note_off", note=int(p), velocity=0)) for _, b, p, _ in notes]
    events += [(t, 0, msg) for t, msg in controls]
    track, previous = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0)]), 0
    for seconds, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        tick = int(round(mido.second2tick(seconds, 480, 500_000)))
        track.append(msg.copy(time=tick - previous))
        previous = tick
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    midi.tracks.append(track)
    midi.save(path)


def rubato_map(beats: np.ndarray, beats_per_bar: int, rng: np.random.Generator):
    """(B,) beat times of the take (the first beat of a bar every beats_per_bar) -> a function moving any times
    so that each beat lasts 1 +- RUBATO of its length, the bar's length (and so the phrase's tempo) kept."""
    steps = np.diff(beats)
    factors = np.ones(len(steps))
    for first in range(0, len(steps), beats_per_bar):
        f = rng.uniform(1 - RUBATO, 1 + RUBATO, size=min(beats_per_bar, len(steps) - first))
        if len(f) > 1:
            f = np.clip(f * len(f) / f.sum(), 1 - RUBATO, 1 + RUBATO)
        factors[first : first + len(f)] = f
    moved = beats[0] + np.concatenate([[0.0], np.cumsum(steps * factors)])

    def warp(times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        inside = np.interp(times, beats, moved)
        return np.where(times < beats[0], times, np.where(times > beats[-1], times - beats[-1] + moved[-1], inside))

    return warp


def pick_missed(notes: np.ndarray, rng: np.random.Generator, taken: list[float]) -> list[int]:
    """Indices of notes to leave out: one in a run and one in a chord, in each hand, where there are such."""
    onsets, pitches = notes[:, 0], notes[:, 2]
    chosen = []
    for hand in (pitches >= SPLIT_PITCH, pitches < SPLIT_PITCH):
        starts = np.unique(np.round(onsets[hand], 2))
        for in_chord in (False, True):
            options = []
            for i in np.flatnonzero(hand):
                together = hand & (np.abs(onsets - onsets[i]) <= STRUCK_TOGETHER_S)
                before, after = (
                    starts[starts < onsets[i] - STRUCK_TOGETHER_S],
                    starts[starts > onsets[i] + STRUCK_TOGETHER_S],
                )
                run = len(before) and len(after) and onsets[i] - before[-1] < RUN_STEP_S
                run = run and after[0] - onsets[i] < RUN_STEP_S
                shape = together.sum() >= 2 if in_chord else together.sum() == 1 and run
                repeated = (np.abs(onsets - onsets[i]) < 0.3) & (pitches == pitches[i])
                if shape and repeated.sum() == 1 and _clear(onsets[i], onsets, taken):
                    options.append(i)
            if options:
                i = int(rng.choice(options))
                chosen.append(i)
                taken.append(float(onsets[i]))
    return chosen


def soft_extras(notes: np.ndarray, n: int, rng: np.random.Generator, taken: list[float]) -> np.ndarray:
    """n soft notes (velocity 40-50) a tone or semitone from a left-hand note struck with louder ones -> (n, 4)."""
    onsets, pitches = notes[:, 0], notes[:, 2]
    out = []
    for i in rng.permutation(np.flatnonzero(pitches < SPLIT_PITCH)):
        if len(out) == n:
            break
        velocity = int(rng.integers(40, 51))
        pitch = int(pitches[i] + rng.choice([-2, -1, 1, 2]))
        louder = (np.abs(onsets - onsets[i]) <= STRUCK_TOGETHER_S) & (notes[:, 3] >= velocity + 15)
        near = (np.abs(onsets - onsets[i]) < 0.6) & (np.abs(pitches - pitch) < 1)
        sounding = (onsets <= onsets[i]) & (notes[:, 1] >= onsets[i]) & (pitches == pitch)
        if louder.any() and not near.any() and not sounding.any() and _clear(onsets[i], onsets, taken):
            onset = float(onsets[i]) + 0.01
            out.append([onset, onset + min(0.4, notes[i, 1] - notes[i, 0]), pitch, velocity])
            taken.append(onset)
    return np.array(out).reshape(-1, 4)


def _clear(t: float, onsets: np.ndarray, taken: list[float]) -> bool:
    return onsets.min() + CLEAR_S < t < onsets.max() - CLEAR_S and all(abs(t - x) >= CLEAR_S for x in taken)


def built_piece(seed: int) -> tuple[np.ndarray, np.ndarray, int, float]:
    """A little piece in two hands, 8 bars: (N, 5) [onset_q, duration_q, pitch, velocity, hand] (0 right, 1 left),
    beats per bar, BPM. Odd seeds: 3/4, a bass on the downbeat and chords after it, a melody in eighths with
    sixteenth runs. Even seeds: 4/4, the left hand in broken eighths and block chords, the right hand in runs
    and chords."""
    rng = np.random.default_rng(seed)
    scale = np.array([0, 2, 4, 5, 7, 9, 11])
    progression = ((0, 4, 7), (5, 9, 0), (7, 11, 2), (0, 4, 7), (9, 0, 4), (2, 5, 9), (7, 11, 2), (0, 4, 7))
    per_bar = 3 if seed % 2 else 4
    rows = []

    def degree(k: int, base: int) -> int:
        return int(base + 12 * (k // 7) + scale[k % 7])

    for bar, chord in enumerate(progression):
        q0 = bar * per_bar
        low = [48 + (pc - 48) % 12 for pc in chord]
        if per_bar == 3:
            rows.append([q0, 0.95, 36 + chord[0], 78, 1])
            rows += [[q0 + b, 0.9, p, 60, 1] for b in (1, 2) for p in low]
        else:
            for b in range(4):
                if b % 2 == 0:
                    rows += [[q0 + b, 0.95, p - 12, 70, 1] for p in low]
                else:
                    rows += [[q0 + b + h / 2, 0.45, low[k] - 12, 64, 1] for h, k in ((0, 0), (1, 2))]
        for b in range(per_bar):
            if rng.random() < 0.5:  # a sixteenth run up or down from a chord tone
                start = int(rng.integers(7, 12))
                step = int(rng.choice([-1, 1]))
                rows += [[q0 + b + k / 4, 0.24, degree(start + step * k, 60), 74 + 6 * (k == 0), 0] for k in range(4)]
            elif per_bar == 4 and b % 2:
                rows += [[q0 + b, 0.95, 72 + (pc - 72) % 12, 76, 0] for pc in chord]
            else:
                rows += [[q0 + b + h / 2, 0.48, degree(int(rng.integers(7, 13)), 60), 72, 0] for h in (0, 1)]
    rows.append([len(progression) * per_bar, 2.0, 36, 80, 1])
    rows.append([len(progression) * per_bar, 2.0, 72, 80, 0])
    return np.array(sorted(rows), dtype=float), per_bar, float(rng.uniform(72, 92))


def sources(out: Path) -> list[dict]:
    """Every piece: name, half, score path, performance notes, controls, beat times, beats per bar, truth."""
    pieces = []
    for k, take in enumerate(sorted(p for p in PERFBENCH_DEV.iterdir() if p.is_dir())):
        truth = json.loads((take / "truth.json").read_text())
        notes, controls = midi_notes(take / "performance.mid")
        pieces.append(
            dict(
                name=take.name,
                half="tune" if k % 2 == 0 else "held-out",
                score=(take / "score.mid").resolve(),
                notes=notes,
                controls=controls,
                beats=np.array([row[0] for row in truth["tempo"]["curve"]]),
                per_bar=int(truth["piece"]["time_signature"].split("/")[0]),
                truth=truth["wrong_notes"],
                soundfont=SOUNDFONTS[k % 2],
            )
        )
    for seed in range(1, 7):
        rows, per_bar, bpm = built_piece(seed)
        seconds = 0.5 + rows[:, :2].cumsum(axis=1) * 60 / bpm - np.array([0, 0.02])
        folder = out / "scores"
        folder.mkdir(parents=True, exist_ok=True)
        score_path = folder / f"b{seed}.mid"
        notated = np.column_stack([seconds - 0.5, rows[:, 2:4]])
        write_score(notated, score_path, bpm, hands=rows[:, 4].astype(int), time_signature=(per_bar, 4))
        rng = np.random.default_rng(100 + seed)
        played = np.column_stack([seconds + rng.normal(0, 0.008, (len(rows), 1)), rows[:, 2], rows[:, 3]])
        played[:, 3] = np.clip(played[:, 3] + rng.normal(0, 6, len(rows)), 30, 110).round()
        pieces.append(
            dict(
                name=f"b{seed}_built_{per_bar}4",
                half="tune" if seed % 2 else "held-out",
                score=score_path,
                notes=played[np.argsort(played[:, 0], kind="stable")],
                controls=[],
                beats=0.5 + np.arange(8 * per_bar + 1) * 60 / bpm,
                per_bar=per_bar,
                truth={"substitutions": [], "missed": [], "extra": []},
                soundfont=SOUNDFONTS[1 + seed % 2],
            )
        )
    return pieces


def build(out: Path) -> None:
    render_dir = out / "render"
    for k, piece in enumerate(sources(out)):
        for deviated in (False, True):
            rng = np.random.default_rng(1000 * k + deviated)
            warp = rubato_map(piece["beats"], piece["per_bar"], rng)
            notes = piece["notes"].copy()
            notes[:, :2] = warp(notes[:, :2])
            controls = [(float(warp(np.array([t]))[0]), msg) for t, msg in piece["controls"]]
            truth = {
                kind: [dict(e, time_s=round(float(warp(np.array([e["time_s"]]))[0]), 4)) for e in piece["truth"][kind]]
                for kind in ("substitutions", "missed", "extra")
            }
            taken = [e["time_s"] for events in truth.values() for e in events]
            if deviated:
                drop = pick_missed(notes, rng, taken)
                truth["missed"] += [{"time_s": round(notes[i, 0], 4), "pitch": int(notes[i, 2])} for i in drop]
                extras = soft_extras(notes, 2, rng, taken)
                truth["extra"] += [{"time_s": round(e[0], 4), "played_pitch": int(e[2])} for e in extras]
                notes = np.concatenate([np.delete(notes, drop, axis=0), extras])
                notes = notes[np.argsort(notes[:, 0], kind="stable")]
            dest = render_dir / f"{piece['name']}-{'deviated' if deviated else 'clean'}"
            dest.mkdir(parents=True, exist_ok=True)
            midi = dest / "performance.mid"
            write_performance(notes, controls, midi)
            if deviated:
                truth["substitutions"] += inject_wrong_notes(midi, midi, 1, rng)
            soundfont = Path("/usr/share/sounds/sf2") / piece["soundfont"]
            render(midi, soundfont, dest / "audio.flac", "light", 0.0, None, k)
            (dest / "score.mid").unlink(missing_ok=True)
            (dest / "score.mid").symlink_to(piece["score"])
            truth = {kind: sorted(events, key=lambda e: e["time_s"]) for kind, events in truth.items()}
            (dest / "truth.json").write_text(
                json.dumps({"half": piece["half"], "files": {"audio": "audio.flac"}, "wrong_notes": truth}, indent=1)
            )
            print(dest, {kind: len(v) for kind, v in truth.items()})
    subprocess.run([sys.executable, str(PHONE), str(render_dir), str(out / "phone")], check=True)


def take_counts(folder: Path, transcriber) -> tuple[dict, dict, dict, bool, bool]:
    """One take -> per kind (true, found, hit) counts, whether it is clean and whether it reported nothing."""
    from llaqo.lite.analysis import analyze

    truth = json.loads((folder / "truth.json").read_text())["wrong_notes"]
    audio = next(p for p in folder.iterdir() if p.name.startswith("audio."))
    found = analyze(audio, folder / "score.mid", transcriber=transcriber).to_json()["score"]
    true_missed = [(m["time_s"], m.get("pitch", m.get("notated_pitch"))) for m in truth["missed"]]
    true_extra = [(e["time_s"], e["played_pitch"]) for e in truth["extra"]]
    counts = {
        "wrong": (len(truth["substitutions"]), len(found["wrong"]), wrong_hits(truth["substitutions"], found["wrong"])),
        "missed": (len(true_missed), len(found["missed"]),
                   event_hits(true_missed, [(m["time_s"], m["pitch"]) for m in found["missed"]])),
        "extra": (len(true_extra), len(found["extra"]),
                  event_hits(true_extra, [(e["time_s"], e["pitch"]) for e in found["extra"]])),
    }  # fmt: skip
    clean = not any(c[0] for c in counts.values())
    return counts, truth, found, clean, not any(c[1] for c in counts.values())


def score(bench: Path, cache: Path, copies: list[str], verbose: bool) -> None:
    transcriber = cached_transcriber(cache)
    print("| half | copy | wrong P / R | missed P / R | extra P / R | clean takes reporting none |")
    print("|---|---|---|---|---|---|")
    for copy in copies:
        for half in ("tune", "held-out"):
            totals = {kind: np.zeros(3, int) for kind in KINDS}
            clean = quiet_clean = 0
            for folder in sorted(p for p in (bench / copy).iterdir() if p.is_dir()):
                if json.loads((folder / "truth.json").read_text())["half"] != half:
                    continue
                counts, truth, found, is_clean, silent = take_counts(folder, transcriber)
                for kind in KINDS:
                    totals[kind] += counts[kind]
                clean += is_clean
                quiet_clean += is_clean and silent
                if verbose and any(c[1] != c[2] or c[0] != c[2] for c in counts.values()):
                    print(f"  {copy}/{folder.name}: {counts}\n    truth {truth}\n    found "
                          f"{ {k: found[k] for k in KINDS} }", file=sys.stderr)  # fmt: skip

            cells = " | ".join(
                f"{_pr(*totals[k])} ({totals[k][2]} of {totals[k][1]}, {totals[k][0]} true)" for k in KINDS
            )
            print(f"| {half} | {copy} | {cells} | {quiet_clean} of {clean} |")


def _pr(true: int, found: int, hit: int) -> str:
    """-> "precision / recall", nan where nothing was found or nothing was true."""
    return f"{hit / found if found else float('nan'):.2f} / {hit / true if true else float('nan'):.2f}"


def main() -> None:
    quiet()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="render the takes and their phone copies")
    b.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("score", help="precision and recall per kind")
    s.add_argument("--bench", type=Path, required=True)
    s.add_argument("--cache", type=Path, default=Path("/tmp/llaqo-transkun-cache/lite"))
    s.add_argument("--copies", default="render,phone", help="which copies to score, in this order")
    s.add_argument("--verbose", action="store_true", help="print each take's misses and false alarms to stderr")
    args = parser.parse_args()
    if args.command == "build":
        build(args.out)
    else:
        score(args.bench, args.cache, args.copies.split(","), args.verbose)


if __name__ == "__main__":
    main()
