"""Grounded answers: a question -> topics -> sentences built only from an Analysis.

Every sentence states a measured number (and bars or times) from Analysis.to_json(); nothing
here estimates anything new, so an answer can be checked against the JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from llaqo.lite.analysis import Analysis
from llaqo.lite.summary import clock

TEMPO_DEVIATION = 0.06  # a stretch whose tempo differs from the median by 6% or more is worth naming
MIN_STRETCH_BEATS = 3  # ... if it lasts at least this many beats
MAX_PLACES = 3  # name at most this many places in one answer
UNSURE_ERROR_SHARE = 0.1  # more score differences than this share of the notated notes: say they may be ours
JITTER_EVEN_MS = 20  # onsets within 20 ms RMS of an even grid sound even
JITTER_UNEVEN_MS = 35  # beyond 35 ms the unevenness is audible

TOPIC_WORDS = {
    "tempo": r"tempo|speed|fast|slow|bpm|rush|drag|accel|ritard|rubato|pace|hurr",
    "rhythm": r"rhythm|timing|even|pulse|beat|metronome|in time|steady",
    "dynamics": r"dynamic|loud|soft|volume|crescendo|decrescendo|diminuendo|forte|contrast|intensity|swell",
    "articulation": r"articulat|legato|staccato|detached|smooth|connected|touch|phras",
    "pedal": r"pedal|sustain|blur|damper|resonan",
    "notes": r"wrong|mistake|error|miss|accura|correct|extra|slip|note",
    "rating": r"rate|rating|score (?:it|this|me|my)|out of|grade|mark|1\s*-\s*[56]|1 to [56]|how good|scale of",
    "practice": r"practi[cs]e|improve|work on|advice|advise|suggest|tip|exercise|next|better",
    "overall": r"overall|assess|how did i do|feedback|evaluat|comment|critique|in general|opinion|summar",
}
UNMEASURABLE = {
    "tone colour": r"tone|timbre|colou?r|sound quality|warm|bright",
    "emotional intent": r"emotion|feel|mood|intent|express|character|sad|happy|musical(?:ity)?",
    "composer and style": r"compos|who wrote|period|style|era|baroque|romantic|classical|piece is|which piece",
    "difficulty of the piece": r"difficult|hard is|level",
    "skill level of the player": r"student|master|professional|beginner|novice|expert",
}


def topics(question: str) -> tuple[list[str], list[str]]:
    """A question -> (measured topics, unmeasurable topics) it asks about, in a fixed order.

    Each keyword must start a word: "accurate" does not ask for a rating, nor "overall" about an era.
    """
    q = question.lower()
    measured = [t for t, pattern in TOPIC_WORDS.items() if re.search(rf"\b(?:{pattern})", q)]
    unmeasured = [t for t, pattern in UNMEASURABLE.items() if re.search(rf"\b(?:{pattern})", q)]
    return measured, unmeasured


@dataclass(frozen=True)
class Stretch:
    """A run of beats whose tempo departs from the median."""

    start_s: float
    end_s: float
    bpm: float


def tempo_stretches(a: Analysis) -> list[Stretch]:
    """Runs of >= MIN_STRETCH_BEATS beats at >= TEMPO_DEVIATION from the median tempo, longest first."""
    curve = a.tempo.curve
    if len(curve) < MIN_STRETCH_BEATS:
        return []
    median = float(np.median(curve[:, 1]))
    side = np.where(curve[:, 1] >= median * (1 + TEMPO_DEVIATION), 1, 0)
    side = np.where(curve[:, 1] <= median * (1 - TEMPO_DEVIATION), -1, side)
    runs, start = [], 0
    for i in range(1, len(side) + 1):
        if i == len(side) or side[i] != side[start]:
            if side[start] != 0 and i - start >= MIN_STRETCH_BEATS:
                end_s = curve[i, 0] if i < len(curve) else a.tempo.beats[-1]
                runs.append((i - start, Stretch(float(curve[start, 0]), float(end_s), float(curve[start:i, 1].mean()))))
            start = i
    return [s for _, s in sorted(runs, key=lambda r: -r[0])[:MAX_PLACES]]


def where(a: Analysis, start_s: float, end_s: float) -> str:
    """Bars when a score is given ("bars 9-12"), otherwise times ("around 0:21-0:29", or "around 0:21")."""
    if a.score is not None:
        bars = [b.bar for b in a.score.bars if b.end_s > start_s + 1e-3 and b.start_s < max(end_s, start_s + 2e-3)]
        if bars:
            return f"bar {bars[0]}" if bars[0] == bars[-1] else f"bars {bars[0]}-{bars[-1]}"
    if clock(start_s) == clock(end_s):
        return f"around {clock(start_s)}"
    return f"around {clock(start_s)}-{clock(end_s)}"


def at(a: Analysis, start_s: float, end_s: float) -> str:
    """where() as an adverbial: "in bars 9-12" or "around 0:21-0:29"."""
    place = where(a, start_s, end_s)
    return place if place.startswith("around") else f"in {place}"


def tempo_sentences(a: Analysis) -> list[str]:
    t = a.tempo
    if t.bpm == 0:
        return ["Too few beats were found to measure a tempo."]
    against = f" against the notated {t.nominal_bpm:.0f}" if t.nominal_bpm else ""
    describe = {
        "steady": "Your tempo was steady",
        "accelerando": "You sped up through the excerpt (an accelerando)",
        "ritardando": "You slowed down (a ritardando)",
        "rubato": "Your tempo moved freely, with push and pull (rubato)",
        "rushing": "You played faster than notated and kept creeping ahead (rushing)",
    }[t.label]
    out = [
        f"{describe}: the average was {t.bpm:.0f} BPM{against}, starting at {t.start_bpm:.0f} and ending at "
        f"{t.end_bpm:.0f}, with beat-to-beat variation of {t.cv_pct:.1f}%."
    ]
    for s in tempo_stretches(a):
        direction = "pushed ahead to" if s.bpm > np.median(t.curve[:, 1]) else "held back to"
        out.append(f"{at(a, s.start_s, s.end_s).capitalize()} you {direction} about {s.bpm:.0f} BPM.")
    if t.source == "audio":
        out.append(
            "Without a score the beat is taken from the recording, so the tempo could be double or half of "
            "how you count it."
        )
    return out


def rhythm_sentences(a: Analysis) -> list[str]:
    j = a.timing_jitter_ms
    if j <= JITTER_EVEN_MS:
        verdict = "evenly placed"
    elif j <= JITTER_UNEVEN_MS:
        verdict = "mostly even, with some unevenness"
    else:
        verdict = "audibly uneven"
    if a.score is not None:
        basis = "from where the score puts them on your own tempo curve"
    else:
        basis = "from an even subdivision of the beat"
    return [f"Your notes were {verdict}: onsets sit {j:.0f} ms (RMS) {basis}."]


def dynamics_sentences(a: Analysis) -> list[str]:
    d = a.dynamics
    describe = {
        "flat": "Your dynamics stayed at one level",
        "crescendo": "You built a crescendo",
        "decrescendo": "You shaped a decrescendo",
        "terraced": "Your dynamics moved in terraces, level plateaus with clear steps",
        "wide-contrast": "You used a wide dynamic contrast",
    }[d.label]
    segments = "bar" if d.segment_kind == "bar" else "four-beat"
    out = [f"{describe}: the {segments} levels span {d.range_db:.1f} dB."]
    if len(d.segments) >= 2:
        loud, soft = d.segments[np.argmax(d.segments[:, 2])], d.segments[np.argmin(d.segments[:, 2])]
        out.append(
            f"The loudest point was {where(a, loud[0], loud[1])} and the softest {where(a, soft[0], soft[1])}, "
            f"{d.range_db:.1f} dB apart."
        )
    if d.label == "flat":
        out.append("A wider range would give the phrases more shape.")
    return out


def articulation_sentences(a: Analysis) -> list[str]:
    art = a.articulation
    basis = "their notated value" if a.score is not None else "the time to the next note in the same register"
    describe = {
        "legato": "Your playing was legato",
        "staccato": "Your playing was staccato",
        "mixed": "Your articulation was mixed, part detached and part connected",
    }[art.label]
    mean = art.to_json()["mean_ratio"]
    mean_text = f"; on average a note lasted {mean:.2f} times that" if mean is not None else ""
    out = [f"{describe}: {100 * art.short_share:.0f}% of notes were held for less than 60% of {basis}{mean_text}."]
    if a.pedal.label != "none" and art.label != "staccato":
        # Under a held pedal the strings keep sounding after the key is released, so a detached touch there
        # is inaudible: the measurement describes the sound, and may miss detached notes.
        out.append(
            "You used the sustain pedal, which keeps notes sounding after the key is released, so this describes "
            "the sound; notes played detached under the pedal cannot be heard as detached."
        )
    return out


def pedal_sentences(a: Analysis) -> list[str]:
    p = a.pedal
    held = f"{100 * p.sustained_share:.0f}% of notes kept sounding well past their written end"
    out = {
        "none": [
            f"I hear little or no sustain pedal: only {held}."
            if round(100 * p.sustained_share)
            else "I hear no sustain pedal: no note kept sounding well past its written end."
        ],
        "clean": [
            f"You used the pedal cleanly: {held}, and {len(p.blurred_s)} of {len(p.changes_s)} harmony "
            "changes carried the previous harmony over."
        ],
        "blurred": [
            f"The pedal blurred the harmony: at {len(p.blurred_s)} of {len(p.changes_s)} harmony changes "
            "notes of the previous harmony kept sounding."
        ],
    }[p.label]
    if p.label == "blurred" and len(p.blurred_s):
        places = ", ".join(where(a, t, t) for t in p.blurred_s[:MAX_PLACES])
        out.append(f"Change the pedal with the harmony, for example at {places}.")
    if len(p.held_s):
        places = ", ".join(where(a, t, t) for t in p.held_s[:MAX_PLACES])
        out.append(f"I heard the pedal held through the harmony change at {places}.")
    if p.label != "none" and len(p.released_s):
        places = ", ".join(where(a, t, t) for t in p.released_s[:MAX_PLACES])
        out.append(f"You changed the pedal cleanly at {places}.")
    out.append(
        "The pedal is judged from how long strings keep sounding and from the pedal presses the transcriber "
        "heard, so treat this as a guide."
    )
    return out


def notes_sentences(a: Analysis) -> list[str]:
    if a.score is None:
        return [
            f"I detected {len(a.notes)} notes, but without a score I cannot tell which are wrong: "
            "upload the score (MIDI or MusicXML) to check note accuracy."
        ]
    s = a.score
    out = []
    partial = s.n_performed < s.n_notated
    if partial:
        first, last = s.performed_bars
        out.append(
            f"The recording covers bars {first}-{last} of the score ({s.n_performed} of its {s.n_notated} notes), "
            "so I checked those bars only."
        )
    out.append(
        f"Of {s.n_performed} notated notes{' in those bars' if partial else ''}, {s.accuracy_pct:.0f}% were "
        f"played as written, with {_count(len(s.wrong), 'wrong')}, {_count(len(s.missed), 'missed')} and "
        f"{_count(len(s.extra), 'extra')}."
    )
    for e in s.wrong[:MAX_PLACES]:
        out.append(
            f"In bar {e.bar} ({clock(e.time_s)}) I heard {_name(e.pitch)} where {_name(e.notated_pitch)} is written."
        )
    for e in s.missed[:MAX_PLACES]:
        out.append(f"In bar {e.bar} ({clock(e.time_s)}) I did not hear the written {_name(e.pitch)}.")
    for e in s.extra[:MAX_PLACES]:
        out.append(f"In bar {e.bar} ({clock(e.time_s)}) I heard an extra {_name(e.pitch)}.")
    if s.n_performed and (len(s.wrong) + len(s.missed) + len(s.extra)) / s.n_performed > UNSURE_ERROR_SHARE:
        # Errors are inferred from a transcription, which misses more notes on an unfamiliar piano or in a
        # noisy room; many differences are as likely to be the listener's as the player's.
        out.append(
            "That is a lot of differences for one take. Some may be notes the transcription missed (it hears "
            "some pianos and rooms less well), so check these places by ear before you practise them."
        )
    return out


def _count(n: int, kind: str) -> str:
    """3, "wrong" -> "3 wrong notes"; 1, "extra" -> "1 extra note"."""
    return f"{n} {kind} note{'' if n == 1 else 's'}"


NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _name(pitch: int | None) -> str:
    """MIDI 60 -> "C4 (60)": the name a pianist reads, with the number the JSON holds."""
    if pitch is None:
        return "?"
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1} ({pitch})"


@dataclass(frozen=True)
class Rating:
    value: float
    scale: int
    reasons: list[str]


def rating(a: Analysis, scale: int) -> Rating:
    """A rating on 1..scale: start from the top and subtract for each measured problem, each with its reason."""
    value, reasons = float(scale), []
    if a.score is not None:
        acc = a.score.accuracy_pct
        cut = 2.0 if acc < 90 else 1.0 if acc < 95 else 0.5 if acc < 98 else 0.0
        if cut:
            value -= cut
            reasons.append(f"-{cut:g} for note accuracy of {acc:.0f}%")
    if a.timing_jitter_ms > JITTER_UNEVEN_MS:
        value -= 1.0
        reasons.append(f"-1 for uneven timing ({a.timing_jitter_ms:.0f} ms RMS)")
    elif a.timing_jitter_ms > JITTER_EVEN_MS:
        value -= 0.5
        reasons.append(f"-0.5 for slightly uneven timing ({a.timing_jitter_ms:.0f} ms RMS)")
    if a.tempo.label == "rushing":
        value -= 0.5
        reasons.append(f"-0.5 for rushing ({a.tempo.bpm:.0f} BPM against the notated {a.tempo.nominal_bpm:.0f})")
    if a.pedal.label == "blurred":
        value -= 0.5
        reasons.append(f"-0.5 for blurred pedalling ({len(a.pedal.blurred_s)} harmony changes)")
    if a.dynamics.label == "flat":
        value -= 0.5
        reasons.append(f"-0.5 for little dynamic contrast ({a.dynamics.range_db:.1f} dB)")
    return Rating(max(1.0, value), scale, reasons)


def rating_sentences(a: Analysis, question: str) -> list[str]:
    scale = 6 if re.search(r"\b6\b|six", question.lower()) else 5
    r = rating(a, scale)
    why = "; ".join(r.reasons) if r.reasons else "no measured problem"
    out = [f"I would rate this {r.value:g} out of {scale}.", f"Reasoning: starting from {scale}, {why}."]
    if a.score is None:
        out.append("With a score I could also check the notes.")
    out.append("This rating covers what I measure (notes, timing, dynamics, pedal), not tone or musicality.")
    return out


def practice_sentences(a: Analysis) -> list[str]:
    out = []
    if a.score is not None and (a.score.wrong or a.score.missed):
        bars = sorted({e.bar for e in a.score.wrong + a.score.missed})[:MAX_PLACES]
        out.append(
            f"Practise bars {', '.join(map(str, bars))} slowly, hands separately, to fix the "
            f"{len(a.score.wrong)} wrong and {len(a.score.missed)} missed notes."
        )
    stretches = tempo_stretches(a)
    if a.tempo.label in ("rushing", "steady") and stretches:
        s = stretches[0]
        target = a.tempo.nominal_bpm or a.tempo.bpm
        out.append(
            f"Work on the passage {where(a, s.start_s, s.end_s)}, where the tempo went to about {s.bpm:.0f} BPM, "
            f"with a metronome at {target:.0f}."
        )
    elif a.tempo.label == "rushing":
        out.append(
            f"Play with a metronome at the notated {a.tempo.nominal_bpm:.0f} BPM; you averaged {a.tempo.bpm:.0f}."
        )
    if a.timing_jitter_ms > JITTER_EVEN_MS:
        out.append(
            f"Even out the notes (now {a.timing_jitter_ms:.0f} ms RMS off the grid) by practising in "
            "rhythms and with a metronome."
        )
    if a.dynamics.label == "flat":
        out.append(f"Shape the dynamics: your levels span only {a.dynamics.range_db:.1f} dB.")
    if a.pedal.label == "blurred":
        out.append(f"Change the pedal at each harmony change; {len(a.pedal.blurred_s)} changes were blurred.")
    if not out:
        out.append(
            "The measurements show no clear problem; play it to a metronome at a faster tempo, or record a "
            "longer passage for a closer look."
        )
    return out


def overall_sentences(a: Analysis) -> list[str]:
    out = [
        tempo_sentences(a)[0],
        rhythm_sentences(a)[0],
        dynamics_sentences(a)[0],
        articulation_sentences(a)[0],
        pedal_sentences(a)[0],
    ]
    if a.score is not None:
        out.append(notes_sentences(a)[0])
    return out


def unmeasurable_sentence(names: list[str]) -> str:
    return (
        f"I cannot judge {' or '.join(names)} from measurements. Enable the LLaQo model (put its checkpoints "
        "in ckpts/) for that."
    )


SENTENCES = {
    "tempo": tempo_sentences,
    "rhythm": rhythm_sentences,
    "dynamics": dynamics_sentences,
    "articulation": articulation_sentences,
    "pedal": pedal_sentences,
    "notes": notes_sentences,
    "practice": practice_sentences,
    "overall": overall_sentences,
}


def answer_sentences(a: Analysis, question: str, previous_question: str | None = None) -> list[str]:
    """Sentences answering `question`; a question naming no topic follows up the previous one, else is "overall"."""
    measured, unmeasured = topics(question)
    if not measured and not unmeasured and previous_question:
        measured, unmeasured = topics(previous_question)
    if unmeasured and "overall" in measured:
        measured.remove("overall")  # "how was the tone?" asks about tone, not for a full report
    if not measured and not unmeasured:
        measured = ["overall"]
    out = [f"Note: {c}." for c in a.cautions]
    if unmeasured:
        out.append(unmeasurable_sentence(unmeasured))
    seen = set()
    for topic in measured:
        lines = rating_sentences(a, question) if topic == "rating" else SENTENCES[topic](a)
        for line in lines:
            if line not in seen:
                seen.add(line)
                out.append(line)
    return out
