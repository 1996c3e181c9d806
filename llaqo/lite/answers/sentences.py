"""Sentences per topic, restricted to a Span and a hand or voice, each citing what it states (grounding.py).

Builders read the analysis JSON (c.doc) only, so an answer can be checked against it. Tempo, dynamics,
balance, chords, runs, pedal and notes are judged inside the span; timing and articulation are measured
over the whole take only, and say so when a part was asked about.
"""

from __future__ import annotations

from llaqo.lite.answers import session
from llaqo.lite.answers.grounding import Citer, Place, Sentence
from llaqo.lite.answers.scope import Span, place, where
from llaqo.lite.config import LITE

MELODY_OVER_DB = 3.0  # a melody this much above its accompaniment stands out
HEAVY_DB = 3.0  # a left hand (accompaniment) this much above the right (melody) covers it
MAX_PLACES = 3
MAX_LISTED = 8  # deviations described one by one; beyond this an answer says how many more, and where
COUNTED = {  # metre.beat_unit / metre.alternative.unit -> what a listener counts
    "quarter": "quarter notes",
    "dotted quarter": "dotted quarters",
    "eighth": "eighths",
    "half": "half notes",
    "bar": "whole bars",
}
UNSURE_ERROR_SHARE = 0.1  # more score differences than this share of the notated notes: say they may be ours


def _in(span: Span, items: list, time_of) -> list[int]:
    return [i for i, item in enumerate(items) if span.holds(time_of(item))]


def tempo(c: Citer, span: Span, compare: bool = False) -> list[Sentence]:
    t = c.doc["tempo"]
    points = _in(span, t["curve"], lambda p: p[0])
    if len(points) < 2:
        return [c.say("Too few beats were found there to measure a tempo.")]
    nominal = t["nominal_bpm"]
    out = []
    if span.whole:
        against = f" against the notated {c('tempo.nominal_bpm')}" if nominal else ""
        out.append(c.say(
            f"Your tempo was {t['label']}: the average was {c('tempo.bpm')} BPM{against}, starting at "
            f"{c('tempo.start_bpm')} and ending at {c('tempo.end_bpm')}, with beat-to-beat variation of "
            f"{c('tempo.cv_pct', '.1f')}%."
        ))  # fmt: skip
    else:
        bpms = [f"tempo.curve[{i}][1]" for i in points]
        out.append(c.say(
            f"In {place(c, span)} the beats averaged {c.of('mean', bpms)} BPM, between {c.of('min', bpms)} "
            f"and {c.of('max', bpms)}" + (f", against the notated {c('tempo.nominal_bpm')}." if nominal else ".")
        ))  # fmt: skip
    bpms = [f"tempo.curve[{i}][1]" for i in points]
    if nominal:
        mean = sum(c.get(p) for p in bpms) / len(bpms)
        if compare or abs(mean / nominal - 1) >= LITE.tempo_departure:
            faster = "faster" if mean > nominal else "slower"
            out.append(c.say(
                f"That is {c.of('pct_change', [*bpms, 'tempo.nominal_bpm'])}% {faster} than the marked "
                f"{c('tempo.nominal_bpm')} BPM."
            ))  # fmt: skip
    elif compare:
        out.append(c.say("I have no marked tempo to compare with: add a score with a tempo marking."))
    metre = c.doc.get("metre")
    if t["source"] == "audio" and metre:
        alternative = metre["alternative"]
        out.append(c.say(
            f"About {c('tempo.bpm')} BPM (counting {COUNTED[metre['beat_unit']]}; {c('metre.alternative.bpm')} if "
            f"you count {COUNTED[alternative['unit']]}), in {c('metre.name', 's')} as I hear it."
        ))  # fmt: skip
    elif t["source"] == "audio":
        out.append(c.say(
            "Without a score the beat is taken from the recording, so the tempo could be double or half of how "
            "you count it."
        ))  # fmt: skip
    return out


def rhythm(c: Citer, span: Span) -> list[Sentence]:
    j = c.doc["timing"]["jitter_ms"]
    even, audible = LITE.jitter_even_ms, LITE.jitter_uneven_ms
    verdict = "evenly placed" if j <= even else "mostly even" if j <= audible else "audibly uneven"
    basis = "where the score puts them on your tempo curve" if "score" in c.doc else "an even subdivision of the beat"
    whole = "" if span.whole else " (measured over the whole take)"
    return [c.say(f"Your notes were {verdict}{whole}: onsets sit {c('timing.jitter_ms')} ms (RMS) from {basis}.")]


def dynamics(c: Citer, span: Span) -> list[Sentence]:
    d = c.doc["dynamics"]
    segs = _in(span, d["segments"], lambda s: s[0] + 0.05)
    if span.whole:
        out = [c.say(f"Your dynamics were {d['label']}: the levels span {c('dynamics.range_db', '.1f')} dB.")]
    elif not segs:
        return [c.say(f"I found no notes to measure in {place(c, span)}.")]
    else:
        inside = [f"dynamics.segments[{i}][2]" for i in segs]
        rest = [f"dynamics.segments[{i}][2]" for i in range(len(d["segments"])) if i not in segs]
        mean = sum(c.get(p) for p in inside) / len(inside)
        out = [c.say(f"In {place(c, span)} your notes averaged {c.of('mean', inside, '.1f')} dB.")]
        if rest:
            other = sum(c.get(p) for p in rest) / len(rest)
            trend = "louder" if mean > other + 1 else "softer" if mean < other - 1 else "about as loud"
            out.append(c.say(
                f"The rest of the take averaged {c.of('mean', rest, '.1f')} dB, so there you played {trend}."
            ))  # fmt: skip
        if len(inside) >= 2:
            change = c.get(inside[-1]) - c.get(inside[0])
            trend = "grew louder" if change > 1 else "grew softer" if change < -1 else "held steady"
            out.append(c.say(
                f"Within it the level {trend}, from {c(inside[0], '.1f')} dB to {c(inside[-1], '.1f')} dB."
            ))  # fmt: skip
    if len(segs) >= 2:
        levels = [c.get(f"dynamics.segments[{i}][2]") for i in segs]
        loud, soft = segs[levels.index(max(levels))], segs[levels.index(min(levels))]
        out.append(c.say(
            f"The loudest point was {where(c, f'dynamics.segments[{loud}][0]')} and the softest "
            f"{where(c, f'dynamics.segments[{soft}][0]')}."
        ))  # fmt: skip
    return out


def articulation(c: Citer, span: Span) -> list[Sentence]:
    a = c.doc["articulation"]
    whole = "" if span.whole else " over the whole take"
    out = [c.say(
        f"Your articulation was {a['label']}{whole}: {c('articulation.short_share', how='pct')}% of notes were held "
        f"for less than {c('method.short_ratio', how='pct')}% of their written length."
    )]  # fmt: skip
    if c.doc["pedal"]["label"] != "none" and a["label"] != "staccato":
        # Under a held pedal the strings keep sounding after the key is released, so a detached touch there
        # is inaudible: the measure leaves those notes out unless the transcription's ends there follow the keys
        # (articulation.ends_tracked).
        out.append(c.say(
            "You used the sustain pedal, which keeps notes sounding after the key is released, so notes played "
            "detached under the pedal cannot be heard as detached: I judged your touch by the notes released "
            "outside it, and by the transcription's key releases under it only where they told held notes "
            "from released ones."
        ))  # fmt: skip
    return out


def pedal(c: Citer, span: Span) -> list[Sentence]:
    p = c.doc["pedal"]
    changes = _in(span, p["harmony_changes_s"], lambda t: t)
    blurred = _in(span, p["blurred_changes_s"], lambda t: t)
    label = {"none": "little or no sustain pedal", "clean": "clean pedalling", "blurred": "blurred pedalling"}
    held = "of notes kept sounding well past their written end"
    if p["label"] == "none" and round(100 * p["sustained_share"]) == 0:
        out = [c.say("I hear no sustain pedal: no note kept sounding well past its written end.")]
    elif p["label"] == "none":
        out = [c.say(f"I hear little or no sustain pedal: only {c('pedal.sustained_share', how='pct')}% {held}.")]
    else:
        # "Clean" with a blurred change somewhere is mostly clean: never "clean" beside "blurred at bar 2".
        said = "mostly clean pedalling" if p["label"] == "clean" and p["blurred_changes_s"] else label[p["label"]]
        out = [c.say(f"I hear {said}: {c('pedal.sustained_share', how='pct')}% {held}.")]
    if changes:
        counted = [f"pedal.harmony_changes_s[{i}]" for i in changes]
        blurs = [f"pedal.blurred_changes_s[{i}]" for i in blurred]
        n_blur = c.of("count", blurs, "d") if blurs else "none"
        n_all = c.of("count", counted, "d")
        part = "" if span.whole else f" in {place(c, span)}"
        out.append(
            c.say(f"{n_blur.capitalize()} of the {n_all} harmony changes{part} carried the previous harmony over.")
        )
    elif not span.whole:
        out.append(c.say(f"I found no harmony change in {place(c, span)} to judge the pedal by."))
    if blurred:
        places = ", ".join(where(c, f"pedal.blurred_changes_s[{i}]") for i in blurred[:MAX_PLACES])
        out.append(c.say(f"The pedal blurred at {places}: change it as the harmony changes there."))
    # What the transcriber heard of the pedal itself: presses held through a change, and clean changes.
    held_through = _in(span, p.get("held_changes_s", []), lambda t: t)
    if held_through:
        places = ", ".join(where(c, f"pedal.held_changes_s[{i}]") for i in held_through[:MAX_PLACES])
        out.append(c.say(f"I heard the pedal held down through the harmony change at {places}."))
    released = _in(span, p.get("released_changes_s", []), lambda t: t)
    if p["label"] != "none" and released:
        places = ", ".join(where(c, f"pedal.released_changes_s[{i}]") for i in released[:MAX_PLACES])
        out.append(c.say(f"You changed the pedal cleanly at {places}."))
    return out


def notes(c: Citer, span: Span, part: str | None) -> list[Sentence]:
    if "score" not in c.doc:
        inside = [f"notes[{i}][0]" for i, n in enumerate(c.doc["notes"]) if span.holds(n[0])]
        heard = c.of("count", inside, "d") if inside else "no"
        return [c.say(
            f"I heard {heard} notes{'' if span.whole else ' in ' + place(c, span)}, but without a score I cannot tell "
            "which are wrong: add the score (MIDI or MusicXML)."
        )]  # fmt: skip
    s = c.doc["score"]
    bar_numbers = {s["bars"][i]["bar"] for i in span.bars} if span.bars else None
    hand = {"right hand": "right", "melody": "right", "left hand": "left", "bass": "left"}.get(part or "")
    known = hand is not None and any("hand" in e for kind in ("wrong", "missed") for e in s[kind])
    events = [
        (kind, i)
        for kind in ("wrong", "missed", "extra")
        for i, e in enumerate(s[kind])
        if (bar_numbers is None or e.get("bar") in bar_numbers) and (not known or e.get("hand") == hand)
    ]
    out = []
    if known:
        out.append(
            c.say(f"I counted the {part}'s mistakes (the score's staves give the hands; extra notes have none).")
        )
    elif hand is not None:
        out.append(c.say("The score does not say which hand plays which note, so these are both hands' mistakes."))
    if s["n_performed"] < s["n_notated"]:
        c.name(Place.of_bars(*s["performed_bars"]))
        out.append(c.say(
            f"The recording covers bars {c('score.performed_bars[0]', 'd')}-{c('score.performed_bars[1]', 'd')} of "
            f"the score ({c('score.n_performed', 'd')} of its {c('score.n_notated', 'd')} notes), so I checked those "
            "bars only."
        ))  # fmt: skip
    if span.whole:
        out.append(c.say(
            f"Of the {c('score.n_performed', 'd')} notated notes you played, {c('score.accuracy_pct')}% were as "
            "written."
        ))  # fmt: skip
    if not events:
        where_ = "" if span.whole else f" in {place(c, span)}"
        kinds = f"wrong or missed notes in the {part}" if known else "wrong, missed or extra notes"
        out.append(c.say(f"I heard no {kinds}{where_}."))
        return out
    counts = []
    for kind in ("wrong", "missed", "extra"):
        paths = [f"score.{k}[{i}].time_s" for k, i in events if k == kind]
        if paths:
            counts.append(f"{c.of('count', paths, 'd')} {kind} note{'' if len(paths) == 1 else 's'}")
    where_ = "" if span.whole else f" in {place(c, span)}"
    listed = counts[0] if len(counts) == 1 else f"{', '.join(counts[:-1])} and {counts[-1]}"
    out.append(c.say(f"I heard {listed}{where_}."))
    n_all = len(s["wrong"]) + len(s["missed"]) + len(s["extra"])
    if s["n_performed"] and n_all / s["n_performed"] > UNSURE_ERROR_SHARE:
        # Errors are inferred from a transcription, which misses more notes on an unfamiliar piano or in a
        # noisy room; many differences are as likely to be the listener's as the player's.
        out.append(c.say(
            "That is a lot of differences for one take. Some may be notes the transcription missed (it hears some "
            "pianos and rooms less well), so check these places by ear before you practise them."
        ))  # fmt: skip
    if not any(kind == "missed" for kind, _ in events):
        out.append(c.say(f"No written note was left out{'' if span.whole else ' in ' + place(c, span)}."))
    for kind, i in events[:MAX_LISTED]:
        out.append(_deviation(c, kind, i))
    if len(events) > MAX_LISTED:
        paths = [f"score.{kind}[{i}].time_s" for kind, i in events[MAX_LISTED:]]
        out.append(c.say(f"And {c.of('count', paths, 'd')} more, in {cited_bars(c, events[MAX_LISTED:])}."))
    return out


def _deviation(c: Citer, kind: str, i: int) -> Sentence:
    """One wrong, missed or extra note: where, which hand (when the score says), and the pitches by name."""
    e = f"score.{kind}[{i}]"
    at = f"bar {c.bar(e + '.bar')}{session.time_through(c, e)} ({c(e + '.time_s', how='clock')})"
    hand = c.get(e).get("hand")
    who = f"the {hand} hand" if hand else "you"
    if kind == "wrong":
        return c.say(
            f"In {at} {who} played {c(e + '.played_pitch', how='note')} where {c(e + '.notated_pitch', how='note')} "
            "is written."
        )
    if kind == "missed":
        return c.say(f"In {at} {who} left out the written {c(e + '.pitch', how='note')}.")
    return c.say(f"In {at} I heard an extra {c(e + '.pitch', how='note')}.")


def deviation_clause(c: Citer, kind: str, i: int, named_kind: bool = True) -> str:
    """One wrong, missed or extra note in a clause, by name in the take's key, with its hand and place: "the left
    hand's F4 for E4 in bar 1 (0:01)", "the right hand's A4 left out in bar 2 (0:03)" ("left out" only when
    named_kind: a list of missed notes alone says it once), "an extra E5 in bar 4 (0:07)"."""
    e = f"score.{kind}[{i}]"
    at = f"in bar {c.bar(e + '.bar')}{session.time_through(c, e)} ({c(e + '.time_s', how='clock')})"
    hand = c.get(e).get("hand")
    whose = f"the {hand} hand's " if hand else ""
    if kind == "wrong":
        return f"{whose}{c(e + '.played_pitch', how='note')} for {c(e + '.notated_pitch', how='note')} {at}"
    if kind == "missed":
        return f"{whose}{c(e + '.pitch', how='note')}{' left out' if named_kind else ''} {at}"
    return f"an extra {c(e + '.pitch', how='note')} {at}"


def listed_deviations(c: Citer, events: list[tuple[str, int]], limit: int, named_kind: bool = True) -> str:
    """The events (kind, index) named one by one in time order up to `limit`, then how many more and in which
    bars: "F4 for E4 in bar 1 (0:01), an extra E5 in bar 4 (0:07) and 3 more in bars 12-14"."""
    events = sorted(events, key=lambda e: c.get(f"score.{e[0]}[{e[1]}].time_s"))
    named = [deviation_clause(c, kind, i, named_kind) for kind, i in events[:limit]]
    if len(events) > limit:
        rest = events[limit:]
        named.append(f"{c.of('count', [f'score.{k}[{i}].time_s' for k, i in rest], 'd')} more in {cited_bars(c, rest)}")
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"


def cited_bars(c: Citer, events: list[tuple[str, int]]) -> str:
    """ "bars 12-14" for the events' first and last bars, cited and named as a place."""
    paths = [f"score.{kind}[{i}].bar" for kind, i in events]
    first, last = c.of("min", paths, "d"), c.of("max", paths, "d")
    c.name(Place.of_bars(int(first), int(last)))
    return f"bar {first}" if first == last else f"bars {first}-{last}"


def balance(c: Citer, span: Span, part: str | None) -> list[Sentence]:
    b = c.doc["balance"]
    segs = _in(span, b["segments"], lambda s: s[0] + 0.05)
    out = []
    hands = [f"balance.segments[{i}][2]" for i in segs if b["segments"][i][2] is not None]
    voices = [f"balance.segments[{i}][3]" for i in segs if b["segments"][i][3] is not None]
    scope = "" if span.whole else f" in {place(c, span)}"
    whole_hands, whole_voices = "balance.right_minus_left_db", "balance.melody_minus_accompaniment_db"
    if span.whole and b["right_minus_left_db"] is not None:
        hands = [whole_hands]
    voices_whole = [whole_voices] if span.whole and b["melody_minus_accompaniment_db"] is not None else None
    if hands:
        value = sum(c.get(p) for p in hands) / len(hands)
        louder, softer = ("right hand", "left hand") if value >= 0 else ("left hand", "right hand")
        out.append(c.say(
            f"Your {louder} sounded {c.of('absmean', hands, '.1f')} dB louder than your {softer}{scope} "
            "(the hands taken from the score's staves)."
        ))  # fmt: skip
        if louder == "left hand" and abs(value) >= HEAVY_DB:
            out.append(c.say("The left hand is heavy: let the right hand lead."))
        elif part in ("left hand", "bass", "accompaniment") and louder == "right hand":
            out.append(c.say(f"So the {part} is not too heavy: it stays under the right hand."))
    if voices:
        judged = voices_whole or voices
        value = sum(c.get(p) for p in judged) / len(judged)
        if value >= 0:
            text = f"The melody (top voice) stood {c.of('mean', judged, '.1f')} dB above the accompaniment{scope}"
        else:
            text = f"The melody (top voice) was {c.of('absmean', judged, '.1f')} dB below the accompaniment{scope}"
        verdict = "so it comes through" if value >= MELODY_OVER_DB else "so it does not stand out: bring it out"
        out.append(c.say(f"{text}, {verdict}."))
        if len(voices) >= 3:
            weakest = min(voices, key=c.get)
            i = int(weakest.split("[")[1].split("]")[0])
            out.append(c.say(
                f"It was weakest at {where(c, f'balance.segments[{i}][0]')}, {c(weakest, '.1f')} dB against the "
                "accompaniment."
            ))  # fmt: skip
    if not out:
        return [
            c.say(f"I found no melody and accompaniment sounding together{scope}, so there is no balance to judge.")
        ]
    if b["source"] != "score" and part in ("left hand", "right hand", "bass"):
        out.insert(0, c.say("Without a score I tell the hands apart by voice: the top voice against the rest."))
    return out


def chords(c: Citer, span: Span, part: str | None) -> list[Sentence]:
    hand = {"right hand": 0, "left hand": 1, "melody": 0, "bass": 1, "accompaniment": 1}.get(part or "")
    rows = c.doc["chords"]["chords"]
    chosen = [i for i, r in enumerate(rows) if span.holds(r[0]) and (hand is None or r[4] in (hand, 2))]
    scope = ("" if span.whole else f" in {place(c, span)}") + (f" ({part})" if hand is not None else "")
    if not chosen:
        return [c.say(f"I found no chords{scope}.")]
    spreads = [f"chords.chords[{i}][1]" for i in chosen]
    widest = max(chosen, key=lambda i: rows[i][1])
    out = [c.say(
        f"Across {c.of('count', spreads, 'd')} chords{scope} the notes were spread by {c.of('median', spreads)} ms "
        f"(median); the widest, {c(f'chords.chords[{widest}][1]')} ms, was at "
        f"{where(c, f'chords.chords[{widest}][0]')}."
    )]  # fmt: skip
    rolled = [f"chords.chords[{i}][3]" for i in chosen if rows[i][3]]
    if rolled:
        out.append(c.say(
            f"{c.of('count', rolled, 'd')} were rolled (spread {c('method.rolled_ms')} ms or more); play them together "
            "unless the score marks an arpeggio."
        ))  # fmt: skip
    else:
        out.append(c.say(f"None was rolled (spread {c('method.rolled_ms')} ms or more): they sound together."))
    return out


def runs(c: Citer, span: Span) -> list[Sentence]:
    rows = c.doc["runs"]["runs"]
    chosen = [i for i, r in enumerate(rows) if span.holds(r[0])]
    scope = "" if span.whole else f" in {place(c, span)}"
    if not chosen:
        return [c.say(
            f"I found no fast runs{scope} (at least {c('method.run_notes', 'd')} notes at most "
            f"{c('method.run_ioi_ms')} ms apart), so I cannot judge their evenness."
        )]  # fmt: skip
    cvs = [f"runs.runs[{i}][4]" for i in chosen]
    worst = max(chosen, key=lambda i: rows[i][4])
    mean = sum(c.get(p) for p in cvs) / len(cvs)
    even, uneven = LITE.run_even_cv_pct, LITE.run_uneven_cv_pct
    verdict = "even" if mean < even else "slightly uneven" if mean < uneven else "uneven"
    return [
        c.say(
            f"Your {c.of('count', cvs, 'd')} fast runs{scope} were {verdict}: the spacing of their notes varied by "
            f"{c.of('mean', cvs, '.1f')}% on average."
        ),
        c.say(
            f"The least even, {c(f'runs.runs[{worst}][4]', '.1f')}%, started at {where(c, f'runs.runs[{worst}][0]')}."
        ),
    ]
