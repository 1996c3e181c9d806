"""Render a development set for the everyday case (issue 26): 44 short pieces (20-40 s) in many textures, metres
and tempi, played with expressive timing and dynamics, as two halves: one to tune on, one held out.

Textures imitate what students play: chorales (a new four-voice chord on every beat), waltzes (bass, chord,
chord), marches (bass on the beat, chords off it), nocturnes in 6/8 and 12/8 (a broken-chord left hand under a
long melody), slow lyrical pieces counted in eighths (3/8 at an eighth's pace) or in slow quarters with
sixteenths, Alberti basses and jigs. Each piece has a known tempo shape (steady, rubato, ritardando,
accelerando), dynamics shape (flat, crescendo, decrescendo, terraced, wide-contrast), articulation (legato,
staccato, mixed: a legato melody and bass under detached chords) and pedalling (none, clean, blurred), and the
labels follow perfbench's definitions (../shared/perfbench/README.md); truth.json holds what
bench/lite_accuracy.py reads, in perfbench's format. Pieces alternate between FluidSynth's FluidR3 and TimGM6mb
pianos. Writes outside the project:

    python bench/render_everyday.py --out /tmp/pb-everyday     # -> tune/, held/ (one folder per piece)
    python bench/render_everyday.py --out /tmp/pb-fresh --seed 1001   # other takes of the same pieces
    python ../shared/perfbench/make_phone.py /tmp/pb-everyday/tune /tmp/pb-everyday/tune-phone
    python bench/lite_accuracy.py --perfbench /tmp/pb-everyday/tune

Needs the fluidsynth program and the SoundFonts of Debian's fluid-soundfont-gm and timgm6mb-soundfont.
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
from common import one_key_at_a_time  # this folder is on the path of a script run from it

from llaqo.lite import synth

SAMPLE_RATE = 22050
PEAK = 0.7
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2")
TARGET_S = 30.0  # each take about this long, 4 to 24 bars
# (name, texture, time signature, beats a minute of the notated beat, pickup beats, tempo, dynamics,
#  articulation, pedal). The notated beat: the quarter in x/4, the dotted quarter in 6/8 and 12/8, the eighth in
# 3/8 (a slow piece counted in eighths).
PIECES = (
    ("c1_chorale", "chorale", (4, 4), 60, 1, "steady", "decrescendo", "legato", "none"),
    ("c2_chorale", "chorale", (4, 4), 52, 0, "ritardando", "flat", "legato", "none"),
    ("c3_chorale", "chorale", (3, 4), 66, 1, "steady", "terraced", "legato", "none"),
    ("c4_chorale", "chorale", (4, 4), 72, 0, "rubato", "crescendo", "legato", "clean"),
    ("c5_chorale", "chorale", (3, 4), 48, 0, "steady", "flat", "legato", "none"),
    ("c6_chorale", "chorale", (4, 4), 84, 1, "ritardando", "wide-contrast", "legato", "none"),
    ("c7_chorale", "chorale", (2, 4), 58, 0, "steady", "crescendo", "legato", "none"),
    ("c8_chorale", "chorale", (4, 4), 44, 0, "rubato", "flat", "legato", "none"),
    ("w1_waltz", "waltz", (3, 4), 168, 1, "steady", "flat", "mixed", "clean"),
    ("w2_waltz", "waltz", (3, 4), 150, 0, "rubato", "decrescendo", "mixed", "blurred"),
    ("w3_waltz", "waltz", (3, 4), 180, 0, "steady", "crescendo", "legato", "clean"),
    ("w4_waltz", "waltz", (3, 4), 132, 1, "ritardando", "terraced", "mixed", "none"),
    ("w5_waltz", "waltz", (3, 4), 112, 0, "rubato", "wide-contrast", "legato", "clean"),
    ("w6_waltz", "waltz", (3, 4), 96, 0, "steady", "flat", "staccato", "none"),
    ("r1_march", "march", (2, 4), 112, 1, "steady", "terraced", "mixed", "none"),
    ("r2_march", "march", (2, 4), 120, 0, "steady", "crescendo", "staccato", "none"),
    ("r3_march", "march", (4, 4), 104, 1, "accelerando", "flat", "mixed", "none"),
    ("r4_march", "march", (2, 4), 96, 0, "ritardando", "wide-contrast", "mixed", "none"),
    ("r5_march", "march", (4, 4), 126, 0, "steady", "decrescendo", "legato", "clean"),
    ("r6_march", "march", (2, 4), 140, 1, "steady", "flat", "staccato", "none"),
    ("n1_nocturne", "nocturne", (12, 8), 44, 1, "rubato", "wide-contrast", "legato", "clean"),
    ("n2_nocturne", "nocturne", (6, 8), 52, 0, "steady", "crescendo", "legato", "clean"),
    ("n3_nocturne", "nocturne", (12, 8), 56, 0, "ritardando", "decrescendo", "legato", "blurred"),
    ("n4_nocturne", "nocturne", (6, 8), 40, 1, "rubato", "flat", "legato", "clean"),
    ("n5_nocturne", "nocturne", (6, 8), 60, 0, "steady", "terraced", "legato", "none"),
    ("n6_nocturne", "nocturne", (12, 8), 48, 0, "steady", "flat", "legato", "blurred"),
    ("l1_lyrical_eighths", "lyrical", (3, 8), 72, 1, "rubato", "flat", "legato", "clean"),
    ("l2_lyrical_eighths", "lyrical", (3, 8), 60, 0, "ritardando", "decrescendo", "legato", "clean"),
    ("l3_lyrical_eighths", "lyrical", (3, 8), 88, 0, "steady", "crescendo", "legato", "none"),
    ("l4_lyrical_eighths", "lyrical", (3, 8), 66, 1, "steady", "terraced", "mixed", "none"),
    ("s1_slow", "slow", (4, 4), 42, 0, "rubato", "flat", "legato", "clean"),
    ("s2_slow", "slow", (2, 4), 50, 1, "steady", "crescendo", "legato", "clean"),
    ("s3_slow", "slow", (4, 4), 56, 0, "ritardando", "wide-contrast", "legato", "blurred"),
    ("s4_slow", "slow", (3, 4), 46, 0, "steady", "decrescendo", "legato", "clean"),
    ("a1_alberti", "alberti", (4, 4), 92, 0, "steady", "crescendo", "legato", "none"),
    ("a2_alberti", "alberti", (4, 4), 132, 1, "rubato", "flat", "mixed", "none"),
    ("a3_alberti", "alberti", (2, 4), 80, 0, "ritardando", "terraced", "legato", "clean"),
    ("a4_alberti", "alberti", (3, 4), 108, 0, "steady", "wide-contrast", "mixed", "none"),
    ("a5_alberti", "alberti", (4, 4), 144, 0, "accelerando", "decrescendo", "staccato", "none"),
    ("a6_alberti", "alberti", (2, 4), 100, 1, "steady", "flat", "legato", "clean"),
    ("j1_jig", "jig", (6, 8), 112, 1, "steady", "flat", "staccato", "none"),
    ("j2_jig", "jig", (6, 8), 96, 0, "rubato", "crescendo", "mixed", "none"),
    ("j3_jig", "jig", (12, 8), 84, 0, "steady", "terraced", "legato", "clean"),
    ("j4_jig", "jig", (6, 8), 120, 0, "ritardando", "decrescendo", "mixed", "none"),
)
MELODY, BASS, CHORD = 0, 1, 2  # a note's role: the right hand's melody, the left hand's bass and chords


def metre_of(signature: tuple[int, int]) -> tuple[int, int, float, str]:
    """Time signature -> (notated beats a bar, subdivisions a beat, quarters a beat, the beat's name)."""
    num, den = signature
    if den == 8 and num % 3 == 0 and num > 3:
        return num // 3, 3, 1.5, "dotted quarter"
    if den == 8:
        return num, 2, 0.5, "eighth"
    return num, 2, 1.0, "quarter"


def beat_times(n_beats: int, bpm: float, shape: str, bar: int, rng: np.random.Generator) -> np.ndarray:
    """(n_beats + 1,) times in s of every notated beat from 0.5 s, the tempo following `shape`."""
    i = np.arange(n_beats)
    ramp = np.clip((i - n_beats / 2) / (n_beats / 2), 0, 1)
    factor = {
        "steady": 1.0 + rng.normal(0, 0.012, n_beats),
        "ritardando": 1.0 - 0.32 * ramp + rng.normal(0, 0.01, n_beats),
        "accelerando": 1.0 + 0.32 * i / max(n_beats - 1, 1) + rng.normal(0, 0.01, n_beats),
        # phrase-shaped push and pull: a swell over two bars, slowing into each phrase's end
        "rubato": 1.0 + 0.1 * np.sin(2 * np.pi * i / max(2 * bar, 4)) + rng.normal(0, 0.01, n_beats),
    }[shape]
    return 0.5 + np.concatenate([[0.0], np.cumsum(60.0 / (bpm * factor))])


def bar_levels(shape: str, n_bars: int, rng: np.random.Generator) -> np.ndarray:
    """(n_bars,) a bar's base velocity for the dynamics shape."""
    x = np.linspace(0, 1, n_bars)
    if shape == "flat":
        return 66 + rng.uniform(-3, 3, n_bars)
    if shape == "crescendo":
        return 44 + 50 * x
    if shape == "decrescendo":
        return 96 - 50 * x
    if shape == "terraced":
        return np.select([x < 0.34, x < 0.67], [50.0, 78.0], 54.0)
    # wide-contrast: swells, a subito piano after a forte
    swell = 70 + 30 * np.sin(2 * np.pi * x * 2)
    swell[n_bars // 2 :: 4] = 38
    return swell


def melody_rhythm(texture: str, beats: int, sub: int, rng: np.random.Generator) -> list[float]:
    """Note lengths in beats filling one bar of `beats` beats."""
    unit = 1.0 / sub
    if texture in ("chorale",):
        return [1.0] * beats
    if texture in ("nocturne", "slow"):
        choices = [[beats], [beats - 1, 1], [1] * beats, [1 - unit, unit] + [1] * (beats - 1)]
    elif texture == "jig":
        choices = [[unit] * (sub * beats), [2 * unit, unit] * beats]
    elif texture == "waltz":
        choices = [[2, 1], [3], [1, 1, 1], [0.5, 0.5, 1, 1]]
    else:  # march, alberti, lyrical
        choices = [[unit] * (sub * beats), [1] * beats, [0.75, 0.25] * beats, [1, unit, unit] * (beats // 2 or 1)]
    pattern = [float(v) for v in choices[rng.integers(len(choices))]]
    total = sum(pattern)
    return pattern if abs(total - beats) < 1e-6 else [1.0] * beats


def accompaniment(texture: str, beats: int, sub: int) -> list[tuple[float, float, int]]:
    """One bar's left hand: (position in beats, length in beats, role); chord rows stand for 2-3 notes."""
    unit = 1.0 / sub
    if texture == "chorale":
        return [(b, 1.0, BASS) for b in range(beats)] + [(b, 1.0, CHORD) for b in range(beats)]
    if texture == "waltz" or texture == "lyrical":
        return [(0.0, 1.0, BASS)] + [(b, 1.0, CHORD) for b in range(1, beats)]
    if texture == "march":
        return [(b, 0.5, BASS) for b in range(beats)] + [(b + 0.5, 0.5, CHORD) for b in range(beats)]
    if texture in ("nocturne", "slow"):
        return [(b + k * unit, unit, BASS if k == 0 else CHORD) for b in range(beats) for k in range(sub)]
    if texture == "jig":
        return [(b, 1.0, BASS) for b in range(beats)] + [(b + 2 * unit, unit, CHORD) for b in range(beats)]
    step = unit / 2 if texture == "alberti" and sub == 2 else unit  # Alberti in sixteenths
    return [(k * step, step, BASS if k % 4 == 0 else CHORD) for k in range(int(round(beats / step)))]


BROKEN = ("nocturne", "slow", "alberti")  # textures whose chord rows are one chord tone at a time


def piece(spec: tuple, seed: int) -> dict:
    """A piece spec -> its notes and what truth.json says of them.

    -> {"notes": (N, 4) performed [onset_s, offset_s, pitch, velocity], "notated": (N, 2) [position, length] in
    beats from the first downbeat, "hands": (N,), "beats": (B,) s, "downbeats": (D,) s, "pedal": [[down, up]],
    "changes": harmony changes in s, "held": (N,) held / notated length}
    """
    _, texture, signature, bpm, pickup, tempo, dynamics, articulation, pedal = spec
    rng = np.random.default_rng(seed)
    beats_bar, sub, _, _ = metre_of(signature)
    n_bars = int(np.clip(round(TARGET_S / (beats_bar * 60.0 / bpm)), 4, 24))
    n_beats = pickup + n_bars * beats_bar
    beats = beat_times(n_beats, bpm, tempo, beats_bar, rng)
    levels = bar_levels(dynamics, n_bars + 1, rng)
    key = int(rng.integers(-5, 6))

    def time_of(position: float) -> float:  # position in beats from the first beat played
        i = int(np.clip(np.floor(position), 0, n_beats - 1))
        return float(beats[i] + (position - i) * (beats[i + 1] - beats[i]))

    rows, notated, hands, held = [], [], [], []
    per_beat = texture == "chorale"  # a chorale's harmony changes with every beat

    def harmony(position: float) -> tuple[int, int, int]:
        index = int(np.floor(position)) if per_beat else int(np.floor(position / beats_bar))
        return synth.PROGRESSION[index % len(synth.PROGRESSION)]

    def add(position: float, length: float, pitch: int, role: int) -> None:
        bar = int(np.floor(position / beats_bar))
        velocity = levels[max(bar, 0)] + {MELODY: 8, BASS: 2, CHORD: -8}[role]
        velocity += 6 if position % beats_bar == 0 else 0
        if dynamics == "wide-contrast" and role == MELODY and rng.random() < 0.08:
            velocity += 22  # accents
        detached = articulation == "staccato" or (articulation == "mixed" and role == CHORD)
        ratio = rng.uniform(0.3, 0.45) if detached else rng.uniform(0.97, 1.0)
        start = position + pickup
        on = time_of(start) + (rng.normal(0, 0.006) if start > 0 else 0.0)
        off = (
            time_of(min(start + length, n_beats))
            if not detached
            else on + ratio * (time_of(min(start + length, n_beats)) - time_of(start))
        )
        rows.append([on, max(off - 0.01, on + 0.05), pitch + key, int(np.clip(velocity + rng.normal(0, 3), 20, 120))])
        notated.append([position, length])
        hands.append(0 if role == MELODY else 1)
        held.append(ratio)

    # the melody, with the pickup before bar 1
    pitch = 76
    for bar in range(-1 if pickup else 0, n_bars):
        lengths = [1.0] * pickup if bar < 0 else melody_rhythm(texture, beats_bar, sub, rng)
        position = -pickup if bar < 0 else bar * beats_bar
        for length in lengths:
            tones = [72 + (pc % 12) for pc in harmony(max(position, 0))]
            pitch = int(min(tones + [t + 12 for t in tones], key=lambda p: abs(p - pitch - rng.integers(-4, 5))))
            add(position, length, pitch, MELODY)
            if texture == "chorale":  # the inner voices and the bass move with the soprano
                for voice, low in enumerate((60, 53)):
                    add(position, length, low + harmony(position)[voice + 1] % 12, CHORD)
            position += length
    for bar in range(n_bars):
        chord = synth.PROGRESSION[bar % len(synth.PROGRESSION)]
        for k, (position, length, role) in enumerate(accompaniment(texture, beats_bar, sub)):
            here = harmony(bar * beats_bar + position)
            if role == BASS:
                add(bar * beats_bar + position, length, 36 + here[0] % 12, BASS)
            elif texture in BROKEN:
                add(bar * beats_bar + position, length, 48 + chord[1 + k % 2] % 12 + 12 * (k % 3 == 2), CHORD)
            elif texture != "chorale":
                for pc in here:
                    add(bar * beats_bar + position, length, 52 + pc % 12, CHORD)
    final = n_bars * beats_bar
    for pitch in (36, 60, 64, 72):  # the closing chord, a beat long
        add(final - 1, 1.0, pitch, MELODY if pitch == 72 else CHORD)
    notes = np.array(rows)
    order = np.argsort(notes[:, 0], kind="stable")
    downbeats = beats[pickup::beats_bar]
    changes = [time_of(p + pickup) for p in (range(n_beats - pickup) if per_beat else range(0, final, beats_bar))]
    presses = []
    if pedal != "none":
        # A blurred pedal is held over the next change and lifted just before the one after. Lifting it later
        # instead made each press overlap the next one's, and a MIDI pedal has one state: the first lift
        # raised it, so all but the first press sounded as 0.34 s blips and the take was heard unpedalled.
        span = 2 if pedal == "blurred" else 1
        for a in range(0, len(changes) - span, span):
            presses.append([changes[a] + 0.06, changes[a + span] - 0.02])
    return {
        "notes": notes[order],
        "notated": np.array(notated)[order],
        "hands": np.array(hands)[order],
        "beats": beats,
        "downbeats": downbeats,
        "pedal": presses,
        "changes": changes,
        "held": np.array(held)[order],
    }


def labels_of(spec: tuple, made: dict) -> dict:
    """The four labels by perfbench's definitions, from what was made (so the spec's word is checked)."""
    ibi = np.diff(made["beats"])
    bpm = 60.0 / ibi
    n = max(len(bpm) // 4, 1)
    ratio = bpm[-n:].mean() / bpm[:n].mean()
    cv = ibi.std() / ibi.mean()
    tempo = "ritardando" if ratio <= 0.85 else "accelerando" if ratio >= 1.18 else "rubato" if cv >= 0.05 else "steady"
    held = made["held"]
    articulation = (
        "legato"
        if held.mean() >= 0.9
        else "staccato"
        if held.mean() <= 0.55
        else "mixed"
        if 0.2 <= (held < 0.6).mean() <= 0.8
        else "?"
    )
    bars = np.array([row[2] for row in bar_rows(made) if row[0] >= 1])
    span = bars.max() - bars.min()
    r = np.corrcoef(np.arange(len(bars)), bars)[0, 1]
    steps = int((np.abs(np.diff(bars)) >= 18).sum())
    dynamics = (
        "flat"
        if span <= 12
        else "crescendo"
        if bars[-1] - bars[0] >= 25 and r >= 0.8
        else "decrescendo"
        if bars[-1] - bars[0] <= -25 and r <= -0.8
        else "wide-contrast"
        if span >= 50
        else "terraced"
        if steps >= 2
        else "?"
    )
    return {"tempo": tempo, "dynamics": dynamics, "articulation": articulation, "pedal": pedal_label(made)}


def sounding_presses(presses: list[list]) -> list[list]:
    """Pedal presses [down_s, up_s] -> the pedal as a MIDI CC64 sounds them: one state, so overlapping presses
    are one press, lifted at the first up that comes after a down."""
    events = sorted([(down, 1) for down, _ in presses] + [(up, 0) for _, up in presses])
    sounded, down = [], None
    for time, pressed in events:
        if pressed and down is None:
            down = time
        elif not pressed and down is not None:
            sounded.append([down, time])
            down = None
    return sounded


def pedal_label(made: dict) -> str:
    """perfbench's pedal label of the presses as they sound: none without one; blurred when >= 2 presses continue
    > 0.25 s past a harmony change; else clean."""
    sounded = sounding_presses(made["pedal"])
    changes = np.asarray(made["changes"])
    held = sum(bool(((changes > down) & (changes < up - 0.25)).any()) for down, up in sounded)
    return "none" if not sounded else "blurred" if held >= 2 else "clean"


def bar_rows(made: dict) -> list[list]:
    """[bar number, start s, mean velocity, notes] per bar, 0 for a pickup, as perfbench's velocity_per_bar."""
    notes, downbeats = made["notes"], made["downbeats"]
    starts = np.concatenate([[made["beats"][0]] if downbeats[0] > made["beats"][0] + 1e-6 else [], downbeats])
    rows = []
    for start in starts:
        later = downbeats[downbeats > start + 1e-6]
        end = later[0] if len(later) else np.inf
        inside = (notes[:, 0] >= start - 0.03) & (notes[:, 0] < end - 0.03)
        number = int(np.searchsorted(downbeats, start + 1e-6))
        if inside.any():
            rows.append([number, round(float(start), 4), round(float(notes[inside, 3].mean()), 2), int(inside.sum())])
    return rows


def write_performance(notes: np.ndarray, pedal: list[list], path: Path, signature: tuple[int, int]) -> None:
    """Notes and pedal presses in s -> a MIDI file at 60 quarters a minute (MIDI seconds are quarters)."""
    ticks = 480
    notes = one_key_at_a_time(notes)
    events = [(round(on * ticks), 1, int(p), int(v)) for on, _, p, v in notes]
    events += [(round(off * ticks), 0, int(p), 0) for _, off, p, _ in notes]
    events += [(round(down * ticks), 2, 64, 127) for down, _ in pedal] + [
        (round(up * ticks), -1, 64, 0) for _, up in pedal
    ]
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=1_000_000, time=0)])
    track.append(mido.MetaMessage("time_signature", numerator=signature[0], denominator=signature[1], time=0))
    now = 0
    for tick, kind, number, value in sorted(events):
        if kind in (2, -1):
            message = mido.Message("control_change", control=64, value=value, time=tick - now)
        else:
            message = mido.Message("note_on", note=number, velocity=value, time=tick - now)
        track.append(message)
        now = tick
    midi = mido.MidiFile(ticks_per_beat=ticks)
    midi.tracks.append(track)
    midi.save(path)


def take(spec: tuple, seed: int, out: Path) -> dict:
    """Render one piece into out/<name>/ (audio.flac, score.mid, performance.mid, truth.json) -> its labels."""
    name, texture, signature, bpm, pickup = spec[:5]
    made = piece(spec, seed)
    beats_bar, _, beat_q, beat_unit = metre_of(signature)
    labels = labels_of(spec, made)
    dest = out / name
    dest.mkdir(parents=True, exist_ok=True)
    q_per_min = bpm * beat_q
    bar_shift = beats_bar if pickup else 0  # a pickup ends an otherwise empty first bar
    position, length = made["notated"].T
    quarters = (position + bar_shift) * beat_q * 60.0 / q_per_min
    notated = np.stack(
        [quarters, quarters + length * beat_q * 60.0 / q_per_min, made["notes"][:, 2], made["notes"][:, 3]], 1
    )
    synth.write_score(notated, dest / "score.mid", q_per_min, made["hands"], signature)
    write_performance(made["notes"], made["pedal"], dest / "performance.mid", signature)
    soundfont = SOUNDFONTS[seed % len(SOUNDFONTS)]
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "render.wav"
        cmd = ["fluidsynth", "-ni", "-g", "0.5", "-r", str(SAMPLE_RATE), "-F", str(wav), soundfont]
        subprocess.run([*cmd, str(dest / "performance.mid")], check=True, capture_output=True)
        audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    sf.write(dest / "audio.flac", audio * PEAK / max(float(np.abs(audio).max()), 1e-9), SAMPLE_RATE, subtype="PCM_16")
    beats = made["beats"]
    truth = {
        "id": name,
        "piece": {"texture": texture, "time_signature": f"{signature[0]}/{signature[1]}", "beat_unit": beat_unit},
        "files": {"audio": "audio.flac", "score_midi": "score.mid", "performance_midi": "performance.mid"},
        "audio": {"soundfont": Path(soundfont).name},
        "labels": labels,
        "metre": {"time_signature": f"{signature[0]}/{signature[1]}", "pickup_beats": pickup},
        "first_onset_s": round(float(made["notes"][:, 0].min()), 4),
        "tempo": {
            "nominal_bpm": bpm,
            "beat_unit": beat_unit,
            "curve": [
                [round(float(t), 4), round(60.0 / float(i), 2)] for t, i in zip(beats[:-1], np.diff(beats), strict=True)
            ],
            "mean_bpm": round(60.0 / float(np.diff(beats).mean()), 2),
        },
        "dynamics": {"label": labels["dynamics"], "velocity_per_bar": bar_rows(made)},
        "articulation": {"label": labels["articulation"], "mean_duration_ratio": round(float(made["held"].mean()), 3)},
        "pedal": {
            "label": spec[8],
            "intervals": [[round(a, 4), round(b, 4)] for a, b in made["pedal"]],
            "harmony_changes_s": [round(t, 4) for t in made["changes"]],
        },
        "wrong_notes": {"substitutions": [], "missed": [], "extra": []},
        "notes": [[round(float(a), 4), round(float(b), 4), int(p), int(v)] for a, b, p, v in made["notes"]],
    }
    (dest / "truth.json").write_text(json.dumps(truth))
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", nargs="*", help="render only these pieces")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="added to each piece's seed: other notes, timing, key and (when odd) the other piano, same specs",
    )
    args = parser.parse_args()
    if shutil.which("fluidsynth") is None:
        parser.error("the fluidsynth program is not installed (Debian: apt-get install fluidsynth)")
    for path in SOUNDFONTS:
        if not Path(path).is_file():
            parser.error(f"no SoundFont at {path}")
    groups: dict[str, int] = {}
    for seed, spec in enumerate(PIECES):
        # the halves split by piece: every other piece of each texture is held out
        index = groups[spec[1]] = groups.get(spec[1], -1) + 1
        half = "tune" if index % 2 == 0 else "held"
        if args.only and spec[0] not in args.only:
            continue
        labels = take(spec, seed + args.seed, args.out / half)
        wanted = dict(
            zip(("tempo", "dynamics", "articulation", "pedal"), (spec[5], spec[6], spec[7], spec[8]), strict=True)
        )
        flag = "" if labels == wanted else f"  (spec {wanted})"
        print(half, spec[0], labels, flag, flush=True)


if __name__ == "__main__":
    main()
