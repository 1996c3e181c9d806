"""Judgements over the measurements: a rating on the asked scale, the one most important problem, and a
practice plan. Problems are ranked by SEVERITY, most severe first: wrong notes, then an unsteady or rushed
tempo, uneven timing, blurred pedalling, chords not together, uneven runs, a melody that does not come
through, and flat dynamics. Each problem knows where it is, why it matters and how to practise it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llaqo.lite import chords, sentences
from llaqo.lite.grounding import Citer, Sentence
from llaqo.lite.scope import Span, place, where

SLOW_SHARE = 0.7  # slow practice at 70% of the played tempo (grounding.HOW["slow"])


@dataclass(frozen=True)
class Problem:
    """One measured problem: its topic, the points it costs on a scale of 5, and sentences saying where and
    why (built when cited) and how to practise it."""

    topic: str
    points: float
    why: Callable[[Citer], str]
    practise: str


def problems(c: Citer, span: Span) -> list[Problem]:
    """The measured problems of the take, in SEVERITY order."""
    d, out = c.doc, []
    s = d.get("score")
    if s and (s["wrong"] or s["missed"]):
        kind = "wrong" if s["wrong"] else "missed"
        acc = s["accuracy_pct"]
        out.append(Problem(
            "notes", 2.0 if acc < 90 else 1.0 if acc < 95 else 0.5,
            lambda c, kind=kind: f"{c('score.accuracy_pct')}% of the notes were as written, with the first "
            f"{kind} note in bar {c(f'score.{kind}[0].bar', 'd')} ({c(f'score.{kind}[0].time_s', how='clock')})",
            "play that bar and the next hands separately, slowly, until the notes are sure",
        ))  # fmt: skip
    t = d["tempo"]
    if (t["label"] in ("rushing", "rubato") or t["cv_pct"] > 6) and len(t["curve"]) >= 2:
        out.append(Problem(
            "tempo", 1.0 if t["label"] == "rushing" else 0.5,
            lambda c: f"your tempo was {c.get('tempo.label')}, with beat-to-beat variation of "
            f"{c('tempo.cv_pct', '.1f')}% around {c('tempo.bpm')} BPM, furthest from it at {_tempo_extreme(c)}",
            "keep a metronome click on every beat and count aloud",
        ))  # fmt: skip
    if d["timing"]["jitter_ms"] > sentences.JITTER_EVEN_MS:
        out.append(Problem(
            "rhythm", 1.0 if d["timing"]["jitter_ms"] > sentences.JITTER_UNEVEN_MS else 0.5,
            lambda c: f"your onsets sat {c('timing.jitter_ms')} ms (RMS) off their grid, from "
            f"{c('notes[0][0]', how='clock')} to {c(_last_onset(c), how='clock')}",
            "practise in dotted rhythms, then straight, with the metronome on the subdivision",
        ))  # fmt: skip
    if d["pedal"]["label"] == "blurred":
        out.append(Problem(
            "pedal", 0.5,
            lambda c: f"the pedal blurred the harmony at {where(c, 'pedal.blurred_changes_s[0]')} and "
            f"{c.of('count', _blurred(c), 'd')} changes in all",
            "lift the pedal exactly as the new harmony sounds and press it again just after; listen for clean bass",
        ))  # fmt: skip
    ch = d["chords"]
    if ch["n_chords"] >= 3 and ch["median_spread_ms"] > chords.TOGETHER_MS:
        out.append(Problem(
            "chords", 0.5,
            lambda c: f"your chords were spread by {c('chords.median_spread_ms')} ms (median), the widest at "
            f"{where(c, _widest_chord(c))}",
            "drop the whole hand into each chord from the key surface, slowly, listening for one sound",
        ))  # fmt: skip
    r = d["runs"]
    if r["n_runs"] and r["cv_pct"] >= 15:
        out.append(Problem(
            "runs", 0.5,
            lambda c: f"the notes of your fast runs were spaced unevenly, varying by {c('runs.cv_pct', '.1f')}%, "
            f"most in the run at {where(c, _least_even_run(c))}",
            "play the runs in rhythms (long-short, short-long) and in groups, at a slow metronome",
        ))  # fmt: skip
    m = d["balance"]["melody_minus_accompaniment_db"]
    if m is not None and m < sentences.MELODY_OVER_DB:
        out.append(Problem(
            "balance", 0.5,
            lambda c: f"the melody stood only {c('balance.melody_minus_accompaniment_db', '.1f')} dB above the "
            f"accompaniment, least at {where(c, _weakest_melody(c))}",
            "play the melody alone, singing, then add the accompaniment very softly under it",
        ))  # fmt: skip
    if d["dynamics"]["label"] == "flat":
        out.append(Problem(
            "dynamics", 0.5,
            lambda c: f"your dynamics stayed within {c('dynamics.range_db', '.1f')} dB from "
            f"{c('notes[0][0]', how='clock')} to the end",
            "mark where each phrase peaks and play it with a clear swell towards that point",
        ))  # fmt: skip
    return out


def _tempo_extreme(c: Citer) -> str:
    """Where the tempo strayed furthest from its mean: a bar with a score, else a beat's time."""
    bars = c.doc.get("score", {}).get("bars") or []
    timed = [i for i, b in enumerate(bars) if b["bpm"] is not None]
    mean = c.get("tempo.bpm")
    if timed:
        i = max(timed, key=lambda i: abs(bars[i]["bpm"] - mean))
        return f"bar {c(f'score.bars[{i}].bar', 'd')} ({c(f'score.bars[{i}].bpm')} BPM)"
    curve = c.get("tempo.curve")
    i = max(range(len(curve)), key=lambda i: abs(curve[i][1] - mean))
    return f"{c(f'tempo.curve[{i}][0]', how='clock')} ({c(f'tempo.curve[{i}][1]')} BPM)"


def _blurred(c: Citer) -> list[str]:
    return [f"pedal.blurred_changes_s[{i}]" for i in range(len(c.get("pedal.blurred_changes_s")))]


def _last_onset(c: Citer) -> str:
    return f"notes[{len(c.get('notes')) - 1}][0]"


def _widest_chord(c: Citer) -> str:
    rows = c.get("chords.chords")
    return f"chords.chords[{max(range(len(rows)), key=lambda i: rows[i][1])}][0]"


def _least_even_run(c: Citer) -> str:
    rows = c.get("runs.runs")
    return f"runs.runs[{max(range(len(rows)), key=lambda i: rows[i][4])}][0]"


def _weakest_melody(c: Citer) -> str:
    rows = c.get("balance.segments")
    voiced = [i for i, r in enumerate(rows) if r[3] is not None]
    return f"balance.segments[{min(voiced, key=lambda i: rows[i][3])}][0]"


def rating(c: Citer, span: Span, scale: int, topics: tuple[str, ...]) -> list[Sentence]:
    """A rating on 1..scale, shown with its reasoning: from the top, minus each problem's points (per 5)."""
    found = [p for p in problems(c, span) if not topics or p.topic in topics]
    unit = scale / 5
    deductions = [round(p.points * unit, 2) for p in found]
    value = max(1.0, scale - sum(deductions))
    c.doc["rating"] = {"scale": scale, "value": round(value, 2), "deductions": deductions}
    what = "" if not topics else f" for {', '.join(topics)}"
    out = [c.say(f"I would rate this {c('rating.value', 'g')} out of {c('rating.scale', 'd')}{what}.")]
    if not found:
        out.append(c.say(f"Reasoning: starting from {c('rating.scale', 'd')}, I measured no problem to deduct for."))
    else:
        parts = [f"-{c(f'rating.deductions[{i}]', 'g')} because {p.why(c)}" for i, p in enumerate(found)]
        out.append(c.say(f"Reasoning: starting from {c('rating.scale', 'd')}, " + "; ".join(parts) + "."))
    out.append(c.say("The rating covers what I measure (notes, timing, dynamics, pedal, balance), not tone."))
    return out


def _slow(c: Citer) -> str:
    return c("tempo.bpm", how="slow") if c.get("tempo.bpm") else ""


def priority(c: Citer, span: Span, topics: tuple[str, ...]) -> list[Sentence]:
    found = [p for p in problems(c, span) if not topics or p.topic in topics]
    if not found:
        return [c.say(
            f"Nothing stands out in what I measure{'' if span.whole else ' in ' + place(c, span)}. "
            + (f"Next step: play it at {c('tempo.bpm')} BPM again and record it, listening for a singing top line."
               if c.get("tempo.bpm") else "Next step: record a longer passage for a closer look.")
        )]  # fmt: skip
    p = found[0]
    why = p.why(c)
    slow = _slow(c)
    metronome = f", first at {slow} BPM ({c('method.slow_share', how='pct')}% of your tempo)" if slow else ""
    return [c.say(f"The one thing to fix first: {why}. Practise it this way: {p.practise}{metronome}.")]


def plan(c: Citer, span: Span, part: str | None) -> list[Sentence]:
    found = problems(c, span)
    where_ = "the whole piece" if span.whole else place(c, span)
    hands = f"the {part} alone" if part in ("left hand", "right hand") else "hands separately"
    out = []
    if c.get("tempo.bpm"):
        out.append(c.say(
            f"First play {where_} {hands}, slowly, with the metronome at {_slow(c)} BPM "
            f"({c('method.slow_share', how='pct')}% of your "
            f"{c('tempo.bpm')})."
        ))  # fmt: skip
    else:
        out.append(c.say(f"First play {where_} {hands}, slowly, with a metronome."))
    for p in found[:2]:
        out.append(c.say(f"Next, because {p.why(c)}: {p.practise}."))
    if not found:
        out.append(c.say(
            "I measured no clear problem, so next raise the metronome step by step back to your tempo and record "
            "yourself: listen for an even pulse and a melody that sings over the accompaniment."
        ))  # fmt: skip
    else:
        out.append(c.say(
            f"Finally hands together, raising the metronome step by step back to your tempo; listen for "
            f"{'clean harmony changes' if found[0].topic == 'pedal' else 'an even pulse and clear notes'}."
        ))  # fmt: skip
    return out
