"""Grounded answers: a question -> what it asks (questions.parse) -> the part of the take it asks about
(scope.resolve_scope) -> sentences that cite the analysis JSON (sentences, advice).

answer() returns Sentence objects, each carrying the fields it cites (grounding.Cite), so every number in
an answer can be traced to a named field of Analysis.to_json() (tests/test_grounding.py checks this).
"""

from __future__ import annotations

from collections.abc import Sequence

from llaqo.lite.analysis import Analysis
from llaqo.lite.answers import advice, overview, sentences, verdicts
from llaqo.lite.answers.grounding import Citer, Sentence
from llaqo.lite.answers.questions import VERDICT_ONLY, Question, parse
from llaqo.lite.answers.scope import Span, place, resolve_scope
from llaqo.lite.config import LITE
from llaqo.lite.measures import articulation, chords, runs

HAND_AWARE = ("notes", "balance", "chords", "runs")  # topics answered for the asked hand or voice
OVERALL = ("tempo", "rhythm", "dynamics", "articulation", "pedal", "notes", "balance")
METHOD = {
    "short_ratio": articulation.SHORT_RATIO,
    "rolled_ms": chords.ROLLED_MS,
    "run_notes": runs.MIN_NOTES,
    "run_ioi_ms": 1000 * runs.FAST_IOI_S,
    "slow_share": LITE.slow_practice_share,
    "tempo_departure_pct": round(100 * LITE.tempo_departure),
    "loud_over_db": verdicts.LOUD_OVER_DB,
}
NOTHING_TO_REPLAY = (
    "I have not pointed to a passage yet: ask about a part of the take first (a bar, a phrase, a moment), then ask "
    "me to play it."
)


def document(measured: dict) -> dict:
    """The answer's document: the analysis JSON (shared, never modified: answers add only top-level keys) plus
    the method's named constants that answers state."""
    return {**measured, "method": dict(METHOD)}


def unmeasurable_sentence(c: Citer, names: tuple[str, ...]) -> Sentence:
    return c.say(
        f"I cannot judge {' or '.join(names)} from measurements. Enable the LLaQo model (put its checkpoints "
        "in ckpts/) for that."
    )


def topic_sentences(c: Citer, topic: str, span: Span, q: Question) -> list[Sentence]:
    if topic == "tempo":
        return sentences.tempo(c, span, compare="compare" in q.intents)
    if topic in ("notes", "balance", "chords"):
        return getattr(sentences, topic)(c, span, q.part)
    return getattr(sentences, topic)(c, span)


def answer(
    a: Analysis, question: str, previous: Sequence[str] = (), measured: dict | None = None
) -> tuple[list[Sentence], dict]:
    """Sentences answering `question` (a follow-up of the `previous` questions), and the document they cite.
    measured: a.to_json(), when the caller keeps it (the coach does), so it is not rebuilt per answer."""
    q = parse(question)
    if previous and question.strip():  # an empty question asks for the overall assessment, never a follow-up
        q = q.follow_up_of(parse(previous[-1]))
    c = Citer(document(a.to_json() if measured is None else measured))
    span = resolve_scope(q.scope, c.doc)
    # A yes/no or which-question is answered first; the measurements behind the verdict follow.
    found = verdicts.verdict(c, span, q) if q.claim else None
    out = [found] if found else []
    if q.claim in VERDICT_ONLY:  # "did I stop anywhere?", "play me bar 5": the verdict is the answer
        return out or [c.say(NOTHING_TO_REPLAY if q.claim == "replay" else "I found too few notes to tell.")], c.doc
    topics = OVERALL if "score" in c.doc else tuple(t for t in OVERALL if t != "notes")
    if not q.topics and not q.unmeasurable and q.intents == ("explain",) and not q.part:
        # The overall answer: the teacher's verdict and points first, the caveats after them.
        out += overview.overall(c, span, topics)
        if span.unresolved:
            out.append(c.say("Without a score I cannot count bars, so I judged the whole take."))
        out += [c.say(f"Note: {c(f'cautions[{i}]', 's')}.") for i in range(len(a.cautions))]
        return _say_how_bars_are_counted(c, out), c.doc
    out += [c.say(f"Note: {c(f'cautions[{i}]', 's')}.") for i in range(len(a.cautions))]
    if span.unresolved:
        out.append(c.say("Without a score I cannot count bars, so I judged the whole take."))
    elif not span.whole:
        judged = f"the {span.named}: {place(c, span, times=True)}" if span.named else place(c, span, times=True)
        out.append(c.say(f"I judged {judged}."))
    if q.part:
        out.append(c.say(f"You asked about the {q.part}."))
        both = [t for t in q.topics if t not in HAND_AWARE]
        if both:
            out.append(c.say(f"I measure the {' and '.join(both)} of both hands together, not of one hand."))
    if q.unmeasurable:
        out.append(unmeasurable_sentence(c, q.unmeasurable))
    if "priority" in q.intents:
        out += advice.priority(c, span, q.topics)
        return _say_how_bars_are_counted(c, out), c.doc
    if "rate" in q.intents:
        out += advice.rating(c, span, q.scale, q.topics)
    if not q.topics and not q.unmeasurable and q.intents == ("explain",):
        # an overall assessment of one hand: the first sentence of each topic
        seen: set[str] = set()
        for topic in topics:
            for s in topic_sentences(c, topic, span, q)[:1]:
                if s.text not in seen:
                    seen.add(s.text)
                    out.append(s)
    elif not {"rate", "plan"} <= set(q.intents):  # a rating with a plan is long enough without explanations
        if "compare" in q.intents and "dynamics" in q.topics:
            out.append(c.say("I do not read the score's dynamic markings, so here is what you played, bar by bar."))
        for topic in q.topics:
            out += topic_sentences(c, topic, span, q)
    if "plan" in q.intents:
        out += advice.plan(c, span, q.part)
    return _say_how_bars_are_counted(c, out), c.doc


def _say_how_bars_are_counted(c: Citer, out: list[Sentence]) -> list[Sentence]:
    """Without a score, bar numbers come from the heard grid: an answer citing them says so once, at its end."""
    if c.doc.get("score") or not c.doc.get("bars") or not any(p.bars for s in out for p in s.places):
        return out
    return [
        *out,
        c.say(
            f"(Bars are counted from the first downbeat I heard, at {c('metre.downbeats_s[0]', how='clock')}, "
            f"in {c('metre.name', 's')}.)"
        ),
    ]


def answer_sentences(
    a: Analysis, question: str, previous_question: str | None = None, measured: dict | None = None
) -> list[str]:
    """The answer's sentences as text."""
    found, _ = answer(a, question, [previous_question] if previous_question else [], measured)
    return [s.text for s in found]
