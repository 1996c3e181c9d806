"""The transcriber's second look at the notated notes the alignment could not find (hearing.second_look).

A notated note with no transcribed note of its pitch is either left out or played where Transkun's decoding
dropped it (a chord tone over a lower tone's overtone, a soft inner voice) or merged it into the same key's ringing
note (a key re-struck while it sounds). The notes alone cannot tell these apart; Transkun's own posterior for an
onset of that key at that time can. Measured on the deviation benchmark's tuning half (bench/deviations.py, render
and phone; a one-off script, not committed) and the everyday FluidR3 tuning half: the 39 notes left out that the
alignment reported missed (37) or excused as held through (2) had an onset posterior of at most 0.0054; of the 28
notes played that it reported missed (21) or held through (7), 27 had 0.0158 or more (most above 0.5), one (a
chorale's low C2) 0.0002. So a reported missed note with a posterior of PLAYED_P or more was played, and a note
excused as held through (align._held_through) with less was left out.

The band evidence (alignment.heard) that excuses a note as heard is not rechecked: soft notes it excused, played,
had posteriors down to 2e-4 (the model's window around a single note hears less than its whole segment).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from llaqo.lite.alignment.passes import Pass
from llaqo.lite.alignment.score import Score
from llaqo.lite.hearing import second_look

PLAYED_P = 0.01  # between the left-out notes (at most 0.0054) and the played ones (0.0158 and up but one); see above
MAX_MOMENTS = 2 * second_look.SNIPPETS_PER_INPUT  # two model segments a take at most (bench/lite_speed.py's budget)


def recheck(found: list[Pass], score: Score, wave: np.ndarray, sample_rate: int) -> list[Pass]:
    """The passes with each alignment's missed notes re-decided by Transkun's onset posterior.

    found: passes.find_passes' passes; wave: (samples,) mono float32 at sample_rate, the take they align.
    A take with more than MAX_MOMENTS distinct asked moments (a take of another piece, a page left out) keeps the
    alignment's decisions: the second look is for the few notes in doubt, not a second transcription.
    """
    asks = []  # (pass, score note, time s)
    for k, p in enumerate(found):
        a = p.alignment
        for s in (*a.missed, *a.held):
            asks.append((k, int(s), float(a.time_of(score.onset_q[[s]])[0])))
    if not asks or len(second_look.snippet_centres([t for _, _, t in asks])) > MAX_MOMENTS:
        return found
    heard = second_look.onset_probabilities(wave, sample_rate, [(int(score.pitch[s]), t) for _, s, t in asks])
    absent = {(k, s) for (k, s, _), p in zip(asks, heard, strict=True) if p < PLAYED_P}
    out = []
    for k, p in enumerate(found):
        a = p.alignment
        missed = [int(s) for s in (*a.missed, *a.held) if (k, int(s)) in absent]
        out.append(replace(p, alignment=replace(a, missed=np.array(sorted(missed), dtype=int), held=np.zeros(0, int))))
    return out
