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


STRUCK_PARTIALS = (1.0, 0.35, 0.25, 0.15, 0.1, 0.07, 0.05, 0.03)  # harmonics 1-8 of a struck string
INHARMONICITY = 0.0004  # a piano string's stiffness raises partial n to n * sqrt(1 + B n^2) times the fundamental
PARTIAL_DECAY = 0.4  # each partial up dies this much faster than the one below
HAMMER_NOISE = 0.1  # a 4 ms noise burst at the attack, relative to the tone
DAMPER_S = 0.15  # after the key's release the damper stops the string over this long


def render_struck(notes: np.ndarray, sample_rate: int, seed: int = 0) -> np.ndarray:
    """(N, 4) notes -> (samples,) float32 mono, peak 0.9: a struck string rather than render's soft additive tone.

    Eight slightly inharmonic partials, the higher dying sooner, a hammer's noise burst and a damper's ring
    after the release. The app's example recordings use it: in render's tone Transkun hears 7 of the 16
    notes of the detached example scale (short notes of few partials), in this one all 16 (bench/RESULTS.md).
    """
    end = float(notes[:, 1].max()) + 0.5 + DAMPER_S
    t = np.arange(int(end * sample_rate)) / sample_rate
    wave = np.zeros_like(t)
    rng = np.random.default_rng(seed)
    for onset, offset, pitch, velocity in notes:
        i0, i1 = int(onset * sample_rate), int(min(offset + DAMPER_S, end) * sample_rate)
        local = t[i0:i1] - onset
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        decay = DECAY_PER_S * DECAY_OCTAVE_RATIO ** ((pitch - 60) / 12)
        tone = np.zeros_like(local)
        for k, a in enumerate(STRUCK_PARTIALS):
            f = f0 * (k + 1) * np.sqrt(1 + INHARMONICITY * (k + 1) ** 2)
            if f < sample_rate / 2:
                tone += a * np.exp(-decay * (1 + PARTIAL_DECAY * k) * local) * np.sin(2 * np.pi * f * local)
        tone *= 1 + ATTACK_BOOST * np.exp(-local / ATTACK_S)
        held = offset - onset
        env = np.where(local < held, 1.0, np.exp(-4 * (local - held) / DAMPER_S)) * np.clip(local / 0.002, 0, 1)
        burst = HAMMER_NOISE * rng.standard_normal(len(local)) * np.exp(-local / 0.004)
        wave[i0:i1] += (velocity / 127) ** 2 * (env * tone + burst)
    peak = np.abs(wave).max()
    return (wave * (0.9 / peak if peak > 0 else 1.0)).astype(np.float32)


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


def write_score(
    notes: np.ndarray,
    path: str | Path,
    bpm: float,
    hands: np.ndarray | None = None,
    time_signature: tuple[int, int] = (4, 4),
) -> None:
    """(N, 4) notes with times in seconds at `bpm` quarters a minute -> a MIDI score with the time signature and
    the tempo written in and every velocity 64, as a notation program exports it: one track, or with hands
    ((N,) 0 right, 1 left) the right and the left hand on two tracks."""
    import mido

    ticks = TICKS_PER_QUARTER
    score = mido.MidiFile(ticks_per_beat=ticks)
    for part in (None,) if hands is None else (0, 1):
        chosen = notes if part is None else notes[hands == part]
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
        numerator, denominator = time_signature
        track.append(mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator, time=0))
        events = sorted(
            [(round(onset * bpm / 60 * ticks), 1, int(pitch)) for onset, _, pitch, _ in chosen]
            + [(round(offset * bpm / 60 * ticks), 0, int(pitch)) for _, offset, pitch, _ in chosen]
        )
        now = 0
        for tick, on, pitch in events:
            kind = "note_on" if on else "note_off"
            track.append(mido.Message(kind, note=pitch, velocity=64 if on else 0, time=tick - now))
            now = tick
        score.tracks.append(track)
    score.save(path)


def write_musicxml(pitches: list[int], path: str | Path, bpm: float, beats_per_bar: int = 4) -> None:
    """MIDI pitches as quarter notes in x/4 from the first beat -> a one-staff MusicXML score with the tempo written
    in; note k gets the id "n{k}", so an engraving can be checked note by note."""
    steps = ("C", "C", "D", "D", "E", "F", "F", "G", "G", "A", "A", "B")
    measures = []
    for first in range(0, len(pitches), beats_per_bar):
        notes = []
        for k in range(first, min(first + beats_per_bar, len(pitches))):
            p = int(pitches[k])
            alter = "<alter>1</alter>" if steps[p % 12] == steps[(p - 1) % 12] else ""
            notes.append(
                f'<note id="n{k}"><pitch><step>{steps[p % 12]}</step>{alter}<octave>{p // 12 - 1}</octave></pitch>'
                "<duration>1</duration><voice>1</voice><type>quarter</type></note>"
            )
        head = ""
        if first == 0:
            head = (
                f"<attributes><divisions>1</divisions><key><fifths>0</fifths></key><time><beats>{beats_per_bar}"
                "</beats><beat-type>4</beat-type></time><clef><sign>G</sign><line>2</line></clef></attributes>"
                f'<direction placement="above"><direction-type><metronome><beat-unit>quarter</beat-unit>'
                f'<per-minute>{bpm:g}</per-minute></metronome></direction-type><sound tempo="{bpm:g}"/></direction>'
            )
        measures.append(f'<measure number="{first // beats_per_bar + 1}">{head}{"".join(notes)}</measure>')
    Path(path).write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="4.0"><part-list><score-part id="P1">'
        "<part-name>Piano</part-name></score-part></part-list>"
        f'<part id="P1">{"".join(measures)}</part></score-partwise>\n',
        encoding="utf-8",
    )


def texture_notes(minutes: float, seed: int = 0) -> np.ndarray:
    """(N, 4) notes: right-hand eighths over left-hand quarters at 120 BPM, for `minutes` (the speed benchmarks'
    recording: dense, two hands, every register in the middle of the keyboard)."""
    rng = np.random.default_rng(seed)
    notes, t, step = [], 0.5, 0.25
    while t < minutes * 60 - 1:
        notes.append((t, t + 0.9 * step, 60 + int(rng.integers(0, 24)), int(rng.integers(50, 110))))
        if round(t / step) % 2 == 0:
            notes.append((t, t + 1.8 * step, 36 + int(rng.integers(0, 12)), int(rng.integers(50, 100))))
        t += step
    return np.array(notes, dtype=float)


def melody_notes(seed: int, n_beats: int = 31, bpm: float = 120.0, start_s: float = 0.5) -> np.ndarray:
    """A random C-major tune in quarters and eighths over a bass note every two beats, starting one beat in
    (so that at `bpm` in 4/4 its bars start at 0, 4, 8... quarters): (N, 4) [onset_s, offset_s, pitch, velocity]."""
    rng = np.random.default_rng(seed)
    steps, beat, rows, t = (0, 2, 4, 5, 7, 9, 11), 60.0 / bpm, [], 0.0
    while t < n_beats - 1e-9:
        length = float(rng.choice([0.5, 1.0])) if t % 1 == 0 else 0.5
        pitch = 60 + 12 * int(rng.integers(0, 2)) + steps[int(rng.integers(0, 7))]
        rows.append([start_s + t * beat, start_s + (t + 0.95 * length) * beat, pitch, 80])
        if t % 2 == 0:
            rows.append([start_s + t * beat, start_s + (t + 1.9) * beat, 48 + steps[int(rng.integers(0, 7))], 70])
        t += length
    return np.array(sorted(rows), dtype=float)


def stretch_times(times: np.ndarray, spans: list[tuple[float, float, float]]) -> np.ndarray:
    """A known tempo warp: times in s, each (start_s, end_s, factor) span lasting `factor` times as long
    (1.4: 40% longer, i.e. played at 1/1.4 of the tempo) -> the warped times."""
    out = np.asarray(times, dtype=float).copy()
    for start, end, factor in spans:
        out += (factor - 1.0) * np.clip(np.asarray(times, dtype=float) - start, 0.0, end - start)
    return out


# I IV V I vi ii V I: a bar of each, the harmony changing at every downbeat
PROGRESSION = ((0, 4, 7), (5, 9, 0), (7, 11, 2), (0, 4, 7), (9, 0, 4), (2, 5, 9), (7, 11, 2), (0, 4, 7))


def metre_piece(
    beats_per_bar: int,
    compound: bool,
    bpm: float,
    n_bars: int = 8,
    pickup_beats: int = 0,
    end_ratio: float = 1.0,
    seed: int = 0,
    start_s: float = 0.5,
    middle_bass: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A little piece in a known metre, as a pianist might play it: a bass note on each downbeat, chords on
    the other beats, a melody in eighths (two a beat, or three in a compound metre), louder on the beats.

    bpm: beats a minute (quarters, or dotted quarters when compound); pickup_beats: melody-only beats before
    the first downbeat; end_ratio: tempo at the end over bpm, reached gradually over the second half (< 1 a
    ritardando); seed: the melody's pitches and +-10 ms of timing scatter; middle_bass: with an even
    beats_per_bar, a second bass note on the bar's middle beat, this many semitones above the downbeat's (0: the
    same note, as in a march's or a hymn's left hand; 7: the fifth), each bass note held half a bar.
    -> notes (N, 4) [onset_s, offset_s, pitch, velocity] sorted by onset, beats (B,) and downbeats (D,) in s,
    and the notated onsets in beats (N,) from the first downbeat (negative in the pickup).
    """
    rng = np.random.default_rng(seed)
    sub = 3 if compound else 2
    n_beats = pickup_beats + n_bars * beats_per_bar
    ramp = np.clip((np.arange(n_beats) - n_beats / 2) / (n_beats / 2), 0, 1)
    period = 60.0 / (bpm * (1 + (end_ratio - 1) * ramp))
    beats = start_s + np.concatenate([[0.0], np.cumsum(period)])  # (n_beats + 1,): the last closes the piece

    def time_of(position: float) -> float:  # position in beats from the first beat played
        i = min(int(position), n_beats - 1)
        return float(beats[i] + (position - i) * period[i])

    rows, positions = [], []

    def add(position: float, length: float, pitch: int, velocity: float) -> None:
        jitter = float(rng.normal(0, 0.005)) if position > 0 else 0.0
        on = time_of(position) + jitter
        rows.append([on, time_of(min(position + length, n_beats)) - 0.02, pitch, int(np.clip(velocity, 1, 127))])
        positions.append(position - pickup_beats)

    for b in range(n_beats):
        bar, beat = divmod(b - pickup_beats, beats_per_bar)
        chord = PROGRESSION[bar % len(PROGRESSION)]
        middle = middle_bass is not None and beats_per_bar % 2 == 0 and beat == beats_per_bar // 2
        if b >= pickup_beats:
            if beat == 0:
                held = beats_per_bar / 2 if middle_bass is not None else beats_per_bar
                add(b, held * 0.95, 36 + chord[0], 84)
            elif middle:
                add(b, beats_per_bar / 2 * 0.95, 36 + chord[0] + middle_bass, 84)
            else:
                for pc in chord:
                    add(b, 0.9, 48 + (pc - 48) % 12 + 12 * (pc < 7), 58)
        for k in range(sub):
            accent = 14 if beat == 0 and k == 0 and b >= pickup_beats else 6 if k == 0 else 0
            pitch = 72 + int(rng.choice([chord[0], chord[1], chord[2], chord[0] + 2, chord[1] + 1])) % 12
            add(b + k / sub, 0.95 / sub, pitch, 62 + accent)
    last_bar = PROGRESSION[n_bars % len(PROGRESSION)]
    for pitch in (36 + last_bar[0], 60 + last_bar[1], 72 + last_bar[0]):  # the closing downbeat
        add(n_beats, 1.0, pitch, 80)
    beats_all = np.append(beats, beats[-1] + period[-1])[: n_beats + 1]
    order = np.argsort(np.array(rows)[:, 0], kind="stable")
    downbeats = beats_all[pickup_beats::beats_per_bar]
    return np.array(rows)[order], beats_all, downbeats, np.array(positions)[order]


def in_a_room(wave: np.ndarray, sample_rate: int, rt60_s: float = 0.8, seed: int = 0) -> np.ndarray:
    """(samples,) mono -> the same played in a live room, heard by a phone: an exponentially decaying noise
    reverberation of rt60_s (as loud as the direct sound), the room's noise 30 dB below the music, then an automatic
    gain that turns the level towards a target over ~0.15 s and keeps 40% of level changes in dB. Longer by the
    reverberation's tail; float32, peak 0.9."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    t = np.arange(1, int(rt60_s * sample_rate)) / sample_rate
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_s)
    ir = np.concatenate([[1.0], tail / np.sqrt(np.sum(tail**2))])
    wet = signal.fftconvolve(wave.astype(np.float64), ir)
    wet += rng.standard_normal(len(wet)) * np.sqrt(np.mean(wet**2)) * 10 ** (-30 / 20)

    def smooth(x: np.ndarray, seconds: float) -> np.ndarray:  # a one-pole average over `seconds`
        k = 1.0 / (seconds * sample_rate)
        return signal.lfilter([k], [1, k - 1], x)

    level = np.sqrt(smooth(wet**2, 0.05) + 1e-10)
    gain = smooth(np.clip(0.1 / level, 0.03, 30.0) ** 0.6, 0.15)  # at most 18 dB up or down
    out = wet * gain
    return (out * 0.9 / np.abs(out).max()).astype(np.float32)
