"""Load a score (MIDI or MusicXML via partitura) as notated notes in quarter notes (llaqo.lite.alignment.align
matches a performance to it)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llaqo.lite.measures import key as keys

log = logging.getLogger(__name__)

MUSICXML_SUFFIXES = (".musicxml", ".xml")  # kept as text too: the marked score engraves them as they are
MIDI_SUFFIXES = (".mid", ".midi")
QUARTER_PER_UNIT = {"w": 4.0, "h": 2.0, "q": 1.0, "e": 0.5, "s": 0.25, "h.": 3.0, "q.": 1.5, "e.": 0.75}


class ScoreError(ValueError):
    """A score file that cannot be read. The message names the file and the problem."""


@dataclass(frozen=True)
class Score:
    """Notated notes, in quarter notes from the start of the score.

    onset_q, duration_q: (M,) float64 quarter notes; pitch: (M,) int MIDI; bar: (M,) int measure numbers
    nominal_bpm: notated tempo in beats per minute of beat_q quarters, None when not notated
    beat_q: quarters per notated beat (beat_quarters: 1.0 for x/4, 0.5 for 3/8, 1.5 for 6/8)
    hand: (M,) int 0 right / 1 left / -1 unknown, from the staves (1: right) or, with one staff per part, the
    parts (the part with the higher notes is the right hand)
    """

    onset_q: np.ndarray
    duration_q: np.ndarray
    pitch: np.ndarray
    bar: np.ndarray
    nominal_bpm: float | None
    beat_q: float
    name: str
    hand: np.ndarray
    title: str | None = None
    """The piece's title as the file gives it (MusicXML's work or movement title), else None."""
    parsed: object = field(default=None, repr=False, compare=False)
    """The partitura score read from the file: the marked score is engraved from it, not from the file again."""
    musicxml: str | None = field(default=None, repr=False, compare=False)
    """The file's own text when it is MusicXML (verovio engraves it as it is, with the ids it gives the notes)."""
    key: keys.Key | None = None
    """The key: the file's key signature, else estimated from the notes (llaqo.lite.measures.key)."""


def beat_quarters(beats: int, beat_type: int) -> float:
    """Quarters per notated beat of a time signature beats/beat_type: the denominator's note (3/8 and 5/8: an
    eighth; 2/2: a half), dotted in a compound metre (6/8, 9/8, 12/8: a dotted quarter). A slow 3/8 is counted
    in its three eighths, as the audio-only metre counts it; a one-in-a-bar count would give a lyrical piece
    a tempo of 20-30 BPM."""
    unit = 4.0 / beat_type
    return 3 * unit if beat_type >= 8 and beats in (6, 9, 12) else unit


def _hands(parts: list[np.ndarray], staffs: list[np.ndarray]) -> list[np.ndarray]:
    """Per part, (n,) pitches and staff numbers -> (n,) hands: 0 right, 1 left, -1 unknown."""
    if len(parts) == 1:
        staff = staffs[0]
        two = set(np.unique(staff).tolist()) >= {1, 2}
        return [np.where(staff == 1, 0, np.where(staff == 2, 1, -1)) if two else np.full(len(staff), -1)]
    highest = int(np.argmax([p.mean() for p in parts]))
    return [np.full(len(p), 0 if i == highest else 1) for i, p in enumerate(parts)]


def _title(parsed) -> str | None:
    """A partitura score's title (MusicXML's work title, title or movement title), or None when it has none."""
    found = (t.strip() for t in (parsed.work_title, parsed.title, parsed.movement_title) if t and t.strip())
    return next(found, None)


def _one_key_at_a_time(midi):
    """A mido.MidiFile -> the same file where a key struck again while its note sounds (a long melody note that a
    chord under it repeats, two voices in unison) ends the sounding note, as on a piano, and a unison is one note.
    partitura pairs a re-struck key's notes so that the earlier is lost (the everyday set's scores,
    bench/render_everyday.py, lost a long melody note so: the note played there was reported as extra)."""
    import mido

    for k, track in enumerate(midi.tracks):
        now, timed, struck_at, skip = 0, [], {}, {}
        for msg in track:
            now += msg.time
            key = (getattr(msg, "channel", None), getattr(msg, "note", None))
            if msg.type == "note_on" and msg.velocity > 0:
                if key in struck_at:
                    skip[key] = skip.get(key, 0) + 1  # the sounding note's own release now comes too late
                    if struck_at[key] == now:
                        continue  # two voices in unison: one key, struck once
                    timed.append((now, mido.Message("note_off", channel=key[0], note=key[1], velocity=0)))
                struck_at[key] = now
            elif msg.type in ("note_on", "note_off"):
                if skip.get(key, 0):
                    skip[key] -= 1
                    continue
                struck_at.pop(key, None)
            timed.append((now, msg))
        times = [t for t, _ in timed]
        midi.tracks[k] = mido.MidiTrack(m.copy(time=t - p) for (t, m), p in zip(timed, [0, *times[:-1]], strict=True))
    return midi


def load_score(path: str | Path) -> Score:
    """Read a MIDI or MusicXML file with partitura. Raises ScoreError naming the problem."""
    path = Path(path)
    if not path.is_file():
        raise ScoreError(f"{path.name}: score file not found")
    if path.stat().st_size == 0:
        raise ScoreError(f"{path.name}: the score file is empty (0 bytes)")
    try:
        import partitura

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # partitura warns about every inferred voice and part
            if path.suffix.lower() in MIDI_SUFFIXES:  # read once, by mido; as partitura.load_score reads MIDI
                import mido

                parsed = partitura.load_score_midi(_one_key_at_a_time(mido.MidiFile(path)), assign_note_ids=True)
            else:
                parsed = partitura.load_score(str(path))
        text = path.read_text(encoding="utf-8", errors="replace") if path.suffix.lower() in MUSICXML_SUFFIXES else None
    except Exception as err:
        raise ScoreError(f"{path.name}: not a readable score (supported: MIDI, MusicXML, MEI, Kern)") from err
    onset, duration, pitch, bar, staff = [], [], [], [], []
    nominal, beat_q, signature = None, None, None
    for part in parsed.parts:
        na = part.note_array(include_time_signature=True, include_staff=True)
        if len(na) == 0:
            continue
        onset.append(na["onset_quarter"])
        duration.append(na["duration_quarter"])
        pitch.append(na["pitch"])
        staff.append(na["staff"])
        bar.append(np.asarray(part.measure_number_map(na["onset_div"]), dtype=int))
        beat_q = beat_q or beat_quarters(int(na["ts_beats"][0]), int(na["ts_beat_type"][0]))  # the first part's
        tempos = list(part.iter_all(partitura.score.Tempo))
        signature = signature or next(part.iter_all(partitura.score.KeySignature), None)
        if nominal is None and tempos:
            nominal = float(tempos[0].bpm) * QUARTER_PER_UNIT.get(tempos[0].unit or "q", 1.0)
    if not onset:
        raise ScoreError(f"{path.name}: the score contains no notes")
    hand = np.concatenate(_hands(pitch, staff))
    onset_q, duration_q, pitch_a, bar_a = (np.concatenate(x) for x in (onset, duration, pitch, bar))
    order = np.lexsort((pitch_a, onset_q))
    if nominal is not None:
        nominal /= beat_q
    return Score(
        onset_q=onset_q[order].astype(float),
        duration_q=duration_q[order].astype(float),
        pitch=pitch_a[order].astype(int),
        bar=bar_a[order],
        nominal_bpm=nominal,
        beat_q=beat_q,
        name=path.name,
        hand=hand[order].astype(int),
        title=_title(parsed),
        parsed=parsed,
        musicxml=text,
        key=keys.Key(signature.fifths, signature.mode == "minor", "score")
        if signature is not None
        else keys.estimate(pitch_a, duration_q, "score notes"),
    )
