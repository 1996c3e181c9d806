"""Verdicts: the direct answer to a question that asks to confirm or deny ("was I rushing?") or to choose
("which hand had more mistakes?", "which bar was worst?"), said before the measurements behind it.

verdict() returns one sentence that starts with "Yes:" or "No:" when the question was asked as yes or no,
and with the choice otherwise. Like every answer sentence it reads the analysis JSON only and cites each
number it states (grounding.py), and it judges inside the question's Span.
"""

from __future__ import annotations

from llaqo.lite.answers import sentences, session
from llaqo.lite.answers.grounding import Citer, Place, Sentence
from llaqo.lite.answers.questions import Question
from llaqo.lite.answers.scope import Span, bar_views, bars_path, place, score_events, where
from llaqo.lite.config import LITE

EDGE_BEATS = 4  # the start and end of a span: the mean of its first and last four beats
LOUD_OVER_DB = 6.0  # a bar this much above (or below) the take's median bar level jumps out
STOP_S = 1.0  # silence this long between notes, and ...
STOP_BEATS = 2.0  # ... this many beats of the median tempo, is a stop rather than a rest in the music
HANDS = ("right", "left")


def verdict(c: Citer, span: Span, q: Question) -> Sentence | None:
    """The verdict on q.claim inside span, or None when the measurements cannot give one."""
    judge = {
        "rushing": lambda: _tempo_drift(c, span, faster=True),
        "dragging": lambda: _tempo_drift(c, span, faster=False),
        "too fast": lambda: _against_marking(c, span, faster=True),
        "too slow": lambda: _against_marking(c, span, faster=False),
        "too loud": lambda: _level_outliers(c, span, louder=True),
        "too soft": lambda: _level_outliers(c, span, louder=False),
        "missed": lambda: _missed(c, span),
        "which hand": lambda: _which_hand(c, span),
        "worst bar": lambda: _worst_bar(c, span),
        "stopped": lambda: session.stops(c) or _stops(c, span),
        "second time": lambda: session.second_time(c),
        "replay": lambda: (None, f"here is {place(c, span, times=True)}.") if not span.whole else None,
    }[q.claim]
    found = judge()
    if found is None:
        return None
    yes, text = found
    if yes is None or not q.yes_no or q.claim == "replay":
        return c.say(text[0].upper() + text[1:])
    return c.say(("Yes: " if yes else "No: ") + text)


def _beats(c: Citer, span: Span) -> list[str]:
    return [f"tempo.curve[{i}][1]" for i, p in enumerate(c.get("tempo.curve")) if span.holds(p[0])]


def _stretches(c: Citer, span: Span, faster: bool) -> list[int]:
    """Curve indices inside the span where the player pushed ahead (faster) or held back: two beats in a row
    LITE.tempo_departure or more faster (slower) than the EDGE_BEATS beats before each. Against the beats just
    before, not the take's median, so a ritardando's first bars are not "ahead"."""
    bpm = [p[1] for p in c.get("tempo.curve")]
    limit = LITE.tempo_departure

    def off(k: int) -> bool:
        if k < EDGE_BEATS:
            return False
        before = sum(bpm[k - EDGE_BEATS : k]) / EDGE_BEATS
        return bpm[k] / before - 1 >= limit if faster else 1 - bpm[k] / before >= limit

    inside = [i for i, p in enumerate(c.get("tempo.curve")) if span.holds(p[0])]
    return [k for k in inside[:-1] if off(k) and off(k + 1) and not off(k - 1)]


def _tempo_drift(c: Citer, span: Span, faster: bool) -> tuple[bool, str] | None:
    """Rushing (faster) or dragging: the span's start against its end and against the rest of the take, and
    the stretches where the player pushed ahead (held back) of the beats before."""
    beats = _beats(c, span)
    if len(beats) < 2:
        return None
    k = min(EDGE_BEATS, max(1, len(beats) // 3))
    if span.whole:
        start, end = c.get("tempo.start_bpm"), c.get("tempo.end_bpm")
    else:
        start, end = (sum(c.get(p) for p in part) / len(part) for part in (beats[:k], beats[-k:]))

    def change() -> str:
        if span.whole:
            return f"from {c('tempo.start_bpm')} to {c('tempo.end_bpm')} BPM"
        return f"from {c.of('mean', beats[:k])} to {c.of('mean', beats[-k:])} BPM"

    limit = LITE.tempo_departure
    drifted = end / start - 1 >= limit if faster else 1 - end / start >= limit
    opposite = 1 - end / start >= limit if faster else end / start - 1 >= limit
    rest = [f"tempo.curve[{i}][1]" for i, p in enumerate(c.get("tempo.curve")) if not span.holds(p[0])]
    against_rest = False
    if not span.whole and len(rest) >= 2:
        inside, outside = (sum(c.get(p) for p in ps) / len(ps) for ps in (beats, rest))
        against_rest = (inside / outside - 1 >= limit) if faster else (1 - inside / outside >= limit)
    got = "faster" if faster else "slower"
    stretches = _stretches(c, span, faster)
    if not (drifted or against_rest or stretches):
        trend = ("slowed down" if faster else "sped up") if opposite else "held your tempo"
        pct = c("method.tempo_departure_pct", "d")
        return False, f"you {trend}, {change()}, and never got {pct}% or more {got} than the beats before."
    said = []
    if drifted or against_rest:
        said.append(f"you got {got}, {change()}")
    if against_rest:
        said.append(f"{place(c, span)} averaged {c.of('mean', beats)} BPM against {c.of('mean', rest)} for the rest")
    if stretches:
        listed = [
            f"{where(c, f'tempo.curve[{i}][0]')} ({c(f'tempo.curve[{i}][1]')} BPM)"
            for i in stretches[: sentences.MAX_PLACES]
        ]
        listed += [f"{len(stretches) - sentences.MAX_PLACES} more"] if len(stretches) > sentences.MAX_PLACES else []
        places = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"
        pct = c("method.tempo_departure_pct", "d")
        said.append(f"you {'pushed ahead' if faster else 'held back'} by {pct}% or more at {places}")
    return True, "; ".join(said) + "."


def _against_marking(c: Citer, span: Span, faster: bool) -> tuple[bool | None, str] | None:
    beats = _beats(c, span)
    if len(beats) < 2:
        return None
    mean = c.of("mean", beats)
    nominal = c.get("tempo.nominal_bpm")
    if not nominal:
        # An unsteady beat at a tempo the player chose is the sign that it is too fast for them yet; a
        # ritardando or accelerando varies on purpose.
        unsteady = c.get("tempo.cv_pct") > 100 * LITE.tempo_departure
        hint = faster and unsteady and c.get("tempo.label") not in ("ritardando", "accelerando")
        return None, (
            f"I have no marked tempo to judge that by (add a score with a tempo marking); at {mean} BPM your beat "
            f"varied by {c('tempo.cv_pct', '.1f')}% from beat to beat"
            + (", which suggests a tempo you do not yet control: take it slower." if hint else ".")
        )
    value = sum(c.get(p) for p in beats) / len(beats)
    off = value / nominal - 1 if faster else 1 - value / nominal
    if round(100 * abs(value / nominal - 1)) == 0:
        return False, f"at {mean} BPM you were on the marked {c('tempo.nominal_bpm')}."
    pct = c.of("pct_change", [*beats, "tempo.nominal_bpm"])
    if off >= LITE.tempo_departure:
        return True, (
            f"at {mean} BPM you were {pct}% {'faster' if faster else 'slower'} than the marked "
            f"{c('tempo.nominal_bpm')}."
        )
    if (value > nominal) != faster:
        side = "faster" if value > nominal else "slower"
        return False, f"at {mean} BPM you were {pct}% {side} than the marked {c('tempo.nominal_bpm')}."
    side = "faster" if faster else "slower"
    limit = c("method.tempo_departure_pct", "d")
    return False, f"at {mean} BPM you were {pct}% {side} than the marked {c('tempo.nominal_bpm')}, within {limit}%."


def _level_outliers(c: Citer, span: Span, louder: bool) -> tuple[bool, str] | None:
    """Bars (segments) LOUD_OVER_DB or more above (or below) the take's median level, and a heavy left hand."""
    segments = c.get("dynamics.segments")
    inside = [i for i, s in enumerate(segments) if span.holds(s[0] + 0.05)]
    if len(inside) < 2:
        return None
    levels = [f"dynamics.segments[{i}][2]" for i in range(len(segments))]
    median = sorted(c.get(p) for p in levels)[len(levels) // 2]
    sign = 1 if louder else -1
    out = [i for i in inside if sign * (segments[i][2] - median) >= LOUD_OVER_DB]
    out.sort(key=lambda i: -sign * segments[i][2])
    limit = c("method.loud_over_db")
    word = "above" if louder else "below"
    heavy = ""
    if louder and (rl := c.get("balance.right_minus_left_db")) is not None and -rl >= sentences.HEAVY_DB:
        gap = c("balance.right_minus_left_db", ".1f", how="abs")
        heavy = f"; and your left hand sounded {gap} dB louder than your right"
    how = "above_median" if louder else "below_median"
    if len(out) == 1:
        gap = c.of(how, [levels[out[0]], *levels], ".1f")
        return True, (
            f"{where(c, f'dynamics.segments[{out[0]}][0]')} was {gap} dB {word} your typical level, past the "
            f"{limit} dB at which a passage jumps out{heavy}."
        )
    if out:
        listed = [
            f"{where(c, f'dynamics.segments[{i}][0]')} by {c.of(how, [levels[i], *levels], '.1f')} dB"
            for i in out[: sentences.MAX_PLACES]
        ]
        listed += [f"{len(out) - sentences.MAX_PLACES} more"] if len(out) > sentences.MAX_PLACES else []
        n = c.of("count", [levels[i] for i in out], "d")
        places = f"{', '.join(listed[:-1])} and {listed[-1]}"
        return True, f"{n} places were {limit} dB or more {word} your typical level: {places}{heavy}."
    extreme = max(inside, key=lambda i: sign * segments[i][2])
    gap = c.of(how, [levels[extreme], *levels], ".1f")
    most = "loudest" if louder else "softest"
    text = (
        f"the {most} moment, {where(c, f'dynamics.segments[{extreme}][0]')}, was {gap} dB {word} your typical "
        f"level, under the {limit} dB at which a passage jumps out"
    )
    return (True, f"{text}{heavy}.") if heavy else (False, text + ".")


def _missed(c: Citer, span: Span) -> tuple[bool | None, str]:
    if "score" not in c.doc:
        return None, "without a score I cannot tell which notes were written, so not which you left out: add the score."
    missed = score_events(c.doc, span, ("missed",))
    scope = "" if span.whole else f" in {place(c, span)}"
    if not missed:
        s = c.doc["score"]
        if not scope and s["n_performed"] < s["n_notated"]:
            c.name(Place.of_bars(*s["performed_bars"]))
            scope = (
                f" in bars {c('score.performed_bars[0]', 'd')}-{c('score.performed_bars[1]', 'd')}, the part you played"
            )
        return False, f"I heard every written note{scope}."
    paths = [f"score.missed[{i}].time_s" for _, i in missed]
    listed = sentences.listed_deviations(c, missed, sentences.MAX_LISTED, named_kind=False)
    n = c.of("count", paths, "d")
    return True, f"you left out {n} written note{'' if len(missed) == 1 else 's'}{scope}: {listed}."


def _which_hand(c: Citer, span: Span) -> tuple[None, str]:
    if "score" not in c.doc:
        return None, "without a score I cannot tell which notes were wrong, nor in which hand: add the score."
    events = score_events(c.doc, span, ("wrong", "missed"))
    if not events:
        return None, "neither: I heard no wrong or missed notes" + ("" if span.whole else f" in {place(c, span)}") + "."
    s = c.doc["score"]
    by_hand = {h: [f"score.{k}[{i}].time_s" for k, i in events if s[k][i].get("hand") == h] for h in HANDS}
    if not any(by_hand.values()):
        return None, "the score does not say which hand plays which note, so I cannot split the mistakes by hand."
    right, left = (c.of("count", by_hand[h], "d") if by_hand[h] else "none" for h in HANDS)
    counts = f"{right} in the right hand and {left} in the left"
    if len(by_hand["right"]) == len(by_hand["left"]):
        lead = "both hands equally"
    else:
        lead = "the right hand" if len(by_hand["right"]) > len(by_hand["left"]) else "the left hand"
    listed = sentences.listed_deviations(c, events, sentences.MAX_LISTED)
    return None, (
        f"{lead}: of the wrong and missed notes, {counts} (extra notes belong to no hand in the score): {listed}."
    )


def _worst_bar(c: Citer, span: Span) -> tuple[None, str] | None:
    """The bar with the most wrong or missed notes; among equals, the one with more extra notes, then the one
    holding a blurred pedal change, then the one furthest from the median tempo."""
    views = bar_views(c.doc)
    chosen = [i for i in (span.bars if span.bars is not None else range(len(views))) if views[i]["bpm"] is not None]
    if not chosen:
        return None
    path = bars_path(c.doc)
    bpms = sorted(views[i]["bpm"] for i in chosen)
    median = bpms[len(bpms) // 2]
    blurred = c.get("pedal.blurred_changes_s")
    s = c.doc.get("score") or {"wrong": [], "missed": [], "extra": []}

    def found(i: int, kinds: tuple[str, ...]) -> list[tuple[str, int]]:
        return [(k, j) for k in kinds for j, e in enumerate(s[k]) if e.get("bar") == views[i]["bar"]]

    def events(i: int, kinds: tuple[str, ...]) -> list[str]:
        return [f"score.{k}[{j}].time_s" for k, j in found(i, kinds)]

    def key(i: int) -> tuple:
        blurs = sum(views[i]["start_s"] <= t < views[i]["end_s"] for t in blurred)
        wrong = len(events(i, ("wrong", "missed")))
        return wrong, len(events(i, ("extra",))), blurs, abs(views[i]["bpm"] / median - 1)

    worst = max(chosen, key=key)
    bar = f"{path}[{worst}]"
    wrong, extra, blur, departure = key(worst)
    reasons = []
    if wrong:
        reasons.append(
            f"{c.of('count', events(worst, ('wrong', 'missed')), 'd')} wrong or missed note{'' if wrong == 1 else 's'}"
        )
    if extra:
        reasons.append(f"{c.of('count', events(worst, ('extra',)), 'd')} extra note{'' if extra == 1 else 's'}")
    if blur:
        reasons.append("a blurred pedal change")
    if departure >= LITE.tempo_departure or not reasons:
        median_text = c.of("median", [f"{path}[{i}].bpm" for i in chosen])
        reasons.append(f"a tempo of {c(bar + '.bpm')} BPM against your median {median_text}")
    if not (wrong or extra or blur) and departure < LITE.tempo_departure:
        return None, f"no bar stood out; the least steady was bar {c.bar(bar + '.bar')}, with {reasons[0]}."
    listed = reasons[0] if len(reasons) == 1 else f"{', '.join(reasons[:-1])} and {reasons[-1]}"
    notes = found(worst, ("wrong", "missed", "extra"))
    named = f" ({sentences.listed_deviations(c, notes, sentences.MAX_LISTED)})" if notes else ""
    return None, f"bar {c.bar(bar + '.bar')} was the weakest: {listed}{named}."


def _stops(c: Citer, span: Span) -> tuple[bool, str] | None:
    """Silences inside the span, from the end of everything sounding to the next onset, of at least STOP_S and
    STOP_BEATS beats: where the player stopped, and for how long."""
    notes = c.get("notes")
    if len(notes) < 2:
        return None
    bpm = c.get("tempo.bpm") or 60.0
    shortest = max(STOP_S, STOP_BEATS * 60.0 / bpm)
    order = sorted(range(len(notes)), key=lambda i: notes[i][0])
    gaps, sounding = [], order[0]  # (restart, note sounding longest before it)
    for j in order[1:]:
        if span.holds(notes[j][0]):
            gaps.append((j, sounding))
        if notes[j][1] > notes[sounding][1]:
            sounding = j
    if not gaps:
        return None

    def gap(j: int, i: int) -> float:
        return notes[j][0] - notes[i][1]

    stops = [(j, i) for j, i in gaps if gap(j, i) >= shortest]
    if not stops:
        j, i = max(gaps, key=lambda g: gap(*g))
        longest = c.of("diff", [f"notes[{j}][0]", f"notes[{i}][1]"], ".1f") if gap(j, i) > 0 else "0"
        return False, f"you played through without stopping; the longest silence between notes was {longest} s."
    listed = [
        f"for {c.of('diff', [f'notes[{j}][0]', f'notes[{i}][1]'], '.1f')} s before {where(c, f'notes[{j}][0]')}"
        for j, i in stops[: sentences.MAX_PLACES]
    ]
    listed += [f"{len(stops) - sentences.MAX_PLACES} more times"] if len(stops) > sentences.MAX_PLACES else []
    said = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"
    return True, f"you stopped {said}."
