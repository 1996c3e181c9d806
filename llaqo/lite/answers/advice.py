"""Judgements over the measurements: a rating on the asked scale, the one most important problem, and a
practice plan. Problems are ranked by SEVERITY, most severe first: wrong notes, then an unsteady or rushed
tempo, uneven timing, blurred pedalling, chords not together, uneven runs, a melody that does not come
through, and flat dynamics. Each problem knows where it is, why it matters and how to practise it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from llaqo.lite.answers import sentences, session, style
from llaqo.lite.answers.grounding import Citer, Place, Sentence
from llaqo.lite.answers.scope import Span, bar_views, bars_path, place, score_events, where
from llaqo.lite.config import LITE
from llaqo.lite.measures import chords

SAID_LISTED = 2  # wrong or missed notes named in the overall answer's few words; the rest are counted by bar
TEMPO_SAID = {  # tempo.label -> the problem in words
    "rushing": "the tempo ran ahead",
    "rubato": "the tempo pulled about more than the music asks",
    "accelerando": "the tempo crept up",
    "ritardando": "the tempo sagged",
}


@dataclass(frozen=True)
class Problem:
    """One measured problem: its topic, the points it costs on a scale of 5, and sentences saying where and
    why (built when cited) and how to practise it."""

    topic: str
    points: float
    why: Callable[[Citer], str]
    """The measurements behind it, where they are worst (the rating, the one thing to fix, the plan)."""
    practise: str
    said: Callable[[Citer], str]
    """The problem in a teacher's words with its place, no dB or ms (the overall answer: answers/overview.py)."""


def problems(c: Citer, span: Span) -> list[Problem]:
    """The measured problems inside the span, in SEVERITY order. Timing and flat dynamics are measured over the
    whole take only, so they count for any span."""
    d, out = c.doc, []
    s = d.get("score")
    if s:
        errors = score_events(d, span, ("wrong", "missed"))
        if errors:
            acc = s["accuracy_pct"]
            out.append(Problem(
                "notes", 2.0 if acc < 90 else 1.0 if acc < 95 else 0.5,
                lambda c, e=errors: _notes_why(c, span, e),
                "play that bar and the next hands separately, slowly, until the notes are sure",
                lambda c, e=errors: _notes_said(c, e),
            ))  # fmt: skip
    t = d["tempo"]
    beats = [i for i, p in enumerate(t["curve"]) if span.holds(p[0])]
    # Rubato is the style in a waltz or a nocturne, never a fault there; rushing is a fault anywhere.
    asked = t["label"] == "rubato" and style.invites_rubato(d)
    if (t["label"] in ("rushing", "rubato") or t["cv_pct"] > 6) and len(beats) >= 2 and not asked:
        out.append(Problem(
            "tempo", 1.0 if t["label"] == "rushing" else 0.5,
            lambda c: f"your tempo was {c.get('tempo.label')}, with beat-to-beat variation of "
            f"{c('tempo.cv_pct', '.1f')}% around {c('tempo.bpm')} BPM, furthest from it at {_tempo_extreme(c, span)}"
            + (", more than this music asks for" if t["label"] == "rubato" else ""),
            "keep a metronome click on every beat and count aloud",
            lambda c: f"{TEMPO_SAID.get(t['label'], 'the tempo wandered')}, most at {_tempo_extreme(c, span)}",
        ))  # fmt: skip
    if d["timing"]["jitter_ms"] > LITE.jitter_even_ms:
        out.append(Problem(
            "rhythm", 1.0 if d["timing"]["jitter_ms"] > LITE.jitter_uneven_ms else 0.5,
            lambda c: f"your onsets sat {c('timing.jitter_ms')} ms (RMS) off their grid over the whole take, from "
            f"{_played(c, ' to ')}",
            "practise in dotted rhythms, then straight, with the metronome on the subdivision",
            lambda c: f"the notes were not evenly placed, all through the take ({_played(c, '-')})",
        ))  # fmt: skip
    blurred = [f"pedal.blurred_changes_s[{i}]" for i, x in enumerate(d["pedal"]["blurred_changes_s"]) if span.holds(x)]
    if d["pedal"]["label"] == "blurred" and blurred:
        out.append(Problem(
            "pedal", 0.5,
            lambda c: f"the pedal blurred the harmony at {c.of('count', blurred, 'd')} harmony "
            f"change{'' if len(blurred) == 1 else 's'}, first at {where(c, blurred[0])}",
            "lift the pedal exactly as the new harmony sounds and press it again just after; listen for clean bass",
            lambda c: f"the pedal blurred {c.of('count', blurred, 'd')} harmony "
            f"change{'' if len(blurred) == 1 else 's'}, first at {where(c, blurred[0])}",
        ))  # fmt: skip
    rows = d["chords"]["chords"]
    spreads = [f"chords.chords[{i}][1]" for i, r in enumerate(rows) if span.holds(r[0])]
    if len(spreads) >= 3 and sorted(c.get(p) for p in spreads)[len(spreads) // 2] > chords.TOGETHER_MS:
        out.append(Problem(
            "chords", 0.5,
            lambda c: f"your chords were spread by {c.of('median', spreads)} ms (median), the widest at "
            f"{where(c, _widest(c, spreads))}",
            "drop the whole hand into each chord from the key surface, slowly, listening for one sound",
            lambda c: f"the chords were not together, most at {where(c, _widest(c, spreads))}",
        ))  # fmt: skip
    uneven = [f"runs.runs[{i}][4]" for i, r in enumerate(d["runs"]["runs"]) if span.holds(r[0])]
    if uneven and sum(c.get(p) for p in uneven) / len(uneven) >= LITE.run_uneven_cv_pct:
        out.append(Problem(
            "runs", 0.5,
            lambda c: f"the notes of your fast runs were spaced unevenly, varying by {c.of('mean', uneven, '.1f')}%, "
            f"most in the run at {where(c, _widest(c, uneven))}",
            "play the runs in rhythms (long-short, short-long) and in groups, at a slow metronome",
            lambda c: f"the fast runs were uneven, most at {where(c, _widest(c, uneven))}",
        ))  # fmt: skip
    voiced = [f"balance.segments[{i}][3]" for i, r in enumerate(d["balance"]["segments"])
              if r[3] is not None and span.holds(r[0] + 0.05)]  # fmt: skip
    # Over the whole take, the take's own figure, as the balance answer cites it: one number in every answer.
    whole = span.whole and d["balance"]["melody_minus_accompaniment_db"] is not None
    judged = ["balance.melody_minus_accompaniment_db"] if whole else voiced
    if voiced and sum(c.get(p) for p in judged) / len(judged) < sentences.MELODY_OVER_DB:
        out.append(Problem(
            "balance", 0.5,
            lambda c: f"{_melody_against(c, judged)}, least at {where(c, _weakest(c, voiced))}",
            "play the melody alone, singing, then add the accompaniment very softly under it",
            lambda c: f"the melody did not stand out over the accompaniment, least at {where(c, _weakest(c, voiced))}",
        ))  # fmt: skip
    if d["dynamics"]["label"] == "flat":
        out.append(Problem(
            "dynamics", 0.5,
            lambda c: f"your dynamics stayed within {c('dynamics.range_db', '.1f')} dB over the whole take",
            "mark where each phrase peaks and play it with a clear swell towards that point",
            lambda c: f"the dynamics stayed flat from start to end ({_played(c, '-')}), with no clear swell or "
            "contrast",
        ))  # fmt: skip
    return out


def _notes_said(c: Citer, errors: list[tuple[str, int]]) -> str:
    """The first wrong or missed note by name and bar, then the next ones up to SAID_LISTED in all, then how many
    more and where (the overall answer has a word budget: answers/overview.py)."""
    errors = sorted(errors, key=lambda e: c.get(f"score.{e[0]}[{e[1]}].time_s"))
    kind, i = errors[0]
    e = f"score.{kind}[{i}]"
    at = f"in bar {c.bar(e + '.bar')} ({c(e + '.time_s', how='clock')})"
    if kind == "wrong":
        played, written = c(e + ".played_pitch", how="note"), c(e + ".notated_pitch", how="note")
        first = f"{at} you played {played} where {written} is written"
    else:
        first = f"{at} you left out the written {c(e + '.pitch', how='note')}"
    if len(errors) == 1:
        return first
    return f"{first}, then {sentences.listed_deviations(c, errors[1:], SAID_LISTED - 1)}"


def _melody_against(c: Citer, judged: list[str]) -> str:
    if sum(c.get(p) for p in judged) >= 0:
        return f"the melody stood only {c.of('mean', judged, '.1f')} dB above the accompaniment"
    return f"the melody was {c.of('absmean', judged, '.1f')} dB below the accompaniment"


def _notes_why(c: Citer, span: Span, errors: list[tuple[str, int]]) -> str:
    listed = sentences.listed_deviations(c, errors, sentences.MAX_LISTED)
    if span.whole:
        return f"{c('score.accuracy_pct')}% of the notes were as written: {listed}"
    paths = [f"score.{k}[{j}].time_s" for k, j in errors]
    return f"I heard {c.of('count', paths, 'd')} wrong or missed notes in {place(c, span)}: {listed}"


def _tempo_extreme(c: Citer, span: Span) -> str:
    """Where in the span the tempo strayed furthest from its mean: a bar where bars are counted, else a beat's
    time."""
    bars = bar_views(c.doc)
    timed = [i for i in (span.bars if span.bars is not None else range(len(bars))) if bars[i]["bpm"] is not None]
    mean = c.get("tempo.bpm")
    if timed:
        i = max(timed, key=lambda i: abs(bars[i]["bpm"] - mean))
        view = f"{bars_path(c.doc)}[{i}]"
        return f"bar {c.bar(view + '.bar')} ({c(view + '.bpm')} BPM)"
    curve = c.get("tempo.curve")
    beats = [i for i, p in enumerate(curve) if span.holds(p[0])]
    i = max(beats, key=lambda i: abs(curve[i][1] - mean))
    c.name(Place.of_time(curve[i][0]))
    return f"{c(f'tempo.curve[{i}][0]', how='clock')} ({c(f'tempo.curve[{i}][1]')} BPM)"


def _played(c: Citer, between: str) -> str:
    """The played part of the take, from its first onset to its last, cited: "0:01-0:45". It is the whole take,
    not a place in it, so it names no place (a clip of it would swallow the places the answer does name)."""
    last = f"notes[{len(c.get('notes')) - 1}][0]"
    return f"{c('notes[0][0]', how='clock')}{between}{c(last, how='clock')}"


def _widest(c: Citer, paths: list[str]) -> str:
    """Of "rows[i][k]" paths, the time ("rows[i][0]") of the row with the largest value."""
    return re.sub(r"\[\d+\]$", "[0]", max(paths, key=c.get))


def _weakest(c: Citer, paths: list[str]) -> str:
    return re.sub(r"\[\d+\]$", "[0]", min(paths, key=c.get))


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
    reason = style.invites_rubato(c.doc)
    if reason and c.doc["tempo"]["label"] == "rubato" and (not topics or "tempo" in topics):
        out.append(c.say(f"I did not deduct for the rubato: {reason} asks for a flexible tempo."))
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
    stopped = session.stop_practice(c) if span.whole else None  # a practice session: where it broke down
    out += [stopped] if stopped else []
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
