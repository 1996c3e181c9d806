"""The overall answer ("How was it?", or a recording sent without a question) in a teacher's voice: a verdict,
then the two or three problems that matter most in the advice's SEVERITY order, each with its place and a
way to practise, then what went well in one clause, then "Ask me about ..." for the rest.

The measurements themselves (dB, ms) stay in the answers that ask how much; here a number is a bar, a time,
a count or a tempo in BPM. Like every answer it cites what it states (grounding.py).
"""

from __future__ import annotations

import re

from llaqo.lite.answers import advice, sentences, session, style
from llaqo.lite.answers.grounding import Citer, Sentence
from llaqo.lite.answers.scope import Span, place
from llaqo.lite.config import LITE
from llaqo.lite.measures import chords

MAX_WORDS = 90  # the verdict, the points and what went well: what a teacher says before "ask me about"
MAX_POINTS = 3
MAX_FINE = 4  # things that went well, named in one clause
COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight")
THEN = ("First", "Then", "Also")
TOPIC_NAMES = {"rhythm": "timing"}  # a topic as "Ask me about" names it, where not by its own name


def words(text: str) -> int:
    return len(text.split())


def overall(c: Citer, span: Span, topics: tuple[str, ...]) -> list[Sentence]:
    """The overall answer on the span: verdict, points, what went well, "Ask me about" the other topics."""
    found = advice.problems(c, span)
    # A practice session says first where the player stopped and went back to.
    out = [c.say(_verdict(c, span, found)), *session.overview(c)]
    budget = MAX_WORDS - sum(words(s.text) for s in out)
    said = 0
    for i, p in enumerate(found[:MAX_POINTS]):
        pending = list(c.pending)
        text = f"{THEN[i]}, {p.said(c)}: {p.practise}."
        if i and words(text) > budget:
            c.pending = pending  # not said: its citations go with it
            break
        out.append(c.say(text))
        budget -= words(text)
        said += 1
    named = {p.topic for p in found[:said]}
    fine = _fine(c, span, {p.topic for p in found})
    while fine:
        pending = list(c.pending)
        text = f"What went well: {_listed([f(c) for f in fine])}."
        if words(text) <= budget:
            out.append(c.say(text))
            break
        c.pending = pending
        fine = fine[:-1]
    rest = [TOPIC_NAMES.get(t, t) for t in topics if t not in named]
    out.append(c.say(f"Ask me about the {_listed(rest, 'or')} in detail, or for a practice plan."))
    return out


def _verdict(c: Citer, span: Span, found: list[advice.Problem]) -> str:
    """One sentence: how the take (or the asked part) went, from the problems' points on a scale of 5."""
    named = span.named or "passage"
    if span.whole:
        what = "take"
    else:
        what = f"{named} in {place(c, span, times=True)}" if span.bars else f"{named} ({place(c, span)})"
    lost = sum(p.points for p in found)
    n = COUNT_WORDS[min(len(found), len(COUNT_WORDS) - 1)]
    things = f"{n} thing{'' if len(found) == 1 else 's'}"
    if not found:
        return f"A secure {what}: I found nothing that needs fixing."
    if lost <= 1.0:
        return f"A good {what}, with {things} to polish."
    if lost <= 2.0:
        return f"A fair {what}, with {things} to work on."
    return f"This {what} needs work: {things} stand out."


def _fine(c: Citer, span: Span, problems: set[str]) -> list:
    """What went well, as functions of the Citer that say it (cited when said), most telling first."""
    d, out = c.doc, []
    t = d["tempo"]
    if "tempo" not in problems and sum(span.holds(p[0]) for p in t["curve"]) >= 2:
        reason = style.invites_rubato(d) if t["label"] == "rubato" else None
        shape = f" with a rubato that suits {reason}" if reason else ""
        kind = "a tempo" if reason else f"a {t['label']} tempo"
        beats = [f"tempo.curve[{i}][1]" for i, p in enumerate(t["curve"]) if span.holds(p[0])]
        beats = ["tempo.bpm"] if span.whole else beats  # the take's tempo as the tempo answer says it
        out.append(lambda c: f"{kind} around {c.of('mean', beats)} BPM{shape}")
    if "notes" not in problems and "score" in d:
        out.append(lambda c: "the notes as written")
    if "rhythm" not in problems:
        out.append(lambda c: "even timing" if d["timing"]["jitter_ms"] <= LITE.jitter_even_ms else "mostly even timing")
    if "pedal" not in problems and d["pedal"]["label"] == "clean":
        out.append(lambda c: "clean pedalling" if not d["pedal"]["blurred_changes_s"] else "mostly clean pedalling")
    melody = d["balance"]["melody_minus_accompaniment_db"]
    if "balance" not in problems and melody is not None and melody >= sentences.MELODY_OVER_DB:
        out.append(lambda c: "a melody that comes through")
    if "dynamics" not in problems and d["dynamics"]["label"] != "flat":
        out.append(lambda c: "shaped dynamics")
    rows = [r for r in d["chords"]["chords"] if span.holds(r[0])]
    if "chords" not in problems and len(rows) >= 3 and sorted(r[1] for r in rows)[len(rows) // 2] <= chords.TOGETHER_MS:
        out.append(lambda c: "chords together")
    if "runs" not in problems and any(span.holds(r[0]) for r in d["runs"]["runs"]):
        out.append(lambda c: "even runs")
    return out[:MAX_FINE]


def _listed(items: list[str], last: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


VERDICT_OPENINGS = re.compile(r"^(A (secure|good|fair) |This .*needs work)")
TOPIC_WORDS = {  # how the overall answer's words name each problem
    "notes": r"played|left out|written",
    "tempo": r"tempo",
    "rhythm": r"even",
    "pedal": r"pedal",
    "chords": r"chord",
    "runs": r"run",
    "balance": r"melody",
    "dynamics": r"dynamics",
}
PLACE = re.compile(r"\bbars? \d+|\d+:\d\d")


def shortfalls(text: str, top: str | None) -> list[str]:
    """What the overall answer `text` lacks, as the tests and bench/overview_voice.py check it: a verdict first,
    at most MAX_WORDS words before "Ask me about", the top problem (an advice topic, None when none) named with
    its place, and no MIDI number, dB or ms. [] when it has all."""
    out = []
    if not VERDICT_OPENINGS.match(text):
        out.append("does not start with a verdict")
    before, ask, _ = text.partition("Ask me about")
    if not ask:
        out.append('no "Ask me about"')
    if words(before) > MAX_WORDS:
        out.append(f"{words(before)} words before 'Ask me about'")
    first = re.search(r"First, (.*?): ", before)  # the first point, up to its practice
    if top is not None and not (first and re.search(TOPIC_WORDS[top], first.group(1)) and PLACE.search(first.group(1))):
        out.append(f"does not name the top problem ({top}) and where")
    if top is None and "nothing that needs fixing" not in before:
        out.append("finds no problem but does not say so")
    if re.search(r"\bMIDI\b|[A-G][#b]?-?\d\s*\(\d+\)|\(\d{2,3}\)", text):
        out.append("shows a MIDI number")
    if re.search(r"\d\s*(dB|ms)\b", before):
        out.append("states dB or ms unasked")
    return out
