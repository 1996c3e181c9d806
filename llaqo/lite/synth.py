"""A tiny additive piano-like synthesiser: known notes -> audio, and the same notes as a MIDI score.
Used to warm up the analysis, in tests and in benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PARTIALS = (1.0, 0.3, 0.1, 0.05)  # relative amplitudes of harmonics 1-4: a soft, piano-like spectrum
DECAY_PER_S = 3.0  # exponential amplitude decay of middle C while the key is held; an octave up decays
DECAY_OCTAVE_RATIO = 2**0.5  # this much faster (a piano's treble dies sooner)
ATTACK_BOOST = 2.0  # a struck string starts this much louder than its sustained level ...
ATTACK_S = 0.03  # ... and settles within this: Transkun, trained on real pianos, hears no onset without it
RELEASE_S = 0.05  # fade after the key is released
TICKS_PER_QUARTER = 480


def render(notes: np.ndarray, sample_rate: int, duration_s: float | None = None) -> np.ndarray:
    """(N, 4) [onset_s, offset_s, midi_pitch, velocity 1-127] -> (samples,) float32 mono, peak <= 0.9.

    Loudness follows velocity squared (about 6 dB per halving of velocity), as on a real piano.
    """
    end = duration_s if duration_s is not None else float(notes[:, 1].max()) + 0.5
    t = np.arange(int(end * sample_rate)) / sample_rate
    wave = np.zeros_like(t)
    for onset, offset, pitch, velocity in notes:
        i0, i1 = int(onset * sample_rate), int(min(offset + RELEASE_S, end) * sample_rate)
        local = t[i0:i1] - onset
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        tone = sum(a * np.sin(2 * np.pi * f0 * (k + 1) * local) for k, a in enumerate(PARTIALS))
        tone *= 1 + ATTACK_BOOST * np.exp(-local / ATTACK_S)
        env = np.exp(-DECAY_PER_S * DECAY_OCTAVE_RATIO ** ((pitch - 60) / 12) * local) * np.clip(
            (offset + RELEASE_S - onset - local) / RELEASE_S, 0, 1
        )
        env *= np.clip(local / 0.005, 0, 1)  # 5 ms attack avoids a click
        wave[i0:i1] += (velocity / 127) ** 2 * env * tone
    peak = np.abs(wave).max()
    return (wave * (0.9 / peak if peak > 0.9 else 1.0)).astype(np.float32)


def scale_notes(
    bpm: float, n: int = 16, velocity: int = 80, start_s: float = 0.5, legato: float = 0.95, first_pitch: int = 48
) -> np.ndarray:
    """An ascending major scale in quarter notes at `bpm`: (n, 4) [onset_s, offset_s, pitch, velocity].
    From C3 by default: Transkun hears this synthesiser's tone from about F2 to D6 (measured), so two octaves
    from C3 stay inside that range."""
    steps = (0, 2, 4, 5, 7, 9, 11)
    beat = 60.0 / bpm
    pitches = [first_pitch + 12 * (i // 7) + steps[i % 7] for i in range(n)]
    return np.array([[start_s + i * beat, start_s + (i + legato) * beat, p, velocity] for i, p in enumerate(pitches)])


def write_score(notes: np.ndarray, path: str | Path, bpm: float) -> None:
    """(N, 4) notes with times in seconds at `bpm` -> a one-track MIDI score in 4/4 with the tempo written in
    and every velocity 64, as a notation program exports it."""
    import mido

    ticks = TICKS_PER_QUARTER
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    events = sorted(
        [(round(onset * bpm / 60 * ticks), 1, int(pitch)) for onset, _, pitch, _ in notes]
        + [(round(offset * bpm / 60 * ticks), 0, int(pitch)) for _, offset, pitch, _ in notes]
    )
    now = 0
    for tick, on, pitch in events:
        kind = "note_on" if on else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=64 if on else 0, time=tick - now))
        now = tick
    score = mido.MidiFile(ticks_per_beat=ticks)
    score.tracks.append(track)
    score.save(path)
