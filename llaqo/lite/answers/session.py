"""A practice session in words: where the player stopped and went back to (score.passes), and a passage
played more than once compared, pass against pass. Bar numbers are always the score's.
"""

from __future__ import annotations

from llaqo.lite.answers.grounding import Citer, Place, Sentence
from llaqo.lite.answers.phrases import ORDINALS

TIMES = {i: w for w, i in ORDINALS.items()}  # 2 -> "second"
STEADIER_PCT = 0.5  # beat-to-beat variations closer than this (percentage points) are "as steady"
LOUDER_DB = 1.0  # passes whose typical bar levels differ by less than this are "as loud" (a just audible step)


def passes(c: Citer) -> list[dict]:
    """The take's passes through its score; empty without a score."""
    return (c.doc.get("score") or {}).get("passes", [])


def _bars(c: Citer, k: int) -> str:
    """The bars pass k played, cited and named as a place: "bars 4–8"."""
    c.name(Place.of_bars(c.get(f"score.passes[{k}].first_bar"), c.get(f"score.passes[{k}].last_bar")))
    first, last = c(f"score.passes[{k}].first_bar"), c(f"score.passes[{k}].last_bar")
    return f"bar {first}" if first == last else f"bars {first}–{last}"


def time_through(c: Citer, event: str) -> str:
    """ ", the second time" for a note event (a path: "score.wrong[0]") in a bar played in more than one pass."""
    e, found = c.get(event), passes(c)
    if e.get("pass") is None or e.get("bar") is None:
        return ""
    holding = [k for k, p in enumerate(found, start=1) if p["first_bar"] <= e["bar"] <= p["last_bar"]]
    if len(holding) < 2 or e["pass"] not in holding:
        return ""
    nth = holding.index(e["pass"]) + 1
    c.again(nth)
    return f", the {TIMES[nth]} time"


def moves(c: Citer) -> str | None:
    """ "you stopped in bar 5 and went back to bar 4, ..." for each pass after the first, or None for one pass."""
    found = passes(c)
    said = []
    for k in range(1, len(found)):
        before, now = found[k - 1], found[k]
        if before["complete"]:
            said.append(f"after playing it through you played {_bars(c, k)} again")
        elif now["first_bar"] <= before["last_bar"]:
            stop, back = c.bar(f"score.passes[{k - 1}].last_bar"), c.bar(f"score.passes[{k}].first_bar")
            said.append(f"you stopped in bar {stop} and went back to bar {back}")
        else:
            stop, on = c.bar(f"score.passes[{k - 1}].last_bar"), c.bar(f"score.passes[{k}].first_bar")
            said.append(f"you stopped in bar {stop} and went on from bar {on}")
    if not said:
        return None
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])}, then {said[-1]}"


def comparison(c: Citer) -> str | None:
    """The latest pass that plays bars again, against the pass it repeats: its steadiness, its wrong notes and
    its dynamics."""
    found = passes(c)
    later = [k for k, p in enumerate(found) if p["repeats_pass"] is not None]
    if not later:
        return None
    k = later[-1]
    j = found[k]["repeats_pass"] - 1
    now, then = found[k]["cv_pct"], found[j]["cv_pct"]
    steadiness = (
        "as steady as" if abs(now - then) < STEADIER_PCT else "steadier than" if now < then else "less steady than"
    )
    first = f"The {TIMES.get(k + 1, str(k + 1))} pass ({_bars(c, k)}) was {steadiness} the {TIMES.get(j + 1)} ("
    first += f"{_bars(c, j)}): {c(f'score.passes[{k}].cv_pct', '.1f')}% beat-to-beat variation against "
    first += f"{c(f'score.passes[{j}].cv_pct', '.1f')}%"
    if any(found[i][n] for i in (k, j) for n in ("n_wrong", "n_missed")):
        first += (
            f", with {c(f'score.passes[{k}].n_wrong')} wrong and {c(f'score.passes[{k}].n_missed')} missed notes "
            f"against {c(f'score.passes[{j}].n_wrong')} and {c(f'score.passes[{j}].n_missed')}"
        )
    return first + _dynamics(c, k) + "."


def _dynamics(c: Citer, k: int) -> str:
    """ "; in bars 4–5, which both played, its dynamics spanned 6.1 dB against 3.2 dB, 1.5 dB louder": pass k
    against the pass it repeats, over only the bars both played ("" when they share no bar with notes)."""
    shared = f"score.passes[{k}].shared_bars"
    if c.get(shared) is None:
        return ""
    c.name(Place.of_bars(c.get(f"{shared}.first_bar"), c.get(f"{shared}.last_bar")))
    first, last = c(f"{shared}.first_bar"), c(f"{shared}.last_bar")
    where = f"bar {first}, which both played" if first == last else f"bars {first}–{last}, which both played"
    said = f"; in {where}, its dynamics spanned {c(f'{shared}.range_db', '.1f')} dB against "
    said += f"{c(f'{shared}.repeated_range_db', '.1f')} dB"
    paths = [f"{shared}.level_db", f"{shared}.repeated_level_db"]
    step = c.get(paths[0]) - c.get(paths[1])
    if abs(step) < LOUDER_DB:
        return said + ", at the same level"
    return said + f", {c.of('absdiff', paths, '.1f')} dB {'louder' if step > 0 else 'softer'}"


def overview(c: Citer) -> list[Sentence]:
    """The overall answer's first sentences in a session of several passes: the moves, then the comparison."""
    said = moves(c)
    if said is None:
        return []
    n = c.of("count", [f"score.passes[{k}]" for k in range(len(passes(c)))])
    out = [c.say(f"This was a practice session of {n} passes: {said}.")]
    compared = comparison(c)
    return out + ([c.say(compared)] if compared else [])


def stop_practice(c: Citer) -> Sentence | None:
    """The practice advice's step for the bars where the player stopped and went back, or None."""
    found = passes(c)
    stopped = [
        k
        for k in range(len(found) - 1)
        if not found[k]["complete"] and found[k + 1]["first_bar"] <= found[k]["last_bar"]
    ]
    if not stopped:
        return None
    bars = [c.bar(f"score.passes[{k}].last_bar") for k in stopped]
    where = f"bar {bars[0]}" if len(bars) == 1 else f"bars {', '.join(bars[:-1])} and {bars[-1]}"
    return c.say(
        f"You stopped in {where}: practise from the bar before through the bar after, slowly, until you play "
        "across it without stopping."
    )


def stops(c: Citer) -> tuple[bool, str] | None:
    """The verdict on "where did I stop?" in a session of several passes (None for one pass: the silences decide)."""
    said = moves(c)
    return None if said is None else (True, f"{said}.")


def second_time(c: Citer) -> tuple[bool | None, str] | None:
    """The verdict on "was the second time better?": the comparison, or that nothing was played twice."""
    if len(passes(c)) < 2:
        return None, "you played it once, in one pass, so there is no second time to compare."
    compared = comparison(c)
    if compared is None:
        return None, "no passage was played twice: each pass played other bars."
    return None, compared
